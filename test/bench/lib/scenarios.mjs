// What each scenario sends: FHIR and GraphQL requests built from the benchmark data, the checks
// that decide whether an answer counts as a success, and the multi-step workflow.
import { randomUUID } from 'node:crypto';
import { completePrescription, patientId, requestId } from './dataset.mjs';
import { summarize } from './stats.mjs';

const FHIR_JSON = 'application/fhir+json';
const random = (n) => 1 + Math.floor(Math.random() * n);

/** New prescriptions: real source rows, new benchmark patients (so creates do not pile on one). */
export function newPrescriptions(source, pharmacies) {
  let n = 0;
  return (patient = `bench-new-${random(50_000)}`) => {
    const row = source[n++ % source.length];
    return completePrescription(row, { patient, pharmacy: pharmacies[n % pharmacies.length] });
  };
}

const graphqlOk = (status, body) => {
  if (status !== 200) return false;
  try {
    const parsed = JSON.parse(body);
    return !parsed.errors && parsed.data != null;
  } catch {
    return false;
  }
};

export function fhirCreate({ token, next }) {
  return {
    method: 'POST',
    path: '/fhir/MedicationRequest',
    headers: { authorization: `Bearer ${token}`, 'content-type': FHIR_JSON },
    setup: () => ({ body: JSON.stringify(next()), headers: { 'idempotency-key': randomUUID() } }),
    check: (status) => status === 201,
  };
}

export function fhirRead({ token, rows }) {
  return {
    method: 'GET',
    path: '/fhir/MedicationRequest',
    headers: { authorization: `Bearer ${token}` },
    setup: () => ({ path: `/fhir/MedicationRequest/${requestId(random(rows))}` }),
    check: (status) => status === 200,
  };
}

export function fhirSearch({ token, patients }) {
  return {
    method: 'GET',
    path: '/fhir/MedicationRequest',
    headers: { authorization: `Bearer ${token}` },
    setup: () => ({ path: `/fhir/MedicationRequest?patient=${patientId(random(patients))}&_count=20` }),
    check: (status, body) => status === 200 && body.includes('"resourceType":"Bundle"'),
  };
}

/** The floor server's read (`/read/K`) or search (`/search/J`), drawing rows as the gateway's scenarios do. */
export function floorRequest(kind, count) {
  return {
    method: 'GET',
    path: `/${kind}/1`,
    setup: () => ({ path: `/${kind}/${random(count)}` }),
    check: (status, body) => status === 200 && (kind === 'read' || body.includes('"resourceType":"Bundle"')),
  };
}

/** A pharmacy's queue through FHIR: the same 50 prescriptions the GraphQL page shows, without the nesting (issue 18's baseline for the page). */
export function fhirSearchPage({ token, pharmacies }) {
  return {
    method: 'GET',
    path: '/fhir/MedicationRequest',
    headers: { authorization: `Bearer ${token}` },
    setup: () => ({ path: `/fhir/MedicationRequest?intended-dispenser=Organization/${pharmacies[random(pharmacies.length) - 1]}&_count=50` }),
    check: (status, body) => status === 200 && body.includes('"resourceType":"Bundle"'),
  };
}

/** The GraphQL input for a FHIR prescription (the mutation takes the same data, typed). */
export function toGraphqlInput(p) {
  const coding = p.medicationCodeableConcept.coding.map(({ system, code, display }) => ({ system, code, ...(display ? { display } : {}) }));
  return {
    subject: { reference: p.subject.reference },
    medication: { coding, ...(p.medicationCodeableConcept.text ? { text: p.medicationCodeableConcept.text } : {}) },
    ...(p.requester ? { requester: { reference: p.requester.reference, ...(p.requester.display ? { display: p.requester.display } : {}) } } : {}),
    ...(p.authoredOn ? { authoredOn: p.authoredOn } : {}),
    dispenseRequest: {
      performer: { reference: p.dispenseRequest.performer.reference },
      quantity: p.dispenseRequest.quantity,
      numberOfRepeatsAllowed: p.dispenseRequest.numberOfRepeatsAllowed,
    },
  };
}

const CREATE_MUTATION =
  'mutation BenchCreate($input: MedicationRequestInput!, $key: String) { createMedicationRequest(input: $input, idempotencyKey: $key) { id etag workflowStatus } }';

