import { DomainError, EVENT_TYPES, isDomainError, type RequestContext } from '../../domain/index.js';
import type { UseCases } from '../index.js';
import type { LiveEvent, LiveEvents, LiveSubscription } from '../live-events.js';

/** Whether the resource an event carries matches a Subscription's criteria. */
export type ResourceMatcher = (resource: { resourceType: string } & Record<string, unknown>) => boolean;

/** What a connection's Subscription delivery needs (`openSubscriptionDelivery`). */
export interface SubscriptionDeliveryOptions {
  /** Reads a Subscription, marks it failed and records its cursor. */
  useCases: Pick<UseCases, 'getSubscription' | 'failSubscription' | 'recordSubscriptionCursor'>;
  /** The instance's live fan-out, which the bindings and replays subscribe to. */
  live: LiveEvents;
  /** Events that may wait for a slow connection before it is cut off. */
  bufferSize: number;
  /** Compiles a Subscription's criteria; throws a `DomainError` when they can no longer be evaluated. */
  compileCriteria(criteria: string): ResourceMatcher;
  /** Told of every error that is not a `DomainError` (the client only hears that something failed). */
  onInternalError(error: unknown): void;
  /** How often the cursor of the last delivered event is written to each Subscription. @default 1_000 */
  cursorWriteIntervalMs?: number;
}

/** What a delivery tells the connection it serves; the transport decides how each looks on the wire. */
export interface SubscriptionDeliverySink {
  /** The Subscription is bound: its notifications follow. */
  bound(subscriptionId: string): void;
  /** An event matches a bound Subscription (live, or again by a `$replay`). */
  notify(subscriptionId: string, event: LiveEvent): void;
  /** Binding or a replay failed; the message is safe to show. */
  failed(subscriptionId: string, error: DomainError): void;
  /** The connection could not keep up and must end (it may bind again and ask for a replay). */
  cutOff(reason: string): void;
}

/** The Subscriptions bound on one connection. */
export interface SubscriptionDelivery {
  /** Binds a Subscription of the connection's tenant; the outcome reaches the sink. Binding twice is one binding. */
  bind(subscriptionId: string): void;
  /** Ends every binding and replay, and writes the last cursors. */
  close(): Promise<void>;
}

interface Binding {
  matches: ResourceMatcher;
  live: LiveSubscription;
}

/**
 * Delivery of FHIR Subscriptions (CONTRACT §4) to one connection: live notifications for each bound
 * Subscription, the cursor of the last delivered event written back, and `$replay` requests of a
 * platform-admin. A replay request travels as the event `subscription.replayed.v1` (every instance
 * sees it); the events after its `from` that match are delivered again, up to the position of the
 * request itself — where the replay ends, whether or not anything matched. Replays run one after
 * another, in the order they were requested.
 */
