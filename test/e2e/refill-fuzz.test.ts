import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { prescription, uniquePatient, workflowTask } from '../support/fixtures.js';
import { rawGraphql } from '../support/graphql.js';
import { request } from '../support/http.js';
import { useTestApp } from '../support/use-test-app.js';

/**
 * Fuzzed refill sequences (CONTRACT §7): random interleavings of process, dispense, complete, cancel
 * and expire, over random repeats and intervals, through the real doors and the real timer path.
 * Whatever the order, the fills never exceed what is authorized, nothing is dispensed once the
 * prescription has ended, and every change is one more version.
 */

let ehr: string;
let pharmacy: string;
const t = useTestApp({ env: { TIMER_POLL_MS: '50' } });
beforeAll(async () => {
  [ehr, pharmacy] = await Promise.all([t.token('tenant-a', 'ehr-backend'), t.token('tenant-a', 'pharmacy-backend')]);
});

const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const FINAL = new Set(['completed', 'cancelled', 'expired', 'failed', 'rejected']);
type Op = 'process' | 'dispense' | 'dispenseAndHandOver' | 'complete' | 'cancel' | 'expire';

const task = workflowTask;
const dispense = (id: string, handedOver: boolean) => ({
  resourceType: 'MedicationDispense',
  status: handedOver ? 'completed' : 'in-progress',
  authorizingPrescription: [{ reference: `MedicationRequest/${id}` }],
  medicationCodeableConcept: { coding: [{ system: RXNORM, code: '314076' }] },
  quantity: { value: 30, unit: 'tablet' },
  ...(handedOver ? { whenHandedOver: new Date().toISOString() } : {}),
});

async function apply(id: string, op: Op): Promise<number> {
  switch (op) {
    case 'process':
      return (await request(`${t.url}/fhir/Task`, { token: pharmacy, body: task(id, 'fulfill', 'in-progress') })).status;
    case 'dispense':
    case 'dispenseAndHandOver':
      return (await request(`${t.url}/fhir/MedicationDispense`, { token: pharmacy, body: dispense(id, op === 'dispenseAndHandOver') })).status;
    case 'complete':
      return (await request(`${t.url}/fhir/Task`, { token: pharmacy, body: task(id, 'fulfill', 'completed') })).status;
    case 'cancel':
      return (await request(`${t.url}/fhir/Task`, { token: ehr, body: task(id, 'abort', 'completed') })).status;
    case 'expire': {
      // The validity ends now: the armed expiry timer (if its state still holds one) is made due and fires through the runner.
      const [armed] = await t.sql<{ id: string }>(
        `UPDATE workflow_timers SET due_at = now() WHERE instance_id = $1 AND name = 'expiry' AND settled_at IS NULL RETURNING id`,
        [id],
      );
      if (!armed) return 0;
      await expect
        .poll(async () => (await t.sql(`SELECT 1 FROM workflow_timers WHERE id = $1 AND settled_at IS NOT NULL`, [armed.id])).length, {
          timeout: 20_000,
          interval: 50,
        })
        .toBe(1);
      return 200;
    }
  }
}

async function observe(id: string) {
  const answer = await rawGraphql(
    t.url,
    { query: `{ medicationRequest(id: "${id}") { versionId workflowStatus fills { allowed dispensed remaining } dispenses { id } } }` },
    ehr,
  );
  const node = answer.data.medicationRequest;
  const versions = await t.sql<{ version: number }>(`SELECT version FROM medication_request_history WHERE id = $1 ORDER BY version`, [id]);
  return { ...node, state: String(node.workflowStatus).toLowerCase(), versions: versions.map((v) => v.version) };
}

describe('fuzzed refill sequences', () => {
  it('never dispense beyond the authorized fills, never after the end, and keep one version per change', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom(undefined, 0, 1),
        fc.array(fc.constantFrom<Op>('process', 'dispense', 'dispenseAndHandOver', 'complete', 'cancel', 'expire'), { minLength: 1, maxLength: 12 }),
        async (repeats, intervalDays, ops) => {
          const body = prescription({ patient: uniquePatient(), repeats });
          body.dispenseRequest = {
            ...body.dispenseRequest,
            validityPeriod: { end: new Date(Date.now() + 86_400_000).toISOString() },
            ...(intervalDays === undefined ? {} : { dispenseInterval: { value: intervalDays, unit: 'days', system: 'http://unitsofmeasure.org', code: 'd' } }),
          };
          const created = await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body });
          expect(created.status).toBe(201);
          const id = created.body.id as string;
          expect((await request(`${t.url}/fhir/Task`, { token: ehr, body: task(id, 'approve', 'completed') })).status).toBe(201);
          let before = await observe(id);
          for (const op of ops) {
            const status = await apply(id, op);
            const after = await observe(id);
            // Never more fills than authorized, and the count is the dispenses stored.
            expect(after.fills.dispensed).toBeLessThanOrEqual(after.fills.allowed);
            expect(after.fills.dispensed).toBe(after.dispenses.length);
            expect(after.fills.allowed).toBe(1 + repeats);
            // Nothing is dispensed once the prescription has ended.
            if (FINAL.has(before.state) && op.startsWith('dispense')) expect(status).not.toBe(201);
            if (FINAL.has(before.state)) expect(after.fills.dispensed).toBe(before.fills.dispensed);
            // The version chain: 1..n with no gap, one more for each accepted change.
            expect(after.versions).toEqual(Array.from({ length: Number(after.versionId) }, (_, i) => i + 1));
            if (status >= 400) expect(after.versionId).toBe(before.versionId);
            before = after;
          }
        },
      ),
      { numRuns: 25, seed: 20261202 },
    );
  }, 300_000);
});
