import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { Persona } from '../../src/domain/index.js';
import {
  CreateDispenseDocument,
  CreatePrescriptionDocument,
  DeadLettersDocument,
  type MedicationRequestInput,
  type PriorAuthorizationEvent,
  PriorAuthorizationEventDocument,
  ReplayDeadLetterDocument,
  ReplayDeadLettersDocument,
  SubmitPriorAuthorizationDocument,
  TransitionDocument,
  UpdateDispenseDocument,
  UpdatePrescriptionDocument,
} from '../generated/graphql.js';
import { fakeIntegrations } from '../support/fake-integrations.js';
import { PHARMACY_A, prescription, uniquePatient, websocketSubscription, workflowTask } from '../support/fixtures.js';
import { storedCounts } from '../support/footprint.js';
import { graphql, type GraphqlResponse } from '../support/graphql.js';
import { type JsonResponse, outcomeCode, request } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { gqlEvent, prescriptionIn, type ReachableState } from '../support/workflow.js';

/**
 * Issue #7, "done when" 1: every persona × every write door, each its own named test, with the
 * answer CONTRACT §1 ("Write permissions") gives. A denied write must leave no trace.
 */

type Outcome = 'allow' | 'FORBIDDEN_WRITE_PERSONA' | 'METHOD_NOT_ALLOWED';
const ALLOW = 'allow';
const DENY = 'FORBIDDEN_WRITE_PERSONA';
/** An interaction the facade does not offer to anyone (CONTRACT §2: 405). */
const NOT_OFFERED = 'METHOD_NOT_ALLOWED';

/**
 * CONTRACT §1's table, written out by hand — deliberately not computed from
 * src/domain/permissions.ts or the workflow table, so that the code drifting from the contract
 * fails here. Columns: ehr-backend, pharmacy-backend, platform-admin, payer-backend.
 */
