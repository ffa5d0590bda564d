import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * A PostgreSQL and a NATS server of a test's own, on free loopback ports in temp dirs, that the test
 * may stop and start (never the machine's shared ones).
 */

const exec = promisify(execFile);

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });

const accepting = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = connect(port, '127.0.0.1', () => {
      probe.end();
      resolve(true);
    });
    probe.on('error', () => resolve(false));
  });

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not up within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const binary = (name: string) => {
  const found = [`/usr/local/bin/${name}`, `/usr/bin/${name}`, `/usr/sbin/${name}`, `/usr/lib/postgresql/15/bin/${name}`].find(existsSync);
  if (!found) throw new Error(`${name} is not installed`);
  return found;
};

export interface PrivateNats {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  cleanup(): Promise<void>;
}

/** nats-server with JetStream on a file store: streams survive a restart, as in production. */
export async function privateNats(): Promise<PrivateNats> {
  const storeDir = await mkdtemp(path.join(tmpdir(), 'rxgate-nats-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(binary('nats-server'), ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: 'ignore' });
    await until('nats-server', () => accepting(port));
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    start,
    stop,
    async cleanup() {
      await stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

export interface PrivatePostgres {
  /** The `postgres` database, trust auth. */
  url: string;
  port: number;
  /** `pg_ctl stop -m fast`: sessions are ended with 57P01 (admin shutdown), as in a restart. */
  stop(): Promise<void>;
  start(): Promise<void>;
  cleanup(): Promise<void>;
}

/** PostgreSQL (the machine's binaries) in a temp dir; under root it runs as the `postgres` user. */
export async function privatePostgres(): Promise<PrivatePostgres> {
  const root = await mkdtemp(path.join(tmpdir(), 'rxgate-pgdata-'));
  const dataDir = path.join(root, 'data');
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  const run = async (file: string, args: string[]) => {
    if (asRoot) return exec('runuser', ['-u', 'postgres', '--', file, ...args]);
    return exec(file, args);
  };
  if (asRoot) {
    await chmod(root, 0o755);
    const [uid, gid] = await Promise.all([exec('id', ['-u', 'postgres']), exec('id', ['-g', 'postgres'])]);
    await chown(root, Number(uid.stdout.trim()), Number(gid.stdout.trim()));
  }
  await run(binary('initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const start = async () => {
    await run(binary('pg_ctl'), [
      '-D',
      dataDir,
      '-l',
      path.join(root, 'log'),
      '-o',
      `-p ${port} -c listen_addresses=127.0.0.1 -k ${root} -c fsync=off -c max_connections=200`,
      '-w',
      'start',
    ]);
    await until('postgres', () => accepting(port));
  };
  const stop = async () => {
    await run(binary('pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
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
