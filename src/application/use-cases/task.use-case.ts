import {
  assertPersonaMayTransition,
  buildEvent,
  DomainError,
  EVENT_TYPES,
  focusIdOf,
  materializeTask,
  type RequestContext,
  taskEvent,
  type TaskRecord,
  type TaskResource,
  validateTask,
} from '../../domain/index.js';
import { commitEvents } from '../audit.js';
import type { UseCaseDeps } from '../deps.js';
import { assertIdempotencyKey, idempotently } from '../idempotency.js';
import { assertValid } from '../validation.js';
import { movePrescription, prescriptionNotFound, relatedEventContext } from '../workflow.js';
import { isStoredId } from './read-medication-requests.use-case.js';

export interface CreateTaskInput {
  resource: unknown;
  idempotencyKey?: string;
  /** Checked against the focus prescription's version. */
  ifMatch?: string;
}

const OPERATION = 'Task.create';

/**
 * A FHIR Task that moves a prescription (CONTRACT §3). The Task is stored as sent (with server id
 * and meta) only when the move succeeds; an illegal move stores nothing.
 */
export async function createTask(deps: UseCaseDeps, ctx: RequestContext, input: CreateTaskInput): Promise<{ record: TaskRecord; replayed: boolean }> {
  // The persona depends on the event the Task asks for: checked before the rest of validation when it can be read.
  const asked = typeof input.resource === 'object' && input.resource !== null ? taskEvent(input.resource as TaskResource) : undefined;
  if (asked) assertPersonaMayTransition(ctx.actor, asked);
  if (input.idempotencyKey !== undefined) assertIdempotencyKey(input.idempotencyKey);
  const resource = assertValid<TaskResource>(deps, 'Task', input.resource, validateTask);
  const event = taskEvent(resource)!;
  const focusId = focusIdOf(resource);

  return deps.uow.transaction(ctx.tenantId, (scope) =>
    idempotently<{ record: TaskRecord; replayed: boolean }>(
      scope,
      { operation: OPERATION, key: input.idempotencyKey, payload: resource },
      deps.idempotencyTtlSeconds,
      {
        async replay(prior) {
          const earlier = await scope.tasks.findById(prior.resourceId);
          return earlier && { record: earlier, replayed: true };
        },
        async run() {
          if (!isStoredId(focusId)) throw prescriptionNotFound(focusId);
          const moved = await movePrescription(deps, scope, ctx, {
            id: focusId,
            event,
            ifMatch: input.ifMatch,
            reason: resource.statusReason?.text ?? null,
            missing: prescriptionNotFound,
          });
          const now = deps.clock.now();
          const id = deps.newId();
          const record: TaskRecord = {
            id,
            tenantId: ctx.tenantId,
            versionId: 1,
            lastUpdated: now,
            focusId,
            resource: materializeTask(resource, { id, versionId: 1, lastUpdated: now }),
          };
          await scope.tasks.insert(record);
          const taskChanged = buildEvent(
            ctx,
            EVENT_TYPES.taskStatusChanged,
            { resource: record.resource as never, event, status: resource.status, ...relatedEventContext(moved.record) },
            { eventId: deps.newId(), timestamp: now },
          );
          await commitEvents(scope, [...moved.events, taskChanged]);
          return { result: { record, replayed: false }, saved: { resourceType: 'Task', resourceId: id, versionId: 1, statusCode: 201 } };
        },
      },
    ),
  );
}

export async function getTask(deps: UseCaseDeps, ctx: RequestContext, id: string): Promise<TaskRecord> {
  const record = isStoredId(id) ? await deps.uow.read(ctx.tenantId, (scope) => scope.tasks.findById(id)) : undefined;
  if (!record) throw new DomainError('NOT_FOUND', `Task/${id} does not exist.`);
  return record;
}
