import { DomainError } from './errors.js';
import type { Actor } from './identity.js';
import { assertSender, eventsOf, type Naming, statesOf, type WorkflowDefinition } from './workflow-engine.js';
import {
  CURRENT_PRESCRIPTION_WORKFLOW,
  PRESCRIPTION_WORKFLOWS,
  type PrescriptionFacts,
  type WorkflowEvent,
  type WorkflowState,
} from './workflows/prescription.js';

export type { PrescriptionFacts, TransitionEvent, WorkflowEvent, WorkflowState } from './workflows/prescription.js';
export { CURRENT_PRESCRIPTION_WORKFLOW, PRESCRIPTION_WORKFLOWS } from './workflows/prescription.js';

/**
 * What the rest of the code needs to know about the prescription workflow, derived from its
 * definitions (`workflows/prescription.ts`): nothing here names a state or an event.
 */

const unique = <T>(values: T[]): T[] => [...new Set(values)];

/** Every state of every version (an instance of an older version may still be in one). */
export const WORKFLOW_STATES: readonly WorkflowState[] = unique(PRESCRIPTION_WORKFLOWS.flatMap((d) => statesOf(d as WorkflowDefinition<WorkflowState>)));
/** Every event of every version. */
export const WORKFLOW_EVENTS: readonly WorkflowEvent[] = unique(
  PRESCRIPTION_WORKFLOWS.flatMap((d) => eventsOf(d as WorkflowDefinition<string, WorkflowEvent>)),
);
/** The events a client may send (the gateway's own, such as `expire`, are left out). */
export const CLIENT_EVENTS: readonly WorkflowEvent[] = WORKFLOW_EVENTS.filter((e) =>
  PRESCRIPTION_WORKFLOWS.some((d) => d.transitions.some((t) => t.event === e && t.sender !== 'system')),
);

export const INITIAL_STATE: WorkflowState = CURRENT_PRESCRIPTION_WORKFLOW.initial;

const stateSpecs = (state: WorkflowState) =>
  PRESCRIPTION_WORKFLOWS.map((d) => (d.states as Record<string, { fhirStatus?: string; contentEditable?: boolean }>)[state]).filter((s) => s !== undefined);

/** FHIR `MedicationRequest.status` for each workflow state (CONTRACT §3). */
export const FHIR_STATUS: Readonly<Record<WorkflowState, string>> = Object.fromEntries(WORKFLOW_STATES.map((s) => [s, stateSpecs(s)[0].fhirStatus!])) as Record<
  WorkflowState,
  string
>;

/** Content (not state) may change only while the prescription has not reached the pharmacy. */
export const CONTENT_EDITABLE_STATES: readonly WorkflowState[] = WORKFLOW_STATES.filter((s) => stateSpecs(s).some((spec) => spec.contentEditable));

export const isWorkflowState = (value: unknown): value is WorkflowState => typeof value === 'string' && (WORKFLOW_STATES as readonly string[]).includes(value);

export const isWorkflowEvent = (value: unknown): value is WorkflowEvent => typeof value === 'string' && (WORKFLOW_EVENTS as readonly string[]).includes(value);

export type PrescriptionWorkflow = WorkflowDefinition<WorkflowState, WorkflowEvent, PrescriptionFacts>;

/** The definition a prescription started under (CONTRACT §10: an instance keeps its version). */
export function prescriptionWorkflow(version: number): PrescriptionWorkflow {
  const definition = PRESCRIPTION_WORKFLOWS.find((d) => d.version === version);
  if (!definition) throw new DomainError('INTERNAL', `No prescription workflow version ${version} is known to this gateway.`);
  return definition as unknown as PrescriptionWorkflow;
}

export const PRESCRIPTION_NAMING: Naming = { subject: 'prescription', stateExpression: 'MedicationRequest.extension' };

/** `FORBIDDEN_WRITE_PERSONA` unless the caller may send `event` (CONTRACT §1); the same sender in every version. */
export function assertPersonaMayTransition(actor: Actor, event: WorkflowEvent): void {
  if (actor.persona === 'system') return;
  assertSender(CURRENT_PRESCRIPTION_WORKFLOW as unknown as WorkflowDefinition, PRESCRIPTION_NAMING, actor.persona, event);
}
