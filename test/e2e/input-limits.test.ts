import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { MAX_SEARCH_VALUE_LENGTH, MAX_STRING_LENGTH } from '../../src/domain/input-limits.js';
import { PHARMACY_A, prescription, uniquePatient, websocketSubscription, workflowTask } from '../support/fixtures.js';
import { storedCounts } from '../support/footprint.js';
import { rawGraphql } from '../support/graphql.js';
import { outcomeCode, request } from '../support/http.js';
import { subscriber } from '../support/live.js';
import { useTestApp } from '../support/use-test-app.js';
import { prescriptionIn, type ReachableState } from '../support/workflow.js';

/**
 * Issue #7, item 5: every string a client can send is bounded (src/domain/input-limits.ts). Over
 * the bound, resource content answers 422 PROFILE_VALIDATION_FAILURE naming the element, a search
 * parameter, filter, cursor or key answers 400 BAD_REQUEST — through FHIR and GraphQL alike, with a
 * short answer that does not echo the value, and nothing stored.
 */

/** 100 KB: well past every bound, well under the 1 MB body limit. */
const HUGE = 'x'.repeat(100_000);
/** Past the search bound, but under Node's 16 KB limit on the request line and headers. */
const LONG = 'y'.repeat(MAX_SEARCH_VALUE_LENGTH + 1);

let ehr: string;
let pharmacy: string;
let admin: string;
const t = useTestApp();
beforeAll(async () => {
  [ehr, pharmacy, admin] = await Promise.all([
    t.token('tenant-a', 'ehr-backend'),
    t.token('tenant-a', 'pharmacy-backend'),
    t.token('tenant-a', 'platform-admin'),
  ]);
});

const fhir = (path: string) => `${t.url}/fhir/${path}`;

/** A prescription of tenant-a in `state`, read back over FHIR (body and ETag). */
async function inState(state: ReachableState) {
  const id = await prescriptionIn(t.url, state, { ehr, pharmacy }, uniquePatient());
  const read = await request(fhir(`MedicationRequest/${id}`), { token: ehr });
  return { id, etag: read.headers.get('etag')!, body: read.body as fhir4.MedicationRequest };
}

/** The answer in contract terms: status, code, the FHIRPaths named, and how long it was. */
interface Refusal {
  status: number;
  code: string | undefined;
  expressions: string[];
  size: number;
}

async function viaFhir(url: string, init: Parameters<typeof request>[1]): Promise<Refusal> {
  const response = await request(url, init);
  const expressions = ((response.body?.issue ?? []) as Array<{ expression?: string[] }>).flatMap((i) => i.expression ?? []);
  return { status: response.status, code: outcomeCode(response.body), expressions, size: JSON.stringify(response.body ?? '').length };
}

async function viaGraphql(query: string, variables: Record<string, unknown>, token: string): Promise<Refusal> {
  const response = await rawGraphql(t.url, { query, variables }, token);
  const error = response.errors?.[0];
  return {
    status: response.status,
    code: error?.extensions?.code,
    expressions: (error?.extensions?.issues ?? []).map((i) => i.expression!),
    size: JSON.stringify(response).length,
  };
}

const withNote = (text: string) => ({ ...prescription({ patient: uniquePatient() }), note: [{ text }] });
const mrInput = (overrides: Record<string, unknown> = {}) => ({
  subject: { reference: `Patient/${uniquePatient()}` },
  medication: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '314076' }] },
  dispenseRequest: { performer: { reference: `Organization/${PHARMACY_A}` } },
  ...overrides,
});
const CREATE_MR = 'mutation($input: MedicationRequestInput!, $key: String) { createMedicationRequest(input: $input, idempotencyKey: $key) { id } }';

type Expected = { status: number; code: string; expressions?: string[] };
const content = (...expressions: string[]): Expected => ({ status: 422, code: 'PROFILE_VALIDATION_FAILURE', expressions });
const badRequest: Expected = { status: 400, code: 'BAD_REQUEST' };
/** GraphQL resolver errors ride on HTTP 200 (CONTRACT §2). */
const inGraphql = (expected: Expected): Expected => ({ ...expected, status: 200 });

