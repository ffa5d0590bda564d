import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import WebSocket from 'ws';
import type { Persona } from '../../src/domain/index.js';
import { TransitionDocument } from '../generated/graphql.js';
import { fakeIntegrations } from '../support/fake-integrations.js';
import { prescription, uniquePatient, websocketSubscription, workflowTask } from '../support/fixtures.js';
import { graphql, rawGraphql } from '../support/graphql.js';
import { outcomeCode, request } from '../support/http.js';
import { subscriber } from '../support/live.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Issue #7, "done when" 2 (and item 3): tenant-a writes a prescription, a dispense, Tasks, a
 * Subscription and (through a failing integration) a dead letter; tenant-b, with every persona,
 * asks for them through every door — read by id, search, GraphQL node and list fields, `_entities`,
 * `_history`, the live streams, `$replay`, dead letters — and gets nothing of them (CONTRACT §1:
 * 404 by id, never in a search, `null` in GraphQL, linking answers as if it did not exist). Each
 * door is first asked by tenant-a, so a door that shows nothing to anyone cannot pass for a wall.
 */

type Tokens = Record<Persona, string>;
const PERSONAS: Persona[] = ['ehr-backend', 'pharmacy-backend', 'platform-admin'];

const fake = fakeIntegrations();
let t: TestApp;
let a: Tokens;
let b: Tokens;

const suffix = randomBytes(5).toString('hex');
/** In tenant-a's notes only: tenant-b writes its own data for the same patient, never this. */
const MARKER = `tenant-a-only-${suffix}`;
/** One patient id in both tenants: a filter by patient must still keep them apart. */
const PATIENT = uniquePatient();
const PRACTITIONER = `pr-${suffix}`;
const IDENTIFIER = { system: 'urn:test:rx-number', value: `rx-${suffix}` };
const IDEMPOTENCY_KEY = randomUUID();

/** Tenant-a's data; every id in it is a trace that must never reach tenant-b. */
const A = { prescription: '', failed: '', dispense: '', tasks: [] as string[], subscription: '', deadLetter: '', later: [] as string[] };
const traces = () => [A.prescription, A.failed, A.dispense, ...A.tasks, A.subscription, A.deadLetter, ...A.later, MARKER];
/** The traces of tenant-a found anywhere in `value`. */
const tracesIn = (value: unknown): string[] => {
  const text = JSON.stringify(value ?? null);
  return traces().filter((trace) => text.includes(trace));
};

const fhir = (path: string) => `${t.url}/fhir/${path}`;
const subscriptionBody = (criteria: string) => websocketSubscription(criteria, 'isolation');

async function created(response: Promise<{ status: number; body: any }>): Promise<string> {
  const { status, body } = await response;
  if (status !== 201) throw new Error(`expected 201, got ${status}: ${JSON.stringify(body)}`);
  return body.id;
}

async function move(id: string, event: 'APPROVE' | 'PROCESS' | 'DISPENSE', token: string): Promise<void> {
  const moved = await graphql(t.url, TransitionDocument, { id, event }, token);
  if (moved.errors) throw new Error(`${event}: ${JSON.stringify(moved.errors)}`);
}

beforeAll(async () => {
  fake.fail('support', Infinity); // a failed prescription leaves a dead letter
  t = await startTestApp({ env: { ACTION_MAX_ATTEMPTS: '1', ACTION_RETRY_BASE_MS: '0', ACTION_RETRY_MAX_MS: '0' }, integrations: fake.integrations });
  const tokensOf = async (tenant: string) => Object.fromEntries(await Promise.all(PERSONAS.map(async (p) => [p, await t.token(tenant, p)]))) as Tokens;
  [a, b] = await Promise.all([tokensOf('tenant-a'), tokensOf('tenant-b')]);

  const body = {
    ...prescription({ patient: PATIENT }),
    identifier: [IDENTIFIER],
    requester: { reference: `Practitioner/${PRACTITIONER}` },
    note: [{ text: MARKER }],
  };
  A.prescription = await created(request(fhir('MedicationRequest'), { token: a['ehr-backend'], headers: { 'idempotency-key': IDEMPOTENCY_KEY }, body }));
  await move(A.prescription, 'APPROVE', a['ehr-backend']);
  await move(A.prescription, 'PROCESS', a['pharmacy-backend']);
  await move(A.prescription, 'DISPENSE', a['pharmacy-backend']);
  [{ id: A.dispense }] = await t.sql<{ id: string }>('SELECT id FROM medication_dispenses WHERE prescription_id = $1', [A.prescription]);

  A.failed = await created(
    request(fhir('MedicationRequest'), { token: a['ehr-backend'], body: { ...prescription({ patient: PATIENT }), note: [{ text: MARKER }] } }),
  );
  A.tasks.push(await created(request(fhir('Task'), { token: a['ehr-backend'], body: workflowTask(A.failed, 'approve', 'completed') })));
  A.tasks.push(await created(request(fhir('Task'), { token: a['pharmacy-backend'], body: workflowTask(A.failed, 'fulfill', 'in-progress') })));
  A.tasks.push(await created(request(fhir('Task'), { token: a['pharmacy-backend'], body: workflowTask(A.failed, 'fulfill', 'failed') })));
  A.subscription = await created(request(fhir('Subscription'), { token: a['ehr-backend'], body: subscriptionBody(`MedicationRequest?patient=${PATIENT}`) }));
  A.deadLetter = await vi.waitFor(
    async () => {
      const [letter] = await t.sql<{ id: string }>(`SELECT id FROM dead_letters WHERE envelope #>> '{payload,medicationRequestId}' = $1`, [A.failed]);
      if (!letter) throw new Error('no dead letter yet');
      return letter.id;
    },
    { timeout: 15_000, interval: 100 },
  );
});
afterAll(async () => t?.close());