export function openSubscriptionDelivery(options: SubscriptionDeliveryOptions, ctx: RequestContext, sink: SubscriptionDeliverySink): SubscriptionDelivery {
  const bindings = new Map<string, Binding>();
  const binding = new Set<string>(); // being bound: a second `bind` waits for the first's outcome
  let closed = false;
  let replaying: LiveSubscription | undefined;

  // Cursors only move forward: a replayed event is older than what the Subscription has already seen.
  const written = new Map<string, number>();
  const pending = new Map<string, number>();
  const advance = (id: string, seq: number) => {
    if (seq > (pending.get(id) ?? written.get(id) ?? -1)) pending.set(id, seq);
  };
  const flushCursors = () => {
    for (const [id, seq] of pending) {
      written.set(id, seq);
      void options.useCases.recordSubscriptionCursor(ctx, id, String(seq)).catch(() => undefined); // best effort: the next flush writes a later one
    }
    pending.clear();
  };
  const cursorTimer = setInterval(flushCursors, options.cursorWriteIntervalMs ?? 1_000);
  cursorTimer.unref();

  /** The error a client may see: a `DomainError` as it is, anything else logged and masked. */
  const reportable = (error: unknown, what: string): DomainError => {
    if (isDomainError(error)) return error;
    options.onInternalError(error);
    return new DomainError('INTERNAL', `${what} failed unexpectedly; quote correlation id ${ctx.correlationId} when reporting it.`);
  };

  const deliver = async (id: string, events: LiveSubscription, until?: number) => {
    for await (const event of events) {
      if (until !== undefined && event.seq >= until) break;
      sink.notify(id, event);
      advance(id, event.seq);
    }
  };

  async function replay(request: LiveEvent): Promise<void> {
    const id = String(request.envelope.payload.subscriptionId);
    const bound = bindings.get(id);
    const from = Number(request.envelope.payload.from);
    // Nothing lies between `from` and the request: there is nothing to deliver again.
    if (!bound || from + 1 >= request.seq) return;
    try {
      replaying = await options.live.subscribe({
        tenantId: ctx.tenantId,
        after: from,
        // The request's own position (or any later one) passes too: it is where the replay ends.
        matches: (e) =>
          e.seq >= request.seq || (e.envelope.metadata.eventType !== EVENT_TYPES.subscriptionReplayed && bound.matches(e.envelope.payload.resource)),
        bufferSize: options.bufferSize,
        // It ends at the request, which the fan-out had already taken: its own replay delivers all of it, waiting for room.
        onOverflow: () => undefined,
      });
      if (closed) return;
      await deliver(id, replaying, request.seq);
    } catch (error) {
      sink.failed(id, reportable(error, 'The replay'));
    } finally {
      await replaying?.close();
      replaying = undefined;
    }
  }

  const replays = options.live.subscribe({
    tenantId: ctx.tenantId,
    matches: (e) => e.envelope.metadata.eventType === EVENT_TYPES.subscriptionReplayed && bindings.has(String(e.envelope.payload.subscriptionId)),
    indexKey: { field: 'eventType', value: EVENT_TYPES.subscriptionReplayed }, // offered only those, not every event
    bufferSize: 100,
    onOverflow: () => sink.cutOff('too many replays'),
  });
  const replayLoop = replays.then(async (requests) => {
    for await (const request of requests) {
      if (closed) break;
      await replay(request);
    }
  });
  replayLoop.catch((error: unknown) => options.onInternalError(error));

  async function bind(id: string): Promise<void> {
    const subscription = await options.useCases.getSubscription(ctx, id);
    if (subscription.status !== 'active') throw new DomainError('BAD_REQUEST', `subscription is ${subscription.status}`);
    let matches: ResourceMatcher;
    try {
      matches = options.compileCriteria(subscription.criteria);
    } catch (error) {
      if (!isDomainError(error)) throw error;
      const reason = `criteria can no longer be evaluated: ${error.message}`;
      await options.useCases.failSubscription(ctx, id, reason);
      throw new DomainError('BAD_REQUEST', reason);
    }
    const live = await options.live.subscribe({
      tenantId: ctx.tenantId,
      matches: (e) => e.envelope.metadata.eventType !== EVENT_TYPES.subscriptionReplayed && matches(e.envelope.payload.resource),
      bufferSize: options.bufferSize,
      onOverflow: () => sink.cutOff('subscriber too slow'),
    });
    if (closed) return void (await live.close());
    bindings.set(id, { matches, live });
    sink.bound(id);
    deliver(id, live).catch((error: unknown) => options.onInternalError(error));
  }

  return {
    bind(id) {
      if (closed || binding.has(id)) return;
      if (bindings.has(id)) return sink.bound(id);
      binding.add(id);
      bind(id)
        .catch((error: unknown) => sink.failed(id, reportable(error, 'Binding')))
        .finally(() => binding.delete(id));
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(cursorTimer);
      flushCursors();
      const open = [...bindings.values()].map((b) => b.live.close());
      bindings.clear();
      await Promise.all([
        ...open,
        replaying?.close(),
        replays.then(
          (stream) => stream.close(),
          () => undefined,
        ),
      ]);
    },
  };
}
