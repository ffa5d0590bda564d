import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The commands as a user runs them (`npm start`, `npm run token`, `npm run bench`, the compiled
 * gateway), in processes of their own: signals, start-up failures and command-line help.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
/** A first embedded start (initdb, migrations, seed) on a loaded 2-core machine. */
const START = 180_000;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a newcomer's shell: no database, bus or test settings from the runner. */
function userEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', NO_COLOR: '1', ...extra };
  for (const name of ['DATABASE_URL', 'NATS_URL', 'TEST_DATABASE_URL', 'TEST_NATS_URL', 'LOG_LEVEL', 'HOST', 'OTEL_EXPORTER_OTLP_ENDPOINT'])
    if (!(name in extra)) delete env[name];
  return env;
}

function run(command: string, args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: root, env: userEnv(env), timeout: START }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

/** A started process, its output so far, and a promise of its exit. */
function launch(command: string, args: string[], env: Record<string, string>) {
  const child = spawn(command, args, { cwd: root, env: userEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  /** Resolves with the gateway's URL once the start-up banner names it; rejects if the process exits first. */
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const match = /listening on (http:\/\/\S+)/.exec(output.stdout);
      if (match) resolve(match[1]!);
    });
    void exited.then(({ code }) => reject(new Error(`exited (code ${code}) before listening:\n${output.stdout}\n${output.stderr}`)));
  });
  listening.catch(() => undefined);
  return { child, output, exited, listening };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** No stack trace: a line starting with `at ` after indentation. */
const STACK_LINE = /^\s+at /m;

const dataDirs: string[] = [];
async function newDataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'rxgate-cli-'));
  await chmod(dir, 0o755); // under root the cluster runs as `postgres`, which must reach it
  dataDirs.push(dir);
  return dir;
}
const running: ChildProcess[] = [];

/**
 * The data directory of the tests that start a gateway on it: the first start initialises its cluster
 * (initdb, migrations, seed), later ones reuse it, as a user's second `npm start` does.
 */
let clusterDir: Promise<string> | undefined;
const sharedDataDir = () => (clusterDir ??= newDataDir());

beforeAll(async () => {
  // The compiled gateway and scripts, as `npm start` builds them.
  const build = await run(process.execPath, ['scripts/build-if-stale.mjs']);
  expect(build.code, build.stderr).toBe(0);
}, START);

afterAll(async () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
});

describe('npm start', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await sharedDataDir();
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`stops the gateway gracefully on ${signal} sent to the npm process alone`, { timeout: START + 60_000 }, async () => {
      const npm = launch('npm', ['start'], { PORT: String(await freePort()), DATA_DIR: dataDir });
      running.push(npm.child);
      const url = await npm.listening;
      expect((await fetch(`${url}/healthz`)).status).toBe(200);

      // Only the npm process is signalled, as a supervisor (or a terminal without a process group) does.
      npm.child.kill(signal);
      expect(await npm.exited).toEqual({ code: 0, signal: null });
      expect(npm.output.stdout).toContain(`shutting down  signal=${signal}`);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
      // The embedded PostgreSQL was stopped by the gateway's shutdown, not left running.
      expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    });
  }
});

