import 'reflect-metadata';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../migrations/index.js';
import { createDataSource, runMigrations } from '../../src/adapters/db/data-source.js';
import { namesOf } from '../../src/adapters/db/entity-columns.js';
import { createTestDatabase } from '../support/test-app.js';

/**
 * Tables of the database TypeORM is not asked to map: its own migrations ledger. (Sequences such as
 * `bus_messages_seq`, functions, triggers, roles, grants and row-level security policies are not
 * tables: TypeORM neither models nor diffs them.)
 */
const UNMAPPED_TABLES = new Set(['typeorm_migrations']);

/**
 * The SQL TypeORM's schema builder would run to make the database match the entities. It compares
 * tables, column names, types, nullability, defaults, primary keys, foreign keys, unique and check
 * constraints and indexes by name and columns; it does not see an index's method (GIN) or predicate,
 * identity ALWAYS vs BY DEFAULT, UNLOGGED, or a check's expression, so those live in the migrations.
 */
async function schemaDiff(dataSource: DataSource): Promise<string[]> {
  const sql = await dataSource.driver.createSchemaBuilder().log();
  return sql.upQueries.map((q) => q.query);
}

/** Tables of the migrated database that no entity maps (the schema diff never looks at those). */
async function unmappedTables(dataSource: DataSource): Promise<string[]> {
  const rows: Array<{ name: string }> = await dataSource.query(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const mapped = new Set(dataSource.entityMetadatas.map((m) => m.tableName));
  return rows.map((r) => r.name).filter((name) => !mapped.has(name) && !UNMAPPED_TABLES.has(name));
}

/** A migration that changes the schema without an entity following: what the test must catch. */
class MigrationOnlyChange9999999999999 implements MigrationInterface {
  name = 'MigrationOnlyChange9999999999999';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tasks ADD COLUMN priority integer`);
    await q.query(`CREATE TABLE scratch_notes (id integer PRIMARY KEY)`);
  }
  async down(): Promise<void> {}
}

async function migratedDatabase(extra: Array<new () => MigrationInterface> = []) {
  const database = await createTestDatabase({ migrated: false }); // migrated here, from nothing
  const base = createDataSource({ url: database.url, poolSize: 2 });
  const dataSource = new DataSource({ ...base.options, migrations: [...MIGRATIONS, ...extra] });
  await dataSource.initialize();
  await runMigrations(dataSource);
  return {
    dataSource,
    async close() {
      await dataSource.destroy();
      await database.drop();
    },
  };
}

describe('entities and migrations', () => {
  let migrated: Awaited<ReturnType<typeof migratedDatabase>>;
  beforeAll(async () => {
    migrated = await migratedDatabase();
  });
  afterAll(async () => migrated?.close());

  it('TypeORM finds nothing to change in a freshly migrated database', async () => {
    expect(await schemaDiff(migrated.dataSource)).toEqual([]);
  });

  it('every table the migrations create has an entity', async () => {
    expect(await unmappedTables(migrated.dataSource)).toEqual([]);
  });

  it('the names hand-written SQL takes from the entities are those of the data source', async () => {
    for (const metadata of migrated.dataSource.entityMetadatas) {
      const names = namesOf(metadata.target as new () => unknown);
      expect(names.table).toBe(metadata.tableName);
      expect(Object.fromEntries(names.columns)).toEqual(Object.fromEntries(metadata.columns.map((c) => [c.propertyName, c.databaseName])));
    }
  });

  it('a column or a table added by a migration only is reported', async () => {
    const scratch = await migratedDatabase([MigrationOnlyChange9999999999999]);
    try {
      const diff = await schemaDiff(scratch.dataSource);
      expect(diff.some((sql) => sql.includes('"tasks"') && sql.includes('"priority"'))).toBe(true);
      expect(await unmappedTables(scratch.dataSource)).toEqual(['scratch_notes']);
    } finally {
      await scratch.close();
    }
  });
});
