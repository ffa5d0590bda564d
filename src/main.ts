import { createServer } from 'node:net';
import type { App } from './app.js';
import { parseCommandLine } from './cli.js';
import { type Config, ConfigError, loadConfig } from './config.js';

const USAGE = `usage: npm start   (or: node dist/src/main.js)

Starts the rxgate gateway. It is configured by environment variables, validated at start (PORT,
HOST, DATABASE_URL, NATS_URL, DATA_DIR, LOG_LEVEL, LOG_FORMAT, …; see "Configuration" in README.md).
Without DATABASE_URL and NATS_URL it runs an embedded PostgreSQL and bus under DATA_DIR (./.data).
Ctrl-C (SIGINT) or SIGTERM stops it gracefully.

options:
  -h, --help   print this help and exit
`;

/** What is wrong and what to do, in one line, for the start-up failures a user can fix; else undefined. */
function startupProblem(error: unknown, config?: Config): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof ConfigError || code === 'RXGATE_DATA_DIR_IN_USE') return (error as Error).message;
  if (!config) return undefined;
  const where = `port ${config.port} on ${config.host}`;
  if (code === 'EADDRINUSE') return `${where} is already in use (another rxgate?): stop what holds it, or set PORT to a free port`;
  if (code === 'EACCES') return `${where} needs privileges: set PORT to 1024 or above`;
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return `HOST ${config.host} is not an address of this machine: set HOST (e.g. 127.0.0.1, or 0.0.0.0 for every interface)`;
  return undefined;
}

/** Tries the port before anything slow starts (PostgreSQL, migrations, seeding); it is released at once. */
function checkPort(config: Config): Promise<void> {
  if (config.port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ port: config.port, host: config.host, exclusive: true }, () => probe.close(() => resolve()));
  });
}

function banner(app: App): void {
  const { url, config } = app;
  const links = { explorer: `${url}/graphql`, board: `${url}/board`, fhirMetadata: `${url}/fhir/metadata`, metrics: `${url}/metrics` };
  const token = config.auth.secret ? 'npm run -s token -- --tenant tenant-a --persona ehr-backend' : 'from your identity provider (AUTH_JWKS_URL)';
  if (config.logFormat === 'json') {
    app.logger.info({ ...links, getAToken: token }, 'rxgate ready'); // not `token`: that key is redacted
    return;
  }
  const runtime = `${config.databaseUrl ? 'PostgreSQL' : `embedded PostgreSQL in ${config.dataDir}`}, ${config.natsUrl ? 'NATS JetStream' : 'embedded bus'}`;
  process.stdout.write(
    [
      '',
      `  rxgate is listening on ${url} (${runtime})`,
      `  GraphQL explorer    ${links.explorer}`,
      `  prescription board  ${links.board}`,
      `  FHIR metadata       ${links.fhirMetadata}`,
      `  metrics             ${links.metrics}`,
      `  a token             ${token}`,
      '  stop with Ctrl-C',
      '',
      '',
    ].join('\n'),
  );
}

/** Process entry: start the gateway and stop it gracefully on SIGTERM / SIGINT. */
async function main(): Promise<void> {
  parseCommandLine('rxgate', USAGE, {});
  let config: Config | undefined;
  let app: App | undefined;
  let stopping = false;
  // Installed before the slow start-up: a signal during it stops the gateway once it is up, never half-way.
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (!app) return;
    app.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      app!.logger.error('graceful shutdown timed out; exiting');
      process.exit(1);
    }, app.config.shutdownTimeoutMs + 5_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (error) => {
        app!.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    config = loadConfig();
    await checkPort(config);
    // Loaded after the command line is read: `--help` answers without loading the whole gateway.
    const { startApp } = await import('./app.js');
    app = await startApp(config);
  } catch (error) {
    const problem = startupProblem(error, config);
    if (!problem) throw error;
    console.error(`rxgate: ${problem}`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  }
  if (stopping) {
    stopping = false;
    stop('signal during start-up');
    return;
  }
  banner(app);
}

main().catch((error) => {
  console.error('rxgate failed to start:', error);
  process.exit(1);
});
