// The floor under the read and search rows: the least any Node HTTP server does for them on this
// machine. It parses the request, sends the gateway's own SQL in one round trip (the pgbench script's
// statements, with the same driver and pool size as the gateway) and writes the stored JSON as it came.
// No authentication, routing, audit, validation or metrics: what the gateway adds is the gap to this.
//
// Run as its own process (so its CPU can be read from /proc), driven by the same autocannon as the
// gateway: GET /read/K serves pre-loaded prescription K, GET /search/J the first page of patient J.
import http from 'node:http';
import pg from 'pg';

const { FLOOR_DATABASE_URL, FLOOR_PORT, FLOOR_SCRIPTS, FLOOR_POOL_SIZE } = process.env;

/**
 * One pgbench script as a function of its drawn row: `\set` lines dropped, `\;` joins made plain
 * (one multi-statement string is still one round trip), `:cN` replaced by their quoted literals and
 * `:in1` by the row number.
 */
function sqlOf({ script, defines }) {
  const constants = new Map(defines.map((d) => [d.slice(0, d.indexOf('=')), d.slice(d.indexOf('=') + 1)]));
  const text = script
    .split('\n')
    .filter((line) => line.trim() && !line.startsWith('\\set '))
    .map((line) => line.replace(/;\s*$/, '').replaceAll(' \\; ', '; '))
    .join('; ');
  const parts = text.split(/:(c\d+|in1)\b/);
  // split() with a capture group alternates text and names: odd indexes are the variables.
  const fixed = parts.map((part, i) => {
    if (i % 2 === 0 || part === 'in1') return i % 2 === 0 ? part : undefined;
    if (!constants.has(part)) throw new Error(`the pgbench variable :${part} has no value`);
    return constants.get(part);
  });
  return (row) => fixed.map((part) => part ?? String(row)).join('');
}

const scripts = JSON.parse(FLOOR_SCRIPTS);
const statements = Object.fromEntries(Object.entries(scripts).map(([name, script]) => [name, sqlOf(script)]));
pg.types.setTypeParser(3802, (text) => text); // jsonb: written as it is read, never parsed
const pool = new pg.Pool({ connectionString: FLOOR_DATABASE_URL, max: Number(FLOOR_POOL_SIZE ?? 20) });

const bodies = {
  read: (rows) => (rows.length === 1 ? rows[0].resource : undefined),
  search: (rows) =>
    `{"resourceType":"Bundle","type":"searchset","total":${rows[0]?.total ?? 0},"entry":[${rows.map((r) => `{"resource":${r.resource}}`).join(',')}]}`,
};

const server = http.createServer((req, res) => {
  const match = /^\/(read|search)\/(\d+)$/.exec(req.url ?? '');
  if (!match || !statements[match[1]]) {
    res.writeHead(404).end();
    return;
  }
  pool.query(statements[match[1]](match[2])).then(
    (results) => {
      const body = bodies[match[1]]((Array.isArray(results) ? results.at(-1) : results).rows);
      if (body === undefined) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'application/fhir+json', 'content-length': Buffer.byteLength(body) }).end(body);
    },
    (error) => res.writeHead(500).end(error.message),
  );
});
server.listen(Number(FLOOR_PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
