import type { Logger } from 'pino';
import { DomainError, type EventEnvelope } from '../domain/index.js';
import type { BusSubscription, DeliveredMessage, EventBus } from '../ports/index.js';
import { consumeSpan, type Context, recordingContext } from '../tracing.js';

/** An event as a live subscriber sees it: the envelope and its position in the stream (the cursor). */
export interface LiveEvent {
  seq: number;
  envelope: EventEnvelope;
  /** The trace context of the consumer span that received it, when traced: a delivery continues it. */
  trace?: Context;
}

/**
 * A condition every event a subscriber wants meets (implied by its `matches`): the fan-out indexes
 * subscribers by it, so an event only reaches the subscribers of its key instead of all of its tenant.
 */
export type LiveIndexKey = { field: 'patientId' | 'pharmacyId' | 'medicationRequestId' | 'eventType'; value: string };

/** What a live subscriber wants (`LiveEvents.subscribe`) and how it is told its events ended. */
export interface LiveSubscribeOptions {
  /** The subscriber's tenant: only its events are considered. */
  tenantId: string;
  /** Whether the subscriber wants this event (its filter). */
  matches(event: LiveEvent): boolean;
  /** What `matches` requires, when it requires one value of one field (indexing only; `matches` still decides). */
  indexKey?: LiveIndexKey;
  /** Resume: every matching event after this stream position, then live ones, from one consumer (no seam). */
  after?: number;
  /** Events that may wait for a slow subscriber before it is cut off. */
  bufferSize: number;
  /** Called once when a live subscriber's buffer overflowed; the subscription has ended. */
  onOverflow(): void;
  /**
   * Called once when the subscription's events stopped for good (the bus lost its consumer and could
   * not make it again): the iteration ends after what was queued, and the subscriber may resume with
   * the cursor of the last event it received. Without it, `onOverflow` is called: either way the
   * subscriber is told, never left waiting in silence.
   */
  onInterrupted?(error: DomainError): void;
}

/** What a subscriber is told when its events stopped; it resumes from its last cursor. */
export const liveInterrupted = (cause: unknown) =>
  new DomainError(
    'SERVICE_UNAVAILABLE',
    'Live events were interrupted (the event bus lost this subscription); subscribe again with `after` set to the sequence of the last event you received.',
    {
      retryAfterSeconds: 1,
      cause,
    },
  );

/** A subscriber's events in stream order, iterated until it ends or is closed. */
export interface LiveSubscription extends AsyncIterable<LiveEvent> {
  /** Ends the subscription (the iteration ends too). */
  close(): Promise<void>;
}

/** Iterating to the end, or stopping early (`return`), closes the subscription. */
function subscription(queue: EventQueue, close: () => Promise<void>): LiveSubscription {
  return {
    close,
    [Symbol.asyncIterator]() {
      const inner = queue[Symbol.asyncIterator]();
      return {
        next: () => inner.next(),
        return: async () => {
          await close();
          return { value: undefined, done: true };
        },
      };
    },
  };
}

/** Subject of every event of one tenant: `{eventType}.{tenantId}` with eventType `eprescribing.<resource>.<change>.v1`. */
export const tenantEvents = (tenantId: string) => `eprescribing.*.*.*.${tenantId}`;

const decode = (message: DeliveredMessage): LiveEvent | undefined => {
  try {
    const envelope = JSON.parse(Buffer.from(message.data).toString('utf8')) as EventEnvelope;
    return envelope?.metadata?.eventId ? { seq: message.seq, envelope } : undefined;
  } catch {
    return undefined;
  }
};

/** A bounded queue read as an async iterable; `push` refuses (answers false) when full. */
class EventQueue implements AsyncIterable<LiveEvent> {
  private readonly items: LiveEvent[] = [];
  private waiting?: (value: IteratorResult<LiveEvent>) => void;
  private spaceWaiters: Array<() => void> = [];
  ended = false;

  constructor(private readonly limit: number) {}

  push(event: LiveEvent): boolean {
    if (this.ended) return true;
    if (this.waiting) {
      const wake = this.waiting;
      this.waiting = undefined;
      wake({ value: event, done: false });
      return true;
    }
    if (this.items.length >= this.limit) return false;
    this.items.push(event);
    return true;
  }

  /** Waits for room instead of refusing (a subscriber's own replay consumer may wait). */
  async pushWaiting(event: LiveEvent): Promise<void> {
    while (!this.ended && !this.push(event)) await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
  }

