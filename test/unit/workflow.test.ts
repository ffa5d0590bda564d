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
