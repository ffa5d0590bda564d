import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { print } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLogger } from '../../src/logger.js';
import { traceLogFields } from '../../src/tracing.js';
import { TransitionDocument } from '../generated/graphql.js';
import { prescription, uniquePatient } from '../support/fixtures.js';
import { rawGraphql } from '../support/graphql.js';
import { request } from '../support/http.js';
import { subscriber } from '../support/live.js';
import { useTestApp } from '../support/use-test-app.js';

const exporter = new InMemorySpanExporter();
const logLines: Array<Record<string, unknown>> = [];
let pending = '';
const logStream = new Writable({
  write(chunk: Buffer, _encoding, callback) {
    const text = pending + chunk.toString('utf8');
    const lines = text.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
    callback();
  },
});

// The gateway's logger, at debug so each request writes a line, with the mixin app.ts adds when tracing is on.
const t = useTestApp({ spanExporter: exporter, logger: createLogger({ level: 'debug', mixin: traceLogFields }, logStream) });
let ehr: string;
let pharmacy: string;
beforeAll(async () => {
  [ehr, pharmacy] = await Promise.all([t.token('tenant-a', 'ehr-backend'), t.token('tenant-a', 'pharmacy-backend')]);
});

const PATIENT_NAME = 'Zebedee Quillfeather';

/** A prescription whose patient has a name: it must never reach a span or a log line. */
const namedPrescription = (patient: string) => ({ ...prescription({ patient }), subject: { reference: `Patient/${patient}`, display: PATIENT_NAME } });

const spans = () => exporter.getFinishedSpans();
const ns = (time: [number, number]) => BigInt(time[0]) * 1_000_000_000n + BigInt(time[1]);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan) => span.spanContext().spanId;
const statement = (span: ReadableSpan) => String(span.attributes['db.query.text'] ?? span.attributes['db.statement'] ?? '');
const isSql = (span: ReadableSpan) => (span.attributes['db.system.name'] ?? span.attributes['db.system']) === 'postgresql' && statement(span) !== '';

/** The one finished span matching, waiting for it to end (delivery spans end after the frame is written). */
async function theSpan(description: string, match: (span: ReadableSpan) => boolean): Promise<ReadableSpan> {
  await expect.poll(() => spans().filter(match).length, { timeout: 10_000, message: description }).toBe(1);
  return spans().find(match)!;
}

/** The SERVER span of the request sent with this correlation id, and finders of the spans in its trace. */
async function traceOfRequest(correlationId: string) {
  const requestSpan = await theSpan(
    `request span ${correlationId}`,
    (s) => s.kind === SpanKind.SERVER && s.attributes['rxgate.correlation_id'] === correlationId,
  );
  const traceId = requestSpan.spanContext().traceId;
  const inTrace = (match: (span: ReadableSpan) => boolean) => (span: ReadableSpan) => span.spanContext().traceId === traceId && match(span);
  /** The one span of the trace with this name (and matching `also`). */
  const named = (name: string, also: (span: ReadableSpan) => boolean = () => true) =>
    theSpan(
      name,
      inTrace((s) => s.name === name && also(s)),
    );
  return { requestSpan, inTrace, named };
}

/** Asserts each span starts no earlier than the one before it (the SDK stamps starts to the millisecond: ties pass). */
function expectCausalOrder(chain: ReadableSpan[]): void {
  for (let i = 1; i < chain.length; i++)
    expect(ns(chain[i].startTime) >= ns(chain[i - 1].startTime), `${chain[i].name} starts after ${chain[i - 1].name}`).toBe(true);
}

/** Nothing recorded names the patient or quotes the token. */
function expectNoRequestData(recorded: unknown[], token: string): void {
  const text = JSON.stringify(recorded);
  expect(text).not.toContain('Zebedee');
  expect(text).not.toContain(token);
  expect(text).not.toContain(token.split('.')[2]); // the signature alone
}

const recordedOf = (span: ReadableSpan) => ({ name: span.name, attributes: span.attributes, events: span.events });

