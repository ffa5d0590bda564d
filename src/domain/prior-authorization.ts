import type { MedicationRequestResource } from './medication-request.js';
import { type PrescribingRule, ruleApplies, type RuleSet, type Schedule } from './prescribing-rules.js';
import { eventsOf, type Naming, statesOf, type WorkflowDefinition } from './workflow-engine.js';
import {
  CURRENT_PRIOR_AUTHORIZATION_WORKFLOW,
  PRIOR_AUTHORIZATION_WORKFLOWS,
  type PriorAuthorizationEvent,
  type PriorAuthorizationFacts,
  type PriorAuthorizationState,
} from './workflows/prior-authorization.js';

export type { PriorAuthorizationEvent, PriorAuthorizationFacts, PriorAuthorizationState } from './workflows/prior-authorization.js';
export { CURRENT_PRIOR_AUTHORIZATION_WORKFLOW, PRIOR_AUTHORIZATION_WORKFLOWS } from './workflows/prior-authorization.js';

/**
 * A prior authorization (CONTRACT §9) as the rest of the code sees it: a FHIR Task whose
 * `businessStatus` is the PA state, linked to its prescription by `focus`.
 */

export const PRIOR_AUTHORIZATION_TASK_SYSTEM = 'urn:rxgate:task-code';
export const PRIOR_AUTHORIZATION_TASK_CODE = 'prior-authorization';
export const PRIOR_AUTHORIZATION_STATE_SYSTEM = 'urn:rxgate:prior-authorization-state';

export const URGENCIES = ['urgent', 'standard'] as const;
export type Urgency = (typeof URGENCIES)[number];

export type PriorAuthorizationWorkflow = WorkflowDefinition<PriorAuthorizationState, PriorAuthorizationEvent, PriorAuthorizationFacts>;

export const PRIOR_AUTHORIZATION_STATES: readonly PriorAuthorizationState[] = [...new Set(PRIOR_AUTHORIZATION_WORKFLOWS.flatMap((d) => statesOf(d)))];
export const PRIOR_AUTHORIZATION_EVENTS: readonly PriorAuthorizationEvent[] = [...new Set(PRIOR_AUTHORIZATION_WORKFLOWS.flatMap((d) => eventsOf(d)))];
/** Events a client (EHR or payer) sends; `close` is the gateway's own. */
export const PRIOR_AUTHORIZATION_CLIENT_EVENTS: readonly PriorAuthorizationEvent[] = PRIOR_AUTHORIZATION_EVENTS.filter((e) =>
  PRIOR_AUTHORIZATION_WORKFLOWS.some((d) => d.transitions.some((t) => t.event === e && t.sender !== 'system')),
);

export const isPriorAuthorizationState = (value: unknown): value is PriorAuthorizationState =>
  typeof value === 'string' && (PRIOR_AUTHORIZATION_STATES as readonly string[]).includes(value);
export const isPriorAuthorizationEvent = (value: unknown): value is PriorAuthorizationEvent =>
  typeof value === 'string' && (PRIOR_AUTHORIZATION_EVENTS as readonly string[]).includes(value);

export const PRIOR_AUTHORIZATION_NAMING: Naming = { subject: 'prior authorization', stateExpression: 'Task.businessStatus' };

/** The definition a PA started under. */
export function priorAuthorizationWorkflow(version: number): PriorAuthorizationWorkflow {
  const definition = PRIOR_AUTHORIZATION_WORKFLOWS.find((d) => d.version === version);
  if (!definition) throw new Error(`No prior-authorization workflow version ${version} is known to this gateway.`);
  return definition as unknown as PriorAuthorizationWorkflow;
}

export interface PriorAuthorizationRecord {
  id: string;
  tenantId: string;
  versionId: number;
  lastUpdated: Date;
  prescriptionId: string;
  state: PriorAuthorizationState;
  workflowVersion: number;
  urgency: Urgency;
  submittedAt: Date;
  decisionDueAt: Date;
  resource: fhir4.Task;
}

