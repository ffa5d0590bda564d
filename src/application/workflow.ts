import {
  assertTextWithinBounds,
  assertTransition,
  buildEvent,
  DomainError,
  EVENT_TYPES,
  materializeMedicationRequest,
  parseReference,
  pharmacyIdOf,
  quoted,
  type EventEnvelope,
  type EventPayload,
  type MedicationRequestRecord,
  type RequestContext,
  type WorkflowEvent,
} from '../domain/index.js';
import type { TransactionScope } from '../ports/index.js';
import type { UseCaseDeps } from './deps.js';
import { isStoredId } from './stored-id.js';
import { etagOf, parseIfMatch } from './etag.js';

/** The tenant's prescription `id` names, if any; an id that cannot be a stored one names none (and never reaches SQL). */
export const findPrescription = (scope: TransactionScope, id: string): Promise<MedicationRequestRecord | undefined> =>
  isStoredId(id) ? scope.medicationRequests.findById(id) : Promise.resolve(undefined);

export const notFound = (id: string) => new DomainError('NOT_FOUND', `MedicationRequest/${quoted(id)} does not exist.`);

/** 412 carrying the current resource, so the caller can merge and retry without another read. */
export function stale(current: { versionId: number; resource: unknown }, what = 'the current version'): DomainError {
  return new DomainError('PRECONDITION_FAILED', `If-Match is stale: ${what} is ${etagOf(current.versionId)}; re-read and retry.`, {
    current: current.resource,
    headers: { ETag: etagOf(current.versionId) },
  });
}

/** Who and what an event is about, so subscribers can filter without loading resources. */
export function eventContext(prescription: MedicationRequestRecord): Pick<EventPayload, 'medicationRequestId' | 'patientId' | 'pharmacyId'> {
  return {
    medicationRequestId: prescription.id,
    patientId: parseReference(prescription.resource.subject?.reference, 'Patient') ?? null,
    pharmacyId: pharmacyIdOf(prescription.resource) ?? null,
  };
}

/** {@link eventContext} of an event about a prescription's dispense or Task: it also carries the prescription as of the event. */
export function relatedEventContext(prescription: MedicationRequestRecord): Pick<EventPayload, 'medicationRequestId' | 'patientId' | 'pharmacyId' | 'medicationRequest'> {
  return { ...eventContext(prescription), medicationRequest: prescription.resource as unknown as EventPayload['medicationRequest'] };
}

export interface Move {
  record: MedicationRequestRecord;
  /** `status_changed` (and `cancelled` for cancel), for the caller to append in its order. */
  events: EventEnvelope[];
}

/**
 * Moves a prescription one step, optimistically: the row is written only if its version is still
 * the one read. Answers `undefined` when another writer got there first (nothing was written).
 * The transition is recorded in the history with the new version.
 */
export async function move(
  deps: UseCaseDeps,
  scope: TransactionScope,
  ctx: RequestContext,
  current: MedicationRequestRecord,
  event: WorkflowEvent,
  reason: string | null,
): Promise<Move | undefined> {
  const to = assertTransition(current.workflowStatus, event);
  const now = deps.clock.now();
  const versionId = current.versionId + 1;
  const record: MedicationRequestRecord = {
    ...current,
    versionId,
    lastUpdated: now,
    workflowStatus: to,
    resource: materializeMedicationRequest(current.resource, { id: current.id, versionId, lastUpdated: now, workflowStatus: to, statusReason: reason ?? undefined }),
  };
  if (!(await scope.medicationRequests.updateIfVersion(record, current.versionId))) return undefined;
  await scope.history.append({
    record,
    transition: { event, from: current.workflowStatus, to, actor: ctx.actor.sub, persona: ctx.actor.persona, reason, at: now, correlationId: ctx.correlationId },
  });
  const payload = { resource: record.resource as never, event, from: current.workflowStatus, to, reason, ...eventContext(record) };
  const events = [buildEvent(ctx, EVENT_TYPES.medicationRequestStatusChanged, payload, { eventId: deps.newId(), timestamp: now })];
  if (event === 'cancel') events.push(buildEvent(ctx, EVENT_TYPES.medicationRequestCancelled, payload, { eventId: deps.newId(), timestamp: now }));
  return { record, events };
}

export interface MoveRequest {
  id: string;
  event: WorkflowEvent;
  ifMatch?: string;
  reason?: string | null;
  /** Existence failure of the focus: `NOT_FOUND` for the prescription itself, `PRESCRIPTION_NOT_FOUND` when a Task or dispense links it. */
  missing: (id: string) => DomainError;
}

/**
 * Loads, checks and moves a prescription inside the caller's transaction, in the order of CONTRACT
 * §2 (existence, If-Match, state). A lost race is retried against the new state unless the caller
 * pinned a version with If-Match, in which case it is a 412: never two winners, never a lost update.
 */
export async function moveWithRetry(deps: UseCaseDeps, scope: TransactionScope, ctx: RequestContext, request: MoveRequest): Promise<Move & { previous: MedicationRequestRecord }> {
  // Every door's reason (GraphQL argument, Task.statusReason, a cancelling patch) lands in the resource's statusReason.
  assertTextWithinBounds(request.reason, 'MedicationRequest.statusReason.text');
  const expected = request.ifMatch === undefined ? undefined : parseIfMatch(request.ifMatch);
  for (let attempt = 0; ; attempt++) {
    const current = await findPrescription(scope, request.id);
    if (!current) throw request.missing(request.id);
    if (expected !== undefined && expected !== current.versionId) throw stale(current, "the prescription's current version");
    const moved = await move(deps, scope, ctx, current, request.event, request.reason ?? null);
    if (moved) return { ...moved, previous: current };
    if (attempt >= 10) throw new DomainError('PRECONDITION_FAILED', 'The prescription keeps changing under this request; re-read and retry.');
  }
}

export const prescriptionNotFound = (id: string) =>
  new DomainError('PRESCRIPTION_NOT_FOUND', `MedicationRequest/${quoted(id)} does not exist for your tenant.`, {
    issues: [{ expression: 'MedicationRequest', diagnostics: `MedicationRequest/${quoted(id)} does not exist for your tenant.` }],
  });
