import { context, ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '../../src/adapters/tracing/tracer-provider.js';
import { loadConfig } from '../../src/config.js';
import { DomainError } from '../../src/domain/index.js';
import { type Context, contextFrom, inSpan, spanEach, traceHeaders, traceLogFields } from '../../src/tracing.js';

describe('tracing configuration', () => {
  it('is off unless an OTLP endpoint is set', () => {
    expect(loadConfig({}).tracing).toEqual({ otlpTracesUrl: undefined, serviceName: 'rxgate', sampler: 'parentbased_traceidratio', sampleRatio: 1 });
  });

  it('exports to <endpoint>/v1/traces, or to the traces endpoint as given; OTEL_SDK_DISABLED wins', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing.otlpTracesUrl).toBe('http://collector:4318/v1/traces');
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/otlp/traces' }).tracing.otlpTracesUrl,
    ).toBe('https://b/otlp/traces');
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_SDK_DISABLED: 'true' }).tracing.otlpTracesUrl).toBeUndefined();
    expect(loadConfig({ OTEL_SERVICE_NAME: 'rxgate-eu', OTEL_TRACES_SAMPLER_ARG: '0.25' }).tracing).toMatchObject({
      serviceName: 'rxgate-eu',
      sampleRatio: 0.25,
    });
  });

  it('refuses a non-http endpoint and a ratio outside 0…1, naming them', () => {
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
    expect(() => loadConfig({ OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
    expect(() => loadConfig({ OTEL_TRACES_SAMPLER_ARG: 'half' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
    expect(() => loadConfig({ OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(/OTEL_TRACES_SAMPLER must be one of always_on, always_off, traceidratio/);
    expect(loadConfig({ OTEL_TRACES_SAMPLER: 'always_off' }).tracing.sampler).toBe('always_off');
  });
});

describe('spans with no SDK registered (tracing off)', () => {
  it('carry nothing and change nothing: values and errors pass through', async () => {
    expect(traceHeaders()).toBeUndefined();
    expect(contextFrom(undefined)).toBe(ROOT_CONTEXT);
    expect(traceLogFields()).toEqual({});
    expect(inSpan('x', {}, () => 42)).toBe(42);
    await expect(inSpan('x', {}, async () => 'done')).resolves.toBe('done');
    const error = new Error('boom');
    await expect(inSpan('x', {}, async () => Promise.reject(error))).rejects.toBe(error);
    expect(() =>
      inSpan('x', {}, () => {
        throw error;
      }),
    ).toThrow(error);
  });
});

describe('spans with the SDK registered', () => {
  let tracing: Tracing | undefined;
  let exporter: InMemorySpanExporter;
  // A shut-down exporter records nothing more: each test gets its own.
  const start = (sampling: Pick<Parameters<typeof startTracing>[0], 'sampler' | 'sampleRatio'> = { sampleRatio: 1 }) =>
    (tracing = startTracing({ serviceName: 'rxgate-test', serviceVersion: '0', exporter: (exporter = new InMemorySpanExporter()), ...sampling }));
  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
  });

  it('follow OTEL_TRACES_SAMPLER: always_off records nothing, a ratio of 0 records only what a sampled caller continues', async () => {
    const sampled = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    start({ sampler: 'always_off', sampleRatio: 1 });
    inSpan('dropped', {}, () => undefined);
    inSpan('dropped too', { parent: contextFrom({ traceparent: sampled }) }, () => undefined);
    expect(exporter.getFinishedSpans()).toEqual([]);
    await tracing!.shutdown();

    start({ sampler: 'parentbased_traceidratio', sampleRatio: 0 });
    inSpan('new trace', {}, () => undefined);
    inSpan('continued', { parent: contextFrom({ traceparent: sampled }) }, () => undefined);
    expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual(['continued']);
  });

  it('nest, and cross a message as a W3C traceparent', async () => {
    start();
    let headers: Record<string, string> | undefined;
    await inSpan('outer', {}, async () => {
      headers = traceHeaders() as Record<string, string>;
      expect(traceLogFields()).toMatchObject({ trace_id: expect.stringMatching(/^[0-9a-f]{32}$/), span_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
    });
    inSpan('consumer', { parent: contextFrom(headers) }, () => undefined);
    const [outer, consumer] = exporter.getFinishedSpans();
    expect(headers!.traceparent).toBe(`00-${outer.spanContext().traceId}-${outer.spanContext().spanId}-01`);
    expect(consumer.spanContext().traceId).toBe(outer.spanContext().traceId);
    expect(consumer.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
  });

  it("record a caller's domain error by its code only, and anything else as a failure", async () => {
    start();
    await expect(inSpan('refused', {}, async () => Promise.reject(new DomainError('NOT_FOUND', 'No such prescription')))).rejects.toThrow();
    await expect(inSpan('broken', {}, async () => Promise.reject(new TypeError('bug')))).rejects.toThrow();
    const [refused, broken] = exporter.getFinishedSpans();
    expect(refused.attributes['rxgate.error_code']).toBe('NOT_FOUND');
    expect(refused.status.code).toBe(SpanStatusCode.UNSET);
    expect(refused.events).toEqual([]);
    expect(broken.status.code).toBe(SpanStatusCode.ERROR);
    expect(broken.events.map((e) => e.name)).toEqual(['exception']);
  });

  it('spanEach: a span per traced item, open until the consumer asks for the next one or stops', async () => {
    start();
    const parent = await inSpan('fan-out', {}, async () => context.active());
    async function* items(): AsyncGenerator<{ n: number; trace?: Context }> {
      yield { n: 1, trace: parent };
      yield { n: 2 }; // not traced: no span
      yield { n: 3, trace: parent };
    }
    const iterator = spanEach(items(), 'deliver', (item) => ({ n: item.n }))[Symbol.asyncIterator]();
    await iterator.next();
    expect(exporter.getFinishedSpans().filter((s) => s.name === 'deliver')).toHaveLength(0); // still delivering 1
    await iterator.next();
    await iterator.next();
    expect(
      exporter
        .getFinishedSpans()
        .filter((s) => s.name === 'deliver')
        .map((s) => s.attributes.n),
    ).toEqual([1]);
    await iterator.return!();
    const delivered = exporter.getFinishedSpans().filter((s) => s.name === 'deliver');
    expect(delivered.map((s) => s.attributes.n)).toEqual([1, 3]);
    expect(delivered.every((s) => s.parentSpanContext?.spanId === trace.getSpan(parent)!.spanContext().spanId)).toBe(true);
  });

  it('one SDK per process at a time; after shutdown the API is back to its no-op', async () => {
    start();
    expect(() => startTracing({ serviceName: 'again', serviceVersion: '0', exporter, sampleRatio: 1 })).toThrow(/already started/);
    await tracing!.shutdown();
    tracing = undefined;
    expect(inSpan('after', {}, (span) => span.isRecording())).toBe(false);
    expect(
      traceHeaders(
        trace.setSpan(ROOT_CONTEXT, trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 })),
      ),
    ).toBeUndefined();
  });
});
