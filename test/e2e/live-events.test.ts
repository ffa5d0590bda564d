import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { CreatePrescriptionDocument, TransitionDocument } from '../generated/graphql.js';
import { PHARMACY_A, prescription, uniquePatient } from '../support/fixtures.js';
import { graphql } from '../support/graphql.js';
import { request } from '../support/http.js';
import { subscriber } from '../support/live.js';
import { startTestApp } from '../support/test-app.js';
import { useTestApp } from '../support/use-test-app.js';

let ehr: string;
let pharmacy: string;
const t = useTestApp();
beforeAll(async () => {
  [ehr, pharmacy] = await Promise.all([t.token('tenant-a', 'ehr-backend'), t.token('tenant-a', 'pharmacy-backend')]);
});

const short = (type: string) => type.replace(/^eprescribing\.|\.v1$/g, '');

/** Resolves once the server holds `count` live subscribers (each test starts from none, see beforeEach). */
const subscribed = (app: { live: { stats(): { subscribers: number } } }, count: number) =>
  expect.poll(() => app.live.stats().subscribers, { timeout: 10_000 }).toBeGreaterThanOrEqual(count);

describe('prescriptionEvents over graphql-ws', () => {
  // The server lets a stopped subscriber go when it reads the socket's close: on a busy machine the
  // previous test's are still counted, and `subscribed` would pass before this test's had joined.
  beforeEach(async () => {
    await expect.poll(() => t.app.live.stats().subscribers, { timeout: 10_000 }).toBe(0);
  });

  it('delivers changes made over FHIR and over GraphQL to a filtered subscriber, in commit order', async () => {
    const patient = uniquePatient();
    const sub = subscriber(t.url, ehr, { filter: { patient: `Patient/${patient}` } });
    await subscribed(t.app, 1);

    await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription({ patient: uniquePatient() }) }); // another patient's
    const created = await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription({ patient }) });
    const id = created.body.id;
    await graphql(t.url, TransitionDocument, { id, event: 'APPROVE' }, ehr);
    await graphql(t.url, TransitionDocument, { id, event: 'PROCESS' }, pharmacy);
    await graphql(t.url, TransitionDocument, { id, event: 'DISPENSE' }, pharmacy);
    await graphql(t.url, TransitionDocument, { id, event: 'COMPLETE' }, pharmacy);
    await graphql(
      t.url,
      CreatePrescriptionDocument,
      {
        input: {
          subject: { reference: `Patient/${patient}` },
          medication: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '314076' }] },
          dispenseRequest: { performer: { reference: `Organization/${PHARMACY_A}` } },
        },
      },
      ehr,
    );

    await expect.poll(() => sub.received.length, { timeout: 10_000 }).toBe(7);
    await sub.stop();
    expect(sub.errors).toEqual([]);
    expect(sub.received.map((e) => [short(e.type), e.event])).toEqual([
      ['medication_request.created', 'request'],
      ['medication_request.status_changed', 'approve'],
      ['medication_request.status_changed', 'process'],
      ['medication_dispense.created', null],
      ['medication_request.status_changed', 'dispense'],
      ['medication_request.status_changed', 'complete'],
      ['medication_request.created', 'request'],
    ]);
    const sequences = sub.received.map((e) => Number(e.sequence));
    expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
    expect(sub.received[3].medicationDispense).not.toBeNull();
    expect(sub.received[3].medicationRequest).toMatchObject({ id }); // a dispense event loads its prescription
    expect(sub.received[5].medicationRequest).toEqual({ id, workflowStatus: 'COMPLETED' });
  });

  it('tenant-b never sees tenant-a', async () => {
    const patient = uniquePatient();
    const b = subscriber(t.url, await t.token('tenant-b', 'ehr-backend'));
    const a = subscriber(t.url, ehr, { filter: { patient } });
    await subscribed(t.app, 2);
    await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription({ patient }) });
    await expect.poll(() => a.received.length, { timeout: 10_000 }).toBe(1);
    const ownB = await request(`${t.url}/fhir/MedicationRequest`, { token: await t.token('tenant-b', 'ehr-backend'), body: prescription() });
    await expect.poll(() => b.received.length, { timeout: 10_000 }).toBe(1);
    expect(b.received[0].medicationRequest!.id).toBe(ownB.body.id);
    await a.stop();
    await b.stop();
  });

  it('resumes after a disconnect in the middle of a burst of 500 changes: exactly the missed events, in order', async () => {
    const patient = uniquePatient();
    const first = subscriber(t.url, ehr, { filter: { patient } });
    await subscribed(t.app, 1);
    const burst = (async () => {
      for (let i = 0; i < 500; i += 10) {
        await Promise.all(Array.from({ length: 10 }, () => request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription({ patient }) })));
      }
    })();
    await expect.poll(() => first.received.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(100);
    await first.stop();
    const cursor = first.received.at(-1)!.sequence;
    const seenBefore = first.received.map((e) => e.eventId);

    const resumed = subscriber(t.url, ehr, { filter: { patient }, after: cursor });
    await burst;
    await expect.poll(() => seenBefore.length + resumed.received.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(500);
    // Fence: a change committed after the burst must arrive after all of it, and nothing else before it.
    const marker = await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription({ patient }) });
    await expect.poll(() => resumed.received.some((e) => e.medicationRequest?.id === marker.body.id), { timeout: 30_000 }).toBe(true);
    await resumed.stop();
    expect(resumed.received.at(-1)!.medicationRequest!.id).toBe(marker.body.id);
    const all = [...seenBefore, ...resumed.received.slice(0, -1).map((e) => e.eventId)];
    expect(all).toHaveLength(500);
    expect(new Set(all).size).toBe(500);
    const sequences = resumed.received.map((e) => Number(e.sequence));
    expect(sequences[0]).toBeGreaterThan(Number(cursor));
    expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
    const [{ n }] = await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE envelope #>> '{payload,patientId}' = $1`, [patient]);
    expect(n).toBe(501);
  }, 60_000);

  it('a cursor the bus no longer keeps is CURSOR_EXPIRED, said clearly', async () => {
    const small = await startTestApp({ env: { BUS_MAX_MESSAGES: '10' } });
    try {
      const token = await small.token('tenant-a', 'ehr-backend');
      for (let i = 0; i < 25; i++) await request(`${small.url}/fhir/MedicationRequest`, { token, body: prescription() });
      await small.app.relay.flush();
      await (small.app.bus as { prune?: () => Promise<unknown> }).prune?.(); // NATS enforces max_msgs itself
      const expired = subscriber(small.url, token, { after: '1' });
      await expect.poll(() => expired.errors.length, { timeout: 10_000 }).toBe(1);
      expect(expired.errors[0].extensions?.code).toBe('CURSOR_EXPIRED');
      await expired.stop();
      const garbage = subscriber(small.url, token, { after: 'yesterday' });
      await expect.poll(() => garbage.errors.length, { timeout: 10_000 }).toBe(1);
      expect(garbage.errors[0].extensions?.code).toBe('BAD_REQUEST');
      await garbage.stop();
    } finally {
      await small.close();
    }
  });

  it('holds graphql-ws operations to the same bounds as HTTP (QUERY_TOO_COMPLEX before anything runs)', async () => {
    const { createClient } = await import('graphql-ws');
    const { default: WebSocket } = await import('ws');
    let deep = 'id';
    for (let i = 0; i < 10; i++) deep = `dispenses { prescription { ${deep} } }`;
    const client = createClient({
      url: `${t.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${ehr}` },
      retryAttempts: 0,
    });
    const errors = await new Promise<Array<{ extensions?: { code?: string } }>>((resolve) => {
      client.subscribe(
        { query: `subscription { prescriptionEvents { medicationRequest { ${deep} } } }` },
        { next: () => undefined, error: (e) => resolve(e as never), complete: () => resolve([]) },
      );
    });
    expect(errors[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    await client.dispose();
  });

  it('two instances on one database and bus: a change through A reaches a subscriber on B', async () => {
    const second = await startApp(
      loadConfig({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATABASE_URL: t.databaseUrl, OUTBOX_POLL_MS: '200', ...sharedNatsEnv() }),
    );
    try {
      const patient = uniquePatient();
      const onB = subscriber(second.url, ehr, { filter: { patient } });
      await subscribed(second, 1);
      const created = await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription({ patient }) });
      await expect.poll(() => onB.received.length, { timeout: 10_000 }).toBe(1);
      expect(onB.received[0].medicationRequest!.id).toBe(created.body.id);
      await onB.stop();
    } finally {
      await second.close();
    }
  });
});

/** The NATS settings of the running test app, so a second instance shares its stream. */
function sharedNatsEnv(): Record<string, string> {
  const config = t.app.config;
  return config.natsUrl ? { NATS_URL: config.natsUrl, NATS_STREAM: config.natsStream, NATS_SUBJECT_PREFIX: config.natsSubjectPrefix } : {};
}
