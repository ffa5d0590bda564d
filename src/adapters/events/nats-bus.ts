import { DeliverPolicy, jetstream, jetstreamManager, JetStreamApiError, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { BusMessage, BusSubscription, EventBus, PublishAck } from '../../ports/index.js';

export interface NatsBusOptions {
  url: string;
  /** @default 'EPRESCRIBING' */
  stream?: string;
  /**
   * Prepended to every subject on the wire (tests give each run its own prefix and stream, since
   * two streams may not share subjects). The port's callers always see unprefixed subjects.
   * @default ''
   */
  subjectPrefix?: string;
  /** @default 120_000 // 2 minutes, JetStream's default duplicate window */
  duplicateWindowMs?: number;
  /** Called when the connection's status changes (disconnect, reconnect). */
  onStatus?: (status: string) => void;
}

/** NATS JetStream behind the `EventBus` port. Creates the stream if it does not exist. */
export async function createNatsBus(options: NatsBusOptions): Promise<EventBus & { connection: NatsConnection; stream: string }> {
  const stream = options.stream ?? 'EPRESCRIBING';
  const prefix = options.subjectPrefix ?? '';
  const nc = await connect({ servers: options.url, name: 'rxgate', maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  void (async () => {
    for await (const status of nc.status()) options.onStatus?.(status.type);
  })().catch(() => undefined);

  const jsm = await jetstreamManager(nc);
  const subjects = [`${prefix}eprescribing.>`];
  const duplicateWindowNs = (options.duplicateWindowMs ?? 120_000) * 1_000_000;
  try {
    await jsm.streams.info(stream);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.status !== 404) throw error;
    await jsm.streams.add({ name: stream, subjects, duplicate_window: duplicateWindowNs });
  }
  const js: JetStreamClient = jetstream(nc);

  return {
    kind: 'nats',
    connection: nc,
    stream,

    async publish(message: BusMessage): Promise<PublishAck> {
      const ack = await js.publish(prefix + message.subject, message.data, { msgID: message.msgId, timeout: 5_000 });
      return { seq: ack.seq, duplicate: ack.duplicate };
    },

    async subscribe(subjectFilter, handler, subscribeOptions = {}): Promise<BusSubscription> {
      const consumer = await js.consumers.get(stream, {
        filter_subjects: prefix + subjectFilter, // one subject: works on servers before 2.10 too
        ...(subscribeOptions.afterSeq === undefined
          ? { deliver_policy: DeliverPolicy.New }
          : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: subscribeOptions.afterSeq + 1 }),
      });
      const messages = await consumer.consume();
      const done = (async () => {
        for await (const m of messages) {
          await Promise.resolve(handler({ subject: m.subject.slice(prefix.length), seq: m.seq, data: m.data })).catch(() => undefined);
        }
      })();
      return {
        async close() {
          await messages.close();
          await done.catch(() => undefined);
        },
      };
    },

    async ping() {
      if (nc.isClosed()) return false;
      try {
        await nc.flush();
        await jsm.getAccountInfo();
        return true;
      } catch {
        return false;
      }
    },

    async close() {
      await nc.drain().catch(() => nc.close());
    },
  };
}
