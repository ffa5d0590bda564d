import {
  assertPersonaMay,
  buildEvent,
  CONTENT_EDITABLE_STATES,
  DomainError,
  EVENT_TYPES,
  materializeMedicationRequest,
  type MedicationRequestRecord,
  type MedicationRequestResource,
  type RequestContext,
} from '../../domain/index.js';
import type { TransactionScope } from '../../ports/index.js';
import { commitEvents } from '../audit.js';
import type { UseCaseDeps } from '../deps.js';
import { checkIfMatch, stale } from '../versioned-write.js';
import { currentFills, eventContext, findPrescription, notFound, PRESCRIPTION_SUBJECT } from '../workflow.js';
import { applyEditTimerChanges } from '../workflow-engine.js';
import { assertValidMedicationRequest } from './medication-request.rules.js';

export interface UpdateMedicationRequestInput {
  id: string;
  resource: unknown;
  /** Required: the ETag the caller last saw (`W/"3"`). */
  ifMatch: string | undefined;
}

/**
 * Replaces a prescription's content. Never changes its workflow state (CONTRACT §4): `status`
 * and the workflow extension in the body are ignored; timers whose instant the content sets move. Checks run in the contract's order:
 * persona, validation, existence, If-Match (428, then 412), state (409).
 */
export async function updateMedicationRequest(deps: UseCaseDeps, ctx: RequestContext, input: UpdateMedicationRequestInput): Promise<MedicationRequestRecord> {
  assertPersonaMay(ctx, 'medication-request.update');
  const resource = await assertValidMedicationRequest(deps, ctx, input.resource);
  return deps.uow.transaction(ctx.tenantId, async (scope) => {
    const current = await findPrescription(scope, input.id);
    if (!current) throw notFound(input.id);
    return replaceContent(deps, scope, ctx, current, resource, input.ifMatch);
  });
}

/**
 * The update rules inside the caller's transaction, for PUT and for PATCH: If-Match (428, then
 * 412), then state (409 past approved), then the optimistic write with its history and event.
 */
export async function replaceContent(
  deps: UseCaseDeps,
  scope: TransactionScope,
  ctx: RequestContext,
  current: MedicationRequestRecord,
  resource: MedicationRequestResource,
  ifMatch: string | undefined,
): Promise<MedicationRequestRecord> {
  checkIfMatch(ifMatch, current, { required: true });
  if (!CONTENT_EDITABLE_STATES.includes(current.workflowStatus)) {
    throw new DomainError(
      'UPDATE_NOT_ALLOWED',
      `The prescription is '${current.workflowStatus}'; its content may change only while ${CONTENT_EDITABLE_STATES.join(' or ')}.`,
    );
  }
  const now = deps.clock.now();
  const versionId = current.versionId + 1;
  const record: MedicationRequestRecord = {
    ...current,
    versionId,
    lastUpdated: now,
    resource: materializeMedicationRequest(resource, {
      id: current.id,
      versionId,
      lastUpdated: now,
      workflowStatus: current.workflowStatus,
      fills: await currentFills(scope, { ...current, resource }),
    }),
  };
  // The content may move a timer's instant (a new validity end moves the expiry), in this transaction.
  // Timer rows first, then the prescription: the order in which a firing timer locks them, so an edit
  // racing the old expiry waits for it (and then answers 412) instead of deadlocking with it.
  await applyEditTimerChanges(deps, scope, PRESCRIPTION_SUBJECT, current, record, now);
  if (!(await scope.medicationRequests.updateIfVersion(record, current.versionId))) {
    throw stale((await scope.medicationRequests.findById(current.id)) ?? current);
  }
  await scope.history.append({ record, transition: null });
  await commitEvents(scope, [
    buildEvent(
      ctx,
      EVENT_TYPES.medicationRequestUpdated,
      { resource: record.resource as never, ...eventContext(record) },
      { eventId: deps.newId(), timestamp: now },
    ),
  ]);
  return record;
}