/** Each case: how to send the oversized string (after preparing what it aims at) and the contract's answer. */
interface Case {
  /** Brings about what the request aims at (a prescription in a state); not part of what is compared. */
  prepare?(): Promise<Prepared>;
  send(prepared: Prepared): Promise<Refusal>;
  expected: Expected;
}
type Prepared = Awaited<ReturnType<typeof inState>>;

const CASES: Record<string, Case> = {
  'FHIR create MedicationRequest, 100 KB note': {
    send: () => viaFhir(fhir('MedicationRequest'), { token: ehr, body: withNote(HUGE) }),
    expected: content('MedicationRequest.note[0].text'),
  },
  'FHIR create MedicationRequest, 100 KB identifier': {
    send: () =>
      viaFhir(fhir('MedicationRequest'), {
        token: ehr,
        body: { ...prescription({ patient: uniquePatient() }), identifier: [{ system: 'urn:test', value: HUGE }] },
      }),
    expected: content('MedicationRequest.identifier[0].value'),
  },
  'FHIR create MedicationRequest, 100 KB element name': {
    send: () => viaFhir(fhir('MedicationRequest'), { token: ehr, body: { ...prescription({ patient: uniquePatient() }), [HUGE]: true } }),
    expected: content('MedicationRequest'),
  },
  'FHIR update MedicationRequest, 100 KB dosage text': {
    prepare: () => inState('requested'),
    send: ({ id, etag, body }) =>
      viaFhir(fhir(`MedicationRequest/${id}`), {
        method: 'PUT',
        token: ehr,
        headers: { 'if-match': etag },
        body: { ...body, dosageInstruction: [{ text: HUGE }] },
      }),
    expected: content('MedicationRequest.dosageInstruction[0].text'),
  },
  'FHIR patch MedicationRequest, 100 KB patch value': {
    prepare: () => inState('approved'),
    send: ({ id, etag }) =>
      viaFhir(fhir(`MedicationRequest/${id}`), {
        method: 'PATCH',
        token: ehr,
        headers: { 'if-match': etag, 'content-type': 'application/json-patch+json' },
        body: [{ op: 'add', path: '/note', value: [{ text: HUGE }] }],
      }),
    expected: content('MedicationRequest.note[0].text'),
  },
  'FHIR patch cancelling with a 100 KB statusReason': {
    prepare: () => inState('requested'),
    send: ({ id, etag }) => {
      const patch = [
        { op: 'replace', path: '/status', value: 'cancelled' },
        { op: 'add', path: '/statusReason', value: { text: HUGE } },
      ];
      return viaFhir(fhir(`MedicationRequest/${id}`), {
        method: 'PATCH',
        token: ehr,
        headers: { 'if-match': etag, 'content-type': 'application/json-patch+json' },
        body: patch,
      });
    },
    expected: content('MedicationRequest.statusReason.text'),
  },
  'FHIR Task with a 100 KB statusReason': {
    prepare: () => inState('requested'),
    send: ({ id }) => viaFhir(fhir('Task'), { token: ehr, body: { ...workflowTask(id, 'approve', 'rejected'), statusReason: { text: HUGE } } }),
    expected: content('Task.statusReason.text'),
  },
  'FHIR MedicationDispense with a 100 KB note': {
    prepare: () => inState('processing'),
    send: ({ id, body }) =>
      viaFhir(fhir('MedicationDispense'), {
        token: pharmacy,
        body: {
          resourceType: 'MedicationDispense',
          status: 'completed',
          authorizingPrescription: [{ reference: `MedicationRequest/${id}` }],
          medicationCodeableConcept: body.medicationCodeableConcept,
          note: [{ text: HUGE }],
        },
      }),
    expected: content('MedicationDispense.note[0].text'),
  },
  'FHIR Subscription with a 100 KB reason': {
    send: () => viaFhir(fhir('Subscription'), { token: ehr, body: websocketSubscription('Task?status=completed', HUGE) }),
    expected: content('Subscription.reason'),
  },
  'FHIR Subscription with 100 KB criteria': {
    send: () => viaFhir(fhir('Subscription'), { token: ehr, body: websocketSubscription(`MedicationRequest?patient=${HUGE}`) }),
    expected: content('Subscription.criteria'),
  },
  'FHIR search, a parameter value over the bound': {
    send: () => viaFhir(fhir(`MedicationRequest?identifier=${LONG}`), { token: ehr }),
    expected: badRequest,
  },
  'FHIR search, a parameter name over the bound': {
    send: () => viaFhir(fhir(`MedicationDispense?${LONG}=1`), { token: ehr, headers: { prefer: 'handling=lenient' } }),
    expected: badRequest,
  },
  'FHIR _history, a paging cursor over the bound': {
    send: () => viaFhir(fhir(`MedicationRequest/_history?_cursor=${LONG}`), { token: ehr }),
    expected: badRequest,
  },
  'FHIR If-None-Exist over the bound': {
    send: () =>
      viaFhir(fhir('MedicationRequest'), { token: ehr, headers: { 'if-none-exist': `identifier=${LONG}` }, body: prescription({ patient: uniquePatient() }) }),
    expected: badRequest,
  },
  'FHIR Idempotency-Key over its bound': {
    send: () => viaFhir(fhir('MedicationRequest'), { token: ehr, headers: { 'idempotency-key': LONG }, body: prescription({ patient: uniquePatient() }) }),
    expected: badRequest,
  },
  'FHIR If-Match over its bound': {
    prepare: () => inState('requested'),
    send: ({ id, body }) => viaFhir(fhir(`MedicationRequest/${id}`), { method: 'PUT', token: ehr, headers: { 'if-match': `W/"${LONG}"` }, body }),
    expected: badRequest,
  },
  'GraphQL createMedicationRequest, 100 KB note': {
    send: () => viaGraphql(CREATE_MR, { input: mrInput({ note: [HUGE] }) }, ehr),
    expected: inGraphql(content('MedicationRequest.note[0].text')),
  },
  'GraphQL createMedicationRequest, 100 KB identifier': {
    send: () => viaGraphql(CREATE_MR, { input: mrInput({ identifier: [{ value: HUGE }] }) }, ehr),
    expected: inGraphql(content('MedicationRequest.identifier[0].value')),
  },
  'GraphQL createMedicationRequest, 100 KB idempotencyKey': {
    send: () => viaGraphql(CREATE_MR, { input: mrInput(), key: HUGE }, ehr),
    expected: inGraphql(badRequest),
  },
  'GraphQL updateMedicationRequest, 100 KB display': {
    prepare: () => inState('approved'),
    send: ({ id, etag }) =>
      viaGraphql(
        'mutation($id: ID!, $etag: String!, $input: MedicationRequestInput!) { updateMedicationRequest(id: $id, ifMatch: $etag, input: $input) { id } }',
        { id, etag, input: mrInput({ requester: { reference: 'Practitioner/p1', display: HUGE } }) },
        ehr,
      ),
    expected: inGraphql(content('MedicationRequest.requester.display')),
  },
  'GraphQL transitionPrescription, 100 KB reason': {
    prepare: () => inState('requested'),
    send: ({ id }) =>
      viaGraphql('mutation($id: ID!, $reason: String) { transitionPrescription(id: $id, event: REJECT, reason: $reason) { id } }', { id, reason: HUGE }, ehr),
    expected: inGraphql(content('MedicationRequest.statusReason.text')),
  },
  'GraphQL createMedicationDispense, 100 KB note': {
    prepare: () => inState('processing'),
    send: ({ id }) =>
      viaGraphql(
        'mutation($input: MedicationDispenseInput!) { createMedicationDispense(input: $input) { id } }',
        { input: { prescriptionId: id, note: HUGE } },
        pharmacy,
      ),
    expected: inGraphql(content('MedicationDispense.note[0].text')),
  },
  'GraphQL medicationRequests, 100 KB patient filter': {
    send: () => viaGraphql('query($p: String) { medicationRequests(filter: { patient: $p }) { totalCount } }', { p: HUGE }, ehr),
    expected: inGraphql(badRequest),
  },
  'GraphQL medicationRequests, 100 KB cursor': {
    send: () => viaGraphql('query($after: String) { medicationRequests(after: $after) { totalCount } }', { after: HUGE }, ehr),
    expected: inGraphql(badRequest),
  },
  'GraphQL medicationDispenses, 100 KB status filter': {
    send: () => viaGraphql('query($s: String) { medicationDispenses(filter: { status: $s }) { totalCount } }', { s: HUGE }, pharmacy),
    expected: inGraphql(badRequest),
  },
  'GraphQL deadLetters, 100 KB handler filter': {
    send: () => viaGraphql('query($h: String) { deadLetters(filter: { handler: $h }) { id } }', { h: HUGE }, admin),
    expected: inGraphql(badRequest),
  },
  // An id that cannot be a stored one names nothing: 404 like any unknown id (these reached SQL as a uuid cast and answered 500).
  'FHIR PUT MedicationRequest/{not an id}': {
    send: () =>
      viaFhir(fhir('MedicationRequest/not-a-uuid'), {
        method: 'PUT',
        token: ehr,
        headers: { 'if-match': 'W/"1"' },
        body: { ...prescription({ patient: uniquePatient() }), id: 'not-a-uuid' },
      }),
    expected: { status: 404, code: 'NOT_FOUND' },
  },
  'FHIR PATCH MedicationRequest/{not an id}': {
    send: () =>
      viaFhir(fhir('MedicationRequest/not-a-uuid'), {
        method: 'PATCH',
        token: ehr,
        headers: { 'if-match': 'W/"1"', 'content-type': 'application/json-patch+json' },
        body: [{ op: 'add', path: '/note', value: [{ text: 'x' }] }],
      }),
    expected: { status: 404, code: 'NOT_FOUND' },
  },
  'GraphQL updateMedicationRequest(id: not an id)': {
    send: () =>
      viaGraphql(
        'mutation($input: MedicationRequestInput!) { updateMedicationRequest(id: "not-a-uuid", ifMatch: "W/\\"1\\"", input: $input) { id } }',
        { input: mrInput() },
        ehr,
      ),
    expected: inGraphql({ status: 200, code: 'NOT_FOUND' }),
  },
  'GraphQL transitionPrescription, 100 KB id (no such prescription)': {
    send: () => viaGraphql('mutation($id: ID!) { transitionPrescription(id: $id, event: APPROVE) { id } }', { id: HUGE }, ehr),
    expected: inGraphql({ status: 200, code: 'NOT_FOUND' }),
  },
};

