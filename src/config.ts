import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRulesFile } from './adapters/rules/rules-file.js';
import type { RulesFile } from './domain/index.js';

/** The documented development secret (CONTRACT §1); refused in production. */
export const DEVELOPMENT_JWT_SECRET = 'dev-only-secret-change-me';

/** Root of the project (where `data/` and `.data/` live), whether running from src or dist. */
export const PROJECT_ROOT = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.basename(path.dirname(here)) === 'dist' ? path.resolve(here, '..', '..') : path.resolve(here, '..');
})();

/** The JSON Schema a `RULES_FILE` is validated against, as the repository publishes it. */
export const RULES_SCHEMA_FILE = path.join(PROJECT_ROOT, 'schema', 'rules.schema.json');

/** The gateway's settings, read once from the environment by {@link loadConfig} (the variables: `ENVIRONMENT_VARIABLES`). */
export interface Config {
  /** `NODE_ENV`; unset is development. */
  env: 'production' | 'development' | 'test';
  /** HTTP port of everything (`PORT`). */
  port: number;
  /** Interface to listen on (`HOST`): 127.0.0.1 outside production, 0.0.0.0 in production. */
  host: string;
  /** PostgreSQL URL; absent → embedded PostgreSQL under `dataDir`. */
  databaseUrl?: string;
  /** Where the embedded PostgreSQL keeps its data (`DATA_DIR`). */
  dataDir: string;
  /** NATS URL; absent → the embedded bus (kept in PostgreSQL). */
  natsUrl?: string;
  /** Name of the events stream (`NATS_STREAM`); the dead-letter and integration streams are named after it. */
  natsStream: string;
  /** Prepended to every subject on the wire (`NATS_SUBJECT_PREFIX`), ending in `.`; empty for none. */
  natsSubjectPrefix: string;
  /** How long a crashed instance's unacknowledged message waits before redelivery (NATS durable consumers). */
  natsAckWaitMs: number;
  /** Failed attempts at re-creating a NATS consumer before its subscribers are told it is gone (`NATS_CONSUMER_MAX_ATTEMPTS`). */
  natsConsumerMaxAttempts: number;
  /**
   * Commands over the bus (CONTRACT §11, NATS only): JetStream's duplicate window of the commands
   * stream, and how often a command failing unexpectedly is delivered before it is dead-lettered.
   */
  commands: { duplicateWindowMs: number; maxDeliveries: number };
  /** Database connections per instance (`DB_POOL_SIZE`). */
  dbPoolSize: number;
  /** Run pending migrations at start (`MIGRATIONS_RUN`). */
  runMigrations: boolean;
  /** Create the development tenants at start (`SEED_DEV_DATA`; default outside production). */
  seed: boolean;
  /** The pharmacy directory's JSON file (`PHARMACIES_FILE`). */
  pharmaciesFile: string;
  /** RxNorm codes the local terminology knows. */
  rxnormFile: string;
  /**
   * Prescribing rules (CONTRACT §8): the shipped controlled-substance list, and the tenant rules of
   * `RULES_FILE` (read and validated here, so an invalid file stops the start).
   */
  prescribingRules: { controlledSubstancesFile: string; rulesFile?: string; tenantRules: RulesFile };
  /** A FHIR terminology server for `CodeSystem/$validate-code`; absent → the local terminology. */
  terminologyUrl?: string;
  /** When the terminology server is down: accept and tag (true) or answer 503 (false). */
  terminologyDefer: boolean;
  /** Local terminology: refuse RxNorm codes outside `rxnormFile` (default: accept any well-formed RxCUI). */
  terminologyStrict: boolean;
  /** Token verification (CONTRACT §1): the `AUTH_*` variables, as `createJwtVerifier` takes them. */
  auth: { secret?: string; jwksUrl?: string; issuer?: string; audience?: string; clockToleranceSeconds: number; jwksCooldownMs: number };
  /** Absolute URL the gateway is reached at, without a trailing slash (`PUBLIC_BASE_URL`); absent → from the request. */
  publicBaseUrl?: string;
  /** Origins allowed by CORS: a list, `*` for any, or none (closed). Default: any outside production, none in production. */
  corsOrigins: string[] | '*' | 'none';
  /** Largest request body (`BODY_LIMIT_BYTES`); beyond it `PAYLOAD_TOO_LARGE`. */
  bodyLimitBytes: number;
  /** How long an Idempotency-Key is remembered (`IDEMPOTENCY_TTL_SECONDS`). */
  idempotencyTtlSeconds: number;
  /** pino level or `silent` (`LOG_LEVEL`). */
  logLevel: string;
  /** `pretty`: one readable line per entry (the development default); `json`: pino's lines, for collectors. */
  logFormat: 'json' | 'pretty';
  /** Error messages and stacks of unexpected errors in responses: only with NODE_ENV=development set explicitly. */
  exposeErrorDetails: boolean;
  /** The outbox relay's safety-net poll (`OUTBOX_POLL_MS`); NOTIFY wakes it sooner. */
  outboxPollMs: number;
  /** How long published outbox rows are kept. */
  outboxRetentionSeconds: number;
  /** How much of the event stream is kept for replay (cursors older than that are expired). */
  busRetention: { maxAgeSeconds: number; maxMessages: number };
  /** CONTRACT §2: per tenant and persona, FHIR and GraphQL together. */
  rateLimit: { enabled: boolean; burst: number; perSecond: number };
  /** Bounds of a GraphQL document (`GRAPHQL_MAX_*`); beyond one, `QUERY_TOO_COMPLEX`. */
  graphqlBounds: { maxDepth: number; maxAliases: number; maxCost: number; maxTokens: number; maxBatch: number };
  /** The GraphQL explorer page (GET /graphql from a browser) and the introspection it needs: on outside production, off in production unless GRAPHQL_EXPLORER=true. */
  graphqlExplorer: boolean;
  /** Events a slow live subscriber may have queued before it is disconnected. */
  subscriberBufferSize: number;
  /** How often the websockets (GraphQL and FHIR) are pinged; one that has not answered the previous ping is dropped (`WS_KEEPALIVE_MS`). */
  websocketKeepAliveMs: number;
  /** Workflow action retries (CONTRACT §6): attempts, then exponential backoff with jitter between them. */
  actions: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
  /**
   * Durations the workflow definitions' timers read (CONTRACT §7): `slaProcessingSeconds` is how long
   * a prescription may wait `approved` before the service-level breach; the `pa…` ones are the prior
   * authorization's decision deadlines by urgency and its appeal window (CONTRACT §9).
   */
  workflowSettings: { slaProcessingSeconds: number; paUrgentSeconds: number; paStandardSeconds: number; paAppealSeconds: number };
  /** The longest a timer runner sleeps when nothing is due sooner (a timer armed on another instance is seen this late at most). */
  timerPollMs: number;
  /** How long a stop waits for in-flight work (`SHUTDOWN_TIMEOUT_MS`). */
  shutdownTimeoutMs: number;
  /**
   * OpenTelemetry tracing. On when an OTLP endpoint is set (and `OTEL_SDK_DISABLED` is not true);
   * off otherwise, with no SDK registered.
   */
  tracing: { otlpTracesUrl?: string; serviceName: string; sampler: TraceSampler; sampleRatio: number };
}

