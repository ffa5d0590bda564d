import { beforeAll, describe, expect, it } from 'vitest';
import { prescription, uniquePatient, workflowTask } from '../support/fixtures.js';
import { rawGraphql } from '../support/graphql.js';
import { outcomeCode, request } from '../support/http.js';
import { useTestApp } from '../support/use-test-app.js';

/** Fills and refills (CONTRACT §7): FF then RF, the refillable state, the interval, the per-fill quantity, and fills that match the dispenses. */

let ehr: string;
let pharmacy: string;
const t = useTestApp();
beforeAll(async () => {
  [ehr, pharmacy] = await Promise.all([t.token('tenant-a', 'ehr-backend'), t.token('tenant-a', 'pharmacy-backend')]);
});

const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const fhir = (path: string) => `${t.url}/fhir/${path}`;
const task = workflowTask;
const dispense = (id: string, quantity = 30, handedOver: string | undefined = new Date().toISOString()) => ({
  resourceType: 'MedicationDispense',
  status: 'completed',
  authorizingPrescription: [{ reference: `MedicationRequest/${id}` }],
  medicationCodeableConcept: { coding: [{ system: RXNORM, code: '314076' }] },
  quantity: { value: quantity, unit: 'tablet' },
  ...(handedOver ? { whenHandedOver: handedOver } : {}),
});

async function create(repeats: number, extra: Partial<fhir4.MedicationRequestDispenseRequest> = {}): Promise<string> {
  const body = prescription({ patient: uniquePatient(), repeats });
  body.dispenseRequest = { ...body.dispenseRequest, ...extra };
  const created = await request(fhir('MedicationRequest'), { token: ehr, body });
  expect(created.status).toBe(201);
  expect((await request(fhir('Task'), { token: ehr, body: task(created.body.id, 'approve', 'completed') })).status).toBe(201);
  return created.body.id;
}

/** The fills as FHIR shows them (extension) and as GraphQL shows them, and the state. */
async function fills(id: string) {
  const read = await request(fhir(`MedicationRequest/${id}`), { token: pharmacy });
  const ext = read.body.extension.find((e: { url: string }) => e.url === 'urn:rxgate:extension:fills');
  const sub = (name: string) => ext.extension.find((e: { url: string }) => e.url === name)?.valueUnsignedInt;
  const gql = await rawGraphql(
    t.url,
    { query: `{ medicationRequest(id: "${id}") { workflowStatus fills { allowed dispensed remaining } dispenses { id } } }` },
    pharmacy,
  );
  const g = gql.data.medicationRequest;
  expect(g.fills).toEqual({ allowed: sub('allowed'), dispensed: sub('dispensed'), remaining: sub('remaining') });
  expect(g.fills.dispensed).toBe(g.dispenses.length);
  return { state: g.workflowStatus as string, ...g.fills };
}