/** CONTRACT §9: `urgent` when the prescription's priority is urgent, asap or stat; else `standard`. */
export function urgencyOf(resource: Pick<MedicationRequestResource, 'priority'>): Urgency {
  return resource.priority === 'urgent' || resource.priority === 'asap' || resource.priority === 'stat' ? 'urgent' : 'standard';
}

/** The rule that makes a prescription need PA (CONTRACT §8: by RxNorm code or schedule), if any. */
export function priorAuthorizationRule(
  ruleSets: readonly RuleSet[],
  subject: { resource: Pick<MedicationRequestResource, 'medicationCodeableConcept'>; schedule: Schedule | null },
): PrescribingRule | undefined {
  for (const set of ruleSets) for (const rule of set.rules) if (rule.requiresPriorAuthorization && ruleApplies(rule, subject as never)) return rule;
  return undefined;
}

/** A decision is due this long after submission, by urgency (PA_URGENT_SECONDS, PA_STANDARD_SECONDS). */
export function decisionDueAt(submittedAt: Date, urgency: Urgency, settings: Readonly<Record<string, number>>): Date {
  const seconds = urgency === 'urgent' ? (settings.paUrgentSeconds ?? 259_200) : (settings.paStandardSeconds ?? 604_800);
  return new Date(submittedAt.getTime() + seconds * 1000);
}

/** FHIR Task.status that goes with each PA state (the business state is in `businessStatus`). */
const TASK_STATUS: Readonly<Record<PriorAuthorizationState, fhir4.Task['status']>> = {
  submitted: 'requested',
  'in-review': 'in-progress',
  pended: 'on-hold',
  denied: 'rejected',
  appealed: 'requested',
  approved: 'completed',
  closed: 'rejected',
  withdrawn: 'cancelled',
};

export const businessStatusOf = (task: Pick<fhir4.Task, 'businessStatus'>): string | undefined =>
  task.businessStatus?.coding?.find((c) => c.system === PRIOR_AUTHORIZATION_STATE_SYSTEM)?.code;

export const isPriorAuthorizationTask = (task: Pick<fhir4.Task, 'code'>): boolean =>
  task.code?.coding?.some((c) => c.system === PRIOR_AUTHORIZATION_TASK_SYSTEM && c.code === PRIOR_AUTHORIZATION_TASK_CODE) ?? false;

/** The PA as a FHIR Task (CONTRACT §9). */
export function materializePriorAuthorization(
  m: Omit<PriorAuthorizationRecord, 'resource' | 'tenantId'> & { reason?: string | null; requester?: string },
): fhir4.Task {
  return {
    resourceType: 'Task',
    id: m.id,
    meta: { versionId: String(m.versionId), lastUpdated: m.lastUpdated.toISOString() },
    status: TASK_STATUS[m.state],
    businessStatus: { coding: [{ system: PRIOR_AUTHORIZATION_STATE_SYSTEM, code: m.state }], text: m.state },
    intent: 'order',
    priority: m.urgency === 'urgent' ? 'urgent' : 'routine',
    code: { coding: [{ system: PRIOR_AUTHORIZATION_TASK_SYSTEM, code: PRIOR_AUTHORIZATION_TASK_CODE, display: 'Prior authorization' }] },
    focus: { reference: `MedicationRequest/${m.prescriptionId}` },
    authoredOn: m.submittedAt.toISOString(),
    lastModified: m.lastUpdated.toISOString(),
    restriction: { period: { start: m.submittedAt.toISOString(), end: m.decisionDueAt.toISOString() } },
    extension: [{ url: 'urn:rxgate:extension:workflow-version', valueInteger: m.workflowVersion }],
    ...(m.reason ? { statusReason: { text: m.reason } } : {}),
  };
}

/** The current definition's version (new PAs start under it). */
export const CURRENT_PRIOR_AUTHORIZATION_VERSION = CURRENT_PRIOR_AUTHORIZATION_WORKFLOW.version;

/** One move of a PA, as its history records it. */
export interface PriorAuthorizationTransition {
  event: string;
  from: PriorAuthorizationState | null;
  to: PriorAuthorizationState;
  actor: string;
  persona: string;
  reason: string | null;
  at: Date;
  correlationId: string;
}