const EXPECTED = {
  // create / update / cancel MedicationRequest: ehr-backend
  'FHIR POST MedicationRequest': [ALLOW, DENY, DENY, DENY],
  'FHIR PUT MedicationRequest': [ALLOW, DENY, DENY, DENY],
  'FHIR PATCH MedicationRequest (content)': [ALLOW, DENY, DENY, DENY],
  'FHIR PATCH MedicationRequest (status cancelled)': [ALLOW, DENY, DENY, DENY],
  'GraphQL createMedicationRequest': [ALLOW, DENY, DENY, DENY],
  'GraphQL updateMedicationRequest': [ALLOW, DENY, DENY, DENY],
  'GraphQL transitionPrescription CANCEL': [ALLOW, DENY, DENY, DENY],
  'FHIR POST Task abort/completed (cancel)': [ALLOW, DENY, DENY, DENY],
  // approve, reject: ehr-backend
  'GraphQL transitionPrescription APPROVE': [ALLOW, DENY, DENY, DENY],
  'GraphQL transitionPrescription REJECT': [ALLOW, DENY, DENY, DENY],
  'FHIR POST Task approve/completed (approve)': [ALLOW, DENY, DENY, DENY],
  'FHIR POST Task approve/rejected (reject)': [ALLOW, DENY, DENY, DENY],
  // process, dispense, complete, fail: pharmacy-backend
  'GraphQL transitionPrescription PROCESS': [DENY, ALLOW, DENY, DENY],
  'GraphQL transitionPrescription DISPENSE': [DENY, ALLOW, DENY, DENY],
  'GraphQL transitionPrescription COMPLETE': [DENY, ALLOW, DENY, DENY],
  'GraphQL transitionPrescription FAIL': [DENY, ALLOW, DENY, DENY],
  'FHIR POST Task fulfill/in-progress (process)': [DENY, ALLOW, DENY, DENY],
  'FHIR POST Task fulfill/completed (complete)': [DENY, ALLOW, DENY, DENY],
  'FHIR POST Task fulfill/failed (fail)': [DENY, ALLOW, DENY, DENY],
  // create / update MedicationDispense: pharmacy-backend
  'FHIR POST MedicationDispense': [DENY, ALLOW, DENY, DENY],
  'FHIR PUT MedicationDispense': [DENY, ALLOW, DENY, DENY],
  'GraphQL createMedicationDispense': [DENY, ALLOW, DENY, DENY],
  'GraphQL updateMedicationDispense': [DENY, ALLOW, DENY, DENY],
  // register Subscription: ehr-backend, pharmacy-backend
  'FHIR POST Subscription': [ALLOW, ALLOW, DENY, DENY],
  // replay a Subscription, list or replay dead letters: platform-admin
  'FHIR POST Subscription/$replay': [DENY, DENY, ALLOW, DENY],
  'GraphQL deadLetters': [DENY, DENY, ALLOW, DENY],
  'GraphQL replayDeadLetter': [DENY, DENY, ALLOW, DENY],
  'GraphQL replayDeadLetters': [DENY, DENY, ALLOW, DENY],
  // Not offered at all (CapabilityStatement): 405 — except to a persona that writes nothing of the
  // type, refused first (CONTRACT §2: persona before interaction; platform-admin sends no workflow event,
  // payer-backend registers no Subscription).
  'FHIR PUT Task': [NOT_OFFERED, NOT_OFFERED, DENY, NOT_OFFERED],
  'FHIR PUT Subscription': [NOT_OFFERED, NOT_OFFERED, NOT_OFFERED, DENY],
  'FHIR POST Organization': [NOT_OFFERED, NOT_OFFERED, NOT_OFFERED, NOT_OFFERED],
  // Prior authorization (CONTRACT §9): the EHR submits, provides information, appeals and withdraws;
  // the payer reviews and decides, and writes nothing else.
  'GraphQL submitPriorAuthorization': [ALLOW, DENY, DENY, DENY],
  'GraphQL priorAuthorizationEvent REVIEW': [DENY, DENY, DENY, ALLOW],
  'GraphQL priorAuthorizationEvent APPROVE': [DENY, DENY, DENY, ALLOW],
  'GraphQL priorAuthorizationEvent DENY': [DENY, DENY, DENY, ALLOW],
  'GraphQL priorAuthorizationEvent PEND': [DENY, DENY, DENY, ALLOW],
  'GraphQL priorAuthorizationEvent PROVIDE_INFO': [ALLOW, DENY, DENY, DENY],
  'GraphQL priorAuthorizationEvent APPEAL': [ALLOW, DENY, DENY, DENY],
  'GraphQL priorAuthorizationEvent WITHDRAW': [ALLOW, DENY, DENY, DENY],
  'FHIR PATCH Task businessStatus in-review (review)': [DENY, DENY, DENY, ALLOW],
  'FHIR PATCH Task businessStatus in-review (provide-info)': [ALLOW, DENY, DENY, DENY],
} as const satisfies Record<string, readonly [Outcome, Outcome, Outcome, Outcome]>;

type DoorName = keyof typeof EXPECTED;
const COLUMNS: readonly Persona[] = ['ehr-backend', 'pharmacy-backend', 'platform-admin', 'payer-backend'];

/** What a door answered, in the terms of CONTRACT §2. */
interface Answer {
  transport: 'fhir' | 'graphql';
  status: number;
  code: string | undefined;
}

/** What a door's write is aimed at, prepared in tenant-a so that only the persona can refuse it. */
interface Target {
  id: string;
  etag: string;
  body?: any;
}

interface Door {
  prepare(): Promise<Target>;
  attempt(token: string, target: Target): Promise<Answer>;
}

const fake = fakeIntegrations();
let t: TestApp;
let tokens: Record<Persona, string>;
let deadLetterId: string;

