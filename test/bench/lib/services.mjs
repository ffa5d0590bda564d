// PostgreSQL and NATS for the run: the machine's own when they answer, else the embedded runtime
// (embedded PostgreSQL from the app's own adapter, and the gateway's embedded bus), said so in the report.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

/**
 * What a run creates and drops is named from BENCH_NAME (default rxgate_bench): two runs on one
 * machine with different names keep apart instead of dropping each other's database and streams.
 */
const NAME = process.env.BENCH_NAME || 'rxgate_bench';
if (!/^[a-z][a-z0-9_]{0,40}$/.test(NAME)) throw new Error(`BENCH_NAME must be lower-case letters, digits and _ (got '${NAME}')`);
export const BENCH_DB = NAME;
export const PGBENCH_DB = `${NAME}_pgbench`;
export const NATS_STREAM = NAME.toUpperCase();
export const NATS_SUBJECT_PREFIX = `${NAME.replaceAll('_', '')}.`;
const NATS_STREAMS = [NATS_STREAM, `${NATS_STREAM}_DLQ`, `${NATS_STREAM}_INTEGRATION`, `${NATS_STREAM}_COMMANDS`];

const withDatabase = (url, name) => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

async function postgresVersion(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return (await client.query('SHOW server_version')).rows[0].server_version;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function natsConnection(url) {
  try {
    const { connect } = await import('@nats-io/transport-node');
    return await connect({ servers: url, timeout: 3000, maxReconnectAttempts: 0 });
  } catch {
    return undefined;
  }
}

async function deleteStreams(nc) {
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const jsm = await jetstreamManager(nc);
  for (const name of NATS_STREAMS) await jsm.streams.delete(name).catch(() => undefined);
}

/**
 * Finds the services and prepares a fresh benchmark database (dropped and created again) and fresh
 * streams. `close()` drops what the run created.
 */
export async function prepareServices({ root, pgUrl, natsUrl, log }) {
  const services = { cleanups: [] };
  let version = await postgresVersion(pgUrl);
  if (version) {
    services.postgres = `PostgreSQL ${version} (${new URL(pgUrl).host})`;
    services.adminUrl = pgUrl;
  } else {
    log(`PostgreSQL not reachable at ${new URL(pgUrl).host}: starting the embedded PostgreSQL`);
    const { startEmbeddedPostgres } = await import(pathToFileURL(path.join(root, 'dist/src/adapters/db/embedded-postgres.js')).href);
    const dataDir = await mkdtemp(path.join(tmpdir(), 'rxgate-bench-pg-'));
    const embedded = await startEmbeddedPostgres({ dataDir });
    services.cleanups.push(async () => {
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    services.adminUrl = embedded.url;
    version = await postgresVersion(embedded.url);
    services.postgres = `EMBEDDED PostgreSQL ${version} (embedded-postgres binaries; ${new URL(pgUrl).host} did not answer)`;
  }
  services.benchUrl = withDatabase(services.adminUrl, BENCH_DB);
  services.pgbenchUrl = withDatabase(services.adminUrl, PGBENCH_DB);

  const nc = await natsConnection(natsUrl);
  if (nc) {
    services.nats = `NATS ${nc.info?.version ?? '?'} JetStream (${new URL(natsUrl).host}; streams ${NATS_STREAMS.join(', ')})`;
    services.natsUrl = natsUrl;
    await deleteStreams(nc);
    await nc.close();
    services.cleanups.push(async () => {
      const again = await natsConnection(natsUrl);
      if (again) {
        await deleteStreams(again);
        await again.close();
      }
    });
  } else {
    services.nats = `EMBEDDED bus (events kept in PostgreSQL; NATS at ${new URL(natsUrl).host} did not answer)`;
  }
  services.embedded = services.postgres.startsWith('EMBEDDED') || !services.natsUrl;

  for (const db of [BENCH_DB, PGBENCH_DB]) await adminQuery(services.adminUrl, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await adminQuery(services.adminUrl, `CREATE DATABASE ${BENCH_DB}`);
  services.close = async ({ keepDatabase = false } = {}) => {
    for (const db of keepDatabase ? [PGBENCH_DB] : [BENCH_DB, PGBENCH_DB])
      await adminQuery(services.adminUrl, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
    for (const cleanup of services.cleanups) await cleanup().catch(() => undefined);
  };
  return services;
}

/** Runs one statement on the server's maintenance database. */
export async function adminQuery(adminUrl, sql) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}
