import cors from '@fastify/cors';
import Fastify, { type FastifyInstance, type FastifyRequest, LogController } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { StatementCounter } from '../../adapters/db/statement-counter.js';
import type { UseCases } from '../../application/index.js';
import type { Config } from '../../config.js';
import { DomainError } from '../../domain/index.js';
import { fhirPlugin } from '../fhir/fhir.plugin.js';
import { createApollo, graphqlPlugin } from '../graphql/graphql.plugin.js';
import { asyncApiRoutes } from './asyncapi.routes.js';
import { errorSender } from './errors.js';
import { graphqlOperationLabel, type Metrics, routeLabel } from './metrics.js';
import { correlationIdOf } from './request-context.js';
import { addRequestSpans } from './request-spans.js';
import { registerWebPages } from './web-pages.js';

/** What `createHttpServer` serves with. */
export interface HttpServerOptions {
  /** Body limit, CORS, public URL, GraphQL bounds and explorer, error details. */
  config: Config;
  /** What every route and resolver calls. */
  useCases: UseCases;
  /** The GraphQL subgraph's schema. */
  schema: GraphQLSchema;
  /** Fastify's logger; 5xx causes are logged with their request. */
  logger: Logger;
  /** The Prometheus registry behind `/metrics` and the per-request figures. */
  metrics: Metrics;
  /** The gateway's version (CapabilityStatement, AsyncAPI document). */
  version: string;
  /** Correlation ids for requests that bring none. */
  newId: () => string;
  /** Answers whether each dependency responds. */
  readiness: () => Promise<Record<string, boolean>>;
  /** Attributes SQL statements to the request that issued them. */
  statements: StatementCounter;
  /** A span per request (`addRequestSpans`); off, no hook is added. */
  traceRequests?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    statementCount?: () => number;
  }
}

const MAX_JSON_DEPTH = 64;

/** Iterative, so a hostile document cannot exhaust the stack while being measured. */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

/** The built server (not yet listening). */
export interface HttpServer {
  app: FastifyInstance;
  /** Resolves once no HTTP request is being handled (upgraded websockets are not requests). */
  whenIdle(): Promise<void>;
}

/** One Fastify server: GraphQL, the FHIR facade, health, readiness and metrics on one port. */
export async function createHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  // pino's Logger is a FastifyBaseLogger; the cast only widens the instance type for callers.
  const { config, metrics, logger } = options;
  const app = Fastify({
    loggerInstance: logger,
    // Requests are counted and timed by our own hooks; Fastify's per-request lines would double the log volume.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    genReqId: (request) => correlationIdOf(request.headers, options.newId),
    // FHIR ids and search values are case-sensitive; keep URLs as sent.
    routerOptions: { caseSensitive: true, ignoreTrailingSlash: true, maxParamLength: 200 },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  // Security headers (no sniffing, no framing, HSTS, …); the CSP would break the development landing page.
  // helmet's middleware is built once: @fastify/helmet built it again for every request (its options
  // and CSP directives parsed anew), 9 % of the bytes a FHIR read allocated.
  const securityHeaders = helmet({ contentSecurityPolicy: config.env === 'production', crossOriginEmbedderPolicy: false });
  app.addHook('onRequest', (request, reply, done) => securityHeaders(request.raw, reply.raw, () => done()));
  if (config.corsOrigins !== 'none') {
    await app.register(cors, {
      origin: config.corsOrigins === '*' ? true : config.corsOrigins,
      allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Exist', 'Idempotency-Key', 'Prefer', 'X-Correlation-Id', 'X-Tenant-Id'],
      exposedHeaders: ['ETag', 'Location', 'Last-Modified', 'X-Correlation-Id', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'],
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    });
  }

  // One JSON parser for every JSON media type; `__proto__` and `constructor.prototype` keys are refused.
  // Nothing else is parsed: Fastify's own text/plain parser would hand a string to validation (422),
  // where any body that is not JSON must answer 415 (CONTRACT §2).
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'application/fhir+json', 'application/json-patch+json'], { parseAs: 'string' }, (request, body, done) => {
    // Callback style: the parser answers through `done`, never through a promise.
    void jsonParser(request, body as string, (error: Error | null, value?: unknown) => {
      if (error) return done(error, undefined);
      // Deeply nested JSON is refused before anything walks it (validators recurse).
      if (nestedDeeperThan(value, MAX_JSON_DEPTH))
        return done(new DomainError('BAD_REQUEST', `The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels.`), undefined);
      done(null, value);
    });
  });

  let inFlight = 0;
  let idleWaiters: Array<() => void> = [];
  const finished = () => {
    if (--inFlight === 0) {
      for (const wake of idleWaiters) wake();
      idleWaiters = [];
    }
  };
  // Counted on the raw server: a response's 'close' fires exactly once, whether it finished or was aborted.
  app.server.on('request', (_request, response) => {
    inFlight++;
    response.once('close', finished);
  });
  if (options.traceRequests) addRequestSpans(app as unknown as FastifyInstance);
  // The rest of the request runs inside its own statement count.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('X-Correlation-Id', request.id);
    request.statementCount = options.statements.run(() => done()).read;
  });
  app.addHook('onResponse', async (request, reply) => {
    const labels = { route: routeLabel(request.routeOptions.url, request.body, request.query), method: request.method, status: String(reply.statusCode) };
    metrics.requests.inc(labels);
    metrics.duration.observe(labels, reply.elapsedTime / 1000);
    if (request.statementCount) metrics.statements.observe({ route: labels.route }, request.statementCount());
    // One line per request (the correlation id is the logger's reqId); refusals and failures stand out by level.
    const level = reply.statusCode >= 500 ? 'error' : reply.statusCode >= 400 ? 'warn' : 'info';
    request.log[level]({ method: request.method, route: labels.route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
  });

  const logServerError = (error: unknown, request?: { log: { error: (details: object, message: string) => void } }) =>
    (request?.log ?? logger).error({ err: error }, 'unexpected error');

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const checks = await options.readiness();
    const ready = Object.values(checks).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks });
  });
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  await app.register(asyncApiRoutes, { version: options.version });

  registerWebPages(app, { config }); // explorer, board, their bundles; before GraphQL (shared path)
  await app.register(fhirPlugin, {
    prefix: '/fhir',
    useCases: options.useCases,
    publicBaseUrl: config.publicBaseUrl,
    version: options.version,
    onServerError: (e, r) => logServerError(e, r),
  });

  const graphqlOptions = {
    schema: options.schema,
    bounds: config.graphqlBounds,
    useCases: options.useCases,
    production: config.env === 'production',
    introspection: config.env !== 'production' || config.graphqlExplorer,
    exposeErrorDetails: config.exposeErrorDetails,
    onInternalError: (e: unknown, request?: FastifyRequest) => logServerError(e, request),
    onResponseErrors: (operationName: string | undefined, codes: string[]) => {
      for (const code of codes) metrics.graphqlErrors.inc({ operation: graphqlOperationLabel(operationName), code });
    },
  };
  const apollo = await createApollo(graphqlOptions);
  app.addHook('onClose', async () => apollo.stop());
  await app.register(graphqlPlugin, { ...graphqlOptions, apollo });

  app.setNotFoundHandler(async (request) => {
    throw new DomainError('NOT_FOUND', `Nothing at ${request.method} ${request.url.split('?')[0]}.`);
  });
  app.setErrorHandler(errorSender((reply, error) => reply.send({ error: error.code, message: error.message }), logServerError));
  return {
    app: app as unknown as FastifyInstance,
    whenIdle: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
  };
}
