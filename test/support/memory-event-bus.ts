import { subjectMatches } from '../../src/adapters/events/subject-filter.js';
import type { BusMessage, BusSubscription, DeliveredMessage, EventBus, PublishAck, SubscribeOptions } from '../../src/ports/index.js';

/**
 * An in-memory `EventBus` for unit tests: one ordered stream, deduplicated by `msgId`, replayable
 * from any position; each subscription gets its messages in order, one at a time (its handler's
 * promise is awaited, so a handler that waits holds the ones after it). Ephemeral subscriptions only.
 */
export function createMemoryEventBus(): EventBus & { published(): number } {
  const stream: DeliveredMessage[] = [];
  const seen = new Map<string, number>();
  const subscribers = new Set<{ filter: string; deliver(message: DeliveredMessage): void }>();

  const bus: EventBus & { published(): number } = {
    kind: 'embedded',
    published: () => stream.length,
    async publishAll(messages: readonly BusMessage[]): Promise<PublishAck[]> {
      const acks: PublishAck[] = [];
      for (const message of messages) acks.push(await bus.publish(message));
      return acks;
    },
    async publish(message: BusMessage): Promise<PublishAck> {
      const known = seen.get(message.msgId);
      if (known !== undefined) return { seq: known, duplicate: true };
      const delivered: DeliveredMessage = { subject: message.subject, seq: stream.length + 1, data: message.data, headers: message.headers };
      stream.push(delivered);
      seen.set(message.msgId, delivered.seq);
      for (const subscriber of subscribers) if (subjectMatches(subscriber.filter, delivered.subject)) subscriber.deliver(delivered);
      return { seq: delivered.seq, duplicate: false };
    },
    async subscribe(filter: string, handler: (message: DeliveredMessage) => Promise<void> | void, options: SubscribeOptions = {}): Promise<BusSubscription> {
      if (options.durable) throw new Error('the memory bus has no durable consumers');
      let closed = false;
      let chain = Promise.resolve();
      let pending = 0;
      const subscriber = {
        filter,
        deliver(message: DeliveredMessage) {
          pending++;
          chain = chain
            .then(() => (closed ? undefined : handler(message)))
            .catch(() => undefined) // an ephemeral consumer skips a message whose handler threw
            .finally(() => pending--);
        },
      };
      if (options.afterSeq !== undefined)
        for (const message of stream.slice(options.afterSeq)) if (subjectMatches(filter, message.subject)) subscriber.deliver(message);
      subscribers.add(subscriber);
      return {
        async close() {
          closed = true;
          subscribers.delete(subscriber);
        },
        lag: async () => pending,
      };
    },
    firstSeq: async () => 1,
    ping: async () => true,
    async close() {
      subscribers.clear();
    },
  };
  return bus;
}
