import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDataSource, runMigrations } from '../../src/adapters/db/data-source.js';
import { startEmbeddedPostgres } from '../../src/adapters/db/embedded-postgres.js';
import { createFhirSchemaValidator } from '../../src/adapters/validation/fhir-schema-validator.js';
import { ensureWebAssetsBuilt } from './web-assets.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Server every test file creates its own database on. */
    adminDatabaseUrl: string;
    /** A migrated database on that server, which each test file's database is copied from. */
    migratedTemplate: string;
    /** 'postgres' when TEST_DATABASE_URL points at a server, else 'embedded'. */
    databaseKind: 'postgres' | 'embedded';
    natsUrl: string | undefined;
  }
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * Migrates one database, which test files' databases are then copied from (`CREATE DATABASE …
 * TEMPLATE`): a copy costs less than running every migration in each (about 0.1 s of a gateway's
 * start, some 80 times a run). Named per run, as other runs may share a TEST_DATABASE_URL server.
 */
async function createMigratedTemplate(adminUrl: string): Promise<{ name: string; drop(): Promise<void> }> {
  const name = `rxgate_tpl_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const dataSource = createDataSource({ url: url.toString(), poolSize: 2 }); // the lock's connection and the migrations'
  await dataSource.initialize();
  try {
    await runMigrations(dataSource);
  } finally {
    await dataSource.destroy(); // a template is copied only while no one is connected to it
  }
  return { name, drop: () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

type Provided = Pick<import('vitest').ProvidedContext, 'adminDatabaseUrl' | 'migratedTemplate' | 'databaseKind' | 'natsUrl'>;

/**
 * With TEST_DATABASE_URL, tests run against that PostgreSQL; otherwise one embedded PostgreSQL
 * serves the whole run (each test file still gets a database of its own).
 */
async function startDatabase(): Promise<{ provided: Provided; teardown(): Promise<void> }> {
  ensureWebAssetsBuilt(); // the gateway serves the explorer and the board from dist/web
  // Generated once here (a fresh clone has no cache), so that no gateway the tests start compiles the schema.
  createFhirSchemaValidator().warmUp(['MedicationRequest']);
  const natsUrl = process.env.TEST_NATS_URL || undefined;
  if (process.env.TEST_DATABASE_URL) {
    const template = await createMigratedTemplate(process.env.TEST_DATABASE_URL);
    return {
      provided: { adminDatabaseUrl: process.env.TEST_DATABASE_URL, migratedTemplate: template.name, databaseKind: 'postgres', natsUrl },
      teardown: () => template.drop(),
    };
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'rxgate-test-'));
  await chmod(dataDir, 0o755); // under root the cluster runs as `postgres`, which must reach it
  const embedded = await startEmbeddedPostgres({ dataDir, durable: false });
  const teardown = async () => {
    await embedded.stop(); // the template goes with the cluster
    await rm(dataDir, { recursive: true, force: true });
  };
  const template = await createMigratedTemplate(embedded.url).catch(async (error: unknown) => {
    await teardown();
    throw error;
  });
  return { provided: { adminDatabaseUrl: embedded.url, migratedTemplate: template.name, databaseKind: 'embedded', natsUrl }, teardown };
}

/** The run's database, shared by the projects that set it up: the first starts it, the last one's teardown stops it. */
const SHARED = Symbol.for('rxgate.test.database');
type Shared = { started: ReturnType<typeof startDatabase>; users: number };
const holder = globalThis as { [SHARED]?: Shared };

/**
 * Global setup of every project that starts gateways (integration, own-process): each gets the
 * same database server and template, instead of a cluster (initdb, migrations) of its own.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const shared = (holder[SHARED] ??= { started: startDatabase(), users: 0 });
  shared.users++;
  const { provided, teardown } = await shared.started;
  for (const key of Object.keys(provided) as Array<keyof Provided>) project.provide(key, provided[key]);
  return async () => {
    if (--shared.users > 0) return;
    delete holder[SHARED];
    await teardown();
  };
}
