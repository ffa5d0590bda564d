import { beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_EVENTS, CURRENT_PRESCRIPTION_WORKFLOW, legalEvents as legalIn, type WorkflowState } from '../../src/domain/index.js';
import { CreateDispenseDocument, DispensesDocument, TransitionDocument, UpdateDispenseDocument } from '../generated/graphql.js';
import { PHARMACY_A, prescription, uniquePatient } from '../support/fixtures.js';
import { errorCodes, graphql } from '../support/graphql.js';
import { outcomeCode, request } from '../support/http.js';
import { useTestApp } from '../support/use-test-app.js';
import { type ClientEvent, gqlEvent, PATH_TO, PERSONA_OF, prescriptionIn, type ReachableState } from '../support/workflow.js';

const legalEvents = (state: WorkflowState) => legalIn(CURRENT_PRESCRIPTION_WORKFLOW, state);

let ehr: string;
let pharmacy: string;
let admin: string;
let ehrB: string;

const t = useTestApp();
beforeAll(async () => {
  [ehr, pharmacy, admin, ehrB] = await Promise.all([
    t.token('tenant-a', 'ehr-backend', 'dr-alice'),
    t.token('tenant-a', 'pharmacy-backend', 'pharm-bob'),
    t.token('tenant-a', 'platform-admin'),
    t.token('tenant-b', 'ehr-backend'),
  ]);
});

const fhir = (path: string) => `${t.url}/fhir/${path}`;
const tokens = () => ({ ehr, pharmacy });
const tokenFor = (event: ClientEvent) => (PERSONA_OF[event] === 'ehr-backend' ? ehr : pharmacy);
const workflowStatusOf = (resource: any) => resource.extension.find((e: any) => e.url === 'urn:rxgate:extension:workflow-status').valueCode;

const task = (id: string, code: string, status: string, reason?: string) => ({
  resourceType: 'Task',
  status,
  intent: 'order',
  code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code }] },
  focus: { reference: `MedicationRequest/${id}` },
  ...(reason ? { statusReason: { text: reason } } : {}),
});

const dispense = (id: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'MedicationDispense',
  status: 'completed',
  authorizingPrescription: [{ reference: `MedicationRequest/${id}` }],
  medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '314076' }] },
  quantity: { value: 30, unit: 'tablet' },
  ...extra,
});

/** Sends `event` the FHIR way (CONTRACT §3 table). */
async function fhirEvent(id: string, event: ClientEvent, token = tokenFor(event)) {
  switch (event) {
    case 'approve':
      return request(fhir('Task'), { token, body: task(id, 'approve', 'completed') });
    case 'reject':
      return request(fhir('Task'), { token, body: task(id, 'approve', 'rejected', 'duplicate therapy') });
    case 'cancel':
      return request(fhir('Task'), { token, body: task(id, 'abort', 'completed', 'patient request') });
    case 'process':
      return request(fhir('Task'), { token, body: task(id, 'fulfill', 'in-progress') });
    case 'dispense':
      return request(fhir('MedicationDispense'), { token, body: dispense(id) });
    case 'complete':
      return request(fhir('Task'), { token, body: task(id, 'fulfill', 'completed') });
    case 'fail':
      return request(fhir('Task'), { token, body: task(id, 'fulfill', 'failed', 'out of stock') });
  }
}

async function state(id: string) {
  const read = await request(fhir(`MedicationRequest/${id}`), { token: ehr });
  const [{ n: events }] = await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE envelope #>> '{payload,medicationRequestId}' = $1`, [id]);
  const [{ n: tasks }] = await t.sql<{ n: number }>('SELECT count(*)::int AS n FROM tasks WHERE focus_id = $1', [id]);
  const [{ n: dispenses }] = await t.sql<{ n: number }>('SELECT count(*)::int AS n FROM medication_dispenses WHERE prescription_id = $1', [id]);
  return { workflow: workflowStatusOf(read.body), status: read.body.status, version: read.body.meta.versionId, events, tasks, dispenses };
}

const eventTypesOf = async (id: string) =>
  (await t.sql<{ event_type: string }>(`SELECT event_type FROM outbox WHERE envelope #>> '{payload,medicationRequestId}' = $1 ORDER BY seq`, [id])).map((r) =>
    r.event_type.replace(/^eprescribing\.|\.v1$/g, ''),
  );

