// The gateway under test, as its own process (so its CPU and memory can be read from /proc),
// started from dist/ like `npm start` does, with rate limits off and production settings.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import path from 'node:path';
import { SignJWT } from 'jose';
import { sleep } from './stats.mjs';

export const BENCH_SECRET = randomBytes(32).toString('hex');

export const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** A bearer token as the gateway's HS256 verifier expects (CONTRACT §1). */
export const tokenFor = (persona, tenant = 'tenant-a') =>
  new SignJWT({ tenant, persona })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(`bench-${persona}`)
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(BENCH_SECRET));

/**
 * Starts `node dist/src/main.js` with `env` on a free loopback port and waits until /readyz answers.
 * The soft open-files limit is raised to the hard one first (10,000 websockets need as many fds).
 */
export async function startGateway({ root, env, nodeArgs = [], readyTimeoutMs = 90_000 }) {
  const port = await freePort();
  const childEnv = { ...process.env };
  // Tracing is only on where a scenario asks for it.
  for (const key of Object.keys(childEnv)) if (key.startsWith('OTEL_')) delete childEnv[key];
  Object.assign(childEnv, {
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_ENV: 'production',
    AUTH_JWT_SECRET: BENCH_SECRET,
    SEED_DEV_DATA: 'true',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_ENABLED: 'false',
    APOLLO_TELEMETRY_DISABLED: 'true',
    ...env,
  });
  const child = spawn(
    'bash',
    ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'rxgate', process.execPath, ...nodeArgs, path.join(root, 'dist/src/main.js')],
    {
      cwd: root,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const gateway = {
    pid: child.pid,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    /** Lines the gateway logged at error level or above (pino level ≥ 50), and what did not parse. */
    errors: [],
    tail: [],
    exited: false,
    // 'close', not 'exit': by then the last lines the process wrote have been read.
    exit: new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal }))),
  };
  gateway.exit.then(() => (gateway.exited = true));
  const onLine = (line) => {
    if (!line.trim()) return;
    gateway.tail.push(line);
    if (gateway.tail.length > 30) gateway.tail.shift();
    try {
      const entry = JSON.parse(line);
      if (entry.level >= 50) gateway.errors.push(entry.msg ?? line);
    } catch {
      if (/error/i.test(line)) gateway.errors.push(line);
    }
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      lines.forEach(onLine);
    });
  }
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (gateway.exited) {
      const { code, signal } = await gateway.exit;
      throw new Error(`the gateway exited during start (code ${code}, signal ${signal}):\n${gateway.tail.join('\n')}`);
    }
    if (
      await fetch(`${gateway.url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the gateway was not ready within ${readyTimeoutMs / 1000} s:\n${gateway.tail.join('\n')}`);
    }
    await sleep(200);
  }
  gateway.stop = async () => {
    if (gateway.exited) return gateway.exit;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    const result = await gateway.exit;
    clearTimeout(timer);
    return result;
  };
  return gateway;
}

/**
 * Samples the CPU of process `pid` (every thread) with `perf record` until it exits, into `file`: the
 * gateway must run with `--perf-basic-prof` for its JavaScript frames to have names. `done` settles
 * when perf has written the file, or rejects with perf's own words when it could not record.
 */
export function recordPerf(pid, file) {
  const perf = spawn('perf', ['record', '-e', 'cpu-clock', '-F', '999', '-g', '-p', String(pid), '-o', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  perf.stderr.on('data', (chunk) => (stderr += chunk));
  const done = new Promise((resolve, reject) => {
    perf.once('error', reject);
    perf.once('close', (code, signal) => (code === 0 || signal ? resolve() : reject(new Error(`perf record exited with ${code}: ${stderr.trim()}`))));
  });
  done.catch(() => undefined); // handled where the run awaits it, after the measured gateway stops
  return { done };
}

/** Sum and count of a Prometheus histogram series, by its label filter, from /metrics. */
export async function histogram(gatewayUrl, name, labelMatch) {
  const text = await fetch(`${gatewayUrl}/metrics`).then((r) => r.text());
  const pick = (suffix) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(`${name}_${suffix}{`) && l.includes(labelMatch))
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
  return { sum: pick('sum'), count: pick('count') };
}
