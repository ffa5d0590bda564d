import {
  buildEvent,
  CURRENT_PRIOR_AUTHORIZATION_WORKFLOW,
  decisionDueAt,
  DomainError,
  EVENT_TYPES,
  type EventEnvelope,
  type EventPayload,
  isFinal,
  materializePriorAuthorization,
  type MedicationRequestRecord,
  PRIOR_AUTHORIZATION_NAMING,
  type PriorAuthorizationFacts,
  type PriorAuthorizationRecord,
  priorAuthorizationRule,
  type PriorAuthorizationState,
  priorAuthorizationWorkflow,
  quoted,
  type RequestContext,
  type Urgency,
  urgencyOf,
} from '../domain/index.js';
import type { TransactionScope } from '../ports/index.js';
import type { UseCaseDeps } from './deps.js';
import { isStoredId } from './stored-id.js';
import { eventContext } from './workflow.js';
import { applyTimerChanges, type Change, changePayload, type MoveHook, type WorkflowSubject } from './workflow-engine.js';

/**
 * Prior authorization (CONTRACT §9) on the engine: the PA as a workflow subject, and its links to
 * the prescription workflow — auto-submission when a prescription that needs PA is approved, the
 * `PRIOR_AUTHORIZATION_REQUIRED` gate on `process`, and the withdrawal that a cancelled or expired
 * prescription's compensation runs. The prescription's own code knows none of this.
 */

/** A PA with what its events say about its prescription (patient, pharmacy), loaded with it. */
export interface PriorAuthorizationInstance extends PriorAuthorizationRecord {
  context: Pick<EventPayload, 'medicationRequestId' | 'patientId' | 'pharmacyId'>;
}

export const priorAuthorizationNotFound = (id: string) => new DomainError('NOT_FOUND', `Task/${quoted(id)} (a prior authorization) does not exist.`);

async function withContext(scope: TransactionScope, record: PriorAuthorizationRecord | undefined): Promise<PriorAuthorizationInstance | undefined> {
  if (!record) return undefined;
  const prescription = await scope.medicationRequests.findById(record.prescriptionId);
  return { ...record, context: prescription ? eventContext(prescription) : { medicationRequestId: record.prescriptionId, patientId: null, pharmacyId: null } };
}

export const findPriorAuthorization = async (scope: TransactionScope, id: string): Promise<PriorAuthorizationInstance | undefined> =>
  isStoredId(id) ? withContext(scope, await scope.priorAuthorizations.findById(id)) : undefined;

/** The newest PA of a prescription, if any. */
export const priorAuthorizationOf = async (scope: TransactionScope, prescriptionId: string): Promise<PriorAuthorizationInstance | undefined> =>
  withContext(scope, (await scope.priorAuthorizations.latestOf([prescriptionId])).get(prescriptionId));

const workflowRef = (record: PriorAuthorizationRecord) => ({
  name: CURRENT_PRIOR_AUTHORIZATION_WORKFLOW.name,
  version: record.workflowVersion,
  instanceId: record.id,
});

function statusChanged(ctx: RequestContext, record: PriorAuthorizationInstance, change: Change, newId: () => string): EventEnvelope {
  const payload = changePayload(record.resource, change, workflowRef(record), record.context);
  return buildEvent(ctx, EVENT_TYPES.priorAuthorizationStatusChanged, payload, { eventId: newId(), timestamp: change.at });
}

const transitionOf = (ctx: RequestContext, change: Change) => ({
  event: change.event,
  from: change.from as PriorAuthorizationState | null,
  to: change.to as PriorAuthorizationState,
  actor: ctx.actor.sub,
  persona: ctx.actor.persona,
  reason: change.reason,
  at: change.at,
  correlationId: ctx.correlationId,
});

/** PAs as instances of the prior-authorization workflow. */
export const PRIOR_AUTHORIZATION_SUBJECT: WorkflowSubject<PriorAuthorizationInstance, PriorAuthorizationFacts> = {
  naming: PRIOR_AUTHORIZATION_NAMING,
  definitionOf: (record) => priorAuthorizationWorkflow(record.workflowVersion),
  stateOf: (record) => record.state,
  find: findPriorAuthorization,
  facts: async (_scope, record) => ({ decisionDueAt: record.decisionDueAt }),
  async write(scope, ctx, current, change) {
    const versionId = current.versionId + 1;
    const state = change.to as PriorAuthorizationState;
    const record: PriorAuthorizationInstance = {
      ...current,
      versionId,
      state,
      lastUpdated: change.at,
      resource: materializePriorAuthorization({ ...current, versionId, state, lastUpdated: change.at, reason: change.reason }),
    };
    return (await scope.priorAuthorizations.updateIfVersion(record, current.versionId, transitionOf(ctx, change))) ? record : undefined;
  },
  events: (ctx, record, change, newId) => [statusChanged(ctx, record, change, newId)],
};

/** The event the PA's deadline timer emits (CONTRACT §9: `deadline_breached`, state unchanged). */
export function priorAuthorizationEmission(
  ctx: RequestContext,
  record: PriorAuthorizationInstance,
  emission: string,
  timer: string,
  at: Date,
  newId: () => string,
): EventEnvelope {
  if (emission !== 'deadline_breached') throw new Error(`prior-authorization workflow: no event type for emission '${emission}'`);
  const payload = { resource: record.resource as never, emitted: emission, timer, state: record.state, workflow: workflowRef(record), ...record.context };
  return buildEvent(ctx, EVENT_TYPES.priorAuthorizationDeadlineBreached, payload, { eventId: newId(), timestamp: at });
}

