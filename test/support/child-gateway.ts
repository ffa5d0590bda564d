import { type ChildProcess, execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { createTestDatabase, natsSettings } from './test-app.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Compiles the gateway into dist/ for a child process to run, as `npm start` does: only when a source
 * changed since the last build, and one build at a time when files running side by side both need it.
 */
export async function ensureCompiled(): Promise<void> {
  await promisify(execFile)(process.execPath, [`${root}scripts/build-if-stale.mjs`], { cwd: root });
}

/** Lines a child gateway prints, awaited one pattern at a time (rejects when it exits first). */
export function childLines(child: ChildProcess) {
  const seen: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    for (const line of parts) {
      seen.push(line);
      for (const w of [...waiters]) {
        if (!w.pattern.test(line)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`the child gateway exited (code ${code}) before printing what the test waits for`))),
  );
  exited.catch(() => undefined);
  return (pattern: RegExp) => {
    const found = seen.find((l) => pattern.test(l));
    return found ? Promise.resolve(found) : Promise.race([new Promise<string>((resolve) => waiters.push({ pattern, resolve })), exited]);
  };
}

/**
 * A database (and NATS settings) of its own for gateways a test starts itself, the environment to
 * start them with, and SQL on it; `cleanup` receives what to undo at the end.
 */
export async function gatewayDatabase(cleanup: Array<() => Promise<unknown>>, extra: Record<string, string> = {}) {
  const db = await createTestDatabase();
  const nats = natsSettings();
  cleanup.push(
    () => db.drop(),
    () => nats.cleanup(),
  );
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  cleanup.push(() => client.end());
  const env = {
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    OUTBOX_POLL_MS: '200',
    RATE_LIMIT_ENABLED: 'false',
    TIMER_POLL_MS: '200',
    ...nats.env,
    ...extra,
  };
  return { env, sql: async <T = Record<string, unknown>>(text: string, params: unknown[] = []) => (await client.query(text, params)).rows as T[] };
}