beforeAll(async () => {
  // One attempt, and an outside system that stays down: a failed prescription leaves a dead letter.
  fake.fail('support', Infinity);
  t = await startTestApp({ env: { ACTION_MAX_ATTEMPTS: '1', ACTION_RETRY_BASE_MS: '0', ACTION_RETRY_MAX_MS: '0' }, integrations: fake.integrations });
  const [ehr, pharmacy, admin, payer] = await Promise.all(COLUMNS.map((persona) => t.token('tenant-a', persona)));
  tokens = { 'ehr-backend': ehr, 'pharmacy-backend': pharmacy, 'platform-admin': admin, 'payer-backend': payer };
  await prescriptionIn(t.url, 'failed', { ehr, pharmacy });
  deadLetterId = await vi.waitFor(
    async () => {
      const [letter] = await t.sql<{ id: string }>(`SELECT id FROM dead_letters WHERE tenant_id = 'tenant-a' ORDER BY created_at LIMIT 1`);
      if (!letter) throw new Error('no dead letter yet');
      return letter.id;
    },
    { timeout: 15_000, interval: 100 },
  );
});
afterAll(async () => t?.close());

const fhir = (path: string) => `${t.url}/fhir/${path}`;
const fromFhir = (response: JsonResponse): Answer => ({ transport: 'fhir', status: response.status, code: outcomeCode(response.body) });
const fromGraphql = (response: GraphqlResponse<unknown>): Answer => ({
  transport: 'graphql',
  status: response.status,
  code: response.errors?.[0]?.extensions?.code,
});
const tokenPair = () => ({ ehr: tokens['ehr-backend'], pharmacy: tokens['pharmacy-backend'] });

/** A prescription of tenant-a in `state`, with its current ETag. */
async function inState(state: ReachableState): Promise<Target> {
  const id = await prescriptionIn(t.url, state, tokenPair(), uniquePatient());
  const read = await request(fhir(`MedicationRequest/${id}`), { token: tokens['ehr-backend'] });
  return { id, etag: read.headers.get('etag')!, body: read.body };
}

/** A dispensed prescription's dispense (made by `transitionPrescription(DISPENSE)`). */
async function dispense(): Promise<Target> {
  const prescriptionId = await prescriptionIn(t.url, 'dispensed', tokenPair(), uniquePatient());
  const [row] = await t.sql<{ id: string }>('SELECT id FROM medication_dispenses WHERE prescription_id = $1', [prescriptionId]);
  const read = await request(fhir(`MedicationDispense/${row.id}`), { token: tokens['pharmacy-backend'] });
  return { id: row.id, etag: read.headers.get('etag')!, body: read.body };
}

async function subscription(): Promise<Target> {
  const created = await request(fhir('Subscription'), { token: tokens['ehr-backend'], body: subscriptionBody() });
  return { id: created.body.id, etag: created.headers.get('etag')!, body: created.body };
}

const subscriptionBody = () => websocketSubscription(`MedicationRequest?patient=${uniquePatient()}`, 'persona matrix');

const graphqlInput = (): MedicationRequestInput => ({
  subject: { reference: `Patient/${uniquePatient()}` },
  medication: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '314076' }] },
  dispenseRequest: { performer: { reference: `Organization/${PHARMACY_A}` }, quantity: { value: 30, unit: 'tablet' } },
});

const postTask = (state: ReachableState, code: string, status: string): Door => ({
  prepare: () => inState(state),
  attempt: async (token, target) =>
    fromFhir(await request(fhir('Task'), { token, headers: { 'idempotency-key': randomUUID() }, body: workflowTask(target.id, code, status) })),
});

const transition = (state: ReachableState, event: Parameters<typeof gqlEvent>[0]): Door => ({
  prepare: () => inState(state),
  attempt: async (token, target) =>
    fromGraphql(await graphql(t.url, TransitionDocument, { id: target.id, event: gqlEvent(event), ifMatch: target.etag }, token)),
});

const noTarget = async (): Promise<Target> => ({ id: '', etag: '' });

/** A prior authorization of a fresh prescription, moved along `path` (CONTRACT §9), with its current etag. */
async function paIn(path: Array<[PriorAuthorizationEvent, 'ehr-backend' | 'payer-backend']>): Promise<Target> {
  const { id: prescriptionId } = await inState('requested');
  const submitted = await graphql(t.url, SubmitPriorAuthorizationDocument, { prescriptionId }, tokens['ehr-backend']);
  let pa = submitted.data!.submitPriorAuthorization;
  for (const [event, persona] of path)
    pa = (await graphql(t.url, PriorAuthorizationEventDocument, { id: pa.id, event }, tokens[persona])).data!.priorAuthorizationEvent;
  return { id: pa.id, etag: pa.etag };
}

