import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IntegrationNotice } from '../../src/ports/index.js';
import { WORKFLOW_ACTIONS_CONSUMER } from '../../src/transport/events/workflow-actions.consumer.js';
import { fakeIntegrations } from '../support/fake-integrations.js';
import { prescription } from '../support/fixtures.js';
import { rawGraphql } from '../support/graphql.js';
import { request } from '../support/http.js';
import { subscriber } from '../support/live.js';
import { type Sample, scrape, valueOf } from '../support/prometheus.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { prescriptionIn } from '../support/workflow.js';

// Three attempts per action, quickly; a bucket of 100 units refilled at 20/s (a write costs 5).
const ENV = {
  ACTION_MAX_ATTEMPTS: '3',
  ACTION_RETRY_BASE_MS: '10',
  ACTION_RETRY_MAX_MS: '50',
  RATE_LIMIT_ENABLED: 'true',
  RATE_LIMIT_BURST: '100',
  RATE_LIMIT_PER_SECOND: '20',
};
const LIVE = 'live-fanout';

let t: TestApp;
const fake = fakeIntegrations();
// The insurer hangs until told otherwise: the workflow-actions consumer is stuck on one event and lags.
let openInsurer!: () => void;
const insurerOpen = new Promise<void>((resolve) => (openInsurer = resolve));
beforeAll(async () => {
  const insurance = {
    approvalGranted: async (notice: IntegrationNotice) => {
      await insurerOpen;
      await fake.integrations.insurance.approvalGranted(notice);
    },
  };
  t = await startTestApp({ env: ENV, integrations: { ...fake.integrations, insurance: { ...fake.integrations.insurance, ...insurance } } });
});
afterAll(async () => {
  openInsurer();
  await t?.close();
});

