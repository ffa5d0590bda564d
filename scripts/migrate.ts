/** Runs pending migrations against DATABASE_URL, or the embedded database under DATA_DIR. */
import { parseCommandLine } from '../src/cli.js';
import { loadConfig } from '../src/config.js';

parseCommandLine(
  'migrate',
  `usage: npm run migrate

Runs the pending migrations against DATABASE_URL, or the embedded database under DATA_DIR, and exits.

options:
  -h, --help   print this help and exit
`,
  {},
);
const config = loadConfig();
// Imported once the arguments are read: `--help` and a mistyped option answer without loading TypeORM
// and the entities (0.5 s).
await import('reflect-metadata');
const { createDataSource, runMigrations } = await import('../src/adapters/db/data-source.js');
const { startEmbeddedPostgres } = await import('../src/adapters/db/embedded-postgres.js');
const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres({ dataDir: config.dataDir });
const dataSource = createDataSource({ url: config.databaseUrl ?? embedded!.url, poolSize: 2 });
try {
  await dataSource.initialize();
  const applied = await runMigrations(dataSource);
  console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'the database is up to date');
} finally {
  await dataSource.destroy().catch(() => undefined);
  await embedded?.stop();
}
