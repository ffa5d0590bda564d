import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '#migrations/index.js';
import { classifyConnectionErrors } from './database-errors.js';
import { ENTITIES } from './entities/index.js';

/** Where and how `createDataSource` connects. */
export interface DataSourceOptions {
  /** PostgreSQL connection URL (`postgres://…`). */
  url: string;
  /** Most connections the pool opens. */
  poolSize: number;
  /** Logs every SQL statement through TypeORM's logger (tests count statements with it). */
  logger?: import('typeorm').Logger;
}

/** The TypeORM data source: entities and migrations of rxgate; `synchronize` is never on. */
export function createDataSource(options: DataSourceOptions): DataSource {
  const dataSource = new DataSource({
    type: 'postgres',
    url: options.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    // Only queries are reported to the logger (they are counted); errors surface as exceptions.
    logging: options.logger ? ['query'] : false,
    logger: options.logger,
    // uuid keys come from gen_random_uuid() / the application, never from the uuid-ossp extension.
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    extra: { max: options.poolSize, connectionTimeoutMillis: 10_000 },
  });
  // A database that is away answers 503 SERVICE_UNAVAILABLE, wherever the query came from.
  classifyConnectionErrors(dataSource);
  return dataSource;
}

const MIGRATION_LOCK = 7_201_000_001;

/**
 * Runs pending migrations under an advisory lock, so instances starting together (or parallel
 * test workers on one database) do not race each other.
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const done = await dataSource.runMigrations({ transaction: 'each' });
    return done.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}
