import type { TransitionEvent, WorkflowState } from './workflows/prescription.js';

/** One recorded move of a prescription (CONTRACT §3: event, from, to, actor, reason, time). */
export interface TransitionRecord {
  event: TransitionEvent;
  from: WorkflowState | null;
  to: WorkflowState;
  actor: string;
  persona: string;
  reason: string | null;
  at: Date;
  correlationId: string;
}