/** What a door showed: its status and contract code, and the data it disclosed (none for an error). */
interface Shown {
  status: number;
  code?: string;
  data: unknown;
}

async function fhirGet(path: string, token: string): Promise<Shown> {
  const response = await request(fhir(path), { token });
  // Bundles: only what they disclose (links echo the caller's own query, which may name tenant-a's ids).
  const data =
    response.status >= 300 ? undefined : response.body.resourceType === 'Bundle' ? { total: response.body.total, entry: response.body.entry } : response.body;
  return { status: response.status, code: outcomeCode(response.body), data };
}

async function graphqlAsk(query: string, variables: Record<string, unknown>, token: string): Promise<Shown> {
  const response = await rawGraphql(t.url, { query, variables }, token);
  return { status: response.status, code: response.errors?.[0]?.extensions?.code, data: response.data };
}

const MR_FIELDS = 'id resource transitions { event actor } dispenses { id resource } pharmacy { id }';

interface ReadDoor {
  /** Who may use the door in tenant-a (the positive control) and in tenant-b. */
  persona?: Persona;
  ask(token: string): Promise<Shown>;
  /** What CONTRACT §1/§2 says tenant-b gets. */
  expectForB(shown: Shown): void;
}

const notFound = (shown: Shown) => expect({ status: shown.status, code: shown.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
const emptySearch = (shown: Shown) => {
  expect(shown.status).toBe(200);
  expect(shown.data).toMatchObject({ total: 0 });
};
const okSearch = (shown: Shown) => expect(shown.status).toBe(200);
const nullField = (field: string) => (shown: Shown) => {
  expect(shown.code).toBeUndefined();
  expect((shown.data as Record<string, unknown>)[field]).toBeNull();
};
const noErrors = (shown: Shown) => expect(shown.code).toBeUndefined();

const READ_DOORS: Record<string, ReadDoor> = {
  'FHIR read MedicationRequest/{id}': { ask: (tk) => fhirGet(`MedicationRequest/${A.prescription}`, tk), expectForB: notFound },
  'FHIR vread MedicationRequest/{id}/_history/1': { ask: (tk) => fhirGet(`MedicationRequest/${A.prescription}/_history/1`, tk), expectForB: notFound },
  'FHIR instance _history MedicationRequest/{id}/_history': { ask: (tk) => fhirGet(`MedicationRequest/${A.prescription}/_history`, tk), expectForB: notFound },
  'FHIR read MedicationDispense/{id}': { ask: (tk) => fhirGet(`MedicationDispense/${A.dispense}`, tk), expectForB: notFound },
  'FHIR vread MedicationDispense/{id}/_history/1': { ask: (tk) => fhirGet(`MedicationDispense/${A.dispense}/_history/1`, tk), expectForB: notFound },
  'FHIR instance _history MedicationDispense/{id}/_history': { ask: (tk) => fhirGet(`MedicationDispense/${A.dispense}/_history`, tk), expectForB: notFound },
  'FHIR read Task/{id}': { ask: (tk) => fhirGet(`Task/${A.tasks[0]}`, tk), expectForB: notFound },
  'FHIR read Subscription/{id}': { ask: (tk) => fhirGet(`Subscription/${A.subscription}`, tk), expectForB: notFound },

  'FHIR search MedicationRequest?patient': { ask: (tk) => fhirGet(`MedicationRequest?patient=Patient/${PATIENT}&_count=200`, tk), expectForB: okSearch },
  'FHIR search MedicationRequest?_id': { ask: (tk) => fhirGet(`MedicationRequest?_id=${A.prescription},${A.failed}`, tk), expectForB: emptySearch },
  'FHIR search MedicationRequest?identifier': {
    ask: (tk) => fhirGet(`MedicationRequest?identifier=${IDENTIFIER.system}|${IDENTIFIER.value}`, tk),
    expectForB: okSearch,
  },
  'FHIR search MedicationRequest?requester': { ask: (tk) => fhirGet(`MedicationRequest?requester=Practitioner/${PRACTITIONER}`, tk), expectForB: emptySearch },
  'FHIR search MedicationRequest with _include and _revinclude': {
    ask: (tk) =>
      fhirGet(`MedicationRequest?patient=${PATIENT}&_include=MedicationRequest:intended-dispenser&_revinclude=MedicationDispense:prescription&_count=200`, tk),
    expectForB: okSearch,
  },
  'FHIR search MedicationRequest (everything)': { ask: (tk) => fhirGet('MedicationRequest?_count=200', tk), expectForB: okSearch },
  'FHIR type _history MedicationRequest/_history': { ask: (tk) => fhirGet('MedicationRequest/_history?_count=200', tk), expectForB: okSearch },
  'FHIR search MedicationDispense?prescription': {
    ask: (tk) => fhirGet(`MedicationDispense?prescription=MedicationRequest/${A.prescription}`, tk),
    expectForB: emptySearch,
  },
  'FHIR search MedicationDispense?patient': { ask: (tk) => fhirGet(`MedicationDispense?patient=${PATIENT}`, tk), expectForB: okSearch },
  'FHIR search MedicationDispense (everything)': { ask: (tk) => fhirGet('MedicationDispense?_count=200', tk), expectForB: okSearch },
  'FHIR search Task?focus': { ask: (tk) => fhirGet(`Task?focus=MedicationRequest/${A.failed}`, tk), expectForB: emptySearch },
  'FHIR search Task (everything)': { ask: (tk) => fhirGet('Task?_count=200', tk), expectForB: okSearch },

  'GraphQL medicationRequest(id)': {
    ask: (tk) => graphqlAsk(`query($id: ID!) { medicationRequest(id: $id) { ${MR_FIELDS} } }`, { id: A.prescription }, tk),
    expectForB: nullField('medicationRequest'),
  },
  'GraphQL medicationDispense(id)': {
    ask: (tk) => graphqlAsk('query($id: ID!) { medicationDispense(id: $id) { id resource prescription { id } } }', { id: A.dispense }, tk),
    expectForB: nullField('medicationDispense'),
  },
  'GraphQL medicationRequests(filter: patient)': {
    ask: (tk) =>
      graphqlAsk(
        `query($p: String) { medicationRequests(filter: { patient: $p }, first: 200) { totalCount edges { node { ${MR_FIELDS} } } } }`,
        { p: PATIENT },
        tk,
      ),
    expectForB: noErrors,
  },
  'GraphQL medicationRequests (everything)': {
    ask: (tk) => graphqlAsk(`{ medicationRequests(first: 200) { totalCount edges { node { ${MR_FIELDS} } } } }`, {}, tk),
    expectForB: noErrors,
  },
  'GraphQL medicationDispenses(filter: prescription)': {
    ask: (tk) =>
      graphqlAsk(
        'query($p: String) { medicationDispenses(filter: { prescription: $p }) { totalCount edges { node { id resource } } } }',
        { p: A.prescription },
        tk,
      ),
    expectForB: (shown) => expect(shown.data).toEqual({ medicationDispenses: { totalCount: 0, edges: [] } }),
  },
  'GraphQL medicationDispenses (everything)': {
    ask: (tk) => graphqlAsk('{ medicationDispenses(first: 200) { totalCount edges { node { id resource } } } }', {}, tk),
    expectForB: noErrors,
  },
  'federation _entities MedicationRequest and MedicationDispense': {
    ask: (tk) =>
      graphqlAsk(
        `query($r: [_Any!]!) { _entities(representations: $r) { ... on MedicationRequest { ${MR_FIELDS} } ... on MedicationDispense { id resource } } }`,
        {
          r: [
            { __typename: 'MedicationRequest', id: A.prescription },
            { __typename: 'MedicationDispense', id: A.dispense },
          ],
        },
        tk,
      ),
    expectForB: (shown) => expect(shown.data).toEqual({ _entities: [null, null] }),
  },
  'federation _entities Patient and Practitioner prescriptions': {
    ask: (tk) =>
      graphqlAsk(
        `query($r: [_Any!]!) { _entities(representations: $r) { ... on Patient { medicationRequests(first: 200) { edges { node { ${MR_FIELDS} } } } } ... on Practitioner { medicationRequests { totalCount edges { node { id } } } } } }`,
        {
          r: [
            { __typename: 'Patient', id: PATIENT },
            { __typename: 'Practitioner', id: PRACTITIONER },
          ],
        },
        tk,
      ),
    expectForB: noErrors,
  },
  'GraphQL deadLetters (platform-admin)': {
    persona: 'platform-admin',
    ask: (tk) => graphqlAsk('{ deadLetters(filter: { includeResolved: true }, first: 500) { id eventId event } }', {}, tk),
    expectForB: noErrors,
  },
};

describe('tenant-b sees nothing of tenant-a (CONTRACT §1)', () => {
  test.each(Object.keys(READ_DOORS))('%s', async (name) => {
    const door = READ_DOORS[name];
    const personas = door.persona ? [door.persona] : PERSONAS;
    const own = await door.ask(a[personas[0]]);
    expect(tracesIn(own.data), 'tenant-a sees its own data through this door').not.toEqual([]);
    for (const persona of personas) {
      const other = await door.ask(b[persona]);
      door.expectForB(other);
      expect(tracesIn(other.data), `tenant-b ${persona}`).toEqual([]);
    }
  });
});

/** Everything of tenant-a a write could change. */
const footprintOfA = async () =>
  t.sql(
    `SELECT (SELECT json_agg(json_build_array(id, version) ORDER BY id) FROM medication_requests WHERE tenant_id = 'tenant-a') AS requests,
            (SELECT json_agg(json_build_array(id, version) ORDER BY id) FROM medication_dispenses WHERE tenant_id = 'tenant-a') AS dispenses,
            (SELECT count(*)::int FROM tasks WHERE tenant_id = 'tenant-a') AS tasks,
            (SELECT json_agg(json_build_array(id, version, status) ORDER BY id) FROM subscriptions WHERE tenant_id = 'tenant-a') AS subscriptions,
            (SELECT json_agg(json_build_array(id, attempts, resolved_at) ORDER BY id) FROM dead_letters WHERE tenant_id = 'tenant-a') AS dead_letters,
            (SELECT count(*)::int FROM outbox WHERE tenant_id = 'tenant-a') AS events`,
  );

interface Answer {
  status: number;
  code?: string;
}
const fhirAnswer = async (response: Promise<{ status: number; body: any }>): Promise<Answer> => {
  const { status, body } = await response;
  return { status, code: outcomeCode(body) };
};
const graphqlAnswer = async (query: string, variables: Record<string, unknown>, token: string): Promise<Answer> => {
  const response = await rawGraphql(t.url, { query, variables }, token);
  return { status: response.status, code: response.errors?.[0]?.extensions?.code };
};

/** Writes of tenant-b aimed at tenant-a's resources; `id` is tenant-a's, or an id that exists nowhere. */
const LINKING_DOORS: Record<string, (id: () => { prescription: string; dispense: string; subscription: string; deadLetter: string }) => Promise<Answer>> = {
  'FHIR PUT MedicationRequest/{id}': (id) =>
    fhirAnswer(
      request(fhir(`MedicationRequest/${id().prescription}`), {
        method: 'PUT',
        token: b['ehr-backend'],
        headers: { 'if-match': 'W/"4"' },
        body: { ...prescription({ patient: PATIENT }), id: id().prescription },
      }),
    ),
  'FHIR PATCH MedicationRequest/{id}': (id) =>
    fhirAnswer(
      request(fhir(`MedicationRequest/${id().prescription}`), {
        method: 'PATCH',
        token: b['ehr-backend'],
        headers: { 'if-match': 'W/"4"', 'content-type': 'application/json-patch+json' },
        body: [{ op: 'add', path: '/note', value: [{ text: 'b' }] }],
      }),
    ),
  'FHIR POST Task focusing the prescription': (id) =>
    fhirAnswer(request(fhir('Task'), { token: b['pharmacy-backend'], body: workflowTask(id().prescription, 'fulfill', 'completed') })),
  'FHIR POST MedicationDispense authorizing the prescription': (id) =>
    fhirAnswer(
      request(fhir('MedicationDispense'), {
        token: b['pharmacy-backend'],
        body: {
          resourceType: 'MedicationDispense',
          status: 'completed',
          authorizingPrescription: [{ reference: `MedicationRequest/${id().prescription}` }],
          medicationCodeableConcept: prescription().medicationCodeableConcept,
        },
      }),
    ),
  'FHIR PUT MedicationDispense/{id}': (id) =>
    fhirAnswer(
      request(fhir(`MedicationDispense/${id().dispense}`), {
        method: 'PUT',
        token: b['pharmacy-backend'],
        headers: { 'if-match': 'W/"1"' },
        body: {
          resourceType: 'MedicationDispense',
          id: id().dispense,
          status: 'completed',
          authorizingPrescription: [{ reference: `MedicationRequest/${id().prescription}` }],
          medicationCodeableConcept: prescription().medicationCodeableConcept,
        },
      }),
    ),
  'FHIR POST Subscription/{id}/$replay': (id) =>
    fhirAnswer(request(fhir(`Subscription/${id().subscription}/$replay?from=0`), { method: 'POST', token: b['platform-admin'] })),
  'GraphQL transitionPrescription': (id) =>
    graphqlAnswer('mutation($id: ID!) { transitionPrescription(id: $id, event: COMPLETE) { id } }', { id: id().prescription }, b['pharmacy-backend']),
  'GraphQL updateMedicationRequest': (id) =>
    graphqlAnswer(
      'mutation($id: ID!, $p: String!) { updateMedicationRequest(id: $id, ifMatch: "W/\\"4\\"", input: { subject: { reference: $p }, medication: { coding: [{ system: "http://www.nlm.nih.gov/research/umls/rxnorm", code: "314076" }] }, dispenseRequest: { performer: { reference: "Organization/FM664" } } }) { id } }',
      { id: id().prescription, p: `Patient/${PATIENT}` },
      b['ehr-backend'],
    ),
  'GraphQL createMedicationDispense': (id) =>
    graphqlAnswer('mutation($id: ID!) { createMedicationDispense(input: { prescriptionId: $id }) { id } }', { id: id().prescription }, b['pharmacy-backend']),
  'GraphQL updateMedicationDispense': (id) =>
    graphqlAnswer(
      'mutation($id: ID!, $p: ID!) { updateMedicationDispense(id: $id, ifMatch: "W/\\"1\\"", input: { prescriptionId: $p, whenHandedOver: "2026-11-21" }) { id } }',
      { id: id().dispense, p: id().prescription },
      b['pharmacy-backend'],
    ),
  'GraphQL replayDeadLetter': (id) => graphqlAnswer('mutation($id: ID!) { replayDeadLetter(id: $id) { id } }', { id: id().deadLetter }, b['platform-admin']),
};

describe("tenant-b's writes find tenant-a's resources as if they did not exist", () => {
  test.each(Object.keys(LINKING_DOORS))('%s', async (name) => {
    const before = await footprintOfA();
    const nowhere = { prescription: randomUUID(), dispense: randomUUID(), subscription: randomUUID(), deadLetter: randomUUID() };
    const absent = await LINKING_DOORS[name](() => nowhere);
    const foreign = await LINKING_DOORS[name](() => A);
    expect(absent.code, 'the door refuses an id that exists nowhere').toMatch(/NOT_FOUND$/);
    expect(foreign).toEqual(absent);
    expect(await footprintOfA()).toEqual(before);
  });

  test('replayDeadLetters of tenant-b replays none of tenant-a', async () => {
    const before = await footprintOfA();
    const replayed = await rawGraphql(t.url, { query: 'mutation { replayDeadLetters { replayed succeeded failed } }' }, b['platform-admin']);
    expect(replayed.data).toEqual({ replayDeadLetters: { replayed: 0, succeeded: 0, failed: 0 } });
    expect(await footprintOfA()).toEqual(before);
  });

  test("conditional create and Idempotency-Key are per tenant: tenant-a's identifier and key create anew in tenant-b", async () => {
    const conditional = await request(fhir('MedicationRequest'), {
      token: b['ehr-backend'],
      headers: { 'if-none-exist': `identifier=${IDENTIFIER.system}|${IDENTIFIER.value}` },
      body: { ...prescription({ patient: PATIENT }), identifier: [IDENTIFIER] },
    });
    expect(conditional.status).toBe(201);
    expect(tracesIn(conditional.body)).toEqual([]);
    const keyed = await request(fhir('MedicationRequest'), {
      token: b['ehr-backend'],
      headers: { 'idempotency-key': IDEMPOTENCY_KEY },
      body: prescription({ patient: PATIENT }),
    });
    expect(keyed.status).toBe(201);
    expect(keyed.headers.get('idempotent-replayed')).toBeNull();
    expect(tracesIn(keyed.body)).toEqual([]);
  });
});

const EVENT_FIELDS = `subscription Events($filter: PrescriptionEventFilter, $after: String) {
  prescriptionEvents(filter: $filter, after: $after) {
    eventId type sequence event tenantId
    medicationRequest { id workflowStatus resource }
    medicationDispense { id resource }
    task { id code resource }
  }
}`;

/** A FHIR-native client of /fhir/websocket: `bind`, then count what arrives. */
async function fhirSocket(token: string) {
  const socket = new WebSocket(`${t.url.replace('http', 'ws')}/fhir/websocket`, { headers: { authorization: `Bearer ${token}` } });
  const messages: string[] = [];
  socket.on('message', (data) => messages.push(data.toString()));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return {
    messages,
    socket,
    /** Answers the channel's reply to `bind {id}`: `bound {id}` or `error {id} …`. */
    async bind(id: string) {
      const reply = () => messages.find((m) => m.split(' ')[1] === id);
      socket.send(`bind ${id}`);
      await expect.poll(reply).toBeDefined();
      return reply()!;
    },
    pings: (id: string) => messages.filter((m) => m === `ping ${id}`).length,
  };
}

describe('the live streams carry nothing of tenant-a to tenant-b', () => {
  test('graphql-ws prescriptionEvents (unfiltered, filtered by patient and by id, replayed from the start and resumed from a cursor) and the FHIR websocket channel', async () => {
    const baseline = t.app.live.stats().subscribers;
    const ownA = subscriber(t.url, a['ehr-backend'], { filter: { patient: PATIENT } }, EVENT_FIELDS);
    const streams = {
      unfiltered: subscriber(t.url, b['ehr-backend'], {}, EVENT_FIELDS),
      byPatient: subscriber(t.url, b['pharmacy-backend'], { filter: { patient: `Patient/${PATIENT}` } }, EVENT_FIELDS),
      byPrescription: subscriber(t.url, b['platform-admin'], { filter: { medicationRequest: A.prescription } }, EVENT_FIELDS),
      // From before every event of the stream: a replay that passes over all of tenant-a's.
      fromTheStart: subscriber(t.url, b['ehr-backend'], { after: '0' }, EVENT_FIELDS),
    } as Record<'unfiltered' | 'byPatient' | 'byPrescription' | 'fromTheStart' | 'resumed', ReturnType<typeof subscriber>>;
    const socketA = await fhirSocket(a['ehr-backend']);
    expect(await socketA.bind(A.subscription)).toBe(`bound ${A.subscription}`);
    const subscriptionB = await created(
      request(fhir('Subscription'), { token: b['pharmacy-backend'], body: subscriptionBody(`MedicationRequest?patient=${PATIENT}`) }),
    );
    const socketB = await fhirSocket(b['pharmacy-backend']);
    expect(await socketB.bind(subscriptionB)).toBe(`bound ${subscriptionB}`);
    expect(await socketB.bind(A.subscription)).toMatch(new RegExp(`^error ${A.subscription}`));
    // Live fan-out: 4 graphql-ws subscribers without a cursor, and per FHIR socket its binding and its replay listener.
    await expect.poll(() => t.app.live.stats().subscribers, { timeout: 10_000 }).toBeGreaterThanOrEqual(baseline + 8);
    // A subscriber resuming from a cursor of tenant-b reads the stream from there with a consumer of its own.
    const before = await created(request(fhir('MedicationRequest'), { token: b['ehr-backend'], body: prescription({ patient: uniquePatient() }) }));
    await expect.poll(() => streams.unfiltered.received.find((e) => e.medicationRequest?.id === before), { timeout: 10_000 }).toBeDefined();
    streams.resumed = subscriber(
      t.url,
      b['ehr-backend'],
      { after: streams.unfiltered.received.find((e) => e.medicationRequest?.id === before)!.sequence },
      EVENT_FIELDS,
    );
    await streams.resumed.ready;

    // Tenant-a changes things of the patient both tenants share…
    const id = await created(
      request(fhir('MedicationRequest'), { token: a['ehr-backend'], body: { ...prescription({ patient: PATIENT }), note: [{ text: MARKER }] } }),
    );
    A.later.push(id);
    await move(id, 'APPROVE', a['ehr-backend']);
    A.later.push(await created(request(fhir('Task'), { token: a['pharmacy-backend'], body: workflowTask(id, 'fulfill', 'in-progress') })));
    A.later.push(
      await created(
        request(fhir('MedicationDispense'), {
          token: a['pharmacy-backend'],
          body: {
            resourceType: 'MedicationDispense',
            status: 'completed',
            authorizingPrescription: [{ reference: `MedicationRequest/${id}` }],
            medicationCodeableConcept: prescription().medicationCodeableConcept,
          },
        }),
      ),
    );
    await request(fhir(`Subscription/${A.subscription}/$replay?from=0`), { method: 'POST', token: a['platform-admin'] });
    // …and the doors of tenant-a show them (the positive control).
    await expect.poll(() => ownA.received.filter((e) => e.medicationRequest?.id === id).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await expect.poll(() => socketA.pings(A.subscription), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);

    // Then tenant-b changes its own prescription of that patient, three times. Each stream is ordered:
    // once tenant-b's last change is through, anything of tenant-a (committed earlier) would be too.
    const own = await created(request(fhir('MedicationRequest'), { token: b['ehr-backend'], body: prescription({ patient: PATIENT }) }));
    await move(own, 'APPROVE', b['ehr-backend']);
    await move(own, 'PROCESS', b['pharmacy-backend']);
    const lastOf = (stream: ReturnType<typeof subscriber>) => stream.received.find((e) => e.medicationRequest?.id === own && e.event === 'process');
    for (const name of ['unfiltered', 'byPatient', 'fromTheStart', 'resumed'] as const)
      await expect.poll(() => lastOf(streams[name]), { timeout: 10_000, message: name }).toBeDefined();
    const last = Number(lastOf(streams.unfiltered)!.sequence);
    // The FHIR channel records the cursor of what it delivered: once past tenant-b's last change, every ping is in.
    const cursorOf = async (id: string) =>
      Number(
        (await request(fhir(`Subscription/${id}`), { token: b['pharmacy-backend'] })).body.extension?.find((e: any) => e.url.endsWith('subscription-cursor'))
          ?.valueString ?? 0,
      );
    await expect.poll(() => cursorOf(subscriptionB), { timeout: 10_000 }).toBeGreaterThanOrEqual(last);

    for (const [name, stream] of Object.entries(streams)) {
      expect(stream.errors, name).toEqual([]);
      expect(tracesIn(stream.received), name).toEqual([]);
      expect(
        stream.received.filter((e) => (e as unknown as { tenantId: string }).tenantId !== 'tenant-b'),
        name,
      ).toEqual([]);
    }
    // Filtered by tenant-a's prescription id, there is nothing at all (it cannot name a prescription of tenant-b).
    expect(streams.byPrescription.received).toEqual([]);
    expect(streams.byPatient.received.filter((e) => e.medicationRequest?.id === own).map((e) => e.event)).toEqual(['request', 'approve', 'process']);
    expect(socketB.pings(subscriptionB), "tenant-b's own three changes, nothing else").toBe(3);
    expect(socketB.messages.filter((m) => m.startsWith('ping ') && m !== `ping ${subscriptionB}`)).toEqual([]);

    for (const stream of [ownA, ...Object.values(streams)]) await stream.stop();
    socketA.socket.close();
    socketB.socket.close();
  });
});

// ── The tenant wall itself: X-Tenant-Id and module licensing on every door (CONTRACT §2) ──────────

interface HttpDoor {
  persona: Persona;
  send(token: string, headers: Record<string, string>): Promise<Answer>;
}

const fhirDoor = (persona: Persona, method: string, path: () => string, body?: () => unknown, contentType?: string): HttpDoor => ({
  persona,
  send: (token, headers) =>
    fhirAnswer(
      request(fhir(path()), {
        method,
        token,
        headers: { ...headers, ...(contentType ? { 'content-type': contentType } : {}) },
        ...(body ? { body: body() } : {}),
      }),
    ),
});
const graphqlDoor = (persona: Persona, query: string, variables: () => Record<string, unknown> = () => ({})): HttpDoor => ({
  persona,
  send: async (token, headers) => {
    const response = await rawGraphql(t.url, { query, variables: variables() }, token, headers);
    return { status: response.status, code: response.errors?.[0]?.extensions?.code };
  },
});

const HTTP_DOORS: Record<string, HttpDoor> = {
  'FHIR read': fhirDoor('ehr-backend', 'GET', () => `MedicationRequest/${A.prescription}`),
  'FHIR search': fhirDoor('ehr-backend', 'GET', () => `MedicationRequest?patient=${PATIENT}`),
  'FHIR _history': fhirDoor('ehr-backend', 'GET', () => 'MedicationRequest/_history'),
  'FHIR create MedicationRequest': fhirDoor(
    'ehr-backend',
    'POST',
    () => 'MedicationRequest',
    () => prescription({ patient: PATIENT }),
  ),
  'FHIR update MedicationRequest': fhirDoor(
    'ehr-backend',
    'PUT',
    () => `MedicationRequest/${A.prescription}`,
    () => ({ ...prescription({ patient: PATIENT }), id: A.prescription }),
  ),
  'FHIR patch MedicationRequest': fhirDoor(
    'ehr-backend',
    'PATCH',
    () => `MedicationRequest/${A.prescription}`,
    () => [{ op: 'add', path: '/note', value: [{ text: 'x' }] }],
    'application/json-patch+json',
  ),
  'FHIR Task': fhirDoor(
    'pharmacy-backend',
    'POST',
    () => 'Task',
    () => workflowTask(A.prescription, 'fulfill', 'completed'),
  ),
  'FHIR MedicationDispense': fhirDoor('pharmacy-backend', 'GET', () => `MedicationDispense/${A.dispense}`),
  'FHIR Subscription': fhirDoor(
    'ehr-backend',
    'POST',
    () => 'Subscription',
    () => subscriptionBody('Task?status=completed'),
  ),
  'FHIR $replay': fhirDoor('platform-admin', 'POST', () => `Subscription/${A.subscription}/$replay?from=0`),
  'FHIR Organization (shared directory)': fhirDoor('ehr-backend', 'GET', () => 'Organization?name=a'),
  'GraphQL query': graphqlDoor('ehr-backend', 'query($id: ID!) { medicationRequest(id: $id) { id } }', () => ({ id: A.prescription })),
  'GraphQL mutation': graphqlDoor('pharmacy-backend', 'mutation($id: ID!) { transitionPrescription(id: $id, event: COMPLETE) { id } }', () => ({
    id: A.prescription,
  })),
  'GraphQL _entities': graphqlDoor('ehr-backend', 'query($r: [_Any!]!) { _entities(representations: $r) { ... on MedicationRequest { id } } }', () => ({
    r: [{ __typename: 'MedicationRequest', id: A.prescription }],
  })),
  'GraphQL dead letters': graphqlDoor('platform-admin', '{ deadLetters { id } }'),
};

describe('the tenant wall on every HTTP door', () => {
  test.each(Object.keys(HTTP_DOORS))('%s: X-Tenant-Id naming another tenant is 403 TENANT_ISOLATION_VIOLATION, and writes nothing', async (name) => {
    const door = HTTP_DOORS[name];
    const before = await footprintOfA();
    expect(await door.send(a[door.persona], { 'x-tenant-id': 'tenant-b' })).toEqual({ status: 403, code: 'TENANT_ISOLATION_VIOLATION' });
    expect(await door.send(b[door.persona], { 'x-tenant-id': 'tenant-a' })).toEqual({ status: 403, code: 'TENANT_ISOLATION_VIOLATION' });
    expect(await footprintOfA()).toEqual(before);
  });

  test.each(Object.keys(HTTP_DOORS))('%s: a tenant without the module is 403 MODULE_NOT_LICENSED', async (name) => {
    const door = HTTP_DOORS[name];
    const unlicensed = await t.token('tenant-unlicensed', door.persona);
    expect(await door.send(unlicensed, {})).toEqual({ status: 403, code: 'MODULE_NOT_LICENSED' });
    expect(await door.send(unlicensed, { 'x-tenant-id': 'tenant-unlicensed' })).toEqual({ status: 403, code: 'MODULE_NOT_LICENSED' });
  });
});

/** Opens a graphql-transport-ws connection and answers how it ended: acknowledged, or closed with a code and reason. */
async function graphqlWsConnect(
  token: string,
  options: { headers?: Record<string, string>; connectionParams?: Record<string, unknown> } = {},
): Promise<{ acknowledged: boolean; code?: number; reason?: string }> {
  const socket = new WebSocket(`${t.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', { headers: options.headers });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}`, ...options.connectionParams } }));
  return new Promise((resolve) => {
    socket.on('message', (data) => {
      if (JSON.parse(data.toString()).type === 'connection_ack') {
        socket.close();
        resolve({ acknowledged: true });
      }
    });
    socket.once('close', (code, reason) => resolve({ acknowledged: false, code, reason: reason.toString() }));
  });
}