describe('tracing: one trace from the EHR request to the subscriber', () => {
  it('a FHIR create and its graphql-ws delivery share one trace: request → use-case → SQL → relay publish → fan-out → websocket delivery', async () => {
    const patient = uniquePatient();
    const sub = subscriber(t.url, ehr, { filter: { patient: `Patient/${patient}` } });
    await expect.poll(() => t.app.live.stats().subscribers, { timeout: 10_000 }).toBe(1);

    const correlationId = `trace-${randomUUID()}`;
    const created = await request(`${t.url}/fhir/MedicationRequest`, {
      token: ehr,
      body: namedPrescription(patient),
      headers: { 'x-correlation-id': correlationId },
    });
    expect(created.status).toBe(201);
    await expect.poll(() => sub.received.length, { timeout: 10_000 }).toBe(1);
    const eventId = sub.received[0].eventId;
    await sub.stop();

    const { requestSpan, inTrace, named } = await traceOfRequest(correlationId);
    const useCase = await named('use-case createMedicationRequest');
    const publish = await named('outbox publish');
    const fanOut = await named('live fan-out');
    const delivery = await named('graphql-ws deliver', (s) => s.attributes['rxgate.event_id'] === eventId);
    const traceId = requestSpan.spanContext().traceId;

    // The request: a SERVER span named by its route template, with the correlation id beside the trace.
    expect(requestSpan.name).toBe('POST /fhir/MedicationRequest');
    expect(requestSpan.attributes['http.route']).toBe('/fhir/MedicationRequest');
    expect(requestSpan.attributes['http.response.status_code']).toBe(201);
    expect(parentOf(requestSpan)).toBeUndefined();

    // The use-case in the request; its SQL in the use-case, the outbox row among it, committed before the relay publishes.
    expect(parentOf(useCase)).toBe(idOf(requestSpan));
    expect(useCase.attributes['rxgate.tenant']).toBe('tenant-a');
    const sql = spans().filter(inTrace((s) => isSql(s) && parentOf(s) === idOf(useCase)));
    const outboxInsert = sql.find((s) => /INSERT INTO "?outbox"?/i.test(statement(s)));
    const requestInsert = sql.find((s) => /INSERT INTO "?medication_requests"?/i.test(statement(s)));
    // The create's writes travel with its COMMIT, in one round trip (issue #18).
    const commit = sql.find((s) => /(^|;\s*)COMMIT$/i.test(statement(s)));
    expect(outboxInsert, 'the outbox insert is a SQL span of the use-case').toBeDefined();
    expect(requestInsert, 'the prescription insert is a SQL span of the use-case').toBeDefined();
    expect(commit, 'the commit is a SQL span of the use-case').toBeDefined();
    // Values are inlined into the statements sent; a span keeps only the statement's shape.
    expect(sql.map(statement).filter((text) => text.includes("'"))).toEqual([]);

    // The outbox row keeps the traceparent of the use-case span; the relay publishes as its child.
    const [row] = await t.sql<{ traceparent: string }>('SELECT traceparent FROM outbox WHERE event_id = $1', [eventId]);
    expect(row.traceparent).toBe(`00-${traceId}-${idOf(useCase)}-01`);
    expect(parentOf(publish)).toBe(idOf(useCase));
    expect(publish.kind).toBe(SpanKind.PRODUCER);
    expect(publish.attributes['messaging.message.id']).toBe(eventId);

    // Over the bus (NATS headers, or the embedded bus's): the fan-out consumer continues the publish span,
    // and the websocket delivery continues the fan-out.
    expect(parentOf(fanOut)).toBe(idOf(publish));
    expect(fanOut.kind).toBe(SpanKind.CONSUMER);
    expect(parentOf(delivery)).toBe(idOf(fanOut));

    // Start times in causal order. The relay sees the row once the server has committed; the commit's
    // own span may end a moment after the publish starts (reply and NOTIFY race back), so starts order them.
    expectCausalOrder([requestSpan, useCase, requestInsert!, outboxInsert!, commit!, publish, fanOut, delivery]);

    // Route templates, never the raw URL: a read names no id.
    const id = created.body.id as string;
    const read = await request(`${t.url}/fhir/MedicationRequest/${id}?_pretty=true`, { token: ehr, headers: { 'x-correlation-id': `${correlationId}-read` } });
    expect(read.status).toBe(200);
    const { requestSpan: readSpan } = await traceOfRequest(`${correlationId}-read`);
    expect(readSpan.name).toBe('GET /fhir/MedicationRequest/:id');
    expect(JSON.stringify(recordedOf(readSpan))).not.toContain(id);

    // The subscription itself: a graphql-ws operation span, named by its operation.
    const subscribed = await theSpan('graphql-ws operation span', (s) => s.name === 'subscription Events' && s.attributes['rxgate.transport'] === 'graphql-ws');
    expect(subscribed.attributes).toMatchObject({ 'graphql.operation.type': 'subscription', 'graphql.operation.name': 'Events' });

    expectNoRequestData(spans().map(recordedOf), ehr);
  });

  it('a GraphQL mutation is named by its operation, and the workflow action it causes runs in its trace', async () => {
    const { body: created } = await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: namedPrescription(uniquePatient()) });
    const correlationId = `trace-${randomUUID()}`;
    const approved = await rawGraphql(
      t.url,
      { query: print(TransitionDocument), operationName: 'Transition', variables: { id: created.id, event: 'APPROVE' } },
      ehr,
      { 'x-correlation-id': correlationId },
    );
    expect(approved.errors).toBeUndefined();

    const { requestSpan, inTrace, named } = await traceOfRequest(correlationId);
    const operation = await named('mutation Transition');
    const useCase = await named('use-case transitionPrescription');
    const publish = await named('outbox publish');
    const action = await named('workflow-actions process');
    const handled = await named('use-case handleWorkflowEvent');
    expect(requestSpan.name).toBe('POST /graphql');

    expect(operation.attributes).toMatchObject({ 'graphql.operation.type': 'mutation', 'graphql.operation.name': 'Transition' });
    expect(Object.keys(operation.attributes).filter((key) => /document|query|source/.test(key))).toEqual([]);
    expect(parentOf(operation)).toBe(idOf(requestSpan));
    expect(parentOf(useCase)).toBe(idOf(operation));
    expect(parentOf(publish)).toBe(idOf(useCase));
    expect(parentOf(action)).toBe(idOf(publish));
    expect(action.attributes['messaging.consumer.group.name']).toBe('rxgate-workflow-actions');
    expect(parentOf(handled)).toBe(idOf(action));
    // The action's own SQL (its ledger) is in the trace too.
    expect(spans().some(inTrace((s) => isSql(s) && parentOf(s) === idOf(handled)))).toBe(true);
    expectCausalOrder([requestSpan, operation, useCase, publish, action, handled]);
    expectNoRequestData(spans().map(recordedOf), ehr);
  });

  it('a FHIR websocket notification is delivered in the trace of the change', async () => {
    const patient = uniquePatient();
    const subscription = await request(`${t.url}/fhir/Subscription`, {
      token: pharmacy,
      body: {
        resourceType: 'Subscription',
        status: 'requested',
        reason: 'pharmacy queue',
        criteria: `MedicationRequest?patient=Patient/${patient}`,
        channel: { type: 'websocket' },
      },
    });
    expect(subscription.status).toBe(201);
    const id = subscription.body.id as string;
    const socket = new WebSocket(`${t.url.replace('http', 'ws')}/fhir/websocket`, { headers: { authorization: `Bearer ${pharmacy}` } });
    const messages: string[] = [];
    socket.on('message', (data) => messages.push(data.toString()));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.send(`bind ${id}`);
    await expect.poll(() => messages).toContain(`bound ${id}`);

    const correlationId = `trace-${randomUUID()}`;
    await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: namedPrescription(patient), headers: { 'x-correlation-id': correlationId } });
    await expect.poll(() => messages, { timeout: 10_000 }).toContain(`ping ${id}`);
    socket.close();

    const { requestSpan, named } = await traceOfRequest(correlationId);
    const fanOut = await named('live fan-out');
    const delivery = await named('fhir-websocket deliver');
    expect(delivery.attributes['rxgate.subscription_id']).toBe(id);
    expect(parentOf(delivery)).toBe(idOf(fanOut));
    expectCausalOrder([requestSpan, fanOut, delivery]);
  });

  it('log lines written inside a span carry its trace_id and span_id beside the correlation id, and no token or patient name', async () => {
    const correlationId = `trace-${randomUUID()}`;
    await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: namedPrescription(uniquePatient()), headers: { 'x-correlation-id': correlationId } });
    const { requestSpan } = await traceOfRequest(correlationId);
    await expect.poll(() => logLines.filter((line) => line.reqId === correlationId && line.msg === 'request').length).toBe(1);
    const line = logLines.find((l) => l.reqId === correlationId && l.msg === 'request')!;
    expect(line).toMatchObject({ trace_id: requestSpan.spanContext().traceId, span_id: requestSpan.spanContext().spanId });
    // Outside any span (start-up lines) there are no trace fields.
    expect(logLines.find((l) => l.msg === 'rxgate listening')).not.toHaveProperty('trace_id');
    expectNoRequestData(logLines, ehr);
  });
});