const PA_PATHS: Record<PriorAuthorizationEvent, Array<[PriorAuthorizationEvent, 'ehr-backend' | 'payer-backend']>> = {
  REVIEW: [],
  APPROVE: [['REVIEW', 'payer-backend']],
  DENY: [['REVIEW', 'payer-backend']],
  PEND: [['REVIEW', 'payer-backend']],
  PROVIDE_INFO: [
    ['REVIEW', 'payer-backend'],
    ['PEND', 'payer-backend'],
  ],
  APPEAL: [
    ['REVIEW', 'payer-backend'],
    ['DENY', 'payer-backend'],
  ],
  WITHDRAW: [],
};

const paEvent = (event: PriorAuthorizationEvent): Door => ({
  prepare: () => paIn(PA_PATHS[event]),
  attempt: async (token, target) => fromGraphql(await graphql(t.url, PriorAuthorizationEventDocument, { id: target.id, event, ifMatch: target.etag }, token)),
});

const patchPa = (path: Array<[PriorAuthorizationEvent, 'ehr-backend' | 'payer-backend']>, state: string): Door => ({
  prepare: () => paIn(path),
  attempt: async (token, { id, etag }) =>
    fromFhir(
      await request(fhir(`Task/${id}`), {
        method: 'PATCH',
        token,
        headers: { 'if-match': etag, 'content-type': 'application/json-patch+json' },
        body: [{ op: 'replace', path: '/businessStatus', value: { coding: [{ system: 'urn:rxgate:prior-authorization-state', code: state }], text: state } }],
      }),
    ),
});

