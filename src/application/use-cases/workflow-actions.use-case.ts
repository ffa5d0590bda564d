import {
  actionsFor,
  assertPersonaMay,
  assertSearchCriteria,
  compensationsFor,
  definitionFor,
  DomainError,
  type EventEnvelope,
  instanceOf,
  linkCompensationsFor,
  type RequestContext,
} from '../../domain/index.js';
import type { DeadLetter, DeadLetterFilter, IntegrationNotice, Integrations } from '../../ports/index.js';
import type { UseCaseDeps } from '../deps.js';
import { STATUS_CHANGED_TYPES } from '../workflow-subjects.js';
import { hasOpenLinkedPriorAuthorization, withdrawLinkedPriorAuthorization } from './prior-authorization.use-case.js';

/** Retries of a workflow action: exponential backoff with full jitter, bounded attempts. */
export interface RetryPolicy {
  /** @default 5 */
  maxAttempts: number;
  /** @default 200 */
  baseDelayMs: number;
  /** @default 30_000 */
  maxDelayMs: number;
}

/** Wait before retry number `attempt` (1-based): uniform in [0, min(max, base · 2^(attempt-1))]. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  return Math.round(random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)));
}

/**
 * What each action and compensation a definition names does, by name (CONTRACT §6, §10). A unit
 * test holds this registry to the definitions: every name they declare has a handler here.
 */
export const ACTION_HANDLERS: Readonly<Record<string, (integrations: Integrations, notice: IntegrationNotice, deps: UseCaseDeps) => Promise<void>>> = {
  notifyInsurance: (i, n) => i.insurance.approvalGranted(n),
  reverseInsuranceNotice: (i, n) => i.insurance.approvalReversed(n),
  sendToPharmacy: (i, n) => i.pharmacy.sendPrescription(n),
  cancelAtPharmacy: (i, n) => i.pharmacy.cancelPrescription(n),
  notifyPatientDispensed: (i, n) => i.patient.prescriptionDispensed(n),
  notifyPatientCompleted: (i, n) => i.patient.prescriptionCompleted(n),
  // A failed fill and a breached deadline both page support; the notice's event says which.
  alertSupport: (i, n) => (n.event === 'fail' ? i.support.prescriptionFailed(n) : i.support.alert(n)),
  // The link's compensation (CONTRACT §9, §10): a cancelled or expired prescription withdraws its open PA, once.
  withdrawPriorAuthorization: (_i, n, deps) => withdrawLinkedPriorAuthorization(deps, n),
};

/** A link's compensation runs only where the linked instance has something to undo (its child exists and is open). */
const LINK_COMPENSATION_APPLIES: Readonly<Record<string, (deps: UseCaseDeps, tenantId: string, parentId: string) => Promise<boolean>>> = {
  withdrawPriorAuthorization: hasOpenLinkedPriorAuthorization,
};

function deliver(deps: UseCaseDeps, action: string, notice: IntegrationNotice): Promise<void> {
  const handler = ACTION_HANDLERS[action];
  if (!handler) throw new Error(`no handler is registered for action ${action}`);
  return handler(deps.integrations, notice, deps);
}

function noticeOf(envelope: EventEnvelope): IntegrationNotice {
  const { metadata, payload } = envelope;
  return {
    eventId: metadata.eventId,
    tenantId: metadata.tenantId,
    medicationRequestId: String(payload.medicationRequestId ?? payload.resource.id),
    patientId: payload.patientId ?? null,
    pharmacyId: payload.pharmacyId ?? null,
    event: String(payload.event ?? payload.emitted),
    from: payload.from ?? null,
    to: String(payload.to ?? payload.state),
    reason: payload.reason ?? null,
    occurredAt: metadata.timestamp,
    correlationId: metadata.correlationId,
    prescription: payload.resource,
  };
}

const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 2_000);

/**
 * Runs the actions a committed transition triggers (the stream consumer's work). Each action runs
 * once per event id; a failing one is retried with backoff and, after the last attempt, recorded as
 * a dead letter and published to the dead-letter stream. Resolves when every action is done or
 * dead-lettered; throws only when that bookkeeping itself failed (the event is then redelivered).
 */
