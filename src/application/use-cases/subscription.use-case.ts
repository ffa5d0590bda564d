import {
  assertPersonaMay,
  buildEvent,
  DomainError,
  EVENT_TYPES,
  type RequestContext,
  type SubscriptionRecord,
  type SubscriptionResource,
  validateSubscription,
} from '../../domain/index.js';
import { commitEvents } from '../audit.js';
import type { UseCaseDeps } from '../deps.js';
import { assertValid } from '../validation.js';
import { isStoredId } from './read-medication-requests.use-case.js';

/**
 * Registers a FHIR Subscription (CONTRACT §4). The caller has already checked that its criteria
 * parse as a search; it is active at once, delivered over the websocket channel.
 */
export async function createSubscription(deps: UseCaseDeps, ctx: RequestContext, input: { resource: unknown }): Promise<SubscriptionRecord> {
  assertPersonaMay(ctx, 'subscription.register');
  const resource = assertValid<SubscriptionResource>(deps, 'Subscription', input.resource, validateSubscription);
  const now = deps.clock.now();
  const id = deps.newId();
  const { id: _id, meta: _meta, resourceType: _type, ...rest } = resource;
  const record: SubscriptionRecord = {
    id,
    tenantId: ctx.tenantId,
    versionId: 1,
    lastUpdated: now,
    status: 'active',
    criteria: resource.criteria,
    error: null,
    cursor: null,
    resource: { resourceType: 'Subscription', id, meta: { versionId: '1', lastUpdated: now.toISOString() }, ...rest, status: 'active' },
  };
  await deps.uow.transaction(ctx.tenantId, (scope) => scope.subscriptions.insert(record));
  return record;
}

export async function getSubscription(deps: UseCaseDeps, ctx: RequestContext, id: string): Promise<SubscriptionRecord> {
  const record = isStoredId(id) ? await deps.uow.read(ctx.tenantId, (scope) => scope.subscriptions.findById(id)) : undefined;
  if (!record) throw new DomainError('NOT_FOUND', `Subscription/${id} does not exist.`);
  return record;
}

/** A Subscription whose criteria can no longer be evaluated goes to `error`, with the reason. */
export async function failSubscription(deps: UseCaseDeps, ctx: RequestContext, id: string, reason: string): Promise<void> {
  await deps.uow.transaction(ctx.tenantId, (scope) => scope.subscriptions.setStatus(id, 'error', reason.slice(0, 1_000), deps.clock.now()));
}

export async function recordSubscriptionCursor(deps: UseCaseDeps, ctx: RequestContext, id: string, cursor: string): Promise<void> {
  await deps.uow.transaction(ctx.tenantId, (scope) => scope.subscriptions.setCursor(id, cursor));
}

/**
 * `$replay` (platform-admin): every matching event after `from` is delivered again to the
 * Subscription's bound websockets, on whichever instance they are. The request travels as the
 * event `subscription.replayed.v1`, which every instance consumes: it replays the events between
 * `from` and the replay event itself.
 */
export async function replaySubscription(deps: UseCaseDeps, ctx: RequestContext, input: { id: string; from: string }): Promise<SubscriptionRecord> {
  assertPersonaMay(ctx, 'subscription.replay');
  if (!/^\d{1,15}$/.test(input.from))
    throw new DomainError('BAD_REQUEST', `from '${input.from.slice(0, 32)}' is not an event cursor (a number, as in the subscription-cursor extension).`);
  return deps.uow.transaction(ctx.tenantId, async (scope) => {
    const record = isStoredId(input.id) ? await scope.subscriptions.findById(input.id) : undefined;
    if (!record) throw new DomainError('NOT_FOUND', `Subscription/${input.id} does not exist.`);
    const now = deps.clock.now();
    await commitEvents(scope, [
      buildEvent(
        ctx,
        EVENT_TYPES.subscriptionReplayed,
        { resource: record.resource as never, subscriptionId: record.id, from: input.from },
        { eventId: deps.newId(), timestamp: now },
      ),
    ]);
    return record;
  });
}
