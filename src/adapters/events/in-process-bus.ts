import type { BusMessage, BusSubscription, DeliveredMessage, EventBus, PublishAck } from '../../ports/index.js';
import { subjectMatches } from './subject-filter.js';

export interface InProcessBusOptions {
  /** Messages kept for replay; older ones are dropped like a stream's `max_msgs` limit. @default 100_000 */
  maxMessages?: number;
  /** Window in which a repeated `msgId` is dropped, as JetStream's `duplicate_window`. @default 120_000 // 2 minutes */
  duplicateWindowMs?: number;
}

interface Stored extends DeliveredMessage {
  msgId: string;
}

/**
 * The event stream of the embedded runtime: one ordered log in memory with JetStream's
 * guarantees that rxgate relies on — stream order, dedupe by message id, replay from a position,
 * and one in-order delivery at a time per subscriber (a slow handler delays only itself).
 */
export function createInProcessBus(options: InProcessBusOptions = {}): EventBus {
  const maxMessages = options.maxMessages ?? 100_000;
  const duplicateWindowMs = options.duplicateWindowMs ?? 120_000;
  const log: Stored[] = [];
  let lastSeq = 0;
  const recentIds = new Map<string, { seq: number; at: number }>();
  const subscribers = new Set<{ wake: () => void }>();
  let closed = false;

  const firstIndexAfter = (seq: number): number => {
    // log is sorted by seq with no gaps, so the index is arithmetic.
    if (log.length === 0) return 0;
    return Math.max(0, seq - log[0].seq + 1);
  };

  return {
    kind: 'in-process',

    async publish(message: BusMessage): Promise<PublishAck> {
      if (closed) throw new Error('event bus is closed');
      const now = Date.now();
      const seen = recentIds.get(message.msgId);
      if (seen && now - seen.at < duplicateWindowMs) return { seq: seen.seq, duplicate: true };
      const seq = ++lastSeq;
      log.push({ seq, subject: message.subject, data: message.data, msgId: message.msgId });
      recentIds.set(message.msgId, { seq, at: now });
      if (log.length > maxMessages) log.splice(0, log.length - maxMessages);
      if (recentIds.size > 10_000) for (const [id, entry] of recentIds) if (now - entry.at >= duplicateWindowMs) recentIds.delete(id);
      for (const subscriber of subscribers) subscriber.wake();
      return { seq, duplicate: false };
    },

    async subscribe(subjectFilter, handler, subscribeOptions = {}): Promise<BusSubscription> {
      let position = subscribeOptions.afterSeq ?? lastSeq;
      let running = false;
      let stopped = false;
      const pump = async () => {
        if (running) return;
        running = true;
        try {
          while (!stopped) {
            const index = firstIndexAfter(position);
            if (index >= log.length) break;
            const message = log[index];
            position = message.seq;
            if (!subjectMatches(subjectFilter, message.subject)) continue;
            // A handler owns its failures (retries, dead letters); one that throws does not stop the stream.
            await Promise.resolve(handler({ subject: message.subject, seq: message.seq, data: message.data })).catch(() => undefined);
          }
        } finally {
          running = false;
        }
      };
      const subscriber = { wake: () => void pump().catch(() => undefined) };
      subscribers.add(subscriber);
      subscriber.wake();
      return {
        async close() {
          stopped = true;
          subscribers.delete(subscriber);
        },
      };
    },

    async ping() {
      return !closed;
    },

    async close() {
      closed = true;
      subscribers.clear();
    },
  };
}