describe('happy path over FHIR', () => {
  it('requested → approved → processing → dispensed → completed with Tasks and a dispense, FHIR status following at every step', async () => {
    const { body: mr } = await request(fhir('MedicationRequest'), { token: ehr, body: prescription({ patient: uniquePatient() }) });
    expect([mr.status, workflowStatusOf(mr)]).toEqual(['draft', 'requested']);

    const approved = await fhirEvent(mr.id, 'approve');
    expect(approved.status).toBe(201);
    expect(approved.body).toMatchObject({ resourceType: 'Task', status: 'completed', focus: { reference: `MedicationRequest/${mr.id}` } });
    expect(await state(mr.id)).toMatchObject({ workflow: 'approved', status: 'active', version: '2' });

    expect((await fhirEvent(mr.id, 'process')).status).toBe(201);
    expect(await state(mr.id)).toMatchObject({ workflow: 'processing', status: 'active', version: '3' });

    const dispensed = await fhirEvent(mr.id, 'dispense');
    expect(dispensed.status).toBe(201);
    expect(dispensed.body).toMatchObject({
      resourceType: 'MedicationDispense',
      status: 'completed',
      subject: mr.subject,
      performer: [{ actor: { reference: `Organization/${PHARMACY_A}` } }],
    });
    expect(dispensed.headers.get('etag')).toBe('W/"1"');
    expect(await state(mr.id)).toMatchObject({ workflow: 'dispensed', status: 'active', version: '4' });

    const handedOver = await request(fhir(`MedicationDispense/${dispensed.body.id}`), {
      method: 'PUT',
      token: pharmacy,
      headers: { 'if-match': 'W/"1"' },
      body: { ...dispensed.body, whenHandedOver: '2026-11-21T12:00:00Z' },
    });
    expect(handedOver.status).toBe(200);
    expect(handedOver.body.meta.versionId).toBe('2');
    expect(await state(mr.id)).toMatchObject({ workflow: 'completed', status: 'completed', version: '5', tasks: 2, dispenses: 1 });

    expect(await eventTypesOf(mr.id)).toEqual([
      'medication_request.created',
      'medication_request.status_changed',
      'task.status_changed',
      'medication_request.status_changed',
      'task.status_changed',
      'medication_dispense.created',
      'medication_request.status_changed',
      'medication_dispense.updated',
      'medication_request.status_changed',
    ]);

    const history = await request(fhir(`MedicationRequest/${mr.id}/_history`), { token: pharmacy });
    expect(history.body.type).toBe('history');
    expect(history.body.entry.map((e: any) => workflowStatusOf(e.resource))).toEqual(['completed', 'dispensed', 'processing', 'approved', 'requested']);
    expect(history.body.entry.map((e: any) => e.resource.meta.versionId)).toEqual(['5', '4', '3', '2', '1']);

    const tasks = await request(fhir(`Task?focus=MedicationRequest/${mr.id}&code=fulfill&status=in-progress`), { token: ehr });
    expect(tasks.body.total).toBe(1);
    const taskRead = await request(fhir(`Task/${tasks.body.entry[0].resource.id}`), { token: ehr });
    expect(taskRead.status).toBe(200);
    const dispenses = await request(fhir(`MedicationDispense?prescription=${mr.id}&status=completed`), { token: ehr });
    expect(dispenses.body.entry.map((e: any) => e.resource.id)).toEqual([dispensed.body.id]);
    expect((await request(fhir(`MedicationDispense/${dispensed.body.id}/_history`), { token: ehr })).body.total).toBe(2);
  });

  it('a dispense created with whenHandedOver dispenses and completes at once: two versions, two transitions', async () => {
    const id = await prescriptionIn(t.url, 'processing', tokens());
    const created = await request(fhir('MedicationDispense'), { token: pharmacy, body: dispense(id, { whenHandedOver: '2026-11-21T09:30:00Z' }) });
    expect(created.status).toBe(201);
    expect(await state(id)).toMatchObject({ workflow: 'completed', version: '5' });
    const transitions = await t.sql<{ event: string }>(
      `SELECT transition->>'event' AS event FROM medication_request_history WHERE id = $1 AND transition IS NOT NULL ORDER BY version`,
      [id],
    );
    expect(transitions.map((r) => r.event)).toEqual(['request', 'approve', 'process', 'dispense', 'complete']);
  });

  it('completes by Task, rejects with a reason, fails, and cancels from requested (PATCH) and approved (Task)', async () => {
    const dispensed = await prescriptionIn(t.url, 'dispensed', tokens());
    expect((await fhirEvent(dispensed, 'complete')).status).toBe(201);
    expect(await state(dispensed)).toMatchObject({ workflow: 'completed', status: 'completed' });

    const rejected = await prescriptionIn(t.url, 'requested', tokens());
    expect((await fhirEvent(rejected, 'reject')).status).toBe(201);
    const rejectedRead = await request(fhir(`MedicationRequest/${rejected}`), { token: ehr });
    expect(rejectedRead.body).toMatchObject({ status: 'cancelled', statusReason: { text: 'duplicate therapy' } });

    const failed = await prescriptionIn(t.url, 'processing', tokens());
    expect((await fhirEvent(failed, 'fail')).status).toBe(201);
    expect(await state(failed)).toMatchObject({ workflow: 'failed', status: 'stopped' });

    const requested = await prescriptionIn(t.url, 'requested', tokens());
    const patched = await request(fhir(`MedicationRequest/${requested}`), {
      method: 'PATCH',
      token: ehr,
      headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' },
      rawBody: JSON.stringify([
        { op: 'replace', path: '/status', value: 'cancelled' },
        { op: 'add', path: '/statusReason', value: { text: 'prescribed in error' } },
      ]),
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ status: 'cancelled', statusReason: { text: 'prescribed in error' } });
    expect(workflowStatusOf(patched.body)).toBe('cancelled');
    expect((await eventTypesOf(requested)).slice(-2)).toEqual(['medication_request.status_changed', 'medication_request.cancelled']);

    const approved = await prescriptionIn(t.url, 'approved', tokens());
    expect((await fhirEvent(approved, 'cancel')).status).toBe(201);
    expect(await state(approved)).toMatchObject({ workflow: 'cancelled', status: 'cancelled' });

    // A change of status to cancelled is always the cancel event: on a rejected prescription it is refused.
    const again = await request(fhir(`MedicationRequest/${rejected}`), {
      method: 'PATCH',
      token: ehr,
      headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"2"' },
      rawBody: JSON.stringify([{ op: 'replace', path: '/status', value: 'cancelled' }]),
    });
    expect(again.status).toBe(409);
    expect(outcomeCode(again.body)).toBe('INVALID_TRANSITION');
  });

  it('PATCH: other status changes are invalid transitions, content patches follow the update rules, bad patches are 400', async () => {
    const id = await prescriptionIn(t.url, 'requested', tokens());
    const patch = (ops: unknown, ifMatch?: string, contentType = 'application/json-patch+json') =>
      request(fhir(`MedicationRequest/${id}`), {
        method: 'PATCH',
        token: ehr,
        headers: { 'content-type': contentType, ...(ifMatch ? { 'if-match': ifMatch } : {}) },
        rawBody: JSON.stringify(ops),
      });
    expect(outcomeCode((await patch([{ op: 'replace', path: '/status', value: 'active' }], 'W/"1"')).body)).toBe('INVALID_TRANSITION');
    expect((await patch([{ op: 'add', path: '/note', value: [{ text: 'take with food' }] }])).status).toBe(428);
    const content = await patch([{ op: 'add', path: '/note', value: [{ text: 'take with food' }] }], 'W/"1"');
    expect(content.status).toBe(200);
    expect(content.body.note).toEqual([{ text: 'take with food' }]);
    expect(content.body.meta.versionId).toBe('2');
    expect((await patch([{ op: 'add', path: '/note', value: [] }], 'W/"1"')).status).toBe(412);
    expect((await patch([{ op: 'replace', path: '/intent', value: 'plan' }], 'W/"2"')).status).toBe(422);
    expect((await patch([{ op: 'explode', path: '/x' }], 'W/"2"')).status).toBe(400);
    expect((await patch([{ op: 'remove', path: '/nothing/here' }], 'W/"2"')).status).toBe(400);
    expect((await patch({ op: 'add' }, 'W/"2"')).status).toBe(400);
    expect((await patch([{ op: 'add', path: '/note', value: [] }], 'W/"2"', 'application/fhir+json')).status).toBe(415);
    expect((await patch([{ op: 'add', path: '/__proto__/polluted', value: 1 }], 'W/"2"')).status).toBe(400);
  });
});

