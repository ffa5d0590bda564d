// A PostgreSQL of a test's (or a soak's) own, from the machine's binaries, on a free loopback port
// in a temp dir, which the caller may stop and start (never the machine's shared one). Plain ES
// module: the chaos soak (test/chaos/run.mjs) runs under bare node, the test helpers
// (private-services.ts) import it under vitest; types in private-postgres.d.mts.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Where server binaries are looked for; Debian keeps PostgreSQL's out of PATH. */
const BINARY_DIRS = ['/usr/local/bin', '/usr/bin', '/usr/sbin', '/usr/lib/postgresql/15/bin'];

export const findBinary = (name) => BINARY_DIRS.map((dir) => `${dir}/${name}`).find(existsSync);

export const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; rejects after `ms`. */
export async function untilAccepting(what, port, ms = 20_000) {
  const accepting = () =>
    new Promise((resolve) => {
      const probe = connect(port, '127.0.0.1', () => {
        probe.end();
        resolve(true);
      });
      probe.on('error', () => resolve(false));
    });
  const deadline = Date.now() + ms;
  while (!(await accepting())) {
    if (Date.now() > deadline) throw new Error(`${what}: not up within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const requireBinary = (name) => {
  const found = findBinary(name);
  if (!found) throw new Error(`${name} is not installed`);
  return found;
};

export async function privatePostgres({ prefix = 'rxgate-pgdata-', maxConnections = 200 } = {}) {
  const root = await mkdtemp(path.join(tmpdir(), prefix));
  const dataDir = path.join(root, 'data');
  const port = await freePort();
  // PostgreSQL refuses to run as root: under root the cluster belongs to, and runs as, `postgres`.
  const asRoot = process.getuid?.() === 0;
  const run = (file, args) => (asRoot ? exec('runuser', ['-u', 'postgres', '--', file, ...args]) : exec(file, args));
  if (asRoot) {
    await chmod(root, 0o755);
    const [uid, gid] = await Promise.all([exec('id', ['-u', 'postgres']), exec('id', ['-g', 'postgres'])]);
    await chown(root, Number(uid.stdout.trim()), Number(gid.stdout.trim()));
  }
  await run(requireBinary('initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const start = async () => {
    await run(requireBinary('pg_ctl'), [
      '-D',
      dataDir,
      '-l',
      path.join(root, 'log'),
      '-o',
      `-p ${port} -c listen_addresses=127.0.0.1 -k ${root} -c fsync=off -c max_connections=${maxConnections}`,
      '-w',
      'start',
    ]);
    await untilAccepting('postgres', port);
  };
  const stop = async () => {
    await run(requireBinary('pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop,
    async cleanup() {
      await stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
