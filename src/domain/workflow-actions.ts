import type { EventEnvelope } from './events.js';
import { actionsFor, compensationsFor, type WorkflowDefinition } from './workflow-engine.js';
import { PRESCRIPTION_WORKFLOWS } from './workflows/prescription.js';
import { PRIOR_AUTHORIZATION_WORKFLOWS } from './workflows/prior-authorization.js';

/**
 * The workflows whose actions run from the event stream, by name. An event's payload names the
 * workflow and version of its instance (`payload.workflow`); events written before the engine
 * carried none and belong to version 1 of the prescription workflow.
 */
export const WORKFLOW_DEFINITIONS: readonly WorkflowDefinition[] = [
  ...(PRESCRIPTION_WORKFLOWS as unknown as WorkflowDefinition[]),
  ...(PRIOR_AUTHORIZATION_WORKFLOWS as unknown as WorkflowDefinition[]),
];

/**
 * A link between two workflows (CONTRACT §9, §10): an instance of `child` belongs to an instance of
 * `parent`. When the parent reaches a compensating end, `compensation` runs for it like the
 * compensations of its own actions (durably, once per event), and undoes the child.
 */
export interface WorkflowLink {
  parent: string;
  child: string;
  compensation: string;
}

/** PA `submit` ↔ withdraw (CONTRACT §10): a cancelled or expired prescription withdraws its open PA. */
export const WORKFLOW_LINKS: readonly WorkflowLink[] = [{ parent: 'prescription', child: 'prior-authorization', compensation: 'withdrawPriorAuthorization' }];

/** The compensations of the links whose parent is `definition`, when `to` is one of its compensating ends. */
export function linkCompensationsFor(definition: WorkflowDefinition, to: string): string[] {
  if (!definition.states[to]?.compensating) return [];
  return WORKFLOW_LINKS.filter((l) => l.parent === definition.name).map((l) => l.compensation);
}

export function definitionFor(ref: { name?: unknown; version?: unknown } | undefined): WorkflowDefinition | undefined {
  const name = typeof ref?.name === 'string' ? ref.name : 'prescription';
  const version = typeof ref?.version === 'number' ? ref.version : 1;
  return WORKFLOW_DEFINITIONS.find((d) => d.name === name && d.version === version);
}

/** Every action and compensation name any definition declares (the handler registry must cover them). */
export const ACTION_NAMES: readonly string[] = [
  ...new Set([
    ...WORKFLOW_DEFINITIONS.flatMap((d) => d.actions.flatMap((a) => [a.name, ...(a.compensation ? [a.compensation] : [])])),
    ...WORKFLOW_LINKS.map((l) => l.compensation),
  ]),
];

export { actionsFor, compensationsFor };

/** The workflow instance an event is about: `payload.workflow.instanceId`, else (older events) the prescription. */
export function instanceOf(envelope: EventEnvelope): string | undefined {
  const workflow = envelope.payload.workflow as { instanceId?: unknown } | undefined;
  if (typeof workflow?.instanceId === 'string') return workflow.instanceId;
  return typeof envelope.payload.medicationRequestId === 'string' ? envelope.payload.medicationRequestId : undefined;
}
