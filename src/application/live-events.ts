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
  /** Resume: every matching event after this stream position, then live ones, in one stream with no gap or repeat (replayed until it meets the fan-out). */
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

  /** Events it can take now without refusing one. */
  room(): number {
    return this.limit - this.items.length;
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

/** A resuming subscriber's replay, until it meets the fan-out. */
interface Resuming {
  /** The fan-out offers the subscriber every event after this position, the replay delivers those up to it; undefined until the fan-out has a position. */
  handOverAt: number | undefined;
  /** What the fan-out offered after `handOverAt`, in stream order, queued at the hand-over. */
  held: LiveEvent[];
  /** The replay's own consumer. */
  consumer?: Promise<BusSubscription | undefined>;
}

/**
 * Live fan-out of one instance: a single consumer of the event stream hands every event to the
 * local subscribers of its tenant. A subscriber that resumes from a cursor replays from a consumer of
 * its own only until it meets the fan-out, then is served by the fan-out like any other (see
 * `subscribe`). A live subscriber that cannot keep up is cut off (`onOverflow`) rather than slowing
 * the others; a replaying one waits for room instead.
 */
export function createLiveEvents(options: { bus: EventBus; logger: Logger }) {
  const byTenant = new Map<string, TenantSubscribers>();
  let shared: BusSubscription | undefined;
  let stopped = false;
  let delivered = 0;
  let dropped = 0;
  /** Replay consumers open (subscribers that resumed and have not met the fan-out yet). */
  let replaying = 0;
  /** The stream position of the last message the shared consumer took; undefined before its first. */
  let position: number | undefined;
  /** Resuming subscribers that joined before the shared consumer took a message: its first one fixes where they meet it. */
  const unanchored = new Set<(seq: number) => void>();
  const closings = new Set<Promise<void>>();

  const fanOut = (message: DeliveredMessage) => {
    // Set before anything is offered: a subscriber that meets the fan-out now is offered everything after it.
    for (const anchor of unanchored) anchor(message.seq - 1);
    unanchored.clear();
    position = message.seq;
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
    // The new consumer starts at the stream's end: what it covers is known from its first message only.
    position = undefined;
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

  /** Closes a replay consumer (not awaited by its own handler: the bus waits for the handler to return before it closes). */
  const closeReplay = (consumer: Promise<BusSubscription | undefined>) => {
    const closing = consumer
      .then((c) => c?.close())
      .catch((error: unknown) => options.logger.warn({ err: error }, 'live replay consumer did not close cleanly'))
      .finally(() => {
        replaying--;
        closings.delete(closing);
      });
    closings.add(closing);
    return closing;
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
      await Promise.all(closings);
    },

    stats: () => ({ subscribers: [...byTenant.values()].reduce((n, s) => n + s.size, 0), replaying, delivered, dropped }),

    /** Lag of the shared fan-out consumer (not of the per-subscriber replay consumers); 0 before start. */
    lag: (): Promise<number> => shared?.lag() ?? Promise.resolve(0),

    /**
     * A subscriber joins the fan-out at once. One that resumes (`after`) also replays from a consumer of
     * its own, while the fan-out holds what it offers it; they meet at `handOverAt`: the fan-out offers
     * it every event after that position, the replay delivers every one up to it. When the replay gets
     * there (or past it), what the fan-out held is queued and the replay consumer closed. Nothing at or
     * before the last position delivered is delivered again, so the stream it sees stays strictly
     * increasing whichever of the two is ahead.
     */
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
      }
      /** The last position the subscriber has (delivered, or its cursor). */
      let last = subscribe.after ?? 0;
      let resuming: Resuming | undefined;

      /** The fan-out covers this subscriber after its current position: the replay goes that far, and what was held is its to deliver. */
      const meetLater = () => {
        resuming!.held = [];
        resuming!.handOverAt = position;
        if (position === undefined) unanchored.add(anchor);
      };
      const anchor = (seq: number) => {
        if (resuming && resuming.handOverAt === undefined) resuming.handOverAt = seq;
      };
      /** Queues what the fan-out held and ends the replay; without room for all of it now, the replay goes on to the fan-out's position instead. */
      const handOver = (): boolean => {
        const due = resuming!.held.filter((e) => e.seq > last);
        if (due.length > queue.room()) {
          meetLater();
          return false;
        }
        for (const event of due) {
          queue.push(event);
          last = event.seq;
          delivered++;
        }
        const { consumer } = resuming!;
        resuming = undefined;
        if (consumer) void closeReplay(consumer);
        return true;
      };

      const subscriber: LiveSubscriber = {
        deliver(event: LiveEvent) {
          if (queue.ended || event.seq <= last || !subscribe.matches(event)) return;
          if (resuming) {
            if (resuming.handOverAt === undefined) return; // not anchored: the replay delivers it
            resuming.held.push(event);
            // Held beyond its buffer: dropped, the replay goes that far instead (it may wait for room).
            if (resuming.held.length > subscribe.bufferSize) meetLater();
            return;
          }
          if (queue.push(event)) {
            last = event.seq;
            delivered++;
            return;
          }
          dropped++;
          remove();
          queue.end();
          subscribe.onOverflow();
        },
        end: () => close(),
        interrupt(error: DomainError) {
          interrupt(queue, subscribe, error); // first: it tells the subscriber unless its queue already ended
          void close();
        },
      };
      const remove = () => {
        const tenant = byTenant.get(subscribe.tenantId);
        tenant?.remove(subscriber, subscribe.indexKey);
        if (tenant?.size === 0) byTenant.delete(subscribe.tenantId);
      };
      const close = async () => {
        remove();
        queue.end();
        unanchored.delete(anchor);
        const consumer = resuming?.consumer;
        resuming = undefined;
        if (consumer) await closeReplay(consumer);
      };

      if (!byTenant.has(subscribe.tenantId)) byTenant.set(subscribe.tenantId, new TenantSubscribers());
      byTenant.get(subscribe.tenantId)!.add(subscriber, subscribe.indexKey);
      if (subscribe.after === undefined || (position !== undefined && subscribe.after >= position)) return subscription(queue, close);

      const resume: Resuming = (resuming = { handOverAt: undefined, held: [] });
      meetLater();
      const replay = async (message: DeliveredMessage) => {
        if (resuming !== resume || queue.ended) return; // handed over: its consumer is closing
        // Past where they meet: the fan-out has (or will offer) this one. Refused, the replay meets the
        // fan-out at its position; when that is behind this message, nothing is held and it cannot refuse.
        while (resume.handOverAt !== undefined && message.seq > resume.handOverAt) if (handOver()) return;
        const event = decode(message);
        if (event && event.seq > last && event.envelope.metadata.tenantId === subscribe.tenantId && subscribe.matches(event)) {
          // Only the hand-over is in the span: waiting for room is the subscriber's pace, not work.
          consumeSpan('live replay', message, { 'rxgate.event_id': event.envelope.metadata.eventId }, () => (event.trace = recordingContext()));
          await queue.pushWaiting(event);
          if (resuming !== resume || queue.ended) return;
          last = event.seq;
          delivered++;
        }
        // At where they meet (refused, the fan-out has moved past it: the replay goes on to its position).
        if (resume.handOverAt !== undefined && message.seq >= resume.handOverAt) handOver();
      };
      replaying++;
      // Every event of the stream, as the fan-out reads it (not only the tenant's): the replay reaches the
      // fan-out's position even when that is another tenant's event.
      resume.consumer = options.bus.subscribe('eprescribing.>', replay, {
        afterSeq: subscribe.after,
        onEnd: (error) => {
          if (resuming !== resume) return;
          subscriber.interrupt(liveInterrupted(error));
        },
      });
      try {
        await resume.consumer;
      } catch (error) {
        resume.consumer = Promise.resolve(undefined);
        await close();
        throw error;
      }
      return subscription(queue, close);
    },
  };
}

/** The live fan-out of one instance (see {@link createLiveEvents}). */
export type LiveEvents = ReturnType<typeof createLiveEvents>;
