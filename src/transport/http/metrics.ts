import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one gateway instance (its own registry, so test instances do not collide). */
export interface Metrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  duration: Histogram<'route' | 'method' | 'status'>;
  statements: Histogram<'route'>;
  rateLimited: Counter<'tenant'>;
  /** Errors in GraphQL responses (HTTP 200 carries them too), by operation label and contract code. */
  graphqlErrors: Counter<'operation' | 'code'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'rxgate_' });
  return {
    registry,
    requests: new Counter({
      name: 'rxgate_http_requests_total',
      help: 'HTTP requests by route (GraphQL: operation name), method and status.',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'rxgate_http_request_duration_seconds',
      help: 'HTTP request latency by route (GraphQL: operation name), method and status.',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'rxgate_rate_limit_rejections_total',
      help: 'Requests refused with RATE_LIMIT_EXCEEDED, by tenant.',
      labelNames: ['tenant'],
      registers: [registry],
    }),
    graphqlErrors: new Counter({
      name: 'rxgate_graphql_errors_total',
      help: 'Errors in GraphQL responses over HTTP, by operation (graphql:<operationName>) and error code.',
      labelNames: ['operation', 'code'],
      registers: [registry],
    }),
    statements: new Histogram({
      name: 'rxgate_db_statements_per_request',
      help: 'SQL statements one HTTP request issued, by route (GraphQL: operation name).',
      labelNames: ['route'],
      buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128],
      registers: [registry],
    }),
  };
}

const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Route label: the route pattern, or `graphql:<operationName>` (bounded, so labels cannot explode). */
export function routeLabel(routeUrl: string | undefined, body: unknown, query: unknown): string {
  if (!routeUrl) return 'unmatched';
  if (routeUrl !== '/graphql') return routeUrl;
  return graphqlOperationLabel(
    (body as { operationName?: unknown } | undefined)?.operationName ?? (query as { operationName?: unknown } | undefined)?.operationName,
  );
}

/** `graphql:<operationName>`, or `graphql:anonymous` for a missing or unusual name. */
export function graphqlOperationLabel(name: unknown): string {
  return typeof name === 'string' && OPERATION_NAME.test(name) ? `graphql:${name}` : 'graphql:anonymous';
}