export async function handleWorkflowEvent(deps: UseCaseDeps, envelope: EventEnvelope): Promise<void> {
  const { payload, metadata } = envelope;
  const definition = definitionFor(payload.workflow as { name?: unknown; version?: unknown } | undefined);
  if (!definition) return;
  const instanceId = instanceOf(envelope);
  if (STATUS_CHANGED_TYPES.has(metadata.eventType)) {
    const change = { event: String(payload.event), from: payload.from ?? null, to: String(payload.to) };
    for (const action of actionsFor(definition, change)) await runAction(deps, action.name, envelope, instanceId);
    // The saga's undo (CONTRACT §10): actions of this instance that completed, undone newest first.
    // Actions run in stream order on one consumer, so those of earlier events have settled by now.
    if (instanceId && definition.states[change.to]?.compensating) {
      const completed = await deps.ledger.completedFor(metadata.tenantId, instanceId);
      for (const compensation of compensationsFor(definition, change.to, completed)) await runAction(deps, compensation, envelope, instanceId);
      for (const compensation of linkCompensationsFor(definition, change.to)) {
        const applies = LINK_COMPENSATION_APPLIES[compensation];
        if (!applies || (await applies(deps, metadata.tenantId, instanceId))) await runAction(deps, compensation, envelope, instanceId);
      }
    }
  } else if (typeof payload.emitted === 'string') {
    for (const action of actionsFor(definition, { emitted: payload.emitted })) await runAction(deps, action.name, envelope, instanceId);
  }
}

async function runAction(deps: UseCaseDeps, action: string, envelope: EventEnvelope, instanceId: string | undefined): Promise<void> {
  const { ledger, actions } = deps;
  const eventId = envelope.metadata.eventId;
  if (await ledger.isDone(action, eventId)) return;
  const notice = noticeOf(envelope);
  let lastError: unknown;
  for (let attempt = 1; attempt <= actions.retry.maxAttempts; attempt++) {
    try {
      await deliver(deps, action, notice);
      await ledger.markDone({ handler: action, eventId, tenantId: notice.tenantId, attempts: attempt, instanceId });
      return;
    } catch (error) {
      // The database or the bus away (a restart, a failover) is not the action's failure and spends
      // none of its attempts: the event stays unacknowledged and comes again, and the ledger keeps what
      // completed from running twice. Five quick attempts inside one restart used to end as a dead letter.
      if (error instanceof DomainError && error.code === 'SERVICE_UNAVAILABLE') throw error;
      lastError = error;
      actions.onFailure?.(action, attempt, error);
      if (attempt < actions.retry.maxAttempts) await actions.sleep(backoffDelay(actions.retry, attempt));
    }
  }
  const dead = await ledger.deadLetter({
    id: deps.newId(),
    tenantId: notice.tenantId,
    handler: action,
    eventId,
    eventType: envelope.metadata.eventType,
    envelope,
    error: describe(lastError),
    attempts: actions.retry.maxAttempts,
  });
  await actions.publishDeadLetter(dead);
}

// ── Dead letters, for a platform-admin (CONTRACT §1), confined to the admin's tenant ─────────────

export async function listDeadLetters(deps: UseCaseDeps, ctx: RequestContext, filter: DeadLetterFilter): Promise<DeadLetter[]> {
  assertPersonaMay(ctx, 'dead-letter.manage');
  assertSearchCriteria(filter);
  return deps.ledger.listDeadLetters(ctx.tenantId, { ...filter, limit: Math.min(Math.max(filter.limit, 0), 500) });
}

/** Runs the dead letter's action once more; on success it leaves the list (resolved), else it stays with the new error. */
export async function replayDeadLetter(deps: UseCaseDeps, ctx: RequestContext, id: string): Promise<DeadLetter> {
  assertPersonaMay(ctx, 'dead-letter.manage');
  const deadLetter = /^[0-9a-f-]{36}$/i.test(id) ? await deps.ledger.findDeadLetter(ctx.tenantId, id) : undefined;
  if (!deadLetter) throw new DomainError('NOT_FOUND', `Dead letter ${id} does not exist.`);
  return replay(deps, deadLetter);
}

export async function replayDeadLetters(
  deps: UseCaseDeps,
  ctx: RequestContext,
  filter: Omit<DeadLetterFilter, 'includeResolved'>,
): Promise<{ replayed: number; succeeded: number; failed: number }> {
  assertPersonaMay(ctx, 'dead-letter.manage');
  assertSearchCriteria(filter);
  const open = await deps.ledger.listDeadLetters(ctx.tenantId, { ...filter, includeResolved: false, limit: Math.min(Math.max(filter.limit, 0), 500) });
  let succeeded = 0;
  for (const deadLetter of open) if ((await replay(deps, deadLetter)).resolvedAt) succeeded++;
  return { replayed: open.length, succeeded, failed: open.length - succeeded };
}

async function replay(deps: UseCaseDeps, deadLetter: DeadLetter): Promise<DeadLetter> {
  if (deadLetter.resolvedAt) return deadLetter;
  if (!ACTION_HANDLERS[deadLetter.handler]) return deps.ledger.recordFailedReplay(deadLetter, `no action named ${deadLetter.handler} exists any more`);
  try {
    await deliver(deps, deadLetter.handler, noticeOf(deadLetter.envelope));
  } catch (error) {
    return deps.ledger.recordFailedReplay(deadLetter, describe(error));
  }
  await deps.ledger.resolve(deadLetter, deadLetter.attempts + 1);
  return { ...deadLetter, attempts: deadLetter.attempts + 1, resolvedAt: deps.clock.now() };
}
