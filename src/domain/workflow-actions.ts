import type { WorkflowEvent, WorkflowState } from './workflow.js';

/** Who hears of a transition. Each target is a port with its own adapter. */
export type ActionTarget = 'insurance.approval' | 'pharmacy.prescription' | 'patient.dispensed' | 'patient.completed' | 'support.failure';

/**
 * Side effects of the workflow, declared beside it: each runs on an event or on a from → to
 * change, from the event stream (never inside the request), once per event.
 */
export interface WorkflowAction {
  /** Stable name: the idempotency key (with the event id) and the dead-letter handler name. */
  name: string;
  when: { event: WorkflowEvent } | { from: WorkflowState; to: WorkflowState };
  target: ActionTarget;
}

export const WORKFLOW_ACTIONS: readonly WorkflowAction[] = [
  { name: 'notify-insurance-on-approve', when: { event: 'approve' }, target: 'insurance.approval' },
  { name: 'send-to-pharmacy-on-process', when: { from: 'approved', to: 'processing' }, target: 'pharmacy.prescription' },
  { name: 'publish-dispensed-notice', when: { from: 'processing', to: 'dispensed' }, target: 'patient.dispensed' },
  { name: 'notify-patient-on-complete', when: { event: 'complete' }, target: 'patient.completed' },
  { name: 'alert-support-on-fail', when: { event: 'fail' }, target: 'support.failure' },
];

/** The actions a transition triggers. */
export function actionsFor(change: { event: string; from: string | null; to: string }): WorkflowAction[] {
  return WORKFLOW_ACTIONS.filter((action) => ('event' in action.when ? action.when.event === change.event : action.when.from === change.from && action.when.to === change.to));
}
