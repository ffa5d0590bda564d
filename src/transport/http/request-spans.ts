import { type Context, context, propagation, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_URL_SCHEME } from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SpanKind, startSpan } from '../../tracing.js';

/**
 * One SERVER span per HTTP request, named `METHOD /route/:template` (never the raw URL: ids and query
 * strings stay out of traces), continuing the caller's W3C `traceparent` when it sends one. The span
 * is the active context of the request's hooks, handler, use-cases and SQL. Hooks are added to `app`
 * itself (not an encapsulated plugin) so every route gets them; register before other `onResponse`
 * hooks so that their log lines carry the trace ids.
 */
export function addRequestSpans(app: FastifyInstance): void {
  const spans = new WeakMap<FastifyRequest, { span: Span; context: Context }>();

  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url;
    // W3C Trace Context §3: the caller's traceparent makes this request a child of its span.
    const parent = propagation.extract(context.active(), request.headers);
    const span = startSpan(route ? `${request.method} ${route}` : request.method, {
      kind: SpanKind.SERVER,
      parent,
      attributes: {
        [ATTR_HTTP_REQUEST_METHOD]: request.method,
        [ATTR_URL_SCHEME]: request.protocol,
        'rxgate.correlation_id': request.id,
        ...(route && { [ATTR_HTTP_ROUTE]: route }),
      },
    });
    const active = trace.setSpan(parent, span);
    spans.set(request, { span, context: active });
    context.with(active, done);
  });

  // The body is read in stream callbacks that lose the async context: the handler gets it back here.
  app.addHook('preHandler', (request, _reply, done) => {
    const traced = spans.get(request);
    if (traced) context.with(traced.context, done);
    else done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    const traced = spans.get(request);
    if (!traced) return done();
    spans.delete(request);
    traced.span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, reply.statusCode);
    if (request.ctx) traced.span.setAttribute('rxgate.tenant', request.ctx.tenantId);
    // Server spans: only 5xx is an error (OpenTelemetry HTTP semantic conventions).
    if (reply.statusCode >= 500) traced.span.setStatus({ code: SpanStatusCode.ERROR });
    // The following onResponse hooks (metrics, the request log line) run inside the span.
    context.with(traced.context, done);
    traced.span.end();
  });

  app.addHook('onRequestAbort', (request, done) => {
    const traced = spans.get(request);
    spans.delete(request);
    traced?.span.setAttribute('rxgate.aborted', true);
    traced?.span.end();
    done();
  });
}
