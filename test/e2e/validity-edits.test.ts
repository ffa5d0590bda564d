import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prescription, uniquePatient } from '../support/fixtures.js';
import { rawGraphql } from '../support/graphql.js';
import { outcomeCode, request } from '../support/http.js';
import { subscriber } from '../support/live.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Editing `dispenseRequest.validityPeriod.end` (FHIR PUT, PATCH, GraphQL update) moves the expiry
 * timer with it (CONTRACT §7): the expiry fires at the new end, never at the old one, and a removed
 * end leaves none pending.
 */

let t: TestApp;
let ehr: string;
beforeAll(async () => {
  t = await startTestApp({ env: { TIMER_POLL_MS: '200' } });
  ehr = await t.token('tenant-a', 'ehr-backend');
});
afterAll(async () => t?.close());

const fhir = (path: string) => `${t.url}/fhir/${path}`;
const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();
const EXPIRED = 'eprescribing.medication_request.expired.v1';

async function create(patient: string, end?: string): Promise<{ id: string; etag: string; body: fhir4.MedicationRequest }> {
  const body = prescription({ patient });
  body.dispenseRequest = { ...body.dispenseRequest, ...(end ? { validityPeriod: { end } } : {}) };
  const created = await request(fhir('MedicationRequest'), { token: ehr, body });
  expect(created.status).toBe(201);
  return { id: created.body.id, etag: created.headers.get('etag')!, body: created.body };
}

/** The instance's expiry timers, oldest first: when each is due and how it ended (null: pending). */
const expiryTimers = async (id: string) =>
  (
    await t.sql<{ due: Date; outcome: string | null }>(
      `SELECT due_at AS due, outcome FROM workflow_timers WHERE instance_id = $1 AND name = 'expiry' ORDER BY armed_at, due_at`,
      [id],
    )
  ).map((timer) => ({ ...timer, due: timer.due.toISOString() }));
const iso = (value: string) => new Date(value).toISOString();

/** Waits on the stream (GraphQL subscription) for the expiry of `id`, and answers when the timer that sent it was due and settled. */
async function expiryOf(live: ReturnType<typeof subscriber>, id: string) {
  await expect.poll(() => live.received.some((e) => e.type === EXPIRED && e.medicationRequest?.id === id), { timeout: 30_000, interval: 100 }).toBe(true);
  const [fired] = await t.sql<{ due: Date; settled: Date }>(
    `SELECT due_at AS due, settled_at AS settled FROM workflow_timers WHERE instance_id = $1 AND outcome = 'fired'`,
    [id],
  );
  return fired;
}