export function graphqlCreate({ token, next }) {
  return {
    method: 'POST',
    path: '/graphql',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    setup: () => ({
      body: JSON.stringify({ operationName: 'BenchCreate', query: CREATE_MUTATION, variables: { input: toGraphqlInput(next()), key: randomUUID() } }),
    }),
    check: graphqlOk,
  };
}

/** A pharmacy's queue: 50 prescriptions with their pharmacy, dispenses and workflow history. */
export const pageQuery = (name, first) =>
  `query ${name}($pharmacy: String!) { medicationRequests(first: ${first}, filter: { pharmacy: $pharmacy }) { totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id etag workflowStatus status authoredOn medication { coding { code display } } subject { reference }
      pharmacy { id name address { city postalCode } } dispenses { id status whenHandedOver quantity { value unit } } transitions { event from to actor at } } } } }`;

export function graphqlPage({ token, pharmacies }) {
  const query = pageQuery('BenchPage', 50);
  return {
    method: 'POST',
    path: '/graphql',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    setup: () => ({ body: JSON.stringify({ operationName: 'BenchPage', query, variables: { pharmacy: pharmacies[random(pharmacies.length) - 1] } }) }),
    check: (status, body) => graphqlOk(status, body) && body.includes('"edges":[{'),
  };
}

/** One HTTP call of a workflow step; throws with the answer when it is not the expected one. */
async function call(base, token, method, path, body, expected, contentType = FHIR_JSON) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': contentType,
      ...(method === 'POST' && path === '/fhir/MedicationRequest' ? { 'idempotency-key': randomUUID() } : {}),
    },
    body: body && JSON.stringify(body),
  });
  const text = await response.text();
  const ok = response.status === expected && (contentType !== 'application/json' || graphqlOk(response.status, text));
  if (!ok) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

const task = (id, code, status) => ({
  resourceType: 'Task',
  status,
  intent: 'order',
  focus: { reference: `MedicationRequest/${id}` },
  code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code }] },
});

const dispense = (id, prescription, handedOver) => ({
  resourceType: 'MedicationDispense',
  status: 'completed',
  authorizingPrescription: [{ reference: `MedicationRequest/${id}` }],
  medicationCodeableConcept: prescription.medicationCodeableConcept ?? { coding: prescription.medication.coding },
  quantity: { value: 30, unit: 'tablet' },
  ...(handedOver ? { whenHandedOver: new Date().toISOString() } : {}),
});

const transition = (id, event) => ({
  query: `mutation BenchTransition($id: ID!) { transitionPrescription(id: $id, event: ${event}) { workflowStatus etag } }`,
  operationName: 'BenchTransition',
  variables: { id },
});

/**
 * create → approve → process → dispense → complete, through both doors as their users would:
 * FHIR create and Task (EHR), GraphQL PROCESS (pharmacy), FHIR MedicationDispense, GraphQL COMPLETE.
 */
export async function fullWorkflow(base, tokens, prescription) {
  const created = await call(base, tokens.ehr, 'POST', '/fhir/MedicationRequest', prescription, 201);
  await call(base, tokens.ehr, 'POST', '/fhir/Task', task(created.id, 'approve', 'completed'), 201);
  await call(base, tokens.pharmacy, 'POST', '/graphql', transition(created.id, 'PROCESS'), 200, 'application/json');
  await call(base, tokens.pharmacy, 'POST', '/fhir/MedicationDispense', dispense(created.id, prescription, false), 201);
  await call(base, tokens.pharmacy, 'POST', '/graphql', transition(created.id, 'COMPLETE'), 200, 'application/json');
}

/** A pre-loaded prescription taken to completed (approve, process, dispense handed over). */
export async function completeExisting(base, tokens, id, prescription) {
  await call(base, tokens.ehr, 'POST', '/fhir/Task', task(id, 'approve', 'completed'), 201);
  await call(base, tokens.pharmacy, 'POST', '/graphql', transition(id, 'PROCESS'), 200, 'application/json');
  await call(base, tokens.pharmacy, 'POST', '/fhir/MedicationDispense', dispense(id, prescription, true), 201);
}

/** `concurrency` loops of `work` for `seconds`; throughput, latency of one work item and errors. */
export async function closedLoop({ concurrency, seconds, work }) {
  const latencies = [];
  const errors = [];
  const deadline = Date.now() + seconds * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        const t0 = process.hrtime.bigint();
        try {
          await work();
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        } catch (error) {
          errors.push(error.message);
        }
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  return { rps: latencies.length / elapsed, ...summarize(latencies), errors: errors.length, detail: errors[0] };
}