describe('happy path over GraphQL', () => {
  it('APPROVE, PROCESS, DISPENSE (as prescribed), COMPLETE — with transitions and the dispense', async () => {
    const { body: mr } = await request(fhir('MedicationRequest'), { token: ehr, body: prescription() });
    const approve = await graphql(t.url, TransitionDocument, { id: mr.id, event: 'APPROVE', ifMatch: 'W/"1"', reason: 'checked' }, ehr);
    expect(approve.data!.transitionPrescription).toMatchObject({ workflowStatus: 'APPROVED', status: 'active', etag: 'W/"2"' });
    await graphql(t.url, TransitionDocument, { id: mr.id, event: 'PROCESS' }, pharmacy);
    const dispensed = await graphql(t.url, TransitionDocument, { id: mr.id, event: 'DISPENSE' }, pharmacy);
    expect(dispensed.errors).toBeUndefined();
    const afterDispense = dispensed.data!.transitionPrescription;
    expect(afterDispense.workflowStatus).toBe('DISPENSED');
    expect(afterDispense.dispenses).toHaveLength(1);
    expect(afterDispense.dispenses[0]).toMatchObject({
      status: 'completed',
      quantity: { value: 30, unit: 'tablet' },
      whenHandedOver: null,
      pharmacy: { id: PHARMACY_A },
    });
    expect(afterDispense.dispenses[0].medication!.coding[0].code).toBe(mr.medicationCodeableConcept.coding[0].code);
    const completed = await graphql(t.url, TransitionDocument, { id: mr.id, event: 'COMPLETE' }, pharmacy);
    expect(completed.data!.transitionPrescription.transitions).toEqual([
      { event: 'request', from: null, to: 'requested', actor: 'dr-alice', reason: null },
      { event: 'approve', from: 'requested', to: 'approved', actor: 'dr-alice', reason: 'checked' },
      { event: 'process', from: 'approved', to: 'processing', actor: 'pharm-bob', reason: null },
      { event: 'dispense', from: 'processing', to: 'dispensed', actor: 'pharm-bob', reason: null },
      { event: 'complete', from: 'dispensed', to: 'completed', actor: 'pharm-bob', reason: null },
    ]);
  });

  it('createMedicationDispense defaults from the prescription; a first whenHandedOver on update completes it', async () => {
    const id = await prescriptionIn(t.url, 'processing', tokens());
    const created = await graphql(t.url, CreateDispenseDocument, { input: { prescriptionId: `MedicationRequest/${id}` } }, pharmacy);
    expect(created.errors).toBeUndefined();
    const d = created.data!.createMedicationDispense;
    expect(d).toMatchObject({
      status: 'completed',
      quantity: { value: 30 },
      prescription: { id, workflowStatus: 'DISPENSED' },
      pharmacy: { id: PHARMACY_A, name: 'A1 Pharmacy' },
    });
    const updated = await graphql(
      t.url,
      UpdateDispenseDocument,
      { id: d.id, ifMatch: d.etag, input: { prescriptionId: id, whenHandedOver: '2026-11-21T15:00:00Z' } },
      pharmacy,
    );
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateMedicationDispense).toMatchObject({
      versionId: '2',
      whenHandedOver: '2026-11-21T15:00:00Z',
      prescription: { workflowStatus: 'COMPLETED' },
    });
    const list = await graphql(t.url, DispensesDocument, { filter: { prescription: id } }, ehr);
    expect(list.data!.medicationDispenses.totalCount).toBe(1);
    const stale = await graphql(t.url, UpdateDispenseDocument, { id: d.id, ifMatch: d.etag, input: { prescriptionId: id } }, pharmacy);
    expect(errorCodes(stale)).toEqual(['PRECONDITION_FAILED']);
  });
});