const DOORS: Record<DoorName, Door> = {
  'FHIR POST MedicationRequest': {
    prepare: noTarget,
    attempt: async (token) =>
      fromFhir(
        await request(fhir('MedicationRequest'), { token, headers: { 'idempotency-key': randomUUID() }, body: prescription({ patient: uniquePatient() }) }),
      ),
  },
  'FHIR PUT MedicationRequest': {
    prepare: () => inState('requested'),
    attempt: async (token, { id, etag, body }) =>
      fromFhir(
        await request(fhir(`MedicationRequest/${id}`), { method: 'PUT', token, headers: { 'if-match': etag }, body: { ...body, note: [{ text: 'changed' }] } }),
      ),
  },
  'FHIR PATCH MedicationRequest (content)': {
    prepare: () => inState('approved'),
    attempt: async (token, { id, etag }) =>
      fromFhir(
        await request(fhir(`MedicationRequest/${id}`), {
          method: 'PATCH',
          token,
          headers: { 'if-match': etag, 'content-type': 'application/json-patch+json' },
          body: [{ op: 'add', path: '/note', value: [{ text: 'changed' }] }],
        }),
      ),
  },
  'FHIR PATCH MedicationRequest (status cancelled)': {
    prepare: () => inState('requested'),
    attempt: async (token, { id, etag }) =>
      fromFhir(
        await request(fhir(`MedicationRequest/${id}`), {
          method: 'PATCH',
          token,
          headers: { 'if-match': etag, 'content-type': 'application/json-patch+json' },
          body: [{ op: 'replace', path: '/status', value: 'cancelled' }],
        }),
      ),
  },
  'GraphQL createMedicationRequest': {
    prepare: noTarget,
    attempt: async (token) => fromGraphql(await graphql(t.url, CreatePrescriptionDocument, { input: graphqlInput(), idempotencyKey: randomUUID() }, token)),
  },
  'GraphQL updateMedicationRequest': {
    prepare: () => inState('approved'),
    attempt: async (token, { id, etag }) => fromGraphql(await graphql(t.url, UpdatePrescriptionDocument, { id, ifMatch: etag, input: graphqlInput() }, token)),
  },
  'GraphQL transitionPrescription CANCEL': transition('approved', 'cancel'),
  'FHIR POST Task abort/completed (cancel)': postTask('requested', 'abort', 'completed'),
  'GraphQL transitionPrescription APPROVE': transition('requested', 'approve'),
  'GraphQL transitionPrescription REJECT': transition('requested', 'reject'),
  'FHIR POST Task approve/completed (approve)': postTask('requested', 'approve', 'completed'),
  'FHIR POST Task approve/rejected (reject)': postTask('requested', 'approve', 'rejected'),
  'GraphQL transitionPrescription PROCESS': transition('approved', 'process'),
  'GraphQL transitionPrescription DISPENSE': transition('processing', 'dispense'),
  'GraphQL transitionPrescription COMPLETE': transition('dispensed', 'complete'),
  'GraphQL transitionPrescription FAIL': transition('processing', 'fail'),
  'FHIR POST Task fulfill/in-progress (process)': postTask('approved', 'fulfill', 'in-progress'),
  'FHIR POST Task fulfill/completed (complete)': postTask('dispensed', 'fulfill', 'completed'),
  'FHIR POST Task fulfill/failed (fail)': postTask('processing', 'fulfill', 'failed'),
  'FHIR POST MedicationDispense': {
    prepare: () => inState('processing'),
    attempt: async (token, { id, body }) =>
      fromFhir(
        await request(fhir('MedicationDispense'), {
          token,
          headers: { 'idempotency-key': randomUUID() },
          body: {
            resourceType: 'MedicationDispense',
            status: 'in-progress',
            authorizingPrescription: [{ reference: `MedicationRequest/${id}` }],
            medicationCodeableConcept: body.medicationCodeableConcept,
          },
        }),
      ),
  },
  'FHIR PUT MedicationDispense': {
    prepare: dispense,
    attempt: async (token, { id, etag, body }) =>
      fromFhir(
        await request(fhir(`MedicationDispense/${id}`), {
          method: 'PUT',
          token,
          headers: { 'if-match': etag },
          body: { ...body, whenHandedOver: '2026-11-21T10:00:00Z' },
        }),
      ),
  },
  'GraphQL createMedicationDispense': {
    prepare: () => inState('processing'),
    attempt: async (token, { id }) =>
      fromGraphql(await graphql(t.url, CreateDispenseDocument, { input: { prescriptionId: id, status: 'in-progress' }, idempotencyKey: randomUUID() }, token)),
  },
  'GraphQL updateMedicationDispense': {
    prepare: dispense,
    attempt: async (token, { id, etag, body }) =>
      fromGraphql(
        await graphql(
          t.url,
          UpdateDispenseDocument,
          { id, ifMatch: etag, input: { prescriptionId: body.authorizingPrescription[0].reference, whenHandedOver: '2026-11-21T10:00:00Z' } },
          token,
        ),
      ),
  },
  'FHIR POST Subscription': {
    prepare: noTarget,
    attempt: async (token) => fromFhir(await request(fhir('Subscription'), { token, body: subscriptionBody() })),
  },
  'FHIR POST Subscription/$replay': {
    prepare: subscription,
    attempt: async (token, { id }) => fromFhir(await request(fhir(`Subscription/${id}/$replay?from=0`), { method: 'POST', token })),
  },
  'GraphQL deadLetters': {
    prepare: noTarget,
    attempt: async (token) => fromGraphql(await graphql(t.url, DeadLettersDocument, {}, token)),
  },
  'GraphQL replayDeadLetter': {
    prepare: async () => ({ id: deadLetterId, etag: '' }),
    attempt: async (token, { id }) => fromGraphql(await graphql(t.url, ReplayDeadLetterDocument, { id }, token)),
  },
  'GraphQL replayDeadLetters': {
    prepare: noTarget,
    attempt: async (token) => fromGraphql(await graphql(t.url, ReplayDeadLettersDocument, {}, token)),
  },
  'FHIR PUT Task': {
    prepare: async () => {
      const { id } = await inState('requested');
      const created = await request(fhir('Task'), { token: tokens['ehr-backend'], body: workflowTask(id, 'approve', 'completed') });
      return { id: created.body.id, etag: created.headers.get('etag')!, body: created.body };
    },
    attempt: async (token, { id, etag, body }) =>
      fromFhir(await request(fhir(`Task/${id}`), { method: 'PUT', token, headers: { 'if-match': etag }, body: { ...body, status: 'rejected' } })),
  },
  'FHIR PUT Subscription': {
    prepare: subscription,
    attempt: async (token, { id, etag, body }) =>
      fromFhir(await request(fhir(`Subscription/${id}`), { method: 'PUT', token, headers: { 'if-match': etag }, body: { ...body, status: 'off' } })),
  },
  'GraphQL submitPriorAuthorization': {
    prepare: () => inState('requested'),
    attempt: async (token, { id }) => fromGraphql(await graphql(t.url, SubmitPriorAuthorizationDocument, { prescriptionId: id }, token)),
  },
  'GraphQL priorAuthorizationEvent REVIEW': paEvent('REVIEW'),
  'GraphQL priorAuthorizationEvent APPROVE': paEvent('APPROVE'),
  'GraphQL priorAuthorizationEvent DENY': paEvent('DENY'),
  'GraphQL priorAuthorizationEvent PEND': paEvent('PEND'),
  'GraphQL priorAuthorizationEvent PROVIDE_INFO': paEvent('PROVIDE_INFO'),
  'GraphQL priorAuthorizationEvent APPEAL': paEvent('APPEAL'),
  'GraphQL priorAuthorizationEvent WITHDRAW': paEvent('WITHDRAW'),
  'FHIR PATCH Task businessStatus in-review (review)': patchPa([], 'in-review'),
  'FHIR PATCH Task businessStatus in-review (provide-info)': patchPa(PA_PATHS.PROVIDE_INFO, 'in-review'),
  'FHIR POST Organization': {
    prepare: noTarget,
    attempt: async (token) => fromFhir(await request(fhir('Organization'), { token, body: { resourceType: 'Organization', name: 'Not in the directory' } })),
  },
};