  end(): void {
    this.ended = true;
    this.waiting?.({ value: undefined, done: true });
    this.waiting = undefined;
    for (const wake of this.spaceWaiters.splice(0)) wake();
  }

  [Symbol.asyncIterator](): AsyncIterator<LiveEvent> {
    return {
      next: () => {
        const item = this.items.shift();
        if (item) {
          this.spaceWaiters.shift()?.();
          return Promise.resolve({ value: item, done: false });
        }
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.waiting = resolve));
      },
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

interface LiveSubscriber {
  deliver(event: LiveEvent): void;
  end(): void;
  interrupt(error: DomainError): void;
}

const INDEXED_FIELDS = ['patientId', 'pharmacyId', 'medicationRequestId'] as const;

/**
 * The live subscribers of one tenant, indexed by what they require of an event: an event is offered
 * to the unindexed ones and to those whose key it carries — its cost grows with the subscribers it
 * may match, not with all of them. Each subscriber is in exactly one place, so it is offered an
 * event at most once; insertion order is kept within each place.
 */
class TenantSubscribers {
  private readonly unindexed = new Set<LiveSubscriber>();
  private readonly indexed = new Map<LiveIndexKey['field'], Map<string, Set<LiveSubscriber>>>();
  size = 0;

  add(subscriber: LiveSubscriber, key: LiveIndexKey | undefined): void {
    const set = key ? this.bucket(key, true)! : this.unindexed;
    if (set.has(subscriber)) return;
    set.add(subscriber);
    this.size++;
  }

  remove(subscriber: LiveSubscriber, key: LiveIndexKey | undefined): void {
    const set = key ? this.bucket(key, false) : this.unindexed;
    if (!set?.delete(subscriber)) return;
    this.size--;
    if (key && set.size === 0) this.indexed.get(key.field)!.delete(key.value);
  }

  /** The subscribers that may want this event (their own `matches` decides). */
  candidates(event: LiveEvent): LiveSubscriber[] {
    const out = [...this.unindexed];
    if (this.indexed.size === 0) return out;
    const { metadata, payload } = event.envelope;
    const take = (field: LiveIndexKey['field'], value: unknown) => {
      if (typeof value !== 'string') return;
      const set = this.indexed.get(field)?.get(value);
      if (set) for (const s of set) out.push(s);
    };
    take('eventType', metadata.eventType);
    for (const field of INDEXED_FIELDS) take(field, payload[field]);
    return out;
  }

  all(): LiveSubscriber[] {
    const out = [...this.unindexed];
    for (const byValue of this.indexed.values()) for (const set of byValue.values()) out.push(...set);
    return out;
  }