describe('illegal moves change nothing', () => {
  for (const from of Object.keys(PATH_TO) as ReachableState[]) {
    const illegal = (CLIENT_EVENTS as ClientEvent[]).filter((e) => !legalEvents(from).includes(e));
    it(`from ${from}: ${illegal.join(', ')} are refused on both transports with the legal events named`, async () => {
      const id = await prescriptionIn(t.url, from, tokens());
      const before = await state(id);
      for (const event of illegal) {
        const viaGraphql = await graphql(t.url, TransitionDocument, { id, event: gqlEvent(event) }, tokenFor(event));
        expect(errorCodes(viaGraphql), `${from} ${event} over GraphQL`).toEqual(['INVALID_TRANSITION']);
        expect(viaGraphql.errors![0].message).toContain(`'${from}'`);
        const viaFhir = await fhirEvent(id, event);
        expect(viaFhir.status, `${from} ${event} over FHIR`).toBe(409);
        expect(outcomeCode(viaFhir.body)).toBe('INVALID_TRANSITION');
        for (const legal of legalEvents(from)) expect(viaFhir.body.issue[0].diagnostics).toContain(legal);
      }
      expect(await state(id)).toEqual(before);
    });
  }
});

describe('personas and existence', () => {
  it('every event from the wrong persona is FORBIDDEN_WRITE_PERSONA on both transports, and changes nothing', async () => {
    const id = await prescriptionIn(t.url, 'requested', tokens());
    const before = await state(id);
    for (const event of CLIENT_EVENTS as ClientEvent[]) {
      const wrong = PERSONA_OF[event] === 'ehr-backend' ? pharmacy : ehr;
      for (const token of [wrong, admin]) {
        expect(errorCodes(await graphql(t.url, TransitionDocument, { id, event: gqlEvent(event) }, token)), `${event} over GraphQL`).toEqual([
          'FORBIDDEN_WRITE_PERSONA',
        ]);
        const viaFhir = await fhirEvent(id, event, token);
        expect(viaFhir.status, `${event} over FHIR`).toBe(403);
        expect(outcomeCode(viaFhir.body)).toBe('FORBIDDEN_WRITE_PERSONA');
      }
    }
    expect(await state(id)).toEqual(before);
  });

  it('a Task or dispense whose prescription does not exist for the tenant is PRESCRIPTION_NOT_FOUND', async () => {
    const theirs = await prescriptionIn(t.url, 'approved', tokens());
    const ehrTokenB = ehrB;
    for (const id of [crypto.randomUUID(), 'not-a-uuid']) {
      expect(outcomeCode((await fhirEvent(id, 'approve')).body)).toBe('PRESCRIPTION_NOT_FOUND');
      expect(outcomeCode((await fhirEvent(id, 'dispense')).body)).toBe('PRESCRIPTION_NOT_FOUND');
    }
    const crossTenant = await request(fhir('Task'), { token: ehrTokenB, body: task(theirs, 'abort', 'completed') });
    expect(crossTenant.status).toBe(422);
    expect(outcomeCode(crossTenant.body)).toBe('PRESCRIPTION_NOT_FOUND');
    expect(errorCodes(await graphql(t.url, TransitionDocument, { id: theirs, event: 'CANCEL' }, ehrTokenB))).toEqual(['NOT_FOUND']);
    expect(await state(theirs)).toMatchObject({ workflow: 'approved' });
  });

  it('validates Tasks and dispenses: a Task that moves nothing, a dispense in another status', async () => {
    const id = await prescriptionIn(t.url, 'processing', tokens());
    const nothing = await request(fhir('Task'), { token: ehr, body: task(id, 'approve', 'requested') });
    expect(nothing.status).toBe(422);
    expect(outcomeCode(nothing.body)).toBe('PROFILE_VALIDATION_FAILURE');
    const badStatus = await request(fhir('MedicationDispense'), { token: pharmacy, body: dispense(id, { status: 'on-hold' }) });
    expect(badStatus.status).toBe(422);
    expect(badStatus.body.issue[0].expression).toEqual(['MedicationDispense.status']);
    expect(await state(id)).toMatchObject({ workflow: 'processing', tasks: 0, dispenses: 0 });
  });

  it('If-Match on a Task or dispense is checked against the prescription (412 with it contained)', async () => {
    const id = await prescriptionIn(t.url, 'processing', tokens());
    const stale = await request(fhir('MedicationDispense'), { token: pharmacy, headers: { 'if-match': 'W/"1"' }, body: dispense(id) });
    expect(stale.status).toBe(412);
    expect(stale.body.contained[0]).toMatchObject({ resourceType: 'MedicationRequest', id, meta: { versionId: '3' } });
    const fresh = await request(fhir('MedicationDispense'), { token: pharmacy, headers: { 'if-match': 'W/"3"' }, body: dispense(id) });
    expect(fresh.status).toBe(201);
  });
});

describe('concurrency', () => {
  it('ten conflicting transitions at once: one winner; with If-Match the rest are 412, without it they are retried and refused', async () => {
    for (const withIfMatch of [true, false]) {
      const id = await prescriptionIn(t.url, 'requested', tokens());
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          graphql(t.url, TransitionDocument, { id, event: i % 2 === 0 ? 'APPROVE' : 'REJECT', ...(withIfMatch ? { ifMatch: 'W/"1"' } : {}) }, ehr),
        ),
      );
      const winners = answers.filter((a) => !a.errors);
      expect(winners).toHaveLength(1);
      const losers = answers.filter((a) => a.errors).map((a) => errorCodes(a)[0]);
      expect(new Set(losers)).toEqual(new Set([withIfMatch ? 'PRECONDITION_FAILED' : 'INVALID_TRANSITION']));
      const after = await state(id);
      expect(after.version).toBe('2');
      expect(after.events).toBe(2); // created + one status_changed
      const moves = await t.sql(`SELECT version FROM medication_request_history WHERE id = $1`, [id]);
      expect(moves).toHaveLength(2);
    }
  });
});
