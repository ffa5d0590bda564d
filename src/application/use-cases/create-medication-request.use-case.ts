import {
  assertPersonaMay,
  buildEvent,
  DomainError,
  EVENT_TYPES,
  INITIAL_STATE,
  materializeMedicationRequest,
  type MedicationRequestRecord,
  type MedicationRequestResource,
  type RequestContext,
} from '../../domain/index.js';
import { commitEvents } from '../audit.js';
import type { UseCaseDeps } from '../deps.js';
import { canonicalize } from '../idempotency.js';
import type { MedicationRequestCriteria } from './read-medication-requests.use-case.js';
import { assertIdempotencyKey, priorOutcome, requestHash } from '../idempotency.js';
import { eventContext } from '../workflow.js';
import { assertValidMedicationRequest } from './medication-request.rules.js';

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
  const resource = await assertValidMedicationRequest(deps, input.resource);
  const hash = input.idempotencyKey === undefined ? undefined : requestHash(OPERATION, resource);

  return deps.uow.transaction(ctx.tenantId, async (scope) => {
    if (input.idempotencyKey !== undefined && hash !== undefined) {
      const prior = await priorOutcome(scope, input.idempotencyKey, hash);
      if (prior) {
        const earlier = await scope.history.version(prior.resourceId, prior.versionId);
        if (earlier) return { record: earlier, replayed: true };
      }
    }
    if (input.ifNoneExist) {
      // Identical conditional creates racing each other queue here, so exactly one creates.
      await scope.locks.lock(`ccreate:${ctx.tenantId}:MedicationRequest:${canonicalize(input.ifNoneExist)}`);
      const found = await scope.medicationRequests.search({ ...input.ifNoneExist, sort: 'seq', descending: false, limit: 2, withTotal: false });
      if (found.items.length > 1) throw new DomainError('MULTIPLE_MATCHES', 'If-None-Exist matches more than one prescription; make the criteria more specific.');
      if (found.items.length === 1) return { record: found.items[0].record, replayed: false, existing: true };
    }
    const now = deps.clock.now();
    const id = deps.newId();
    const record: MedicationRequestRecord = {
      id,
      tenantId: ctx.tenantId,
      versionId: 1,
      lastUpdated: now,
      workflowStatus: INITIAL_STATE,
      resource: materializeMedicationRequest(resource, { id, versionId: 1, lastUpdated: now, workflowStatus: INITIAL_STATE }),
    };
    await scope.medicationRequests.insert(record);
    await scope.history.append({
      record,
      transition: { event: 'request', from: null, to: INITIAL_STATE, actor: ctx.actor.sub, persona: ctx.actor.persona, reason: null, at: now, correlationId: ctx.correlationId },
    });
    await commitEvents(scope, [
      buildEvent(ctx, EVENT_TYPES.medicationRequestCreated, { resource: record.resource as EventResource, event: 'request', from: null, to: INITIAL_STATE, ...eventContext(record) }, { eventId: deps.newId(), timestamp: now }),
    ]);
    if (input.idempotencyKey !== undefined && hash !== undefined) {
      await scope.idempotency.save(
        { key: input.idempotencyKey, operation: OPERATION, requestHash: hash, resourceType: 'MedicationRequest', resourceId: id, versionId: 1, statusCode: 201 },
        deps.idempotencyTtlSeconds,
      );
    }
    return { record, replayed: false };
  });
}

type EventResource = MedicationRequestResource & { [key: string]: unknown };
