/**
 * rxgate's own spans, on the OpenTelemetry API only. Whether anything is recorded is decided once,
 * in the composition root: with no SDK registered (`OTEL_EXPORTER_OTLP_ENDPOINT` unset) every call
 * here meets the API's no-op tracer, context manager and propagator, and costs a function call.
 *
 * Span names are low-cardinality (a route template, a use-case, an operation name); attributes never
 * carry request data: no query text, no URL query, no resource, no token.
 */
import { type Attributes, type Context, context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { isDomainError, isServerFault } from './domain/index.js';
import type { DeliveredMessage, MessageHeaders } from './ports/index.js';

/** Instrumentation scope of rxgate's spans. */
export const TRACER_NAME = 'rxgate';

export { type Context, type Span, SpanKind };

/** How a span of rxgate's starts. */
export interface SpanOptions {
  /** Its role (server, client, producer, consumer); default internal. */
  kind?: SpanKind;
  /** Attributes set at the start (never request data, see above). */
  attributes?: Attributes;
  /** The parent; default: the active context. */
  parent?: Context;
}

/** Starts a span that is not made active (for spans that end in another callback than they start). */
export function startSpan(name: string, options: SpanOptions = {}): Span {
  return trace.getTracer(TRACER_NAME).startSpan(name, { kind: options.kind, attributes: options.attributes }, options.parent ?? context.active());
}

/**
 * Marks a span failed by `error`. A domain error below 500 is the caller's mistake, not a failure of
 * the gateway: only its code is recorded. Anything else is recorded as an exception (type, message,
 * stack) with status ERROR.
 */
export function recordError(span: Span, error: unknown): void {
  if (isDomainError(error)) {
    span.setAttribute('rxgate.error_code', error.code);
    if (!isServerFault(error.code)) return;
  }
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
}

const isPromiseLike = (value: unknown): value is PromiseLike<unknown> => typeof (value as PromiseLike<unknown> | null)?.then === 'function';

/**
 * Runs `work` inside a new active span and ends the span when `work` returns or settles. A throw or
 * rejection is recorded (`recordError`) and passed on untouched.
 */
export function inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => T): T {
  const span = startSpan(name, options);
  const end = (error?: unknown) => {
    if (error !== undefined) recordError(span, error);
    span.end();
  };
  try {
    const result = context.with(trace.setSpan(options.parent ?? context.active(), span), work, undefined, span);
    if (!isPromiseLike(result)) {
      end();
      return result;
    }
    return Promise.resolve(result).then(
      (value) => {
        end();
        return value;
      },
      (error: unknown) => {
        end(error ?? new Error('rejected'));
        throw error;
      },
    ) as T;
  } catch (error) {
    end(error ?? new Error('thrown'));
    throw error;
  }
}

/** `parent` with `span` as its active span (to propagate a span that was not made active). */
export function withSpan(parent: Context, span: Span): Context {
  return trace.setSpan(parent, span);
}

/** The W3C trace context of `ctx` (default: the active one) as message headers; undefined when there is none. */
export function traceHeaders(ctx: Context = context.active()): MessageHeaders | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent ? carrier : undefined;
}

/** The context a trace was carried in (headers, or a stored `traceparent`); the root context when none. */
export function contextFrom(carrier: MessageHeaders | { traceparent?: string | null } | undefined): Context {
  if (!carrier?.traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/**
 * Runs the handling of one stream message in a CONSUMER span that continues the trace its headers
 * carry (the publisher's), whatever context the bus delivered it in.
 */
export function consumeSpan<T>(name: string, message: DeliveredMessage, attributes: Attributes, work: (span: Span) => T): T {
  return inSpan(
    name,
    {
      kind: SpanKind.CONSUMER,
      parent: contextFrom(message.headers),
      attributes: { 'messaging.operation.type': 'process', 'messaging.destination.name': message.subject, 'rxgate.stream.seq': message.seq, ...attributes },
    },
    work,
  );
}

/** The active context when a span is being recorded there; undefined otherwise (tracing off or not sampled). */
export function recordingContext(): Context | undefined {
  return trace.getActiveSpan()?.isRecording() ? context.active() : undefined;
}

/**
 * pino `mixin`: `trace_id` and `span_id` of the active span on every log line written inside one,
 * beside the correlation id the request's logger already carries.
 */
export function traceLogFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return trace.isSpanContextValid(span.spanContext()) ? { trace_id: traceId, span_id: spanId } : {};
}

let sdkRegistered = false;

/** Told by the composition root when it registers (or unregisters) a tracing SDK for the process. */
export function setTracingRegistered(registered: boolean): void {
  sdkRegistered = registered;
}

/**
 * One span per item of an async iterable consumed by a push loop (a websocket subscription): it starts
 * when the item is handed out and ends when the loop asks for the next one (or stops), so it covers
 * what the loop did with the item, e.g. resolving and writing a frame. Items without a `trace`
 * (not sampled) get no span; with no SDK registered the source is answered unchanged.
 */
export function spanEach<T extends { trace?: Context }>(source: AsyncIterable<T>, name: string, attributesOf: (item: T) => Attributes): AsyncIterable<T> {
  // Without an SDK no item carries a trace: the source as it is, one async layer less per delivery.
  if (!sdkRegistered) return source;
  return {
    [Symbol.asyncIterator]() {
      const inner = source[Symbol.asyncIterator]();
      let open: Span | undefined;
      const close = () => {
        open?.end();
        open = undefined;
      };
      return {
        async next() {
          close();
          const result = await inner.next();
          if (!result.done && result.value.trace)
            open = startSpan(name, { kind: SpanKind.PRODUCER, parent: result.value.trace, attributes: attributesOf(result.value) });
          return result;
        },
        async return(value?: unknown) {
          close();
          return inner.return ? inner.return(value) : { done: true as const, value: undefined };
        },
      };
    },
  };
}
