import { describe, expect, it } from 'vitest';
import { FHIR_STATUS, FINAL_STATES, legalEvents, nextState, TRANSITIONS, WORKFLOW_EVENTS, WORKFLOW_STATES, type WorkflowEvent, type WorkflowState } from '../../src/domain/index.js';

/** CONTRACT §3, written out independently of the table under test. */
const EXPECTED: Array<[WorkflowState, WorkflowEvent, WorkflowState]> = [
  ['requested', 'approve', 'approved'],
  ['requested', 'reject', 'rejected'],
  ['requested', 'cancel', 'cancelled'],
  ['approved', 'cancel', 'cancelled'],
  ['approved', 'process', 'processing'],
  ['processing', 'dispense', 'dispensed'],
  ['processing', 'fail', 'failed'],
  ['dispensed', 'complete', 'completed'],
];

describe('workflow table', () => {
  for (const state of WORKFLOW_STATES) {
    for (const event of WORKFLOW_EVENTS) {
      const expected = EXPECTED.find(([from, e]) => from === state && e === event)?.[2];
      it(`${state} --${event}--> ${expected ?? 'refused'}`, () => {
        expect(nextState(state, event)).toBe(expected);
      });
    }
  }

  it('final states have no way out', () => {
    expect([...FINAL_STATES].sort()).toEqual(['cancelled', 'completed', 'failed', 'rejected']);
    for (const state of FINAL_STATES) expect(legalEvents(state)).toEqual([]);
  });

  it('personas follow CONTRACT §1', () => {
    const byPersona = (persona: string) => WORKFLOW_EVENTS.filter((e) => TRANSITIONS[e].persona === persona).sort();
    expect(byPersona('ehr-backend')).toEqual(['approve', 'cancel', 'reject']);
    expect(byPersona('pharmacy-backend')).toEqual(['complete', 'dispense', 'fail', 'process']);
  });

  it('maps every state to its FHIR status', () => {
    expect(FHIR_STATUS).toEqual({
      requested: 'draft',
      approved: 'active',
      processing: 'active',
      dispensed: 'active',
      completed: 'completed',
      rejected: 'cancelled',
      cancelled: 'cancelled',
      failed: 'stopped',
    });
  });
});

describe('workflow actions', () => {
  it('are declared on events and on from → to changes', async () => {
    const { actionsFor } = await import('../../src/domain/index.js');
    const names = (event: string, from: string | null, to: string) => actionsFor({ event, from, to }).map((a) => a.name);
    expect(names('approve', 'requested', 'approved')).toEqual(['notify-insurance-on-approve']);
    expect(names('process', 'approved', 'processing')).toEqual(['send-to-pharmacy-on-process']);
    expect(names('dispense', 'processing', 'dispensed')).toEqual(['publish-dispensed-notice']);
    expect(names('complete', 'dispensed', 'completed')).toEqual(['notify-patient-on-complete']);
    expect(names('fail', 'processing', 'failed')).toEqual(['alert-support-on-fail']);
    expect(names('reject', 'requested', 'rejected')).toEqual([]);
    expect(names('cancel', 'approved', 'cancelled')).toEqual([]);
  });

  it('back off exponentially with full jitter, capped', async () => {
    const { backoffDelay } = await import('../../src/application/index.js');
    const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 };
    expect([1, 2, 3, 4, 5].map((attempt) => backoffDelay(policy, attempt, () => 1))).toEqual([100, 200, 400, 800, 1_000]);
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(200);
  });
});
