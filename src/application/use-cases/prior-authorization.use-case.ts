import jsonpatch from 'fast-json-patch';
import {
  assertSender,
  businessStatusOf,
  CURRENT_PRIOR_AUTHORIZATION_WORKFLOW,
  DomainError,
  isFinal,
  isObject,
  prescriptionWorkflow,
  PRIOR_AUTHORIZATION_NAMING,
  PRIOR_AUTHORIZATION_STATE_SYSTEM,
  type PriorAuthorizationEvent,
  type PriorAuthorizationTransition,
  priorAuthorizationWorkflow,
  type RequestContext,
  SYSTEM_ACTOR,
  type Urgency,
  urgencyOf,
  type WorkflowDefinition,
} from '../../domain/index.js';
import type { IntegrationNotice } from '../../ports/index.js';
import { commitEvents } from '../audit.js';
import type { UseCaseDeps } from '../deps.js';
import { canonicalize } from '../idempotency.js';
import {
  findPriorAuthorization,
  isOpenPriorAuthorization,
  PRIOR_AUTHORIZATION_SUBJECT,
  type PriorAuthorizationInstance,
  priorAuthorizationNotFound,
  priorAuthorizationOf,
  submitInScope,
} from '../prior-authorization.js';
import { isStoredId } from '../stored-id.js';
import { checkIfMatch } from '../versioned-write.js';
import { findPrescription, notFound } from '../workflow.js';
import { move, moveLoaded } from '../workflow-engine.js';
import { assertPatchDocument } from './patch-medication-request.use-case.js';
import { type InstanceView, instanceViews } from './workflow-inspection.use-case.js';

const definition = CURRENT_PRIOR_AUTHORIZATION_WORKFLOW as unknown as WorkflowDefinition;

/** `FORBIDDEN_WRITE_PERSONA` unless the caller may send `event` to a PA (CONTRACT §9); the gateway's own moves pass. */
function assertMaySend(ctx: RequestContext, event: string): void {
  if (ctx.actor.persona === 'system') return;
  assertSender(definition, PRIOR_AUTHORIZATION_NAMING, ctx.actor.persona, event);
}

export interface SubmitPriorAuthorizationInput {
  prescriptionId: string;
  /** Default: from the prescription's priority (CONTRACT §9). */
  urgency?: Urgency;
  /** When given, must be the prescription's current ETag. */
  ifMatch?: string;
}

/** The EHR submits a prescription's PA explicitly (CONTRACT §9, `submitPriorAuthorization`). */
export async function submitPriorAuthorization(
  deps: UseCaseDeps,
  ctx: RequestContext,
  input: SubmitPriorAuthorizationInput,
): Promise<PriorAuthorizationInstance> {
  const creation = definition.creation;
  if (ctx.actor.persona !== creation.sender)
    throw new DomainError('FORBIDDEN_WRITE_PERSONA', `Persona '${ctx.actor.persona}' may not submit a prior authorization; allowed: ${creation.sender}.`);
  return deps.uow.transaction(ctx.tenantId, async (scope) => {
    const prescription = await findPrescription(scope, input.prescriptionId);
    if (!prescription) throw notFound(input.prescriptionId);
    checkIfMatch(input.ifMatch, prescription, { required: false, what: "the prescription's current version" });
    if (isFinal(prescriptionWorkflow(prescription.workflowVersion) as unknown as WorkflowDefinition, prescription.workflowStatus)) {
      throw new DomainError('INVALID_TRANSITION', `Cannot submit a prior authorization for a prescription that is '${prescription.workflowStatus}'.`, {
        issues: [{ expression: 'MedicationRequest.extension', diagnostics: `current state: ${prescription.workflowStatus}` }],
      });
    }
    const { record, events } = await submitInScope(deps, scope, ctx, prescription, input.urgency ?? urgencyOf(prescription.resource));
    await commitEvents(scope, events);
    return record;
  });
}

export interface PriorAuthorizationEventInput {
  id: string;
  event: PriorAuthorizationEvent;
  ifMatch?: string;
  reason?: string | null;
}