describe('start-up failures: one line saying what is wrong and what to do', () => {
  it('a taken port is reported before anything starts', { timeout: START }, async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    const dataDir = await newDataDir();
    try {
      const outcome = await run(process.execPath, ['dist/src/main.js'], { PORT: String(port), DATA_DIR: dataDir });
      expect(outcome.code).toBe(1);
      expect(outcome.stderr.trim()).toBe(
        `rxgate: port ${port} on 127.0.0.1 is already in use (another rxgate?): stop what holds it, or set PORT to a free port`,
      );
      // Checked first: no database was created or started.
      expect(existsSync(path.join(dataDir, 'postgres'))).toBe(false);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('a second gateway on the same data directory names it and says to stop the other or set DATA_DIR', { timeout: START + 60_000 }, async () => {
    const dataDir = await sharedDataDir();
    const first = launch(process.execPath, ['dist/src/main.js'], { PORT: String(await freePort()), DATA_DIR: dataDir });
    running.push(first.child);
    try {
      await first.listening;
      const second = await run(process.execPath, ['dist/src/main.js'], { PORT: String(await freePort()), DATA_DIR: dataDir });
      expect(second.code).toBe(1);
      expect(second.stderr.trim()).toBe(
        `rxgate: another rxgate (or PostgreSQL) is already using the data directory ${dataDir}: stop it, or set DATA_DIR to another directory`,
      );
    } finally {
      first.child.kill('SIGTERM');
      await first.exited;
    }
  });

  it('a bad LOG_LEVEL is one entry of the "Invalid configuration" list, with the other bad values', async () => {
    const outcome = await run(process.execPath, ['dist/src/main.js'], { LOG_LEVEL: 'loud', LOG_FORMAT: 'fancy', NODE_ENV: 'prod', PORT: 'x' });
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).not.toMatch(STACK_LINE);
    expect(outcome.stderr.trim().split('\n')).toEqual([
      'rxgate: Invalid configuration:',
      "  - NODE_ENV must be one of production, development, test (got 'prod')",
      "  - PORT must be an integer between 0 and 65535 (got 'x')",
      "  - LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got 'loud')",
      "  - LOG_FORMAT must be one of json, pretty (got 'fancy')",
    ]);
  });
});

describe('--help and unknown options', () => {
  const commands: Array<{ name: string; command: string; args: string[]; usage: RegExp; options: string[] }> = [
    {
      name: 'npm run -s token',
      command: 'npm',
      args: ['run', '-s', 'token', '--'],
      usage: /^usage: npm run -s token -- --tenant/,
      options: ['--tenant', '--persona', '--sub', '--ttl', '--help'],
    },
    {
      name: 'npm run bench',
      command: 'npm',
      args: ['run', '-s', 'bench', '--'],
      usage: /^usage: npm run bench/,
      options: ['--quick', '--only', '--soak-seconds', '--rows', '--out', '--keep-database', '--cpu-prof', '--help'],
    },
    { name: 'the gateway (node dist/src/main.js)', command: process.execPath, args: ['dist/src/main.js'], usage: /^usage: npm start/, options: ['--help'] },
    { name: 'npm run migrate', command: 'npm', args: ['run', '-s', 'migrate', '--'], usage: /^usage: npm run migrate/, options: ['--help'] },
  ];
  for (const { name, command, args, usage, options } of commands) {
    it(`${name} --help prints its usage and options and exits 0, without doing anything else`, async () => {
      const outcome = await run(command, [...args, '--help'], { PORT: 'x' }); // a gateway that ignored --help would stop on PORT
      expect(outcome.code).toBe(0);
      expect(outcome.stdout).toMatch(usage);
      for (const option of options) expect(outcome.stdout).toContain(option);
      expect(outcome.stderr).toBe('');
    });

    it(`${name} with an unknown option answers one line and the usage, and exits 2`, async () => {
      const outcome = await run(command, [...args, '--frobnicate'], { PORT: 'x' });
      expect(outcome.code).toBe(2);
      const [first, blank, ...rest] = outcome.stderr.split('\n');
      expect(first).toMatch(/^[\w:]+: Unknown option '--frobnicate'/);
      expect(blank).toBe('');
      expect(rest.join('\n')).toMatch(usage);
      expect(outcome.stderr).not.toMatch(STACK_LINE);
    });
  }

  it('npm run token does not compile again when nothing changed', async () => {
    const outcome = await run('npm', ['run', '-s', 'token', '--', '--tenant', 'tenant-a', '--persona', 'ehr-backend']);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(outcome.stderr).not.toContain('compiling');
  });
});
