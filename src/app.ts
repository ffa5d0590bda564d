import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as setTimeoutPromise } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { createJwtVerifier } from './adapters/auth/jwt-verifier.js';
import { createActionLedger } from './adapters/db/action-ledger.js';
import { createAuditTrail } from './adapters/db/audit.store.js';
import { createDataSource, runMigrations } from './adapters/db/data-source.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './adapters/db/embedded-postgres.js';
import { createOperationalReadings } from './adapters/db/operational-readings.js';
import { seedDevelopmentData } from './adapters/db/seed.js';
import { StatementCounter } from './adapters/db/statement-counter.js';
import { createUnitOfWork } from './adapters/db/unit-of-work.js';
import { createTimerQueue } from './adapters/db/workflow-timer.store.js';
import { createDirectoryRouter, createPharmacyDirectory } from './adapters/directory/pharmacy-directory.js';
import { createTenantDirectory } from './adapters/directory/tenant-directory.js';
import { createBusIntegrations } from './adapters/events/bus-integrations.js';
import { createNatsBus } from './adapters/events/nats-bus.js';
import { createNatsCommandSource } from './adapters/events/nats-commands.js';
import { createOutboxRelay, type OutboxRelay } from './adapters/events/outbox-relay.js';
import { createPostgresBus } from './adapters/events/postgres-bus.js';
import { createMemoryRateLimiter, createSharedRateLimiter } from './adapters/rate-limit/rate-limiters.js';
import { loadControlledSubstances } from './adapters/rules/rules-file.js';
import { createFhirSchemaValidator } from './adapters/validation/fhir-schema-validator.js';
import { createLocalTerminology, createRemoteTerminology } from './adapters/validation/terminology.js';
import { createUseCases, type UseCases } from './application/index.js';
import { createLiveEvents, type LiveEvents } from './application/live-events.js';
import { withUseCaseSpans } from './application/use-case-spans.js';
import { type Config, PROJECT_ROOT } from './config.js';
import { PrescribingRules, US_FEDERAL_RULE_SET } from './domain/index.js';
import { createLogger } from './logger.js';
import type { EventBus, Integrations } from './ports/index.js';
import { traceLogFields } from './tracing.js';
import { COMMANDS_CONSUMER, startCommandsConsumer } from './transport/events/commands.consumer.js';
import { createTimerRunner } from './transport/events/timer-runner.js';
import { startWorkflowActionsConsumer, WORKFLOW_ACTIONS_CONSUMER } from './transport/events/workflow-actions.consumer.js';
import { createFhirWebsocketChannel } from './transport/fhir/websocket-channel.js';
import { buildGraphqlSchema } from './transport/graphql/schema.js';
import { createGraphqlWebsocket, type GraphqlWebsocket } from './transport/graphql/websocket.js';
import { createMetrics } from './transport/http/metrics.js';
import { registerOperationalMetrics } from './transport/http/operational-metrics.js';
import { createHttpServer } from './transport/http/server.js';
import { routeUpgrades } from './transport/http/upgrades.js';

/** A started gateway: what it listens on and the parts tests and the CLI reach into. */
export interface App {
  /** Base URL once listening, e.g. http://127.0.0.1:4000. */
  url: string;
  config: Config;
  logger: Logger;
  http: FastifyInstance;
  dataSource: DataSource;
  bus: EventBus;
  relay: OutboxRelay;
  useCases: UseCases;
  live: LiveEvents;
  /** Graceful stop: refuse new work, finish in-flight requests, flush the outbox, close everything. */
  close(): Promise<void>;
}

const VERSION = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Races a check against a timeout so a hung dependency reads as down, not as a hung probe. */
const within = (ms: number, check: () => Promise<boolean>): Promise<boolean> =>
  Promise.race([check().catch(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref())]);

/** What `startApp` takes besides the config: substitutes for tests and embedding. */
export interface StartOptions {
  /** The logger to use instead of one made from the config's level and format. */
  logger?: Logger;
  /** Replaces the default (bus-publishing) adapters of the integration ports. */
  integrations?: Partial<Integrations>;
  /** Turns tracing on with this exporter (tests: an `InMemorySpanExporter`), beside any OTLP endpoint configured. */
  spanExporter?: SpanExporter;
}

