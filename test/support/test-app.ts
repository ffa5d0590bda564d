import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { SignJWT } from 'jose';
import pg from 'pg';
import { inject } from 'vitest';
import { startApp, type App, type StartOptions } from '../../src/app.js';
import { DEVELOPMENT_JWT_SECRET, loadConfig, type Config } from '../../src/config.js';
import type { Persona } from '../../src/domain/index.js';

export interface TestApp {
  app: App;
  url: string;
  databaseUrl: string;
  token(tenant: string, persona: Persona, sub?: string): Promise<string>;
  /** Runs SQL on the app's database outside the app (for assertions). */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

const secret = new TextEncoder().encode(DEVELOPMENT_JWT_SECRET);

export async function signToken(claims: Record<string, unknown>, options: { expiresIn?: number; key?: Uint8Array } = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (options.expiresIn !== undefined) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + options.expiresIn);
  return jwt.sign(options.key ?? secret);
}

export const tokenFor = (tenant: string, persona: Persona, sub = `${persona}-user`) => signToken({ sub, tenant, persona }, { expiresIn: 600 });

/** A database of its own on the run's server, dropped at the end. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = inject('adminDatabaseUrl');
  const name = `rxgate_t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** NATS settings of a run: a stream and subject prefix of its own, deleted at the end. */
export function natsSettings(): { env: Record<string, string>; cleanup(): Promise<void> } {
  const natsUrl = inject('natsUrl');
  if (!natsUrl) return { env: {}, cleanup: async () => undefined };
  const id = randomBytes(5).toString('hex');
  const stream = `RXGATE_T_${id}`;
  return {
    env: { NATS_URL: natsUrl, NATS_STREAM: stream, NATS_SUBJECT_PREFIX: `t${id}.` },
    async cleanup() {
      const nc = await connect({ servers: natsUrl });
      const jsm = await jetstreamManager(nc);
      for (const name of [stream, `${stream}_DLQ`, `${stream}_INTEGRATION`, `${stream}_COMMANDS`]) await jsm.streams.delete(name).catch(() => undefined);
      await nc.close();
    },
  };
}

export interface TestAppOptions extends StartOptions {
  env?: Record<string, string>;
  overrides?: Partial<Config>;
}

/** Starts a real gateway on a random port with its own database (and NATS stream when TEST_NATS_URL is set). */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const nats = natsSettings();
  const config = loadConfig({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATABASE_URL: database.url, OUTBOX_POLL_MS: '200', RATE_LIMIT_ENABLED: 'false', ...nats.env, ...options.env }, options.overrides);
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
    async close() {
      await app.close();
      await pool.end();
      await database.drop();
      await nats.cleanup();
    },
  };
}
