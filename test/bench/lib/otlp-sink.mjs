// A stand-in OTLP/HTTP collector on loopback for the tracing-on scenario: accepts every export
// (200 with an empty Export*ServiceResponse, in the encoding the exporter used) and counts them, so
// the run can tell whether the gateway exported anything at all.
import { createServer } from 'node:http';

export async function startOtlpSink() {
  const stats = { posts: 0, bytes: 0, paths: new Set() };
  const server = createServer((request, response) => {
    let bytes = 0;
    request.on('data', (chunk) => (bytes += chunk.length));
    request.on('end', () => {
      if (request.method === 'POST') {
        stats.posts++;
        stats.bytes += bytes;
        stats.paths.add(request.url);
      }
      const json = (request.headers['content-type'] ?? '').includes('json');
      response.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      response.end(json ? '{}' : undefined);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stats,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