// Concurrent: each test waits seconds for its own expiry to come due (its own patient, subscriber and
// prescriptions), so the waits overlap instead of adding up.
describe.concurrent('editing the validity end moves the expiry', () => {
  it('FHIR PUT: an end brought near fires at the new end; an end in the past is refused and moves nothing', async () => {
    const patient = uniquePatient();
    const live = subscriber(t.url, ehr, { filter: { patient } });
    await live.ready;
    const farEnd = inSeconds(86_400);
    const created = await create(patient, farEnd);
    expect(await expiryTimers(created.id)).toEqual([{ due: iso(farEnd), outcome: null }]);

    const past = await request(fhir(`MedicationRequest/${created.id}`), {
      method: 'PUT',
      token: ehr,
      headers: { 'if-match': created.etag },
      body: { ...created.body, dispenseRequest: { ...created.body.dispenseRequest, validityPeriod: { end: inSeconds(-60) } } },
    });
    expect([past.status, outcomeCode(past.body)]).toEqual([422, 'PROFILE_VALIDATION_FAILURE']);
    expect(await expiryTimers(created.id)).toEqual([{ due: iso(farEnd), outcome: null }]);

    const nearEnd = inSeconds(3);
    const put = await request(fhir(`MedicationRequest/${created.id}`), {
      method: 'PUT',
      token: ehr,
      headers: { 'if-match': created.etag },
      body: { ...created.body, dispenseRequest: { ...created.body.dispenseRequest, validityPeriod: { end: nearEnd } } },
    });
    expect(put.status).toBe(200);
    expect(await expiryTimers(created.id)).toEqual([
      { due: iso(farEnd), outcome: 'dropped' },
      { due: iso(nearEnd), outcome: null },
    ]);
    const fired = await expiryOf(live, created.id);
    expect(fired.due.toISOString()).toBe(iso(nearEnd));
    expect(fired.settled.getTime()).toBeGreaterThanOrEqual(fired.due.getTime());
    const read = await request(fhir(`MedicationRequest/${created.id}`), { token: ehr });
    expect([read.body.status, read.body.statusReason?.text]).toEqual(['stopped', expect.stringMatching(/validity period/)]);
    await live.stop();
  }, 60_000);

  it('FHIR PATCH: an end moved later does not fire at the old end, a removed end leaves no expiry, and one moved near again fires there', async () => {
    const patient = uniquePatient();
    const live = subscriber(t.url, ehr, { filter: { patient } });
    await live.ready;
    const oldEnd = inSeconds(86_400);
    const moved = await create(patient, oldEnd);
    // The fence: an untouched prescription; once it has expired, the old end has passed.
    const fence = await create(patient, inSeconds(86_400));
    const laterEnd = inSeconds(2 * 86_400);
    const patched = await request(fhir(`MedicationRequest/${moved.id}`), {
      method: 'PATCH',
      token: ehr,
      headers: { 'if-match': moved.etag, 'content-type': 'application/json-patch+json' },
      body: [{ op: 'replace', path: '/dispenseRequest/validityPeriod/end', value: laterEnd }],
    });
    expect(patched.status).toBe(200);
    expect(await expiryTimers(moved.id)).toEqual([
      { due: iso(oldEnd), outcome: 'dropped' },
      { due: iso(laterEnd), outcome: null },
    ]);
    // The old end is brought to now rather than waited out (a near one needs seconds of margin for the
    // PATCH to land before it). The runner holds no timer in memory: each round reads the unsettled rows
    // due by then. So the dropped row due now, and the fence just after it (one statement, so the fence
    // is never due alone), is the old end passing: once the fence has fired, a round has looked past
    // the old end, and the old timer would have fired with it had the PATCH not dropped it.
    const brought = await t.sql<{ id: string }>(
      `UPDATE workflow_timers SET due_at = CASE WHEN instance_id = $1 THEN now() ELSE now() + interval '100 milliseconds' END
       WHERE name = 'expiry' AND ((instance_id = $1 AND outcome = 'dropped') OR (instance_id = $2 AND settled_at IS NULL))
       RETURNING instance_id AS id`,
      [moved.id, fence.id],
    );
    expect(brought.map(({ id }) => id).sort()).toEqual([moved.id, fence.id].sort());
    await expiryOf(live, fence.id);
    expect(live.received.filter((e) => e.type === EXPIRED).map((e) => e.medicationRequest?.id)).toEqual([fence.id]);
    expect((await expiryTimers(moved.id)).map(({ outcome }) => outcome)).toEqual(['dropped', null]);

    const removed = await request(fhir(`MedicationRequest/${moved.id}`), {
      method: 'PATCH',
      token: ehr,
      headers: { 'if-match': patched.headers.get('etag')!, 'content-type': 'application/json-patch+json' },
      body: [{ op: 'remove', path: '/dispenseRequest/validityPeriod' }],
    });
    expect(removed.status).toBe(200);
    expect((await expiryTimers(moved.id)).map((timer) => timer.outcome)).toEqual(['dropped', 'dropped']);

    const nearEnd = inSeconds(3);
    const again = await request(fhir(`MedicationRequest/${moved.id}`), {
      method: 'PATCH',
      token: ehr,
      headers: { 'if-match': removed.headers.get('etag')!, 'content-type': 'application/json-patch+json' },
      body: [{ op: 'add', path: '/dispenseRequest/validityPeriod', value: { end: nearEnd } }],
    });
    expect(again.status).toBe(200);
    const fired = await expiryOf(live, moved.id);
    expect(fired.due.toISOString()).toBe(iso(nearEnd));
    expect(fired.settled.getTime()).toBeGreaterThanOrEqual(fired.due.getTime());
    await live.stop();
  }, 60_000);

  it('GraphQL updateMedicationRequest: an end added to an approved prescription arms the expiry (shown in workflow.timers), which fires at that end; the service level stays put', async () => {
    const patient = uniquePatient();
    const live = subscriber(t.url, ehr, { filter: { patient } });
    await live.ready;
    const created = await create(patient);
    const approved = await rawGraphql(t.url, { query: `mutation { transitionPrescription(id: "${created.id}", event: APPROVE) { etag } }` }, ehr);
    expect(approved.errors).toBeUndefined();
    const timers = async () =>
      (await rawGraphql(t.url, { query: `{ medicationRequest(id: "${created.id}") { workflow { timers { name dueAt } } } }` }, ehr)).data.medicationRequest
        .workflow.timers as Array<{ name: string; dueAt: string }>;
    const before = await timers();
    expect(before.map((timer) => timer.name)).toEqual(['processingServiceLevel']);

    const nearEnd = inSeconds(4);
    const input = {
      subject: { reference: `Patient/${patient}` },
      medication: { coding: created.body.medicationCodeableConcept!.coding!.map(({ system, code }) => ({ system, code })) },
      dispenseRequest: {
        quantity: { value: 30, unit: 'tablet' },
        performer: { reference: created.body.dispenseRequest!.performer!.reference },
        validityPeriod: { end: nearEnd },
      },
    };
    const updated = await rawGraphql(
      t.url,
      {
        query: `mutation($id: ID!, $input: MedicationRequestInput!, $ifMatch: String!) { updateMedicationRequest(id: $id, input: $input, ifMatch: $ifMatch) { dispenseRequest { validityPeriod { end } } } }`,
        variables: { id: created.id, input, ifMatch: approved.data.transitionPrescription.etag },
      },
      ehr,
    );
    expect(updated.errors).toBeUndefined();
    const after = await timers();
    expect(after.map(({ name, dueAt }) => [name, new Date(dueAt).toISOString()]).sort()).toEqual(
      [['expiry', iso(nearEnd)], before.map(({ name, dueAt }) => [name, new Date(dueAt).toISOString()])[0]].sort(),
    );
    const fired = await expiryOf(live, created.id);
    expect(fired.due.toISOString()).toBe(iso(nearEnd));
    expect(fired.settled.getTime()).toBeGreaterThanOrEqual(fired.due.getTime());
    await live.stop();
  }, 60_000);
});
