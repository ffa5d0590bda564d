import { beforeAll, describe, expect, it } from 'vitest';
import { DeadLettersDocument, ReplayDeadLetterDocument, TransitionDocument } from '../generated/graphql.js';
import { fakeIntegrations } from '../support/fake-integrations.js';
import { prescription, uniquePatient } from '../support/fixtures.js';
import { graphql } from '../support/graphql.js';
import { request } from '../support/http.js';
import { useTestApp } from '../support/use-test-app.js';

/** Compensations (CONTRACT §10): at a compensating end, the actions that completed are undone newest first, durably. */

const fake = fakeIntegrations();
let ehr: string;
let pharmacy: string;
let admin: string;
const t = useTestApp({ env: { ACTION_MAX_ATTEMPTS: '3', ACTION_RETRY_BASE_MS: '20', ACTION_RETRY_MAX_MS: '100' }, integrations: fake.integrations });
beforeAll(async () => {
  [ehr, pharmacy, admin] = await Promise.all([
    t.token('tenant-a', 'ehr-backend'),
    t.token('tenant-a', 'pharmacy-backend'),
    t.token('tenant-a', 'platform-admin'),
  ]);
});

async function move(id: string, event: 'APPROVE' | 'PROCESS' | 'DISPENSE' | 'COMPLETE' | 'CANCEL', token: string): Promise<void> {
  const moved = await graphql(t.url, TransitionDocument, { id, event }, token);
  if (moved.errors) throw new Error(`${event}: ${JSON.stringify(moved.errors)}`);
}

/** A prescription with a refill left, after its first fill: `sendToPharmacy` and `notifyInsurance` have run. */
async function refillable(): Promise<string> {
  const created = await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription({ patient: uniquePatient(), repeats: 1 }) });
  const id = created.body.id as string;
  await move(id, 'APPROVE', ehr);
  for (const event of ['PROCESS', 'DISPENSE', 'COMPLETE'] as const) await move(id, event, pharmacy);
  await expect.poll(() => fake.delivered.pharmacy.filter((n) => n.medicationRequestId === id).length, { timeout: 20_000 }).toBe(1);
  return id;
}

const runs = (id: string) =>
  t.sql<{ handler: string; attempts: number }>(`SELECT handler, attempts FROM action_runs WHERE instance_id = $1 ORDER BY completed_at, handler`, [id]);
const of = (target: keyof typeof fake.delivered, id: string) => fake.delivered[target].filter((n) => n.medicationRequestId === id);

describe('compensations', () => {
  it('cancelling after sendToPharmacy ran tells the pharmacy once, then reverses the insurance notice', async () => {
    const id = await refillable();
    await move(id, 'CANCEL', ehr);
    await expect
      .poll(async () => (await runs(id)).map((r) => r.handler), { timeout: 20_000 })
      .toEqual(['notifyInsurance', 'sendToPharmacy', 'notifyPatientDispensed', 'notifyPatientCompleted', 'cancelAtPharmacy', 'reverseInsuranceNotice']);
    expect(of('pharmacyCancel', id)).toHaveLength(1);
    expect(of('insuranceReversal', id)).toHaveLength(1);
    expect(of('pharmacyCancel', id)[0]).toMatchObject({ event: 'cancel', to: 'cancelled' });
  });

  it('a compensation that fails twice succeeds on its third attempt', async () => {
    const id = await refillable();
    fake.fail('pharmacyCancel', 2);
    await move(id, 'CANCEL', ehr);
    await expect.poll(async () => (await runs(id)).find((r) => r.handler === 'cancelAtPharmacy')?.attempts, { timeout: 20_000 }).toBe(3);
    expect(of('pharmacyCancel', id)).toHaveLength(1);
  });

  it('one that always fails is dead-lettered, and a replay once the pharmacy is back resolves it', async () => {
    const id = await refillable();
    fake.fail('pharmacyCancel', Infinity);
    await move(id, 'CANCEL', ehr);
    const open = async () =>
      ((await graphql(t.url, DeadLettersDocument, { filter: { handler: 'cancelAtPharmacy' } }, admin)).data?.deadLetters ?? []).filter(
        (d) => (d.event as { payload: { medicationRequestId?: string } }).payload.medicationRequestId === id,
      );
    await expect.poll(async () => (await open()).length, { timeout: 20_000 }).toBe(1);
    // The next compensation still ran: one dead letter does not hold up the rest of the undo.
    await expect.poll(() => of('insuranceReversal', id).length, { timeout: 20_000 }).toBe(1);
    fake.recover('pharmacyCancel');
    const [letter] = await open();
    const replayed = await graphql(t.url, ReplayDeadLetterDocument, { id: letter.id }, admin);
    expect(replayed.data?.replayDeadLetter.resolvedAt).toBeTruthy();
    expect(of('pharmacyCancel', id)).toHaveLength(1);
    expect((await runs(id)).map((r) => r.handler)).toContain('cancelAtPharmacy');
  });
});