describe('refills', () => {
  it('two repeats: three fills typed FF, RF, RF, refillable between them, then completed; a fourth process is refused', async () => {
    const id = await create(2);
    expect(await fills(id)).toEqual({ state: 'APPROVED', allowed: 3, dispensed: 0, remaining: 3 });
    const types: string[] = [];
    for (let fill = 1; fill <= 3; fill++) {
      expect((await request(fhir('Task'), { token: pharmacy, body: task(id, 'fulfill', 'in-progress') })).status).toBe(201);
      const made = await request(fhir('MedicationDispense'), { token: pharmacy, body: dispense(id) });
      expect(made.status).toBe(201);
      types.push(made.body.type.coding[0].code);
      expect(await fills(id)).toEqual({ state: fill < 3 ? 'REFILLABLE' : 'COMPLETED', allowed: 3, dispensed: fill, remaining: 3 - fill });
    }
    expect(types).toEqual(['FF', 'RF', 'RF']);
    const fourth = await request(fhir('Task'), { token: pharmacy, body: task(id, 'fulfill', 'in-progress') });
    expect([fourth.status, outcomeCode(fourth.body)]).toEqual([409, 'INVALID_TRANSITION']);
  });

  it('a refill before the dispense interval has passed is REFILL_TOO_EARLY, naming the earliest date, over FHIR and GraphQL', async () => {
    const id = await create(1, { dispenseInterval: { value: 30, unit: 'days', system: 'http://unitsofmeasure.org', code: 'd' } });
    expect((await request(fhir('Task'), { token: pharmacy, body: task(id, 'fulfill', 'in-progress') })).status).toBe(201);
    const handedOver = new Date();
    expect((await request(fhir('MedicationDispense'), { token: pharmacy, body: dispense(id, 30, handedOver.toISOString()) })).status).toBe(201);
    const earliest = new Date(handedOver.getTime() + 30 * 86_400_000).toISOString().slice(0, 16);
    const viaFhir = await request(fhir('Task'), { token: pharmacy, body: task(id, 'fulfill', 'in-progress') });
    expect([viaFhir.status, outcomeCode(viaFhir.body)]).toEqual([409, 'REFILL_TOO_EARLY']);
    expect(viaFhir.body.issue[0].diagnostics).toContain(earliest);
    const viaGraphql = await rawGraphql(t.url, { query: `mutation { transitionPrescription(id: "${id}", event: PROCESS) { id } }` }, pharmacy);
    expect(viaGraphql.errors?.[0].extensions).toMatchObject({ code: 'REFILL_TOO_EARLY' });
    expect(String(viaGraphql.errors?.[0].extensions?.earliest)).toContain(earliest);
    const read = await request(fhir(`MedicationRequest/${id}`), { token: pharmacy });
    const next = read.body.extension
      .find((e: { url: string }) => e.url === 'urn:rxgate:extension:fills')
      .extension.find((e: { url: string }) => e.url === 'nextEligible');
    expect(next.valueDateTime).toContain(earliest);
  });

  it('fills follow a later edit of a hand-over: nextEligible moves with whenHandedOver on FHIR read and search and in GraphQL, and agrees with REFILL_TOO_EARLY', async () => {
    const id = await create(1, { dispenseInterval: { value: 30, unit: 'days', system: 'http://unitsofmeasure.org', code: 'd' } });
    expect((await request(fhir('Task'), { token: pharmacy, body: task(id, 'fulfill', 'in-progress') })).status).toBe(201);
    const made = await request(fhir('MedicationDispense'), { token: pharmacy, body: dispense(id, 30, new Date().toISOString()) });
    expect(made.status).toBe(201);
    const before = await request(fhir(`MedicationRequest/${id}`), { token: pharmacy });
    // The pharmacy corrects the hand-over: it was 20 days ago, so the refill is due 20 days sooner.
    const handedOver = new Date(Date.now() - 20 * 86_400_000);
    const edited = await request(fhir(`MedicationDispense/${made.body.id}`), {
      method: 'PUT',
      token: pharmacy,
      headers: { 'if-match': made.headers.get('etag')! },
      body: { ...made.body, whenHandedOver: handedOver.toISOString() },
    });
    expect(edited.status).toBe(200);
    const earliest = new Date(handedOver.getTime() + 30 * 86_400_000).toISOString();
    const nextEligibleOf = (resource: any) =>
      resource.extension.find((e: { url: string }) => e.url === 'urn:rxgate:extension:fills').extension.find((e: { url: string }) => e.url === 'nextEligible')
        ?.valueDateTime;

    const read = await request(fhir(`MedicationRequest/${id}`), { token: pharmacy });
    expect(nextEligibleOf(read.body)).toBe(earliest);
    const searched = await request(fhir(`MedicationRequest?_id=${id}`), { token: pharmacy });
    expect(nextEligibleOf(searched.body.entry[0].resource)).toBe(earliest);
    const gql = await rawGraphql(t.url, { query: `{ medicationRequest(id: "${id}") { fills { nextEligibleAt } resource } }` }, pharmacy);
    expect(new Date(gql.data.medicationRequest.fills.nextEligibleAt).toISOString()).toBe(earliest);
    expect(nextEligibleOf(gql.data.medicationRequest.resource)).toBe(earliest);
    const early = await request(fhir('Task'), { token: pharmacy, body: task(id, 'fulfill', 'in-progress') });
    expect([early.status, outcomeCode(early.body)]).toEqual([409, 'REFILL_TOO_EARLY']);
    expect(early.body.issue[0].diagnostics).toContain(earliest);
    // The edit is the dispense's new version, not the prescription's.
    expect(read.body.meta.versionId).toBe(before.body.meta.versionId);
  });

  it('a dispense above the per-fill quantity is 422 at MedicationDispense.quantity and stores nothing', async () => {
    const id = await create(1);
    expect((await request(fhir('Task'), { token: pharmacy, body: task(id, 'fulfill', 'in-progress') })).status).toBe(201);
    const before = await request(fhir(`MedicationRequest/${id}`), { token: pharmacy });
    const over = await request(fhir('MedicationDispense'), { token: pharmacy, body: dispense(id, 31) });
    expect([over.status, outcomeCode(over.body)]).toEqual([422, 'PROFILE_VALIDATION_FAILURE']);
    expect(over.body.issue[0].expression).toEqual(['MedicationDispense.quantity']);
    const after = await request(fhir(`MedicationRequest/${id}`), { token: pharmacy });
    expect(after.body.meta.versionId).toBe(before.body.meta.versionId);
    expect((await fills(id)).dispensed).toBe(0);
    expect((await t.sql(`SELECT 1 FROM medication_dispenses WHERE prescription_id = $1`, [id])).length).toBe(0);
  });
});
