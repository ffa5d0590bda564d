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

export interface Config {
  env: 'production' | 'development' | 'test';
  port: number;
  host: string;
  /** PostgreSQL URL; absent → embedded PostgreSQL under `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  /** NATS URL; absent → the embedded bus (kept in PostgreSQL). */
  natsUrl?: string;
  natsStream: string;
  natsSubjectPrefix: string;
  /** How long a crashed instance's unacknowledged message waits before redelivery (NATS durable consumers). */
  natsAckWaitMs: number;
  /**
   * Commands over the bus (CONTRACT §11, NATS only): JetStream's duplicate window of the commands
   * stream, and how often a command failing unexpectedly is delivered before it is dead-lettered.
   */
  commands: { duplicateWindowMs: number; maxDeliveries: number };
  dbPoolSize: number;
  runMigrations: boolean;
  seed: boolean;
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
  auth: { secret?: string; jwksUrl?: string; issuer?: string; audience?: string; clockToleranceSeconds: number; jwksCooldownMs: number };
  publicBaseUrl?: string;
  /** Origins allowed by CORS: a list, `*` for any, or none (closed). Default: any outside production, none in production. */
  corsOrigins: string[] | '*' | 'none';
  bodyLimitBytes: number;
  idempotencyTtlSeconds: number;
  logLevel: string;
  /** Error messages and stacks of unexpected errors in responses: only with NODE_ENV=development set explicitly. */
  exposeErrorDetails: boolean;
  outboxPollMs: number;
  /** How long published outbox rows are kept. */
  outboxRetentionSeconds: number;
  /** How much of the event stream is kept for replay (cursors older than that are expired). */
  busRetention: { maxAgeSeconds: number; maxMessages: number };
  /** CONTRACT §2: per tenant and persona, FHIR and GraphQL together. */
  rateLimit: { enabled: boolean; burst: number; perSecond: number };
  graphqlBounds: { maxDepth: number; maxAliases: number; maxCost: number; maxTokens: number; maxBatch: number };
  /** Events a slow live subscriber may have queued before it is disconnected. */
  subscriberBufferSize: number;
  /** Workflow action retries (CONTRACT §6): attempts, then exponential backoff with jitter between them. */
  actions: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
  /**
   * Durations the workflow definitions' timers read (CONTRACT §7): `slaProcessingSeconds` is how long
   * a prescription may wait `approved` before the service-level breach.
   */
  workflowSettings: { slaProcessingSeconds: number };
  /** The longest a timer runner sleeps when nothing is due sooner (a timer armed on another instance is seen this late at most). */
  timerPollMs: number;
  shutdownTimeoutMs: number;
  /**
   * OpenTelemetry tracing. On when an OTLP endpoint is set (and `OTEL_SDK_DISABLED` is not true);
   * off otherwise, with no SDK registered.
   */
  tracing: { otlpTracesUrl?: string; serviceName: string; sampleRatio: number };
}

type Env = Record<string, string | undefined>;

class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads and validates configuration once, failing fast with every problem named. Nothing else
 * in rxgate reads `process.env`.
 */
