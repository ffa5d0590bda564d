import {
  assertPersonaMay,
  buildEvent,
  CURRENT_PRESCRIPTION_WORKFLOW,
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
import { assertIdempotencyKey, canonicalize, idempotently } from '../idempotency.js';
import { eventContext, fillsWith, NO_FILLS, PRESCRIPTION_SUBJECT, prescriptionFactsOf } from '../workflow.js';
import { applyTimerChanges } from '../workflow-engine.js';
import { assertValidMedicationRequest } from './medication-request.rules.js';
import type { MedicationRequestCriteria } from './read-medication-requests.use-case.js';

export interface CreateMedicationRequestInput {
  resource: unknown;
  idempotencyKey?: string;
  /**
   * Conditional create (FHIR R4 http.html#ccreate, `If-None-Exist`): when a prescription matches,
   * it is answered instead of creating one; several matches are 412 `MULTIPLE_MATCHES`.
   */
  ifNoneExist?: MedicationRequestCriteria;
}

export interface CreateResult<T> {
  record: T;
  /** True when an earlier request with the same Idempotency-Key already created it. */
  replayed: boolean;
  /** True when a conditional create found the resource instead of creating it. */
  existing?: boolean;
}

const OPERATION = 'MedicationRequest.create';

/**
 * Creates a prescription in state `requested`. The row, its first history version, the
 * idempotency record and the `created` event commit in one transaction.
 */
export async function createMedicationRequest(
  deps: UseCaseDeps,
  ctx: RequestContext,
  input: CreateMedicationRequestInput,
): Promise<CreateResult<MedicationRequestRecord>> {
  assertPersonaMay(ctx, 'medication-request.create');
  if (input.idempotencyKey !== undefined) assertIdempotencyKey(input.idempotencyKey);
  const resource = await assertValidMedicationRequest(deps, ctx, input.resource);

  return deps.uow.transaction(ctx.tenantId, (scope) =>
    idempotently<CreateResult<MedicationRequestRecord>>(
      scope,
      { operation: OPERATION, key: input.idempotencyKey, payload: resource },
      deps.idempotencyTtlSeconds,
      {
        async replay(prior) {
          const earlier = await scope.history.version(prior.resourceId, prior.versionId);
          return earlier && { record: earlier, replayed: true };
        },
        async run() {
          if (input.ifNoneExist) {
            // Identical conditional creates racing each other queue here, so exactly one creates.
            await scope.locks.lock(`ccreate:${ctx.tenantId}:MedicationRequest:${canonicalize(input.ifNoneExist)}`);
            const found = await scope.medicationRequests.search({ ...input.ifNoneExist, sort: 'seq', descending: false, limit: 2, withTotal: false });
            if (found.items.length > 1)
              throw new DomainError('MULTIPLE_MATCHES', 'If-None-Exist matches more than one prescription; make the criteria more specific.');
            if (found.items.length === 1) return { result: { record: found.items[0].record, replayed: false, existing: true }, saved: undefined };
          }
          const record = await insertPrescription(deps, scope, ctx, resource);
          return { result: { record, replayed: false }, saved: { resourceType: 'MedicationRequest', resourceId: record.id, versionId: 1, statusCode: 201 } };
        },
      },
    ),
  );
}

/** The new prescription under the current workflow version: row, first history version, its timers and the `created` event. */
async function insertPrescription(
  deps: UseCaseDeps,
  scope: TransactionScope,
  ctx: RequestContext,
  resource: MedicationRequestResource,
): Promise<MedicationRequestRecord> {
  const now = deps.clock.now();
  const id = deps.newId();
  const workflow = CURRENT_PRESCRIPTION_WORKFLOW;
  // No dispense can refer to a prescription that is being created: its fills, and the facts its
  // timers read, are known without asking the store.
  const fills = fillsWith({ workflowVersion: workflow.version, resource }, NO_FILLS);
  const record: MedicationRequestRecord = {
    id,
    tenantId: ctx.tenantId,
    versionId: 1,
    lastUpdated: now,
    workflowStatus: workflow.initial,
    workflowVersion: workflow.version,
    resource: materializeMedicationRequest(resource, {
      id,
      versionId: 1,
      lastUpdated: now,
      workflowStatus: workflow.initial,
      fills,
    }),
  };
  await scope.medicationRequests.insert(record);
  await scope.history.append({
    record,
    transition: {
      event: 'request',
      from: null,
      to: workflow.initial,
      actor: ctx.actor.sub,
      persona: ctx.actor.persona,
      reason: null,
      at: now,
      correlationId: ctx.correlationId,
    },
  });
  await applyTimerChanges(deps, scope, PRESCRIPTION_SUBJECT, record, null, workflow.initial, now, prescriptionFactsOf(fills, now));
  const payload = {
    resource: record.resource as EventResource,
    event: 'request',
    from: null,
    to: workflow.initial,
    workflow: { name: workflow.name, version: workflow.version, instanceId: id },
    ...eventContext(record),
  };
  await commitEvents(scope, [buildEvent(ctx, EVENT_TYPES.medicationRequestCreated, payload, { eventId: deps.newId(), timestamp: now })]);
  return record;
}

type EventResource = MedicationRequestResource & { [key: string]: unknown };
