import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/adapters/db/embedded-postgres.js';
import { createFhirSchemaValidator } from '../../src/adapters/validation/fhir-schema-validator.js';
import { ensureWebAssetsBuilt } from './web-assets.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Server every test file creates its own database on. */
    adminDatabaseUrl: string;
    /** 'postgres' when TEST_DATABASE_URL points at a server, else 'embedded'. */
    databaseKind: 'postgres' | 'embedded';
    natsUrl: string | undefined;
  }
}

/**
 * With TEST_DATABASE_URL, tests run against that PostgreSQL; otherwise one embedded PostgreSQL
 * serves the whole run (each test file still gets a database of its own).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  ensureWebAssetsBuilt(); // the gateway serves the explorer and the board from dist/web
  // Generated once here (a fresh clone has no cache), so that no gateway the tests start compiles the schema.
  createFhirSchemaValidator().warmUp(['MedicationRequest']);
  const natsUrl = process.env.TEST_NATS_URL || undefined;
  project.provide('natsUrl', natsUrl);
  if (process.env.TEST_DATABASE_URL) {
    project.provide('adminDatabaseUrl', process.env.TEST_DATABASE_URL);
    project.provide('databaseKind', 'postgres');
    return async () => undefined;
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'rxgate-test-'));
  await chmod(dataDir, 0o755); // under root the cluster runs as `postgres`, which must reach it
  const embedded = await startEmbeddedPostgres({ dataDir, durable: false });
  project.provide('adminDatabaseUrl', embedded.url);
  project.provide('databaseKind', 'embedded');
  return async () => {
    await embedded.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