/** Stored rows, versions, events and idempotency records, and the attempts of each dead letter already there. */
async function footprint() {
  const letters = await t.sql<{ id: string; attempts: number; resolved_at: Date | null }>('SELECT id, attempts, resolved_at FROM dead_letters');
  return { counts: await storedCounts(t), letters: new Map(letters.map((l) => [l.id, `${l.attempts}/${l.resolved_at?.toISOString() ?? 'open'}`])) };
}

/** One named cell per door and persona (names built here: vitest shortens long `$values` in titles). */
const CELLS = (Object.keys(EXPECTED) as DoorName[]).flatMap((door) =>
  COLUMNS.map((persona, column) => {
    const expected = EXPECTED[door][column] as Outcome;
    return [`${door} by ${persona} → ${expected}`, { door, persona, expected }] as const;
  }),
);

describe('every persona × every write door (CONTRACT §1)', () => {
  test('the matrix covers every persona of the contract and every door with a test', () => {
    expect([...COLUMNS].sort()).toEqual(['ehr-backend', 'payer-backend', 'pharmacy-backend', 'platform-admin']);
    expect(Object.keys(DOORS).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  test.each(CELLS)('%s', async (_name, { door, persona, expected }) => {
    const target = await DOORS[door].prepare();
    const before = await footprint();
    const answer = await DOORS[door].attempt(tokens[persona], target);

    if (expected === ALLOW) {
      expect(answer.code, JSON.stringify(answer)).toBeUndefined();
      expect(answer.status).toBeGreaterThanOrEqual(200);
      expect(answer.status).toBeLessThan(300);
      return;
    }
    expect(answer.code).toBe(expected);
    // FHIR answers with the code's status; GraphQL resolver errors ride on HTTP 200 (CONTRACT §2).
    expect(answer.status).toBe(answer.transport === 'fhir' ? (expected === DENY ? 403 : 405) : 200);
    const after = await footprint();
    expect(after.counts, 'a refused write stores nothing and emits no event').toEqual(before.counts);
    for (const [id, state] of before.letters) expect(after.letters.get(id), `dead letter ${id}`).toBe(state);
  });
});