/**
 * The composition root: wires adapters to ports from one validated config and starts the
 * gateway. Embedded PostgreSQL and the embedded (PostgreSQL-backed) bus are used when no URL is configured.
 */
export async function startApp(config: Config, options: StartOptions = {}): Promise<App> {
  // First: the SDK, when tracing is on, must patch pg before the database is opened. Off, it is not even loaded.
  const tracing =
    config.tracing.otlpTracesUrl || options.spanExporter
      ? (await import('./adapters/tracing/tracer-provider.js')).startTracing({ ...config.tracing, serviceVersion: VERSION, exporter: options.spanExporter })
      : undefined;
  const logger = options.logger ?? createLogger({ level: config.logLevel, format: config.logFormat, ...(tracing && { mixin: traceLogFields }) });
  // Spans are flushed last, once everything that could still end one has stopped.
  const cleanup: Array<() => Promise<unknown>> = tracing ? [() => tracing.shutdown()] : [];
  try {
    let embedded: EmbeddedPostgres | undefined;
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      embedded = await startEmbeddedPostgres({ dataDir: config.dataDir });
      cleanup.push(() => embedded!.stop());
      databaseUrl = embedded.url;
      logger.info({ directory: embedded.directory, port: embedded.port }, 'embedded PostgreSQL started');
    }

    const statements = new StatementCounter();
    const dataSource = createDataSource({ url: databaseUrl, poolSize: config.dbPoolSize, logger: statements.logger() });
    await dataSource.initialize();
    cleanup.unshift(() => dataSource.destroy());
    if (config.runMigrations) {
      const applied = await runMigrations(dataSource);
      if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied');
    }
    if (config.seed) logger.info(await seedDevelopmentData(dataSource, config.pharmaciesFile), 'development data seeded');

    let bus: EventBus;
    let natsConnection: NatsConnection | undefined;
    if (config.natsUrl) {
      const nats = await createNatsBus({
        url: config.natsUrl,
        stream: config.natsStream,
        subjectPrefix: config.natsSubjectPrefix,
        ackWaitMs: config.natsAckWaitMs,
        consumerMaxAttempts: config.natsConsumerMaxAttempts,
        retention: config.busRetention,
        onStatus: (s) => logger.info({ status: s }, 'NATS connection'),
      });
      bus = nats;
      natsConnection = nats.connection;
    } else {
      const embeddedBus = createPostgresBus({ dataSource, databaseUrl, logger, retention: config.busRetention });
      await embeddedBus.start();
      bus = embeddedBus;
    }
    cleanup.unshift(() => bus.close());
    // Commands over the bus (CONTRACT §11) need a stream a publisher gets a PubAck from: NATS only.
    const commandSource =
      natsConnection &&
      (await createNatsCommandSource({
        connection: natsConnection,
        stream: `${config.natsStream}_COMMANDS`,
        subjectPrefix: config.natsSubjectPrefix,
        consumer: COMMANDS_CONSUMER,
        duplicateWindowMs: config.commands.duplicateWindowMs,
        maxDeliveries: config.commands.maxDeliveries,
        ackWaitMs: config.natsAckWaitMs,
        retention: config.busRetention,
      }));

    const metrics = createMetrics();
    let operational: ReturnType<typeof registerOperationalMetrics> | undefined;
    const relay = createOutboxRelay({
      dataSource,
      databaseUrl,
      bus,
      logger,
      pollIntervalMs: config.outboxPollMs,
      retentionSeconds: config.outboxRetentionSeconds,
      onPublished: (count) => operational?.published.inc(count),
    });
    await relay.start();
    cleanup.unshift(() => relay.stop());

    const audit = createAuditTrail(dataSource, { onError: (error, dropped) => logger.error({ err: error, dropped }, 'audit batch not written; retrying') });
    cleanup.unshift(() => audit.close());

    const newId = () => randomUUID();
    // Aborted at shutdown so an action waiting to retry gives up at once; its event is redelivered later.
    const stopping = new AbortController();
    const pharmacies = createPharmacyDirectory(dataSource);
    const rateLimitPolicy = { burst: config.rateLimit.burst, perSecond: config.rateLimit.perSecond };
    const igValidator = createFhirSchemaValidator();
    igValidator.warmUp(['MedicationRequest', 'MedicationDispense', 'Task']);
    const useCases = withUseCaseSpans(
      tracing !== undefined,
      createUseCases({
        uow: createUnitOfWork(dataSource),
        audit,
        tenants: createTenantDirectory(dataSource),
        pharmacies,
        pharmacyRouter: createDirectoryRouter(pharmacies),
        igValidator,
        terminology: config.terminologyUrl
          ? createRemoteTerminology({ baseUrl: config.terminologyUrl })
          : await createLocalTerminology(config.rxnormFile, { strict: config.terminologyStrict }),
        terminologyDefer: config.terminologyDefer,
        prescribingRules: new PrescribingRules(
          [...loadControlledSubstances(config.prescribingRules.controlledSubstancesFile), ...(config.prescribingRules.tenantRules.controlledSubstances ?? [])],
          [US_FEDERAL_RULE_SET, ...config.prescribingRules.tenantRules.ruleSets],
        ),
        // With NATS the deployment has several instances: the buckets then live in PostgreSQL, shared.
        rateLimits: config.rateLimit.enabled
          ? {
              limiter: config.natsUrl ? createSharedRateLimiter(dataSource, rateLimitPolicy) : createMemoryRateLimiter(rateLimitPolicy),
              burst: config.rateLimit.burst,
              onRejected: (tenant) => metrics.rateLimited.inc({ tenant }),
            }
          : undefined,
        tokens: createJwtVerifier(config.auth),
        clock: { now: () => new Date() },
        newId,
        idempotencyTtlSeconds: config.idempotencyTtlSeconds,
        workflowSettings: config.workflowSettings,
        ledger: createActionLedger(dataSource),
        integrations: { ...createBusIntegrations(bus), ...options.integrations },
        actions: {
          retry: config.actions,
          sleep: (ms) => setTimeoutPromise(ms, undefined, { signal: stopping.signal }),
          publishDeadLetter: async (dead) => {
            const data = Buffer.from(
              JSON.stringify({ handler: dead.handler, attempts: dead.attempts, error: dead.error, deadLetterId: dead.id, event: dead.envelope }),
            );
            await bus.publish({ subject: `dlq.eprescribing.${dead.handler}.${dead.tenantId}`, msgId: `${dead.id}:${dead.attempts}`, data });
            operational?.actionDeadLetters.inc({ handler: dead.handler });
          },
          onFailure: (handler, attempt, error) => {
            operational?.actionFailures.inc({ handler });
            if (attempt < config.actions.maxAttempts) operational?.actionRetries.inc({ handler });
            logger.warn({ handler, attempt, err: error }, 'workflow action failed');
          },
        },
      }),
    );
    const actionsConsumer = await startWorkflowActionsConsumer({ bus, useCases, logger });
    cleanup.unshift(async () => {
      stopping.abort();
      await actionsConsumer.close();
    });
    const timerQueue = createTimerQueue(dataSource);
    const timers = createTimerRunner({
      queue: timerQueue,
      fireDue: (limit) => useCases.fireDueTimers(timerQueue, limit),
      logger,
      maxIdleMs: config.timerPollMs,
      onOutcome: (outcome) => operational?.timerSettled(outcome),
    });
    timers.start();
    cleanup.unshift(() => timers.stop());
    const commandsConsumer = commandSource && (await startCommandsConsumer({ source: commandSource, bus, useCases, logger, newId }));
    if (commandsConsumer) cleanup.unshift(() => commandsConsumer.close());

    const schema = await buildGraphqlSchema();
    const { app: http, whenIdle } = await createHttpServer({
      config,
      useCases,
      schema,
      logger,
      metrics,
      version: VERSION,
      newId,
      statements,
      traceRequests: tracing !== undefined,
      readiness: async () => ({
        database: await within(2_000, async () => (await dataSource.query('SELECT 1')).length === 1),
        bus: await within(2_000, () => bus.ping()),
      }),
    });
    const live = createLiveEvents({ bus, logger });
    await live.start();
    cleanup.unshift(() => live.stop());
    const websocket: GraphqlWebsocket = createGraphqlWebsocket({
      schema,
      useCases,
      newId,
      live,
      subscriberBufferSize: config.subscriberBufferSize,
      keepAliveMs: config.websocketKeepAliveMs,
      exposeErrorDetails: config.exposeErrorDetails,
      onInternalError: (error: unknown, correlationId: string) =>
        logger.error({ err: error, reqId: correlationId }, 'unexpected error in a websocket operation'),
      bounds: config.graphqlBounds,
    });
    const fhirChannel = createFhirWebsocketChannel({
      useCases,
      live,
      bufferSize: config.subscriberBufferSize,
      newId,
      keepAliveMs: config.websocketKeepAliveMs,
      onInternalError: (error: unknown, correlationId: string) =>
        logger.error({ err: error, reqId: correlationId }, 'unexpected error on the FHIR websocket channel'),
    });
    operational = registerOperationalMetrics(metrics.registry, {
      readings: createOperationalReadings(dataSource),
      connections: () => ({ graphql: websocket.connections, fhir: fhirChannel.connections }),
      live: () => live.stats(),
      consumers: {
        [WORKFLOW_ACTIONS_CONSUMER]: () => actionsConsumer.lag(),
        'live-fanout': () => live.lag(),
        ...(commandsConsumer && { [COMMANDS_CONSUMER]: () => commandsConsumer.lag() }),
      },
      timersPending: () => timerQueue.pendingCount(),
    });
    const stopRouting = routeUpgrades(http.server, { '/graphql': websocket.handleUpgrade, '/fhir/websocket': fhirChannel.handleUpgrade });
    await http.listen({ port: config.port, host: config.host });
    const address = http.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`;
    logger.info({ url, database: embedded ? 'embedded' : 'postgres', bus: bus.kind }, 'rxgate listening');

    let closing: Promise<void> | undefined;
    return {
      url,
      config,
      logger,
      http,
      dataSource,
      bus,
      relay,
      useCases,
      live,
      close() {
        closing ??= (async () => {
          // Graceful within SHUTDOWN_TIMEOUT_MS; past it, what still hangs is cut so the process can stop.
          let expired = false;
          const deadline = new Promise<'expired'>((resolve) =>
            setTimeout(() => {
              expired = true;
              resolve('expired');
            }, config.shutdownTimeoutMs).unref(),
          );
          const within = (ms: number) => new Promise<'expired'>((resolve) => setTimeout(() => resolve('expired'), ms).unref());
          const step = async (name: string, work: () => Promise<unknown>, limit: Promise<'expired'> = deadline) => {
            const outcome = await Promise.race([
              work().then(
                () => 'done' as const,
                (error: unknown) => (logger.warn({ err: error, step: name }, 'shutdown step failed'), 'done' as const),
              ),
              limit,
            ]);
            if (outcome === 'expired') logger.warn({ step: name }, 'shutdown step cut short by SHUTDOWN_TIMEOUT_MS');
            else logger.debug({ step: name }, 'shutdown step done');
          };
          // Stop accepting; Fastify answers 503 to requests on kept-alive connections from now on.
          const httpClosed = http.close();
          await step('requests in flight', whenIdle);
          await step('outbox flush', () => relay.flush()); // everything committed reaches the bus before subscribers go
          stopRouting();
          await step('websockets', async () => {
            await websocket.close(); // 1001 to every websocket; the server's close can then complete
            await fhirChannel.close();
          });
          http.server.closeIdleConnections(); // keep-alive connections that went idle after close() began
          if (expired) http.server.closeAllConnections();
          await step('http server', () => httpClosed);
          if (expired) http.server.closeAllConnections();
          // Consumers, relay, bus, database: each gets its own few seconds, whatever happened before.
          for (const [index, cleanupStep] of cleanup.entries()) await step(`cleanup ${index}`, cleanupStep, within(5_000));
        })();
        return closing;
      },
    };
  } catch (error) {
    for (const step of cleanup) await step().catch(() => undefined);
    throw error;
  }
}