describe('/metrics after a scripted burst', () => {
  it('shows requests, errors, outbox, consumer lag, retries, dead letters, live delivery, pool and rate limits with the values the burst implies', async () => {
    const tokens = { ehr: await t.token('tenant-a', 'ehr-backend'), pharmacy: await t.token('tenant-a', 'pharmacy-backend') };
    const live = subscriber(t.url, tokens.ehr);
    await live.ready;
    await expect.poll(async () => valueOf(await scrape(t.url), 'rxgate_live_subscribers'), { timeout: 10_000 }).toBe(1);

    // One approval the insurer holds, then three more status changes queued behind it; the support
    // endpoint is down, so the failed prescription's alert is retried, then dead-lettered.
    await prescriptionIn(t.url, 'approved', tokens);
    fake.fail('support', Infinity);
    await prescriptionIn(t.url, 'failed', tokens);
    const created = await Promise.all(
      Array.from({ length: 10 }, () => request(`${t.url}/fhir/MedicationRequest`, { token: tokens.ehr, body: prescription() })),
    );
    expect(created.map((c) => c.status)).toEqual(Array(10).fill(201));

    // Errors: a FHIR 404, and a GraphQL error inside an HTTP 200.
    expect((await request(`${t.url}/fhir/MedicationRequest/${randomUUID()}`, { token: tokens.ehr })).status).toBe(404);
    const forbidden = await rawGraphql(
      t.url,
      { query: `mutation Forbidden { transitionPrescription(id: "${created[0].body.id}", event: DISPENSE) { id } }`, operationName: 'Forbidden' },
      tokens.ehr,
    );
    expect(forbidden.status).toBe(200);
    expect(forbidden.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN_WRITE_PERSONA']);

    // A noisy tenant empties its own bucket; tenant-a's is untouched.
    const noisy = await t.token('tenant-b', 'ehr-backend');
    const noise = await Promise.all(Array.from({ length: 30 }, () => request(`${t.url}/fhir/MedicationRequest`, { token: noisy, body: {} })));
    const refused = noise.filter((r) => r.status === 429).length;
    expect(refused).toBeGreaterThan(0);

    // While the insurer hangs: the outbox drains, and the actions consumer lags by exactly the four
    // status changes (the one being handled and the three behind it).
    const lagOf = (samples: Sample[], consumer: string) => valueOf(samples, 'rxgate_stream_consumer_lag_messages', { consumer });
    await expect
      .poll(
        async () => {
          const s = await scrape(t.url);
          return { backlog: valueOf(s, 'rxgate_outbox_backlog_events'), actions: lagOf(s, WORKFLOW_ACTIONS_CONSUMER), live: lagOf(s, LIVE) };
        },
        { timeout: 20_000 },
      )
      .toEqual({ backlog: 0, actions: 4, live: 0 });
    const during = await scrape(t.url);
    expect(valueOf(during, 'rxgate_outbox_oldest_unpublished_seconds')).toBe(0);
    expect(valueOf(during, 'rxgate_websocket_connections', { protocol: 'graphql-ws' })).toBe(1);
    expect(valueOf(during, 'rxgate_dead_letters_open', { handler: 'alertSupport' })).toBeUndefined();

    openInsurer();
    await expect
      .poll(
        async () => {
          const s = await scrape(t.url);
          return { actions: lagOf(s, WORKFLOW_ACTIONS_CONSUMER), deadLetters: valueOf(s, 'rxgate_dead_letters_open', { handler: 'alertSupport' }) };
        },
        { timeout: 20_000 },
      )
      .toEqual({ actions: 0, deadLetters: 1 });

    // Every event of tenant-a reached the subscriber: 12 created, 4 status changes.
    await expect.poll(() => live.received.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(16);
    await expect.poll(async () => valueOf(await scrape(t.url), 'rxgate_live_events_delivered_total'), { timeout: 10_000 }).toBe(live.received.length);

    const after = await scrape(t.url);
    const at = (name: string, labels: Record<string, string> = {}) => valueOf(after, name, labels);
    expect(at('rxgate_http_requests_total', { route: '/fhir/MedicationRequest', method: 'POST', status: '201' })).toBe(12);
    expect(at('rxgate_http_request_duration_seconds_count', { route: '/fhir/MedicationRequest', method: 'POST', status: '201' })).toBe(12);
    expect(at('rxgate_http_requests_total', { route: '/fhir/MedicationRequest/:id', method: 'GET', status: '404' })).toBe(1);
    expect(at('rxgate_http_requests_total', { route: '/fhir/MedicationRequest', method: 'POST', status: '429' })).toBe(refused);
    expect(at('rxgate_graphql_errors_total', { operation: 'graphql:Forbidden', code: 'FORBIDDEN_WRITE_PERSONA' })).toBe(1);
    expect(at('rxgate_rate_limit_rejections_total', { tenant: 'tenant-b' })).toBe(refused);
    expect(at('rxgate_rate_limit_rejections_total', { tenant: 'tenant-a' })).toBeUndefined();

    expect(at('rxgate_outbox_backlog_events')).toBe(0);
    expect(at('rxgate_outbox_oldest_unpublished_seconds')).toBe(0);
    expect(at('rxgate_outbox_published_total')).toBeGreaterThanOrEqual(live.received.length);
    expect(at('rxgate_stream_consumer_lag_messages', { consumer: WORKFLOW_ACTIONS_CONSUMER })).toBe(0);
    expect(at('rxgate_stream_consumer_lag_messages', { consumer: LIVE })).toBe(0);

    // alertSupport: three failed attempts, two of them retried, then one dead letter.
    expect(at('rxgate_action_failures_total', { handler: 'alertSupport' })).toBe(3);
    expect(at('rxgate_action_retries_total', { handler: 'alertSupport' })).toBe(2);
    expect(at('rxgate_action_dead_letters_total', { handler: 'alertSupport' })).toBe(1);
    expect(at('rxgate_dead_letters_open', { handler: 'alertSupport' })).toBe(1);
    expect(at('rxgate_action_failures_total', { handler: 'notifyInsurance' })).toBeUndefined();

    expect(at('rxgate_live_subscribers_dropped_total')).toBe(0);
    expect(at('rxgate_db_pool_connections', { state: 'waiting' })).toBe(0);
    expect(at('rxgate_db_pool_connections', { state: 'in_use' })! + at('rxgate_db_pool_connections', { state: 'idle' })!).toBeGreaterThanOrEqual(1);

    await live.stop();
    await expect
      .poll(
        async () => {
          const s = await scrape(t.url);
          return [valueOf(s, 'rxgate_websocket_connections', { protocol: 'graphql-ws' }), valueOf(s, 'rxgate_live_subscribers')];
        },
        { timeout: 10_000 },
      )
      .toEqual([0, 0]);
  });
});
