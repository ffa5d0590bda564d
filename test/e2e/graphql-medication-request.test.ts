import { beforeAll, describe, expect, it } from 'vitest';
import {
  CreatePrescriptionDocument,
  type MedicationRequestInput,
  PharmaciesDocument,
  PrescriptionDocument,
  PrescriptionsDocument,
  type PrescriptionsQuery,
  UpdatePrescriptionDocument,
} from '../generated/graphql.js';
import { PHARMACY_A, uniquePatient } from '../support/fixtures.js';
import { errorCodes, graphql, type GraphqlResponse, rawGraphql } from '../support/graphql.js';
import { request } from '../support/http.js';
import { useTestApp } from '../support/use-test-app.js';

let ehrA: string;
let ehrB: string;
let pharmacyA: string;

const t = useTestApp();
beforeAll(async () => {
  [ehrA, ehrB, pharmacyA] = await Promise.all([
    t.token('tenant-a', 'ehr-backend', 'alice'),
    t.token('tenant-b', 'ehr-backend'),
    t.token('tenant-a', 'pharmacy-backend'),
  ]);
});

const input = (patient = uniquePatient(), overrides: Partial<MedicationRequestInput> = {}): MedicationRequestInput => ({
  subject: { reference: `Patient/${patient}` },
  medication: {
    text: 'lisinopril 10 MG Oral Tablet',
    coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '314076', display: 'lisinopril 10 MG Oral Tablet' }],
  },
  requester: { reference: 'Practitioner/dr-1', display: 'Dr. One' },
  authoredOn: '2026-11-20',
  dosageInstruction: [{ text: 'one tablet daily' }],
  dispenseRequest: { performer: { reference: `Organization/${PHARMACY_A}` }, quantity: { value: 30, unit: 'tablet' }, numberOfRepeatsAllowed: 0 },
  ...overrides,
});

