import { DomainError } from './errors.js';
import type { Persona } from './identity.js';

/**
 * The prescription workflow of CONTRACT §3, as data. Nothing else in the code decides whether a
 * move is legal: use-cases ask `nextState`, transports ask `legalEvents` to explain a refusal.
 */
export const WORKFLOW_STATES = [
  'requested',
  'approved',
  'rejected',
  'processing',
  'dispensed',
  'completed',
  'failed',
  'cancelled',
] as const;
export type WorkflowState = (typeof WORKFLOW_STATES)[number];

export const WORKFLOW_EVENTS = ['approve', 'reject', 'process', 'dispense', 'complete', 'fail', 'cancel'] as const;
export type WorkflowEvent = (typeof WORKFLOW_EVENTS)[number];

/** `request` creates the prescription; it has no `from`. */
export type TransitionEvent = WorkflowEvent | 'request';

export interface TransitionRule {
  from: readonly WorkflowState[];
  to: WorkflowState;
  persona: Persona;
}

export const INITIAL_STATE: WorkflowState = 'requested';

export const TRANSITIONS: Readonly<Record<WorkflowEvent, TransitionRule>> = {
  approve: /*  */ { from: ['requested'], to: 'approved', persona: 'ehr-backend' },
  reject: /*   */ { from: ['requested'], to: 'rejected', persona: 'ehr-backend' },
  cancel: /*   */ { from: ['requested', 'approved'], to: 'cancelled', persona: 'ehr-backend' },
  process: /*  */ { from: ['approved'], to: 'processing', persona: 'pharmacy-backend' },
  dispense: /* */ { from: ['processing'], to: 'dispensed', persona: 'pharmacy-backend' },
  complete: /* */ { from: ['dispensed'], to: 'completed', persona: 'pharmacy-backend' },
  fail: /*     */ { from: ['processing'], to: 'failed', persona: 'pharmacy-backend' },
};

export const FINAL_STATES: readonly WorkflowState[] = ['completed', 'rejected', 'failed', 'cancelled'];

/** Content (not state) may change only while the prescription has not reached the pharmacy. */
export const CONTENT_EDITABLE_STATES: readonly WorkflowState[] = ['requested', 'approved'];

/** FHIR `MedicationRequest.status` for each workflow state (CONTRACT §3). */
export const FHIR_STATUS: Readonly<Record<WorkflowState, string>> = {
  requested: 'draft',
  approved: 'active',
  processing: 'active',
  dispensed: 'active',
  completed: 'completed',
  rejected: 'cancelled',
  cancelled: 'cancelled',
  failed: 'stopped',
};

/** The state `event` leads to from `state`, or `undefined` when the move is illegal. */
export function nextState(state: WorkflowState, event: WorkflowEvent): WorkflowState | undefined {
  const rule = TRANSITIONS[event];
  return rule.from.includes(state) ? rule.to : undefined;
}

export function legalEvents(state: WorkflowState): WorkflowEvent[] {
  return WORKFLOW_EVENTS.filter((event) => TRANSITIONS[event].from.includes(state));
}

export const isWorkflowState = (value: unknown): value is WorkflowState =>
  typeof value === 'string' && (WORKFLOW_STATES as readonly string[]).includes(value);

/**
 * The state `event` leads to, or `INVALID_TRANSITION` naming the current state and the events
 * that are legal from it (CONTRACT §3).
 */
export function assertTransition(state: WorkflowState, event: WorkflowEvent): WorkflowState {
  const to = nextState(state, event);
  if (to !== undefined) return to;
  const legal = legalEvents(state);
  throw new DomainError(
    'INVALID_TRANSITION',
    `Cannot ${event} a prescription that is '${state}'; ${legal.length > 0 ? `legal events from '${state}': ${legal.join(', ')}` : `'${state}' is final`}.`,
    { issues: [{ expression: 'MedicationRequest.extension', diagnostics: `current state: ${state}; legal events: ${legal.join(', ') || 'none'}` }] },
  );
}

/** `FORBIDDEN_WRITE_PERSONA` unless the caller's persona may send `event` (CONTRACT §1). */
export function assertPersonaMayTransition(actor: { persona: Persona }, event: WorkflowEvent): void {
  const allowed = TRANSITIONS[event].persona;
  if (actor.persona !== allowed) {
    throw new DomainError('FORBIDDEN_WRITE_PERSONA', `Persona '${actor.persona}' may not ${event} a prescription; allowed: ${allowed}.`);
  }
}