function corsOrigins(raw: string | undefined, production: boolean, problems: string[]): Config['corsOrigins'] {
  if (raw === undefined) return production ? 'none' : '*';
  if (raw === '*' || raw === 'none') return raw;
  const origins = raw.split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of origins) if (!/^https?:\/\/[^/]+$/.test(origin)) problems.push(`CORS_ORIGINS: '${origin}' is not an origin (scheme://host[:port])`);
  return origins;
}

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

  const nodeEnv = env.NODE_ENV ?? 'development';
  const envName: Config['env'] = nodeEnv === 'production' ? 'production' : nodeEnv === 'test' ? 'test' : 'development';
  const production = envName === 'production';

  const secret = text('AUTH_JWT_SECRET') ?? (production ? undefined : DEVELOPMENT_JWT_SECRET);
  const jwksUrl = text('AUTH_JWKS_URL');
  if (production && !jwksUrl && !text('AUTH_JWT_SECRET')) problems.push('NODE_ENV=production needs AUTH_JWT_SECRET or AUTH_JWKS_URL; the development secret is refused');
  if (production && secret === DEVELOPMENT_JWT_SECRET) problems.push('AUTH_JWT_SECRET must not be the development secret in production');
  if (jwksUrl && !/^https?:\/\//.test(jwksUrl)) problems.push('AUTH_JWKS_URL must be an http(s) URL');

  const databaseUrl = text('DATABASE_URL');
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) problems.push('DATABASE_URL must be a postgres:// URL');
  const natsUrl = text('NATS_URL');
  const stream = text('NATS_STREAM') ?? 'EPRESCRIBING';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(stream)) problems.push('NATS_STREAM must be 1-64 of A-Z a-z 0-9 _ -');
  const prefix = text('NATS_SUBJECT_PREFIX') ?? '';
  if (prefix && !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.$/.test(prefix)) problems.push("NATS_SUBJECT_PREFIX must be subject tokens ending in '.' (e.g. 'test1.')");
  const terminologyUrl = text('TERMINOLOGY_URL');
  if (terminologyUrl && !/^https?:\/\//.test(terminologyUrl)) problems.push('TERMINOLOGY_URL must be an http(s) URL');
  // OTLP/HTTP: the traces path is appended to the base endpoint; the signal-specific variable is used as is.
  const otlpBase = text('OTEL_EXPORTER_OTLP_ENDPOINT')?.replace(/\/+$/, '');
  const otlpTracesUrl = bool('OTEL_SDK_DISABLED', false) ? undefined : (text('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? (otlpBase && `${otlpBase}/v1/traces`));
  if (otlpTracesUrl && !/^https?:\/\/[^/]+/.test(otlpTracesUrl)) problems.push('OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) must be an http(s) URL');
  const sampleRatio = Number(text('OTEL_TRACES_SAMPLER_ARG') ?? '1');
  if (!(sampleRatio >= 0 && sampleRatio <= 1)) problems.push(`OTEL_TRACES_SAMPLER_ARG must be a number between 0 and 1 (got '${text('OTEL_TRACES_SAMPLER_ARG')}')`);
  const rulesFile = text('RULES_FILE');
  const tenantRules = rulesFile ? loadRulesFile(path.resolve(rulesFile), RULES_SCHEMA_FILE) : { rules: { ruleSets: [] }, problems: [] };
  problems.push(...tenantRules.problems);
  const publicBaseUrl = text('PUBLIC_BASE_URL')?.replace(/\/+$/, '');
  if (publicBaseUrl && !/^https?:\/\/[^/]+/.test(publicBaseUrl)) problems.push('PUBLIC_BASE_URL must be an absolute http(s) URL');

  const config: Config = {
    env: envName,
    port: int('PORT', 4000, 0, 65535),
    host: text('HOST') ?? '0.0.0.0',
    databaseUrl,
    dataDir: path.resolve(text('DATA_DIR') ?? path.join(PROJECT_ROOT, '.data')),
    natsUrl,
    natsStream: stream,
    natsSubjectPrefix: prefix,
    natsAckWaitMs: int('NATS_ACK_WAIT_MS', 30_000, 1_000),
    // JetStream refuses a duplicate window under 100 ms.
    commands: { duplicateWindowMs: int('COMMANDS_DUPLICATE_WINDOW_MS', 120_000, 100), maxDeliveries: int('COMMANDS_MAX_DELIVERIES', 5, 1, 100) },
    dbPoolSize: int('DB_POOL_SIZE', 20, 1, 500),
    runMigrations: bool('MIGRATIONS_RUN', true),
    seed: bool('SEED_DEV_DATA', !production),
    pharmaciesFile: text('PHARMACIES_FILE') ?? path.join(PROJECT_ROOT, 'data', 'pharmacies.json'),
    rxnormFile: text('RXNORM_FILE') ?? path.join(PROJECT_ROOT, 'data', 'rxnorm-codes.json'),
    prescribingRules: {
      controlledSubstancesFile: text('CONTROLLED_SUBSTANCES_FILE') ?? path.join(PROJECT_ROOT, 'data', 'controlled-substances.json'),
      rulesFile: rulesFile && path.resolve(rulesFile),
      tenantRules: tenantRules.rules,
    },
    terminologyUrl: text('TERMINOLOGY_URL'),
    terminologyDefer: bool('TERMINOLOGY_DEFER', false),
    terminologyStrict: bool('TERMINOLOGY_STRICT', false),
    auth: { secret, jwksUrl, issuer: text('AUTH_ISSUER'), audience: text('AUTH_AUDIENCE'), clockToleranceSeconds: int('AUTH_CLOCK_TOLERANCE_SECONDS', 30, 0, 600), jwksCooldownMs: int('AUTH_JWKS_COOLDOWN_MS', 30_000, 0) },
    publicBaseUrl,
    corsOrigins: corsOrigins(text('CORS_ORIGINS'), production, problems),
    bodyLimitBytes: int('BODY_LIMIT_BYTES', 1_048_576, 1024, 64 * 1_048_576),
    idempotencyTtlSeconds: int('IDEMPOTENCY_TTL_SECONDS', 86_400, 1),
    logLevel: text('LOG_LEVEL') ?? (envName === 'test' ? 'silent' : 'info'),
    exposeErrorDetails: env.NODE_ENV === 'development',
    outboxPollMs: int('OUTBOX_POLL_MS', 2_000, 10),
    outboxRetentionSeconds: int('OUTBOX_RETENTION_SECONDS', 604_800, 60),
    busRetention: { maxAgeSeconds: int('BUS_RETENTION_SECONDS', 604_800, 60), maxMessages: int('BUS_MAX_MESSAGES', 1_000_000, 10) },
    subscriberBufferSize: int('SUBSCRIBER_BUFFER_SIZE', 1_000, 1, 1_000_000),
    rateLimit: { enabled: bool('RATE_LIMIT_ENABLED', true), burst: int('RATE_LIMIT_BURST', 400, 1), perSecond: int('RATE_LIMIT_PER_SECOND', 200, 1) },
    graphqlBounds: {
      maxDepth: int('GRAPHQL_MAX_DEPTH', 12, 1, 100),
      maxAliases: int('GRAPHQL_MAX_ALIASES', 30, 0, 10_000),
      maxCost: int('GRAPHQL_MAX_COST', 25_000, 1),
      maxTokens: int('GRAPHQL_MAX_TOKENS', 5_000, 100),
      maxBatch: int('GRAPHQL_MAX_BATCH', 1, 1, 100),
    },
    actions: {
      maxAttempts: int('ACTION_MAX_ATTEMPTS', 5, 1, 100),
      baseDelayMs: int('ACTION_RETRY_BASE_MS', 200, 0),
      maxDelayMs: int('ACTION_RETRY_MAX_MS', 30_000, 0),
    },
    workflowSettings: { slaProcessingSeconds: int('SLA_PROCESSING_SECONDS', 172_800, 1) },
    timerPollMs: int('TIMER_POLL_MS', 1_000, 10, 60_000),
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 15_000, 100),
    tracing: { otlpTracesUrl, serviceName: text('OTEL_SERVICE_NAME') ?? 'rxgate', sampleRatio: Number.isNaN(sampleRatio) ? 1 : sampleRatio },
    ...overrides,
  };
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return config;
}
