/** Runs pending migrations against DATABASE_URL, or the embedded database under DATA_DIR. */
import 'reflect-metadata';
import { createDataSource, runMigrations } from '../src/adapters/db/data-source.js';
import { startEmbeddedPostgres } from '../src/adapters/db/embedded-postgres.js';
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