describe('GraphQL prescriptions', () => {
  it('creates, reads and updates a prescription, with pharmacy and transitions resolved', async () => {
    const created = await graphql(t.url, CreatePrescriptionDocument, { input: input() }, ehrA);
    expect(created.errors).toBeUndefined();
    const mr = created.data!.createMedicationRequest;
    expect(mr).toMatchObject({ versionId: '1', etag: 'W/"1"', status: 'draft', workflowStatus: 'REQUESTED', intent: 'order' });
    expect(mr.pharmacy).toMatchObject({ id: PHARMACY_A, name: 'A1 Pharmacy', address: { postalCode: 'BL3 1SX', country: 'GB' } });
    expect(mr.transitions).toEqual([{ event: 'request', from: null, to: 'requested', actor: 'alice', reason: null, at: mr.lastUpdated }]);
    expect(mr.resource).toMatchObject({ resourceType: 'MedicationRequest', id: mr.id });

    // The same prescription over FHIR is the same resource.
    const fhir = await request(`${t.url}/fhir/MedicationRequest/${mr.id}`, { token: ehrA });
    expect(fhir.body).toEqual(mr.resource);

    const read = await graphql(t.url, PrescriptionDocument, { id: mr.id }, ehrA);
    expect(read.data!.medicationRequest).toEqual(mr);

    const updated = await graphql(
      t.url,
      UpdatePrescriptionDocument,
      { id: mr.id, ifMatch: mr.etag, input: input(undefined, { dosageInstruction: [{ text: 'two tablets daily' }] }) },
      ehrA,
    );
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateMedicationRequest).toMatchObject({ versionId: '2', dosageInstruction: [{ text: 'two tablets daily' }] });

    const stale = await graphql(t.url, UpdatePrescriptionDocument, { id: mr.id, ifMatch: mr.etag, input: input() }, ehrA);
    expect(errorCodes(stale)).toEqual(['PRECONDITION_FAILED']);
    expect(stale.status).toBe(200);
  });

  it('pages with a Relay connection, filtered by patient, with no duplicates', async () => {
    const patient = uniquePatient();
    for (let i = 0; i < 5; i++) await graphql(t.url, CreatePrescriptionDocument, { input: input(patient) }, ehrA);
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page: GraphqlResponse<PrescriptionsQuery> = await graphql(t.url, PrescriptionsDocument, { filter: { patient }, first: 2, after }, ehrA);
      const connection = page.data!.medicationRequests;
      expect(connection.totalCount).toBe(5);
      seen.push(...connection.edges.map((e) => e.node.id));
      after = connection.pageInfo.hasNextPage ? connection.pageInfo.endCursor : null;
      pages++;
    } while (after);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(5);
    const byReference = await graphql(
      t.url,
      PrescriptionsDocument,
      { filter: { patient: `Patient/${patient}`, workflowStatus: 'REQUESTED', pharmacy: PHARMACY_A } },
      ehrA,
    );
    expect(byReference.data!.medicationRequests.totalCount).toBe(5);
  });

  it('replays an idempotent create and refuses the key with another payload', async () => {
    const key = crypto.randomUUID();
    const body = input();
    const first = await graphql(t.url, CreatePrescriptionDocument, { input: body, idempotencyKey: key }, ehrA);
    const again = await graphql(t.url, CreatePrescriptionDocument, { input: body, idempotencyKey: key }, ehrA);
    expect(again.data!.createMedicationRequest.id).toBe(first.data!.createMedicationRequest.id);
    const conflict = await graphql(t.url, CreatePrescriptionDocument, { input: { ...body, authoredOn: '2020-01-01' }, idempotencyKey: key }, ehrA);
    expect(errorCodes(conflict)).toEqual(['IDEMPOTENCY_KEY_CONFLICT']);
  });

  it('answers null for another tenant’s prescription and never lists it', async () => {
    const patient = uniquePatient();
    const { data } = await graphql(t.url, CreatePrescriptionDocument, { input: input(patient) }, ehrA);
    const id = data!.createMedicationRequest.id;
    const read = await graphql(t.url, PrescriptionDocument, { id }, ehrB);
    expect(read.errors).toBeUndefined();
    expect(read.data!.medicationRequest).toBeNull();
    const list = await graphql(t.url, PrescriptionsDocument, { filter: { patient } }, ehrB);
    expect(list.data!.medicationRequests.totalCount).toBe(0);
    expect((await graphql(t.url, PrescriptionDocument, { id: 'not-an-id' }, ehrA)).data!.medicationRequest).toBeNull();
  });

  it('maps every refusal to its contract code', async () => {
    expect(errorCodes(await graphql(t.url, CreatePrescriptionDocument, { input: input() }, pharmacyA))).toEqual(['FORBIDDEN_WRITE_PERSONA']);

    const invalid = await graphql(
      t.url,
      CreatePrescriptionDocument,
      {
        input: input(undefined, {
          subject: { reference: 'Group/1' },
          dispenseRequest: { performer: { reference: `Organization/${PHARMACY_A}` }, quantity: { value: 0 } },
        }),
      },
      ehrA,
    );
    expect(errorCodes(invalid)).toEqual(['PROFILE_VALIDATION_FAILURE']);
    expect(invalid.errors![0].extensions!.issues!.map((i) => i.expression)).toEqual([
      'MedicationRequest.subject.reference',
      'MedicationRequest.dispenseRequest.quantity.value',
    ]);

    const noPharmacy = await graphql(
      t.url,
      CreatePrescriptionDocument,
      { input: input(undefined, { dispenseRequest: { performer: { reference: 'Organization/NOPE' } } }) },
      ehrA,
    );
    expect(errorCodes(noPharmacy)).toEqual(['PHARMACY_NOT_FOUND']);

    const missing = await graphql(t.url, UpdatePrescriptionDocument, { id: crypto.randomUUID(), ifMatch: 'W/"1"', input: input() }, ehrA);
    expect(errorCodes(missing)).toEqual(['NOT_FOUND']);

    const unlicensed = await graphql(t.url, PharmaciesDocument, {}, await t.token('tenant-unlicensed', 'ehr-backend'));
    expect(unlicensed.status).toBe(403);
    expect(errorCodes(unlicensed)).toEqual(['MODULE_NOT_LICENSED']);

    const foreign = await rawGraphql(t.url, { query: '{ pharmacies(first: 1) { id } }' }, ehrA, { 'x-tenant-id': 'tenant-b' });
    expect(foreign.status).toBe(403);
    expect(errorCodes(foreign)).toEqual(['TENANT_ISOLATION_VIOLATION']);
  });

  it('answers HTTP 401 without a valid token and 400 for a document that does not parse or validate', async () => {
    const anonymous = await rawGraphql(t.url, { query: '{ pharmacies { id } }' });
    expect(anonymous.status).toBe(401);
    expect(errorCodes(anonymous)).toEqual(['UNAUTHENTICATED']);
    const unparsable = await rawGraphql(t.url, { query: '{ pharmacies { id ' }, ehrA);
    expect(unparsable.status).toBe(400);
    expect(errorCodes(unparsable)).toEqual(['BAD_REQUEST']);
    const invalid = await rawGraphql(t.url, { query: '{ noSuchField }' }, ehrA);
    expect(invalid.status).toBe(400);
    expect(errorCodes(invalid)).toEqual(['BAD_REQUEST']);
    const badCursor = await graphql(t.url, PrescriptionsDocument, { after: 'garbage' }, ehrA);
    expect(errorCodes(badCursor)).toEqual(['BAD_REQUEST']);
    for (const error of [...(unparsable.errors ?? []), ...(badCursor.errors ?? [])]) expect(error.extensions).not.toHaveProperty('stacktrace');
  });

  it('answers an alias or a variable named __proto__ with 400 BAD_REQUEST, and other names of Object.prototype as usual', async () => {
    // Compiled queries (graphql-jit) build results as object literals, where __proto__ would set the prototype.
    for (const [query, what] of [
      ['{ __proto__: __typename }', 'an alias'],
      ['{ medicationRequests(first: 1) { __proto__: pageInfo { hasNextPage } } }', 'an alias'],
      ['query Q($__proto__: Int = 1) { medicationRequests(first: $__proto__) { totalCount } }', 'a variable'],
    ]) {
      const refused = await rawGraphql(t.url, { query }, ehrA);
      expect(refused.status).toBe(400);
      expect(refused.errors).toEqual([{ message: `"__proto__" cannot name ${what}.`, extensions: { code: 'BAD_REQUEST' } }]);
    }
    const ordinary = await rawGraphql(t.url, { query: '{ constructor: __typename toString: __typename hasOwnProperty: __typename }' }, ehrA);
    expect(ordinary.data).toEqual({ constructor: 'Query', toString: 'Query', hasOwnProperty: 'Query' });
  });

  it('searches the shared pharmacy directory by name, case-insensitively', async () => {
    const boots = await graphql(t.url, PharmaciesDocument, { name: 'bOoTs', first: 5 }, pharmacyA);
    expect(boots.data!.pharmacies.length).toBe(5);
    for (const p of boots.data!.pharmacies) expect(p.name.toLowerCase()).toContain('boots');
    const fromB = await graphql(t.url, PharmaciesDocument, { name: 'Boots', first: 5 }, ehrB);
    expect(fromB.data!.pharmacies).toEqual(boots.data!.pharmacies);
  });

  it('is a Federation 2 subgraph: _service.sdl links federation and keys the entities; _entities resolves in the tenant', async () => {
    const sdl = await rawGraphql<{ _service: { sdl: string } }>(t.url, { query: '{ _service { sdl } }' }, ehrA);
    expect(sdl.data!._service.sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.6"');
    expect(sdl.data!._service.sdl).toMatch(/type MedicationRequest\s+@key\(fields: "id"\)/);
    expect(sdl.data!._service.sdl).toMatch(/type Pharmacy\s+@key\(fields: "id"\)/);

    const { data } = await graphql(t.url, CreatePrescriptionDocument, { input: input() }, ehrA);
    const id = data!.createMedicationRequest.id;
    const query = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on MedicationRequest { id workflowStatus } ... on Pharmacy { id name } } }';
    const representations = [
      { __typename: 'MedicationRequest', id },
      { __typename: 'Pharmacy', id: PHARMACY_A },
    ];
    const own = await rawGraphql(t.url, { query, variables: { r: representations } }, ehrA);
    expect(own.data._entities).toEqual([
      { id, workflowStatus: 'REQUESTED' },
      { id: PHARMACY_A, name: 'A1 Pharmacy' },
    ]);
    const other = await rawGraphql(t.url, { query, variables: { r: representations } }, ehrB);
    expect(other.data._entities[0]).toBeNull();
  });
});
