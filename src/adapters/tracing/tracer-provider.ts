import { createRequire } from 'node:module';
import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_DB_QUERY_TEXT, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { TraceSampler } from '../../config.js';
import { setTracingRegistered } from '../../tracing.js';

/** What `startTracing` registers: the service's name and where spans go. */
export interface TracingOptions {
  /** `service.name` of every span (`OTEL_SERVICE_NAME`). */
  serviceName: string;
  /** `service.version` of every span (the package version). */
  serviceVersion: string;
  /** OTLP/HTTP (protobuf) traces endpoint, e.g. http://collector:4318/v1/traces; spans are batched to it. */
  otlpTracesUrl?: string;
  /** An exporter of the caller's (tests: an `InMemorySpanExporter`); spans reach it as each one ends. */
  exporter?: SpanExporter;
  /** Which traces are recorded (`OTEL_TRACES_SAMPLER`'s names); default `parentbased_traceidratio`. */
  sampler?: TraceSampler;
  /** Share of new traces the ratio samplers record (0…1). */
  sampleRatio: number;
}

/** The tracing SDK while it is registered. */
export interface Tracing {
  /** Exports what is buffered, stops the exporters and unregisters everything, so the process is as before. */
  shutdown(): Promise<void>;
}

// Patching `pg` is process-wide (require hooks see a module once), so one instrumentation serves every
// tracer provider this process starts in turn; each start points it at its own provider.
let pgInstrumentation: PgInstrumentation | undefined;
let running = false;

/**
 * Registers an OpenTelemetry SDK for the process: a tracer provider with W3C trace-context propagation
 * and async-hooks context, and the pg instrumentation (one span per SQL statement, only inside a trace
 * of ours: the relay's and the embedded bus's polling stay untraced). One at a time per process.
 */
export function startTracing(options: TracingOptions): Tracing {
  if (running) throw new Error('tracing is already started in this process (one traced gateway per process)');
  const processors: SpanProcessor[] = [];
  if (options.exporter) processors.push(new SimpleSpanProcessor(options.exporter));
  if (options.otlpTracesUrl) processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: options.otlpTracesUrl })));
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName, [ATTR_SERVICE_VERSION]: options.serviceVersion }),
    sampler: samplerOf(options.sampler ?? 'parentbased_traceidratio', options.sampleRatio),
    spanProcessors: processors,
  });
  // Trace context only: W3C baggage from callers is neither needed nor trusted.
  provider.register({ propagator: new W3CTraceContextPropagator() });
  running = true;
  setTracingRegistered(true);

  // Connect spans are left out: every request takes a pooled connection, so they doubled the SQL spans
  // of a create and measured the pool's queue, which rxgate_db_pool_* metrics already show.
  pgInstrumentation ??= new PgInstrumentation({
    requireParentSpan: true,
    ignoreConnectSpans: true,
    enabled: false,
    // Statements carry their values inlined (one round trip a read, a transaction's writes with its
    // COMMIT): the span keeps the statement's shape only, never a value of a request.
    requestHook: (span, { query }) => span.setAttribute(ATTR_DB_QUERY_TEXT, withoutLiterals(query.text)),
  });
  const unregister = registerInstrumentations({ tracerProvider: provider, instrumentations: [pgInstrumentation] });
  // `pg` was loaded by ESM imports before this ran; requiring it (and its pool) again through the
  // hooks lets the instrumentation patch the loaded copy, which every importer shares.
  const requireHere = createRequire(import.meta.url);
  requireHere('pg');
  createRequire(requireHere.resolve('pg'))('pg-pool');

  return {
    async shutdown() {
      unregister();
      try {
        await provider.shutdown();
      } finally {
        trace.disable();
        context.disable();
        propagation.disable();
        running = false;
        setTracingRegistered(false);
      }
    },
  };
}

/** The sampler `OTEL_TRACES_SAMPLER` names, as the OpenTelemetry SDK environment specification defines them. */
function samplerOf(name: TraceSampler, ratio: number): Sampler {
  const root = name.endsWith('always_on') ? new AlwaysOnSampler() : name.endsWith('always_off') ? new AlwaysOffSampler() : new TraceIdRatioBasedSampler(ratio);
  return name.startsWith('parentbased_') ? new ParentBasedSampler({ root }) : root;
}

// A quoted literal, plain or with escapes (pg's escapeLiteral writes E'…' when the value has a backslash).
const LITERAL = /\bE'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'/g;

/** `sql` with every quoted literal replaced by `?`. */
export function withoutLiterals(sql: string): string {
  return sql.replace(LITERAL, '?');
}