/** Sends an event to a PA (GraphQL `priorAuthorizationEvent`, bus commands, FHIR PATCH). */
export async function priorAuthorizationEvent(
  deps: UseCaseDeps,
  ctx: RequestContext,
  input: PriorAuthorizationEventInput,
): Promise<PriorAuthorizationInstance> {
  assertMaySend(ctx, input.event);
  return deps.uow.transaction(ctx.tenantId, async (scope) => {
    const moved = await move(deps, scope, ctx, PRIOR_AUTHORIZATION_SUBJECT, {
      id: input.id,
      event: input.event,
      ifMatch: input.ifMatch,
      reason: input.reason ?? null,
      missing: priorAuthorizationNotFound,
    });
    await commitEvents(scope, moved.events);
    return moved.record;
  });
}

const MANAGED = ['businessStatus', 'statusReason'];
const withoutManaged = (resource: object) => Object.fromEntries(Object.entries(resource).filter(([key]) => !MANAGED.includes(key)));

/**
 * FHIR PATCH of a PA Task (CONTRACT §9): a change of `businessStatus` is the event that leads from
 * the current state to the one named (reason from `statusReason.text`); If-Match is required; any
 * other change, or a state no event of the caller reaches, is `INVALID_TRANSITION`.
 */
export async function patchPriorAuthorization(
  deps: UseCaseDeps,
  ctx: RequestContext,
  input: { id: string; patch: unknown; ifMatch: string | undefined },
): Promise<PriorAuthorizationInstance> {
  // Persona first (CONTRACT §2): one that sends no PA event at all is refused whatever the patch says.
  const senders = new Set(definition.transitions.map((t) => t.sender));
  if (ctx.actor.persona !== 'system' && !senders.has(ctx.actor.persona)) {
    throw new DomainError(
      'FORBIDDEN_WRITE_PERSONA',
      `Persona '${ctx.actor.persona}' may not move a prior authorization; allowed: ${[...senders].filter((s) => s !== 'system').join(', ')}.`,
    );
  }
  const operations = assertPatchDocument(input.patch);
  const [current, task] = await deps.uow.read(
    ctx.tenantId,
    async (scope) => [await findPriorAuthorization(scope, input.id), isStoredId(input.id) ? await scope.tasks.findById(input.id) : undefined] as const,
  );
  // A Task that moved a prescription records a move that happened: it is written once (CONTRACT §3).
  if (!current && task)
    throw new DomainError(
      'METHOD_NOT_ALLOWED',
      `Task/${input.id} records a prescription's workflow move and is never changed; only a prior authorization Task moves by PATCH.`,
    );
  if (!current) throw priorAuthorizationNotFound(input.id);
  let patched: Record<string, unknown>;
  try {
    patched = jsonpatch.applyPatch(structuredClone(current.resource), operations, true, false).newDocument as unknown as Record<string, unknown>;
  } catch (error) {
    throw new DomainError('BAD_REQUEST', `The JSON Patch does not apply to Task/${input.id}: ${(error as Error).message.split('\n')[0].slice(0, 200)}`);
  }
  if (!isObject(patched) || patched.resourceType !== 'Task' || patched.id !== current.id)
    throw new DomainError('BAD_REQUEST', 'A patch must leave a Task with the same id (it may not replace the document, its resourceType or its id).');
  const target = businessStatusOf(patched as unknown as fhir4.Task);
  const rule = definition.transitions.find((t) => t.from.includes(current.state) && t.to === target);
  const invalid = (why: string) =>
    new DomainError(
      'INVALID_TRANSITION',
      `${why} A prior authorization moves only by a change of businessStatus (system ${PRIOR_AUTHORIZATION_STATE_SYSTEM}) to a state its events reach; it is '${current.state}'.`,
      {
        issues: [{ expression: 'Task.businessStatus', diagnostics: `current state: ${current.state}` }],
      },
    );
  if (canonicalize(withoutManaged(patched)) !== canonicalize(withoutManaged(current.resource)))
    throw invalid('Only businessStatus (and statusReason) of a prior authorization may change.');
  if (!rule) throw invalid(`No event leads from '${current.state}' to '${String(target)}'.`);
  assertMaySend(ctx, rule.event);
  if (input.ifMatch === undefined || input.ifMatch.trim() === '')
    throw new DomainError('PRECONDITION_REQUIRED', 'PATCH needs If-Match with the current version.');
  const reason = (patched.statusReason as { text?: unknown } | undefined)?.text;
  return priorAuthorizationEvent(deps, ctx, {
    id: input.id,
    event: rule.event as PriorAuthorizationEvent,
    ifMatch: input.ifMatch,
    reason: typeof reason === 'string' ? reason : null,
  });
}

