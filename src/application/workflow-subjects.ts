import { EVENT_TYPES, type EventEnvelope, type EventType, type RequestContext } from '../domain/index.js';
import { PRIOR_AUTHORIZATION_SUBJECT, priorAuthorizationEmission } from './prior-authorization.js';
import { emittedEvent, PRESCRIPTION_EMISSIONS, PRESCRIPTION_SUBJECT } from './workflow.js';
import type { WorkflowSubject } from './workflow-engine.js';

type AnySubject = WorkflowSubject<{ id: string; versionId: number; resource: unknown }>;

/** One workflow the engine runs, with what its timers and actions need (CONTRACT §10). */
export interface RegisteredWorkflow {
  subject: AnySubject;
  /** The event type announcing each of its transitions (actions and compensations run from it). */
  statusChanged: EventType;
  /** The event type of each timer emission. */
  emissions: Readonly<Record<string, EventType>>;
  /** Builds the event a timer of this workflow emits without moving the instance. */
  emittedEvent(ctx: RequestContext, record: never, emission: string, timer: string, at: Date, newId: () => string): EventEnvelope;
}

/** Every workflow by definition name: timers fire and actions run through this registry. */
export const WORKFLOW_SUBJECTS: Readonly<Record<string, RegisteredWorkflow>> = {
  prescription: {
    subject: PRESCRIPTION_SUBJECT as unknown as AnySubject,
    statusChanged: EVENT_TYPES.medicationRequestStatusChanged,
    emissions: PRESCRIPTION_EMISSIONS,
    emittedEvent: emittedEvent as RegisteredWorkflow['emittedEvent'],
  },
  'prior-authorization': {
    subject: PRIOR_AUTHORIZATION_SUBJECT as unknown as AnySubject,
    statusChanged: EVENT_TYPES.priorAuthorizationStatusChanged,
    emissions: { deadline_breached: EVENT_TYPES.priorAuthorizationDeadlineBreached },
    emittedEvent: priorAuthorizationEmission as RegisteredWorkflow['emittedEvent'],
  },
};

/** Event types that announce a transition of some workflow. */
export const STATUS_CHANGED_TYPES: ReadonlySet<string> = new Set(Object.values(WORKFLOW_SUBJECTS).map((w) => w.statusChanged));

/**
 * The event types whose actions run from the stream, by durable consumer name. The prescription's
 * keep the names they had before the registry (durable consumers are state on the bus).
 */
export function actionSubjects(base: string): Record<string, string> {
  const subjects: Record<string, string> = {};
  for (const [name, workflow] of Object.entries(WORKFLOW_SUBJECTS)) {
    subjects[name === 'prescription' ? base : `${base}-${name}`] = workflow.statusChanged;
    for (const [emission, type] of Object.entries(workflow.emissions)) subjects[`${base}-${emission.replace(/_/g, '-')}`] = type;
  }
  return subjects;
}