/** Opens /fhir/websocket and answers the upgrade's status (101 when it opened) and contract code. */
async function fhirWsConnect(token: string, headers: Record<string, string> = {}): Promise<Answer> {
  const socket = new WebSocket(`${t.url.replace('http', 'ws')}/fhir/websocket`, { headers: { authorization: `Bearer ${token}`, ...headers } });
  return new Promise((resolve) => {
    socket.once('open', () => {
      socket.close();
      resolve({ status: 101 });
    });
    socket.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode!, code: text ? outcomeCode(JSON.parse(text)) : undefined }));
    });
  });
}

describe('the tenant wall on the websocket doors', () => {
  test('graphql-ws: another tenant named in the upgrade header or in connectionParams is closed 4403 TENANT_ISOLATION_VIOLATION', async () => {
    expect(await graphqlWsConnect(a['ehr-backend'], { headers: { 'x-tenant-id': 'tenant-a' } })).toEqual({ acknowledged: true });
    expect(await graphqlWsConnect(a['ehr-backend'], { headers: { 'x-tenant-id': 'tenant-b' } })).toEqual({
      acknowledged: false,
      code: 4403,
      reason: 'TENANT_ISOLATION_VIOLATION',
    });
    expect(await graphqlWsConnect(a['ehr-backend'], { connectionParams: { 'x-tenant-id': 'tenant-b' } })).toEqual({
      acknowledged: false,
      code: 4403,
      reason: 'TENANT_ISOLATION_VIOLATION',
    });
  });

  test('graphql-ws: a tenant without the module is closed 4403 MODULE_NOT_LICENSED', async () => {
    expect(await graphqlWsConnect(await t.token('tenant-unlicensed', 'ehr-backend'))).toEqual({
      acknowledged: false,
      code: 4403,
      reason: 'MODULE_NOT_LICENSED',
    });
  });

  test('FHIR websocket: another tenant in X-Tenant-Id is 403 TENANT_ISOLATION_VIOLATION, an unlicensed tenant 403 MODULE_NOT_LICENSED', async () => {
    expect(await fhirWsConnect(a['ehr-backend'], { 'x-tenant-id': 'tenant-a' })).toEqual({ status: 101 });
    expect(await fhirWsConnect(a['ehr-backend'], { 'x-tenant-id': 'tenant-b' })).toEqual({ status: 403, code: 'TENANT_ISOLATION_VIOLATION' });
    expect(await fhirWsConnect(await t.token('tenant-unlicensed', 'pharmacy-backend'))).toEqual({ status: 403, code: 'MODULE_NOT_LICENSED' });
  });
});