/** The OpenTelemetry SDK's sampler names (`OTEL_TRACES_SAMPLER`); the ratio ones take `OTEL_TRACES_SAMPLER_ARG`. */
export const TRACE_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
/** One of {@link TRACE_SAMPLERS}. */
export type TraceSampler = (typeof TRACE_SAMPLERS)[number];

type Env = Record<string, string | undefined>;

/** pino's levels, and `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** An invalid configuration, naming every problem found; the process does not start. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** `CORS_ORIGINS` read: a list of origins, `*` or `none`, with a default by environment. */
function corsOrigins(raw: string | undefined, production: boolean, problems: string[]): Config['corsOrigins'] {
  if (raw === undefined) return production ? 'none' : '*';
  if (raw === '*' || raw === 'none') return raw;
  const origins = raw
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of origins) if (!/^https?:\/\/[^/]+$/.test(origin)) problems.push(`CORS_ORIGINS: '${origin}' is not an origin (scheme://host[:port])`);
  return origins;
}

/**
 * Reads and validates configuration once, failing fast with every problem named. Nothing else
 * in rxgate reads `process.env`. `overrides` replace what was read.
 */
export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got '${raw}')`);
      return fallback;
    }
    return value;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (['true', '1', 'yes'].includes(raw.toLowerCase())) return true;
    if (['false', '0', 'no'].includes(raw.toLowerCase())) return false;
    problems.push(`${name} must be true or false (got '${raw}')`);
    return fallback;
  };
  const text = (name: string): string | undefined => (env[name] === undefined || env[name] === '' ? undefined : env[name]);

  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    problems.push(`${name} must be one of ${allowed.join(', ')} (got '${raw}')`);
    return fallback;
  };
  const existingFile = (name: string, fallback: string): string => {
    const file = text(name) ?? fallback;
    if (!existsSync(file)) problems.push(`${name}: no file at ${file}`);
    return file;
  };

  const envName = oneOf('NODE_ENV', ['production', 'development', 'test'] as const, 'development');
  const production = envName === 'production';
  const host = text('HOST') ?? (production ? '0.0.0.0' : '127.0.0.1');
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) problems.push(`HOST must be an address or host name, e.g. 127.0.0.1 or 0.0.0.0 (got '${host}')`);

  const secret = text('AUTH_JWT_SECRET') ?? (production ? undefined : DEVELOPMENT_JWT_SECRET);
  const jwksUrl = text('AUTH_JWKS_URL');
  if (production && !jwksUrl && !text('AUTH_JWT_SECRET'))
    problems.push('NODE_ENV=production needs AUTH_JWT_SECRET or AUTH_JWKS_URL; the development secret is refused');
  if (production && secret === DEVELOPMENT_JWT_SECRET) problems.push('AUTH_JWT_SECRET must not be the development secret in production');
  if (jwksUrl && !/^https?:\/\//.test(jwksUrl)) problems.push('AUTH_JWKS_URL must be an http(s) URL');

  const databaseUrl = text('DATABASE_URL');
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) problems.push('DATABASE_URL must be a postgres:// URL');
  const natsUrl = text('NATS_URL');
  const stream = text('NATS_STREAM') ?? 'EPRESCRIBING';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(stream)) problems.push('NATS_STREAM must be 1-64 of A-Z a-z 0-9 _ -');
  const prefix = text('NATS_SUBJECT_PREFIX') ?? '';
  if (prefix && !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.$/.test(prefix))
    problems.push("NATS_SUBJECT_PREFIX must be subject tokens ending in '.' (e.g. 'test1.')");
  const terminologyUrl = text('TERMINOLOGY_URL');
  if (terminologyUrl && !/^https?:\/\//.test(terminologyUrl)) problems.push('TERMINOLOGY_URL must be an http(s) URL');
  // OTLP/HTTP: the traces path is appended to the base endpoint; the signal-specific variable is used as is.
  const otlpBase = text('OTEL_EXPORTER_OTLP_ENDPOINT')?.replace(/\/+$/, '');
  const otlpTracesUrl = bool('OTEL_SDK_DISABLED', false) ? undefined : (text('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? (otlpBase && `${otlpBase}/v1/traces`));
  if (otlpTracesUrl && !/^https?:\/\/[^/]+/.test(otlpTracesUrl))
    problems.push('OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) must be an http(s) URL');
  const sampler = (text('OTEL_TRACES_SAMPLER') ?? 'parentbased_traceidratio') as TraceSampler;
  if (!TRACE_SAMPLERS.includes(sampler)) problems.push(`OTEL_TRACES_SAMPLER must be one of ${TRACE_SAMPLERS.join(', ')} (got '${sampler}')`);
  const sampleRatio = Number(text('OTEL_TRACES_SAMPLER_ARG') ?? '1');
  if (!(sampleRatio >= 0 && sampleRatio <= 1))
    problems.push(`OTEL_TRACES_SAMPLER_ARG must be a number between 0 and 1 (got '${text('OTEL_TRACES_SAMPLER_ARG')}')`);
  const rulesFile = text('RULES_FILE');
  const tenantRules = rulesFile ? loadRulesFile(path.resolve(rulesFile), RULES_SCHEMA_FILE) : { rules: { ruleSets: [] }, problems: [] };
  problems.push(...tenantRules.problems);
  const publicBaseUrl = text('PUBLIC_BASE_URL')?.replace(/\/+$/, '');
  if (publicBaseUrl && !/^https?:\/\/[^/]+/.test(publicBaseUrl)) problems.push('PUBLIC_BASE_URL must be an absolute http(s) URL');

  const config: Config = {
    env: envName,
    port: int('PORT', 4000, 0, 65535),
    // Outside production only this machine can reach the gateway (it accepts the published development secret).
    host,
    databaseUrl,
    dataDir: path.resolve(text('DATA_DIR') ?? path.join(PROJECT_ROOT, '.data')),
    natsUrl,
    natsStream: stream,
    natsSubjectPrefix: prefix,
    natsAckWaitMs: int('NATS_ACK_WAIT_MS', 30_000, 1_000),
    natsConsumerMaxAttempts: int('NATS_CONSUMER_MAX_ATTEMPTS', 12, 1, 1_000),
    // JetStream refuses a duplicate window under 100 ms.
    commands: { duplicateWindowMs: int('COMMANDS_DUPLICATE_WINDOW_MS', 120_000, 100), maxDeliveries: int('COMMANDS_MAX_DELIVERIES', 5, 1, 100) },
    dbPoolSize: int('DB_POOL_SIZE', 20, 1, 500),
    runMigrations: bool('MIGRATIONS_RUN', true),
    seed: bool('SEED_DEV_DATA', !production),
    pharmaciesFile: existingFile('PHARMACIES_FILE', path.join(PROJECT_ROOT, 'data', 'pharmacies.json')),
    rxnormFile: existingFile('RXNORM_FILE', path.join(PROJECT_ROOT, 'data', 'rxnorm-codes.json')),
    prescribingRules: {
      controlledSubstancesFile: text('CONTROLLED_SUBSTANCES_FILE') ?? path.join(PROJECT_ROOT, 'data', 'controlled-substances.json'),
      rulesFile: rulesFile && path.resolve(rulesFile),
      tenantRules: tenantRules.rules,
    },
    terminologyUrl: text('TERMINOLOGY_URL'),
    terminologyDefer: bool('TERMINOLOGY_DEFER', false),
    terminologyStrict: bool('TERMINOLOGY_STRICT', false),
    auth: {
      secret,
      jwksUrl,
      issuer: text('AUTH_ISSUER'),
      audience: text('AUTH_AUDIENCE'),
      clockToleranceSeconds: int('AUTH_CLOCK_TOLERANCE_SECONDS', 30, 0, 600),
      jwksCooldownMs: int('AUTH_JWKS_COOLDOWN_MS', 30_000, 0),
    },
    publicBaseUrl,
    corsOrigins: corsOrigins(text('CORS_ORIGINS'), production, problems),
    bodyLimitBytes: int('BODY_LIMIT_BYTES', 1_048_576, 1024, 64 * 1_048_576),
    idempotencyTtlSeconds: int('IDEMPOTENCY_TTL_SECONDS', 86_400, 1),
    logLevel: oneOf('LOG_LEVEL', LOG_LEVELS, envName === 'test' ? 'silent' : 'info'),
    logFormat: oneOf('LOG_FORMAT', ['json', 'pretty'] as const, envName === 'development' ? 'pretty' : 'json'),
    exposeErrorDetails: env.NODE_ENV === 'development',
    outboxPollMs: int('OUTBOX_POLL_MS', 2_000, 10),
    outboxRetentionSeconds: int('OUTBOX_RETENTION_SECONDS', 604_800, 60),
    busRetention: { maxAgeSeconds: int('BUS_RETENTION_SECONDS', 604_800, 60), maxMessages: int('BUS_MAX_MESSAGES', 1_000_000, 10) },
    subscriberBufferSize: int('SUBSCRIBER_BUFFER_SIZE', 1_000, 1, 1_000_000),
    websocketKeepAliveMs: int('WS_KEEPALIVE_MS', 30_000, 100),
    rateLimit: { enabled: bool('RATE_LIMIT_ENABLED', true), burst: int('RATE_LIMIT_BURST', 400, 1), perSecond: int('RATE_LIMIT_PER_SECOND', 200, 1) },
    graphqlBounds: {
      maxDepth: int('GRAPHQL_MAX_DEPTH', 12, 1, 100),
      maxAliases: int('GRAPHQL_MAX_ALIASES', 30, 0, 10_000),
      maxCost: int('GRAPHQL_MAX_COST', 25_000, 1),
      maxTokens: int('GRAPHQL_MAX_TOKENS', 5_000, 100),
      maxBatch: int('GRAPHQL_MAX_BATCH', 1, 1, 100),
    },
    graphqlExplorer: bool('GRAPHQL_EXPLORER', !production),
    actions: {
      maxAttempts: int('ACTION_MAX_ATTEMPTS', 5, 1, 100),
      baseDelayMs: int('ACTION_RETRY_BASE_MS', 200, 0),
      maxDelayMs: int('ACTION_RETRY_MAX_MS', 30_000, 0),
    },
    workflowSettings: {
      slaProcessingSeconds: int('SLA_PROCESSING_SECONDS', 172_800, 1),
      paUrgentSeconds: int('PA_URGENT_SECONDS', 259_200, 1),
      paStandardSeconds: int('PA_STANDARD_SECONDS', 604_800, 1),
      paAppealSeconds: int('PA_APPEAL_SECONDS', 2_592_000, 1),
    },
    timerPollMs: int('TIMER_POLL_MS', 1_000, 10, 60_000),
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 15_000, 100),
    tracing: { otlpTracesUrl, serviceName: text('OTEL_SERVICE_NAME') ?? 'rxgate', sampler, sampleRatio: Number.isNaN(sampleRatio) ? 1 : sampleRatio },
    ...overrides,
  };
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return config;
}

/** One environment variable `loadConfig` reads, for the reference docs. */
export interface EnvironmentVariable {
  name: string;
  description: string;
  /** The value that, set explicitly, changes nothing; absent where the default depends on other settings. */
  default?: string;
}

/** Every variable `loadConfig` reads (a test keeps this list and the code in step). */
export const ENVIRONMENT_VARIABLES: readonly EnvironmentVariable[] = [
  {
    name: 'NODE_ENV',
    description:
      '`production` refuses the development secret and closes CORS; unset is development, but only `development` set explicitly shows error details in responses.',
  },
  { name: 'PORT', default: '4000', description: 'HTTP port for everything (GraphQL, websockets, FHIR, health, metrics).' },
  { name: 'HOST', default: '127.0.0.1', description: 'Interface to listen on; `0.0.0.0` by default in production.' },
  { name: 'PUBLIC_BASE_URL', description: 'Absolute URL the gateway is reached at, for FHIR `fullUrl` and links; default: from the request.' },
  { name: 'DATABASE_URL', description: 'PostgreSQL (`postgres://…`); unset, an embedded PostgreSQL under `DATA_DIR`.' },
  { name: 'DATA_DIR', description: 'Data of the embedded PostgreSQL; default `.data/` in the project.' },
  { name: 'DB_POOL_SIZE', default: '20', description: 'Database connections per instance.' },
  { name: 'MIGRATIONS_RUN', default: 'true', description: 'Run the migrations at start (`false` where `npm run migrate` is a deployment step).' },
  { name: 'SEED_DEV_DATA', description: 'Create the development tenants; default true outside production.' },
  { name: 'NATS_URL', description: 'NATS with JetStream (`nats://…`); unset, the embedded bus in PostgreSQL.' },
  {
    name: 'NATS_STREAM',
    default: 'EPRESCRIBING',
    description: 'Name of the events stream; dead letters and integration messages get `_DLQ` and `_INTEGRATION` after it.',
  },
  { name: 'NATS_SUBJECT_PREFIX', default: '', description: 'Prefix of every subject on the wire, ending in `.` (isolates test runs).' },
  { name: 'NATS_ACK_WAIT_MS', default: '30000', description: 'How long a message stays with an instance that stopped answering before it is redelivered.' },
  {
    name: 'NATS_CONSUMER_MAX_ATTEMPTS',
    default: '12',
    description:
      'Failed attempts (100 ms apart, doubling to 1 s: about 10 s by default) at re-creating a consumer while NATS answers (its stream gone or moving), before its subscribers are told to resume elsewhere.',
  },
  {
    name: 'COMMANDS_DUPLICATE_WINDOW_MS',
    default: '120000',
    description:
      "Commands over the bus: JetStream's duplicate window of the commands stream (at least 100; the gateway's own record of command ids covers the time after it).",
  },
  {
    name: 'COMMANDS_MAX_DELIVERIES',
    default: '5',
    description: 'Commands over the bus: deliveries of a command failing unexpectedly before it is dead-lettered.',
  },
  {
    name: 'RULES_FILE',
    description:
      'A JSON file of stricter prescribing rules (and extra controlled-substance codes), validated at start against `schema/rules.schema.json` (CONTRACT §8).',
  },
  {
    name: 'CONTROLLED_SUBSTANCES_FILE',
    description:
      'RxNorm codes with their US DEA schedule; default `data/controlled-substances.json` in the project. A code not listed is treated as not controlled.',
  },
  {
    name: 'SLA_PROCESSING_SECONDS',
    default: '172800',
    description: 'How long a prescription may wait `approved` for its first fill before `sla_breached` (once) and an alert to support (CONTRACT §7).',
  },
  {
    name: 'PA_URGENT_SECONDS',
    default: '259200',
    description:
      'Prior authorization: a decision on an urgent PA is due this long after submission (72 h); past it `deadline_breached` (once) and an alert to support, state unchanged (CONTRACT §9).',
  },
  {
    name: 'PA_STANDARD_SECONDS',
    default: '604800',
    description: 'Prior authorization: a decision on a standard PA is due this long after submission (7 days) (CONTRACT §9).',
  },
  {
    name: 'PA_APPEAL_SECONDS',
    default: '2592000',
    description: 'Prior authorization: how long a denied PA may be appealed (30 days); then the gateway closes it (CONTRACT §9).',
  },
  {
    name: 'TIMER_POLL_MS',
    default: '1000',
    description: 'The longest a workflow timer runner sleeps when nothing is due sooner: a timer armed on another instance is seen within it.',
  },
  { name: 'AUTH_JWT_SECRET', description: 'HS256 secret of the tokens; outside production the development secret `dev-only-secret-change-me` applies.' },
  { name: 'AUTH_JWKS_URL', description: 'JWKS of an identity provider: RS256/ES256 tokens are verified against it instead.' },
  { name: 'AUTH_ISSUER', description: 'Required `iss` of tokens, when set.' },
  { name: 'AUTH_AUDIENCE', description: 'Required `aud` of tokens, when set.' },
  { name: 'AUTH_CLOCK_TOLERANCE_SECONDS', default: '30', description: 'Clock skew allowed on `exp` and `nbf`.' },
  { name: 'AUTH_JWKS_COOLDOWN_MS', default: '30000', description: 'Least time between two fetches of the JWKS (an unknown key id refetches).' },
  { name: 'CORS_ORIGINS', description: 'Allowed origins (comma-separated), `*` or `none`; default `*` outside production, `none` in production.' },
  { name: 'BODY_LIMIT_BYTES', default: '1048576', description: 'Largest request body (`PAYLOAD_TOO_LARGE` above).' },
  { name: 'IDEMPOTENCY_TTL_SECONDS', default: '86400', description: 'How long an Idempotency-Key is remembered.' },
  { name: 'PHARMACIES_FILE', description: 'The pharmacy directory; default `data/pharmacies.json`.' },
  { name: 'RXNORM_FILE', description: 'RxNorm codes the local terminology knows; default `data/rxnorm-codes.json`.' },
  { name: 'TERMINOLOGY_URL', description: 'A FHIR terminology server for `CodeSystem/$validate-code`; unset, the local terminology.' },
  {
    name: 'TERMINOLOGY_DEFER',
    default: 'false',
    description: 'When the terminology server is down: accept and tag (`true`) or answer 503 `VALIDATOR_UNAVAILABLE`.',
  },
  { name: 'TERMINOLOGY_STRICT', default: 'false', description: 'Local terminology: refuse RxNorm codes not in `RXNORM_FILE`.' },
  { name: 'LOG_LEVEL', description: 'pino level; default `info` (`silent` under `NODE_ENV=test`).' },
  { name: 'LOG_FORMAT', description: '`pretty` (readable lines) or `json`; default `pretty` in development, `json` otherwise.' },
  {
    name: 'GRAPHQL_EXPLORER',
    description:
      'The offline GraphQL explorer at `GET /graphql` for browsers (and, in production, the introspection its docs need); default on outside production, off in production.',
  },
  { name: 'OUTBOX_POLL_MS', default: '2000', description: 'Outbox relay poll interval (it is woken by LISTEN/NOTIFY too).' },
  { name: 'OUTBOX_RETENTION_SECONDS', default: '604800', description: 'How long published outbox rows are kept.' },
  { name: 'BUS_RETENTION_SECONDS', default: '604800', description: 'How long the event stream keeps events for replay (older cursors are `CURSOR_EXPIRED`).' },
  { name: 'BUS_MAX_MESSAGES', default: '1000000', description: 'Most events the stream keeps.' },
  { name: 'SUBSCRIBER_BUFFER_SIZE', default: '1000', description: 'Events a slow live subscriber may have queued before it is disconnected.' },
  {
    name: 'WS_KEEPALIVE_MS',
    default: '30000',
    description:
      "How often the websockets (GraphQL and FHIR) are pinged (below a proxy's idle timeout); a peer that did not answer the previous ping is dropped.",
  },
  { name: 'RATE_LIMIT_ENABLED', default: 'true', description: 'Per tenant and persona rate limiting (`false` for benchmarks).' },
  { name: 'RATE_LIMIT_BURST', default: '400', description: 'Bucket size in units (a read costs 1, a search 2, a write 5).' },
  { name: 'RATE_LIMIT_PER_SECOND', default: '200', description: 'Units refilled per second.' },
  { name: 'GRAPHQL_MAX_DEPTH', default: '12', description: 'Deepest GraphQL selection (`QUERY_TOO_COMPLEX` above).' },
  { name: 'GRAPHQL_MAX_ALIASES', default: '30', description: 'Most aliases in a GraphQL document.' },
  { name: 'GRAPHQL_MAX_COST', default: '25000', description: 'Highest estimated cost of a GraphQL document.' },
  { name: 'GRAPHQL_MAX_TOKENS', default: '5000', description: 'Most tokens in a GraphQL document.' },
  { name: 'GRAPHQL_MAX_BATCH', default: '1', description: 'Most operations in one batched GraphQL request.' },
  { name: 'ACTION_MAX_ATTEMPTS', default: '5', description: 'Attempts of a workflow action before it becomes a dead letter.' },
  { name: 'ACTION_RETRY_BASE_MS', default: '200', description: 'First backoff between attempts (exponential, full jitter).' },
  { name: 'ACTION_RETRY_MAX_MS', default: '30000', description: 'Longest backoff between attempts.' },
  { name: 'SHUTDOWN_TIMEOUT_MS', default: '15000', description: 'How long a stop waits for in-flight work.' },
  { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', description: 'OTLP/HTTP endpoint: tracing is on when set (`/v1/traces` is appended).' },
  { name: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', description: 'OTLP/HTTP traces URL, used as is (instead of the above).' },
  { name: 'OTEL_SDK_DISABLED', default: 'false', description: '`true` turns tracing off whatever the endpoint.' },
  { name: 'OTEL_SERVICE_NAME', default: 'rxgate', description: 'Service name of the traces.' },
  {
    name: 'OTEL_TRACES_SAMPLER',
    default: 'parentbased_traceidratio',
    description: `Which traces are recorded: ${TRACE_SAMPLERS.map((name) => `\`${name}\``).join(', ')}; \`parentbased_*\` follow a caller's sampled flag.`,
  },
  { name: 'OTEL_TRACES_SAMPLER_ARG', default: '1', description: 'Share of new traces sampled by the ratio samplers, 0 to 1 (1: every trace).' },
];
