import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CURRENT_PRESCRIPTION_WORKFLOW, toMermaid } from '../../src/domain/index.js';
import { prescription, uniquePatient } from '../support/fixtures.js';
import { rawGraphql } from '../support/graphql.js';
import { request } from '../support/http.js';
import { useTestApp } from '../support/use-test-app.js';

/** Inspection (CONTRACT §10) and versions: an instance keeps the definition version it started under. */

let ehr: string;
let pharmacy: string;
const t = useTestApp();
beforeAll(async () => {
  [ehr, pharmacy] = await Promise.all([t.token('tenant-a', 'ehr-backend'), t.token('tenant-a', 'pharmacy-backend')]);
});

const move = async (id: string, event: string, token: string) => {
  const answer = await rawGraphql(t.url, { query: `mutation { transitionPrescription(id: "${id}", event: ${event}) { workflowStatus } }` }, token);
  if (answer.errors) throw new Error(`${event}: ${JSON.stringify(answer.errors)}`);
  return answer.data.transitionPrescription.workflowStatus as string;
};
const create = async (repeats: number) =>
  (await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription({ patient: uniquePatient(), repeats }) })).body.id as string;

describe('workflowDefinitions', () => {
  it('lists every version of the prescription workflow with states, guarded transitions, senders, timers, actions and a Mermaid diagram', async () => {
    const answer = await rawGraphql(
      t.url,
      { query: '{ workflowDefinitions { name version states { name final } transitions { event from to persona guard } timers actions mermaid } }' },
      pharmacy,
    );
    expect(answer.errors).toBeUndefined();
    const [v1, v2] = answer.data.workflowDefinitions;
    expect([v1.name, v1.version, v2.name, v2.version]).toEqual(['prescription', 1, 'prescription', 2]);
    expect(v1.states.map((s: { name: string }) => s.name)).not.toContain('refillable');
    expect(v2.transitions).toContainEqual({
      event: 'complete',
      from: 'dispensed',
      to: 'refillable',
      persona: 'pharmacy-backend',
      guard: 'fills remain and validity not ended',
    });
    expect(v2.transitions).toContainEqual({ event: 'expire', from: 'refillable', to: 'expired', persona: 'system', guard: null });
    expect(v2.timers).toEqual(['expiry', 'processingServiceLevel']);
    expect(v2.actions).toEqual(expect.arrayContaining(['sendToPharmacy', 'cancelAtPharmacy', 'notifyInsurance', 'reverseInsuranceNotice', 'alertSupport']));
    expect(v2.mermaid).toBe(toMermaid(CURRENT_PRESCRIPTION_WORKFLOW as never));
  });

  it("the README's diagram is the current definition's, generated (update it from workflowDefinitions when the definition changes)", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = /<!-- prescription-workflow:begin -->\n```mermaid\n([\s\S]*?)```\n<!-- prescription-workflow:end -->/.exec(readme);
    expect(block, 'README.md has the generated prescription workflow diagram between its markers').not.toBeNull();
    expect(block![1]).toBe(toMermaid(CURRENT_PRESCRIPTION_WORKFLOW as never));
  });
});

describe('a prescription’s workflow', () => {
  it('shows its definition, version, state, pending timers and the actions that ran', async () => {
    const id = await create(0);
    await move(id, 'APPROVE', ehr);
    const query = `{ medicationRequest(id: "${id}") { workflow { definition version state timers { name dueAt } actions { name status attempts lastError } compensations { name status } } } }`;
    await expect
      .poll(async () => (await rawGraphql(t.url, { query }, ehr)).data.medicationRequest.workflow.actions, { timeout: 20_000 })
      .toEqual([{ name: 'notifyInsurance', status: 'done', attempts: 1, lastError: null }]);
    const { workflow } = (await rawGraphql(t.url, { query }, ehr)).data.medicationRequest;
    expect(workflow).toMatchObject({ definition: 'prescription', version: 2, state: 'approved', compensations: [] });
    expect(workflow.timers.map((x: { name: string }) => x.name)).toEqual(['processingServiceLevel']);
    expect(Date.parse(workflow.timers[0].dueAt) - Date.now()).toBeGreaterThan(47 * 3600 * 1000);
  });
});

describe('versions', () => {
  it('a prescription started under version 1 finishes under version 1 (no refills), while a new one refills under version 2', async () => {
    const old = await create(2);
    await t.sql(`UPDATE medication_requests SET workflow_version = 1 WHERE id = $1`, [old]);
    const current = await create(2);
    for (const id of [old, current]) {
      await move(id, 'APPROVE', ehr);
      for (const event of ['PROCESS', 'DISPENSE']) await move(id, event, pharmacy);
    }
    expect(await move(old, 'COMPLETE', pharmacy)).toBe('COMPLETED');
    expect(await move(current, 'COMPLETE', pharmacy)).toBe('REFILLABLE');
    const refused = await rawGraphql(t.url, { query: `mutation { transitionPrescription(id: "${old}", event: PROCESS) { id } }` }, pharmacy);
    expect(refused.errors?.[0].extensions?.code).toBe('INVALID_TRANSITION');
  });
});
