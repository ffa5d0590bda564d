import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { SignJWT } from 'jose';
import pg from 'pg';
import { inject } from 'vitest';
import { type App, startApp, type StartOptions } from '../../src/app.js';
import { type Config, DEVELOPMENT_JWT_SECRET, loadConfig } from '../../src/config.js';
import type { Persona } from '../../src/domain/index.js';
import { createMessageValidator, parseBody, type SeenMessage } from './event-schemas.js';

export interface TestApp {
  app: App;
  url: string;
  databaseUrl: string;
  token(tenant: string, persona: Persona, sub?: string): Promise<string>;
  /** Runs SQL on the app's database outside the app (for assertions). */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Every message the gateway has written so far: outbox rows, and what its bus (embedded or NATS) holds. */
  messages(): Promise<SeenMessage[]>;
  close(): Promise<void>;
}

const secret = new TextEncoder().encode(DEVELOPMENT_JWT_SECRET);

export async function signToken(claims: Record<string, unknown>, options: { expiresIn?: number; key?: Uint8Array } = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (options.expiresIn !== undefined) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + options.expiresIn);
  return jwt.sign(options.key ?? secret);
}

export const tokenFor = (tenant: string, persona: Persona, sub = `${persona}-user`) => signToken({ sub, tenant, persona }, { expiresIn: 600 });

/**
 * A database of its own on the run's server, dropped at the end: already migrated (a copy of the
 * run's template), or with `migrated: false` empty, for a test of the migrations themselves. The copy
 * is made file by file (FILE_COPY): the default (WAL_LOG) writes every page of the template through
 * the WAL and the shared buffers. On the run's embedded cluster the database is left to go with the
 * cluster at the end of the run: each DROP DATABASE forces a checkpoint, some 80 times a run.
 */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = inject('adminDatabaseUrl');
  const name = `rxgate_t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(
    options.migrated === false ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${inject('migratedTemplate')} STRATEGY FILE_COPY`,
  );
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      if (inject('databaseKind') === 'embedded') return;
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** NATS settings of a run: a stream and subject prefix of its own, deleted at the end. */
export function natsSettings(): { env: Record<string, string>; messages(): Promise<SeenMessage[]>; cleanup(): Promise<void> } {
  const natsUrl = inject('natsUrl');
  if (!natsUrl) return { env: {}, messages: async () => [], cleanup: async () => undefined };
  const id = randomBytes(5).toString('hex');
  const stream = `RXGATE_T_${id}`;
  const prefix = `t${id}.`;
  return {
    env: { NATS_URL: natsUrl, NATS_STREAM: stream, NATS_SUBJECT_PREFIX: prefix },
    /** Every message still in the run's streams, read with an ordered consumer. */
    async messages() {
      const nc = await connect({ servers: natsUrl });
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      const seen: SeenMessage[] = [];
      try {
        const names: string[] = [];
        for await (const name of jsm.streams.names()) if (name.startsWith(stream)) names.push(name);
        for (const name of names) {
          let left = (await jsm.streams.info(name)).state.messages;
          const consumer = await js.consumers.get(name);
          while (left > 0) {
            const before = left;
            for await (const m of await consumer.fetch({ max_messages: Math.min(left, 500), expires: 2_000 })) {
              seen.push({ subject: m.subject.slice(prefix.length), body: parseBody(m.data), source: name });
              left--;
            }
            if (left === before) throw new Error(`stream ${name}: ${left} message(s) could not be read`);
          }
        }
      } finally {
        await nc.close();
      }
      return seen;
    },
    async cleanup() {
      const nc = await connect({ servers: natsUrl });
      const jsm = await jetstreamManager(nc);
      for (const name of [stream, `${stream}_DLQ`, `${stream}_INTEGRATION`, `${stream}_COMMANDS`]) await jsm.streams.delete(name).catch(() => undefined);
      await nc.close();
    },
  };
}

let validator: ReturnType<typeof createMessageValidator> | undefined;

/**
 * Every message a test's gateway wrote: its outbox, its embedded bus, its NATS streams. Each is
 * checked against the AsyncAPI document at close, so every event the e2e suite causes is.
 */
async function messagesOf(pool: pg.Pool, nats: ReturnType<typeof natsSettings>): Promise<SeenMessage[]> {
  const outbox = (await pool.query<{ subject: string; envelope: unknown }>('SELECT subject, envelope FROM outbox ORDER BY seq')).rows;
  const bus = (await pool.query<{ subject: string; data: Buffer }>('SELECT subject, data FROM bus_messages ORDER BY seq')).rows;
  return [
    ...outbox.map((row) => ({ subject: row.subject, body: row.envelope, source: 'outbox' })),
    ...bus.map((row) => ({ subject: row.subject, body: parseBody(row.data), source: 'embedded bus' })),
    ...(await nats.messages()),
  ];
}

export interface TestAppOptions extends StartOptions {
  env?: Record<string, string>;
  overrides?: Partial<Config>;
}

/** Starts a real gateway on a random port with its own database (and NATS stream when TEST_NATS_URL is set). */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const nats = natsSettings();
  const config = loadConfig(
    {
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: database.url,
      OUTBOX_POLL_MS: '200',
      RATE_LIMIT_ENABLED: 'false',
      ...nats.env,
      ...options.env,
    },
    options.overrides,
  );
  const app = await startApp(config, options);
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  pool.on('error', () => undefined); // an idle client cut off when the database is dropped at the end
  return {
    app,
    url: app.url,
    databaseUrl: database.url,
    token: (tenant, persona, sub) => tokenFor(tenant, persona, sub),
    async sql(text, params) {
      return (await pool.query(text, params)).rows;
    },
    messages: () => messagesOf(pool, nats),
    /** Stops the gateway and drops its data; fails if a message it wrote does not match the AsyncAPI document. */
    async close() {
      await app.close();
      const seen = await messagesOf(pool, nats);
      await pool.end();
      await database.drop();
      await nats.cleanup();
      (validator ??= createMessageValidator()).assertValid(seen);
    },
  };
}