  private bucket(key: LiveIndexKey, create: boolean): Set<LiveSubscriber> | undefined {
    let byValue = this.indexed.get(key.field);
    if (!byValue) {
      if (!create) return undefined;
      this.indexed.set(key.field, (byValue = new Map()));
    }
    let set = byValue.get(key.value);
    if (!set && create) byValue.set(key.value, (set = new Set()));
    return set;
  }
}

/** Ends a subscription whose events stopped, and tells its subscriber (once). */
function interrupt(queue: EventQueue, subscribe: LiveSubscribeOptions, error: DomainError): void {
  if (queue.ended) return;
  queue.end();
  if (subscribe.onInterrupted) subscribe.onInterrupted(error);
  else subscribe.onOverflow();
}

/**
 * Live fan-out of one instance: a single consumer of the event stream hands every event to the
 * local subscribers of its tenant. A subscriber that resumes from a cursor gets a consumer of its
 * own from that position instead, so replay and live form one ordered stream with no seam. A live
 * subscriber that cannot keep up is cut off (`onOverflow`) rather than slowing the others.
 */
export function createLiveEvents(options: { bus: EventBus; logger: Logger }) {
  const byTenant = new Map<string, TenantSubscribers>();
  let shared: BusSubscription | undefined;
  let stopped = false;
  let delivered = 0;
  let dropped = 0;

  const fanOut = (message: DeliveredMessage) => {
    const event = decode(message);
    if (!event) return;
    const tenant = byTenant.get(event.envelope.metadata.tenantId);
    const candidates = tenant ? tenant.candidates(event) : [];
    consumeSpan(
      'live fan-out',
      message,
      { 'rxgate.event_id': event.envelope.metadata.eventId, 'rxgate.live.subscribers': tenant?.size ?? 0, 'rxgate.live.candidates': candidates.length },
      () => {
        event.trace = recordingContext();
        for (const subscriber of candidates) subscriber.deliver(event);
      },
    );
  };

  /**
   * The shared consumer lost for good: its subscribers are told (they resume with their cursors), and
   * a new shared consumer is made for those who come next.
   */
  const onSharedEnd = (error: Error) => {
    options.logger.error({ err: error }, 'live fan-out consumer ended; subscribers told to resume, starting a new one');
    const interrupted = liveInterrupted(error);
    for (const subscribers of byTenant.values()) for (const s of subscribers.all()) s.interrupt(interrupted);
    shared = undefined;
    void (async () => {
      for (let attempt = 0; !stopped && !shared; attempt++) {
        try {
          shared = await options.bus.subscribe('eprescribing.>', fanOut, { onEnd: onSharedEnd });
        } catch (failure) {
          if (attempt === 0) options.logger.warn({ err: failure }, 'live fan-out consumer could not be made; retrying');
          await new Promise((resolve) => setTimeout(resolve, 1_000).unref());
        }
      }
    })();
  };

  return {
    async start(): Promise<void> {
      shared = await options.bus.subscribe('eprescribing.>', fanOut, { onEnd: onSharedEnd });
    },

    async stop(): Promise<void> {
      stopped = true;
      await shared?.close();
      for (const subscribers of byTenant.values()) for (const s of subscribers.all()) s.end();
      byTenant.clear();
    },

    stats: () => ({ subscribers: [...byTenant.values()].reduce((n, s) => n + s.size, 0), delivered, dropped }),

    /** Lag of the shared fan-out consumer (not of the per-subscriber replay consumers); 0 before start. */
    lag: (): Promise<number> => shared?.lag() ?? Promise.resolve(0),

    async subscribe(subscribe: LiveSubscribeOptions): Promise<LiveSubscription> {
      const queue = new EventQueue(subscribe.bufferSize);
      if (subscribe.after !== undefined) {
        // Retention drops positions of the whole stream, whoever's they were: a cursor is expired when the
        // stream no longer keeps the position after it — not when this tenant's first event is later.
        const first = await options.bus.firstSeq('eprescribing.>');
        if (subscribe.after + 1 < first) {
          throw new DomainError(
            'CURSOR_EXPIRED',
            `Events after cursor ${subscribe.after} are no longer kept (the oldest kept is ${first}); start again without a cursor.`,
          );
        }
        const own = await options.bus.subscribe(
          tenantEvents(subscribe.tenantId),
          async (message) => {
            const event = decode(message);
            if (event && subscribe.matches(event)) {
              // Only the hand-over is in the span: waiting for room is the subscriber's pace, not work.
              consumeSpan('live replay', message, { 'rxgate.event_id': event.envelope.metadata.eventId }, () => (event.trace = recordingContext()));
              await queue.pushWaiting(event);
              delivered++;
            }
          },
          { afterSeq: subscribe.after, onEnd: (error) => interrupt(queue, subscribe, liveInterrupted(error)) },
        );
        return subscription(queue, async () => {
          queue.end();
          await own.close();
        });
      }

      const subscriber = {
        deliver(event: LiveEvent) {
          if (queue.ended || !subscribe.matches(event)) return;
          if (queue.push(event)) {
            delivered++;
            return;
          }
          dropped++;
          remove();
          queue.end();
          subscribe.onOverflow();
        },
        end: () => queue.end(),
        interrupt(error: DomainError) {
          remove();
          interrupt(queue, subscribe, error);
        },
      };
      const remove = () => {
        const tenant = byTenant.get(subscribe.tenantId);
        tenant?.remove(subscriber, subscribe.indexKey);
        if (tenant?.size === 0) byTenant.delete(subscribe.tenantId);
      };
      if (!byTenant.has(subscribe.tenantId)) byTenant.set(subscribe.tenantId, new TenantSubscribers());
      byTenant.get(subscribe.tenantId)!.add(subscriber, subscribe.indexKey);
      return subscription(queue, async () => {
        remove();
        queue.end();
      });
    },
  };
}

/** The live fan-out of one instance (see {@link createLiveEvents}). */
export type LiveEvents = ReturnType<typeof createLiveEvents>;