/** Whether the tenant's rules (CONTRACT §8) say the prescription needs PA. */
export const rulesRequirePriorAuthorization = (deps: UseCaseDeps, tenantId: string, prescription: MedicationRequestRecord): boolean =>
  priorAuthorizationRule(deps.prescribingRules.ruleSetsFor(tenantId), {
    resource: prescription.resource,
    schedule: deps.prescribingRules.scheduleOf(prescription.resource),
  }) !== undefined;

/** A PA that still counts: not withdrawn, and not closed after a denial (a new one may then be submitted). */
const isLive = (record: PriorAuthorizationRecord | undefined): record is PriorAuthorizationInstance =>
  record !== undefined && record.state !== 'withdrawn' && record.state !== 'closed';

/**
 * Creates (submits) a PA for `prescription` in the caller's transaction: its first version and
 * history row, its timers, and its `status_changed` event (`from` null, event `submit`).
 */
export async function submitInScope(
  deps: UseCaseDeps,
  scope: TransactionScope,
  ctx: RequestContext,
  prescription: MedicationRequestRecord,
  urgency: Urgency,
): Promise<{ record: PriorAuthorizationInstance; events: EventEnvelope[] }> {
  const existing = (await scope.priorAuthorizations.latestOf([prescription.id])).get(prescription.id);
  if (isLive(existing)) {
    throw new DomainError(
      'INVALID_TRANSITION',
      `MedicationRequest/${prescription.id} already has prior authorization Task/${existing.id}, which is '${existing.state}'; send its events instead of a new submission.`,
      {
        issues: [{ expression: 'Task.businessStatus', diagnostics: `current prior authorization: Task/${existing.id} (${existing.state})` }],
      },
    );
  }
  const definition = CURRENT_PRIOR_AUTHORIZATION_WORKFLOW;
  const now = deps.clock.now();
  const id = deps.newId();
  const base = {
    id,
    versionId: 1,
    lastUpdated: now,
    prescriptionId: prescription.id,
    state: definition.initial,
    workflowVersion: definition.version,
    urgency,
    submittedAt: now,
    decisionDueAt: decisionDueAt(now, urgency, deps.workflowSettings),
  };
  const record: PriorAuthorizationInstance = {
    ...base,
    tenantId: ctx.tenantId,
    resource: materializePriorAuthorization(base),
    context: eventContext(prescription),
  };
  const change: Change = { event: definition.creation.event, from: null, to: definition.initial, reason: null, at: now };
  await scope.priorAuthorizations.insert(record, transitionOf(ctx, change));
  await applyTimerChanges(deps, scope, PRIOR_AUTHORIZATION_SUBJECT, record, null, record.state, now);
  return { record, events: [statusChanged(ctx, record, change, deps.newId)] };
}

/**
 * The PA's links on the prescription workflow (CONTRACT §9), as engine hooks:
 * - `process` of a prescription that needs PA (by the rules, or because one was submitted) is
 *   409 `PRIOR_AUTHORIZATION_REQUIRED` until its PA is `approved`;
 * - `approve` of a prescription the rules mark submits its PA (actor `system`, urgency from the
 *   prescription's priority), unless one was submitted already.
 */
export const PRIOR_AUTHORIZATION_LINK: MoveHook<MedicationRequestRecord> = {
  workflow: 'prescription',
  async before(deps, scope, ctx, current, change) {
    if (change.event !== 'process') return;
    const pa = await priorAuthorizationOf(scope, current.id);
    const needed = rulesRequirePriorAuthorization(deps, ctx.tenantId, current) || (pa !== undefined && pa.state !== 'withdrawn');
    if (!needed || pa?.state === 'approved') return;
    const where = pa ? `its prior authorization Task/${pa.id} is '${pa.state}'` : 'no prior authorization was submitted';
    throw new DomainError(
      'PRIOR_AUTHORIZATION_REQUIRED',
      `MedicationRequest/${current.id} needs the payer's prior authorization before it is processed, and ${where}; process it once the PA is approved.`,
      {
        issues: [{ expression: 'MedicationRequest', diagnostics: where }],
        ...(pa ? { details: { priorAuthorizationId: pa.id, state: pa.state } } : {}),
      },
    );
  },
  async after(deps, scope, ctx, record, change) {
    if (change.event !== 'approve' || !rulesRequirePriorAuthorization(deps, ctx.tenantId, record)) return [];
    if (isLive((await scope.priorAuthorizations.latestOf([record.id])).get(record.id))) return [];
    const system: RequestContext = { ...ctx, actor: { sub: 'system', persona: 'system' } };
    return (await submitInScope(deps, scope, system, record, urgencyOf(record.resource))).events;
  },
};

/** Whether a PA in `state` can still move (withdrawal, the compensation, applies only then). */
export const isOpenPriorAuthorization = (record: PriorAuthorizationRecord): boolean =>
  !isFinal(priorAuthorizationWorkflow(record.workflowVersion) as never, record.state);