export async function getPriorAuthorization(deps: UseCaseDeps, ctx: RequestContext, id: string): Promise<PriorAuthorizationInstance> {
  const record = await deps.uow.read(ctx.tenantId, (scope) => findPriorAuthorization(scope, id));
  if (!record) throw priorAuthorizationNotFound(id);
  return record;
}

/** PAs by id (GraphQL loader); `undefined` for ids the tenant does not have. */
export async function priorAuthorizationsByIds(
  deps: UseCaseDeps,
  ctx: RequestContext,
  ids: readonly string[],
): Promise<Array<PriorAuthorizationInstance | undefined>> {
  const stored = ids.filter(isStoredId);
  const records = await deps.uow.read(ctx.tenantId, async (scope) => Promise.all(stored.map((id) => findPriorAuthorization(scope, id))));
  const byId = new Map(records.flatMap((r) => (r ? [[r.id, r] as const] : [])));
  return ids.map((id) => byId.get(id));
}

/** The newest PA of each prescription (GraphQL `MedicationRequest.priorAuthorization`). */
export async function priorAuthorizationsOfPrescriptions(
  deps: UseCaseDeps,
  ctx: RequestContext,
  prescriptionIds: readonly string[],
): Promise<Array<PriorAuthorizationInstance | undefined>> {
  return deps.uow.read(ctx.tenantId, (scope) => Promise.all(prescriptionIds.map((id) => (isStoredId(id) ? priorAuthorizationOf(scope, id) : undefined))));
}

export async function priorAuthorizationTransitions(deps: UseCaseDeps, ctx: RequestContext, ids: readonly string[]): Promise<PriorAuthorizationTransition[][]> {
  const stored = ids.filter(isStoredId);
  const map = await deps.uow.read(ctx.tenantId, (scope) => scope.priorAuthorizations.transitionsOf(stored));
  return ids.map((id) => map.get(id) ?? []);
}

/** Where each PA stands in its workflow (CONTRACT §10 inspection). */
export async function priorAuthorizationWorkflows(deps: UseCaseDeps, ctx: RequestContext, ids: readonly string[]): Promise<Array<InstanceView | undefined>> {
  const records = await priorAuthorizationsByIds(deps, ctx, ids);
  const transitions = await priorAuthorizationTransitions(deps, ctx, ids);
  return instanceViews(
    deps,
    ctx,
    ids.map((id, i) => {
      const record = records[i];
      return (
        record && {
          id,
          definition: priorAuthorizationWorkflow(record.workflowVersion) as unknown as WorkflowDefinition,
          state: record.state,
          transitions: transitions[i],
        }
      );
    }),
  );
}

/** Whether the prescription has a PA the link's compensation would withdraw (no ledger entry for nothing to undo). */
export const hasOpenLinkedPriorAuthorization = (deps: UseCaseDeps, tenantId: string, prescriptionId: string): Promise<boolean> =>
  deps.uow.read(tenantId, async (scope) => {
    const pa = isStoredId(prescriptionId) ? await priorAuthorizationOf(scope, prescriptionId) : undefined;
    return pa !== undefined && isOpenPriorAuthorization(pa);
  });

/**
 * The compensation of the prescription link (CONTRACT §9, §10): withdraws the prescription's PA
 * if it is still open. Run once per event by the action runner; run again after a crash it finds
 * the PA withdrawn already and does nothing, so the PA is withdrawn exactly once.
 */
export async function withdrawLinkedPriorAuthorization(deps: UseCaseDeps, notice: IntegrationNotice): Promise<void> {
  const ctx: RequestContext = { tenantId: notice.tenantId, actor: SYSTEM_ACTOR, correlationId: notice.correlationId };
  await deps.uow.transaction(notice.tenantId, async (scope) => {
    const pa = await priorAuthorizationOf(scope, notice.medicationRequestId);
    if (!pa || !isOpenPriorAuthorization(pa)) return;
    const reason = `The prescription was ${notice.to} (${notice.event}).`;
    const moved = await moveLoaded(deps, scope, ctx, PRIOR_AUTHORIZATION_SUBJECT, pa, { event: 'withdraw', reason });
    // Another writer moved the PA meanwhile: fail this attempt, the retry sees its new state.
    if (!moved) throw new Error(`Task/${pa.id} changed while it was being withdrawn`);
    await commitEvents(scope, moved.events);
  });
}