describe(`strings over their bounds (${MAX_STRING_LENGTH} characters of content, ${MAX_SEARCH_VALUE_LENGTH} of a search value)`, () => {
  test.each(Object.keys(CASES))('%s', async (name) => {
    const { prepare, send, expected } = CASES[name];
    const prepared = (await prepare?.()) as Prepared;
    const before = await storedCounts(t);
    const answer = await send(prepared);
    expect({ status: answer.status, code: answer.code }).toEqual({ status: expected.status, code: expected.code });
    if (expected.expressions) expect(answer.expressions).toEqual(expected.expressions);
    expect(answer.size, 'the answer does not echo the oversized value').toBeLessThan(3_000);
    expect(await storedCounts(t), 'nothing stored').toEqual(before);
  });

  test('strings at the bound are accepted, by both doors', async () => {
    const atBound = 'z'.repeat(MAX_STRING_LENGTH);
    const viaRest = await request(fhir('MedicationRequest'), { token: ehr, body: withNote(atBound) });
    expect(viaRest.status).toBe(201);
    expect(viaRest.body.note[0].text).toHaveLength(MAX_STRING_LENGTH);
    const viaGraph = await rawGraphql(t.url, { query: CREATE_MR, variables: { input: mrInput({ note: [atBound] }), key: randomUUID() } }, ehr);
    expect(viaGraph.errors).toBeUndefined();
    const search = await request(fhir(`MedicationRequest?identifier=${'v'.repeat(MAX_SEARCH_VALUE_LENGTH)}`), { token: ehr });
    expect(search.status).toBe(200);
  });

  test('graphql-ws prescriptionEvents, 100 KB filter: BAD_REQUEST at subscribe', async () => {
    const events = subscriber(t.url, ehr, { filter: { patient: HUGE } });
    await expect.poll(() => events.errors.length, { timeout: 10_000 }).toBe(1);
    expect(events.errors[0].extensions?.code).toBe('BAD_REQUEST');
    expect(JSON.stringify(events.errors).length).toBeLessThan(3_000);
    await events.stop();
  });

  test('a 100 KB search parameter is refused before it reaches the facade (Node: 431, the request line is over 16 KB)', async () => {
    const response = await fetch(fhir(`MedicationRequest?identifier=${HUGE}`), { headers: { authorization: `Bearer ${ehr}` } });
    expect(response.status).toBe(431);
  });
});
