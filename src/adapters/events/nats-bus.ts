import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, JetStreamApiError, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import type { BusMessage, BusRetention, BusSubscription, DeliveredMessage, EventBus, MessageHeaders, PublishAck, SubscribeOptions } from '../../ports/index.js';

export interface NatsBusOptions {
  url: string;
  /** The events stream; dead letters and integration messages get `<stream>_DLQ` and `<stream>_INTEGRATION`. @default 'EPRESCRIBING' */
  stream?: string;
  /**
   * Prepended to every subject on the wire (tests give each run its own prefix and streams, since
   * two streams may not share subjects). The port's callers always see unprefixed subjects.
   * @default ''
   */
  subjectPrefix?: string;
  /** @default 120_000 // 2 minutes, JetStream's default duplicate window */
  duplicateWindowMs?: number;
  /** Wait before a durable consumer's failed message is delivered again. @default 1_000 */
  redeliveryDelayMs?: number;
  /**
   * How long a durable consumer's message stays with an instance that stopped answering (crashed)
   * before it goes to another. A live handler extends it while it works. @default 30_000
   */
  ackWaitMs?: number;
  /** Called when the connection's status changes (disconnect, reconnect). */
  onStatus?: (status: string) => void;
  /** Limits of the streams rxgate creates (an existing stream keeps its own). */
  retention?: BusRetention;
}

/** The streams rxgate writes, by the first token of their subjects. */
const STREAM_SUFFIX: Record<string, string> = { eprescribing: '', dlq: '_DLQ', integration: '_INTEGRATION' };


/** The port's headers as NATS headers; none when there are none. */
function toNatsHeaders(headers: MessageHeaders | undefined): MsgHdrs | undefined {
  if (!headers || Object.keys(headers).length === 0) return undefined;
  const h = natsHeaders();
  for (const [name, value] of Object.entries(headers)) h.set(name, value);
  return h;
}

/** A delivered message's headers, without the ones NATS adds itself (`Nats-Msg-Id`, …): the publisher's only. */
function fromNatsHeaders(h: MsgHdrs | undefined): MessageHeaders | undefined {
  if (!h) return undefined;
  const out: Record<string, string> = {};
  for (const [name, values] of h) if (!/^nats-/i.test(name) && values.length > 0) out[name] = values[0];
  return Object.keys(out).length > 0 ? out : undefined;
}

/** NATS JetStream behind the `EventBus` port. Creates its streams if they do not exist. */
export async function createNatsBus(options: NatsBusOptions): Promise<EventBus & { connection: NatsConnection; streams: string[] }> {
  const base = options.stream ?? 'EPRESCRIBING';
  const prefix = options.subjectPrefix ?? '';
  const redeliveryDelayMs = options.redeliveryDelayMs ?? 1_000;
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  // noAsyncTraces: the client would otherwise build an Error (a stack trace) for every publish.
  const nc = await connect({ servers: options.url, name: 'rxgate', maxReconnectAttempts: -1, reconnectTimeWait: 500, noAsyncTraces: true });
  void (async () => {
    for await (const status of nc.status()) options.onStatus?.(status.type);
  })().catch(() => undefined);

  const jsm = await jetstreamManager(nc);
  const streams: string[] = [];
  for (const [token, suffix] of Object.entries(STREAM_SUFFIX)) {
    const name = `${base}${suffix}`;
    await ensureStream(jsm, name, `${prefix}${token}.>`, (options.duplicateWindowMs ?? 120_000) * 1_000_000, options.retention ?? { maxAgeSeconds: 604_800, maxMessages: 1_000_000 });
    streams.push(name);
  }
  const streamOf = (subjectFilter: string) => `${base}${STREAM_SUFFIX[subjectFilter.split('.')[0]] ?? ''}`;
  const js: JetStreamClient = jetstream(nc);
  const toDelivered = (m: JsMsg): DeliveredMessage => {
    const headers = fromNatsHeaders(m.headers);
    return { subject: m.subject.slice(prefix.length), seq: m.seq, data: m.data, ...(headers && { headers }) };
  };

  return {
    kind: 'nats',
    connection: nc,
    streams,

    async publish(message: BusMessage): Promise<PublishAck> {
      const headers = toNatsHeaders(message.headers);
      const ack = await js.publish(prefix + message.subject, message.data, { msgID: message.msgId, timeout: 5_000, ...(headers && { headers }) });
      return { seq: ack.seq, duplicate: ack.duplicate };
    },

    async subscribe(subjectFilter, handler, subscribeOptions: SubscribeOptions = {}): Promise<BusSubscription> {
      const stream = streamOf(subjectFilter);
      const start =
        subscribeOptions.afterSeq !== undefined
          ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: subscribeOptions.afterSeq + 1 }
          : { deliver_policy: subscribeOptions.durable ? DeliverPolicy.All : DeliverPolicy.New };
      // One subject filter (not filter_subjects): works on servers before 2.10 too.
      const consumer = subscribeOptions.durable
        ? await durableConsumer(jsm, js, stream, subscribeOptions.durable, prefix + subjectFilter, start, ackWaitMs)
        : await js.consumers.get(stream, { filter_subjects: prefix + subjectFilter, ...start });
      const messages = await consumer.consume(subscribeOptions.durable ? { max_messages: 1 } : {});
      let handling = 0;
      const done = (async () => {
        for await (const m of messages) {
          if (!subscribeOptions.durable) {
            handling = 1;
            await Promise.resolve(handler(toDelivered(m))).catch(() => undefined);
            handling = 0;
            continue;
          }
          // Long handlers (retries with backoff) keep the message theirs by reporting progress.
          const keepAlive = setInterval(() => m.working(), ackWaitMs / 3);
          try {
            await handler(toDelivered(m));
            await m.ackAck(); // confirmed by the server: a restart right after cannot redeliver it
          } catch {
            m.nak(redeliveryDelayMs);
          } finally {
            clearInterval(keepAlive);
          }
        }
      })();
      return {
        async close() {
          await messages.close();
          await done.catch(() => undefined);
        },
        async lag() {
          const info = await consumer.info();
          // A durable's delivered-but-unacknowledged messages are counted by the server, on every
          // instance; an ephemeral (ordered) consumer acknowledges nothing, so what it holds is counted
          // here (received minus taken by the loop: the iterator's getPending() miscounts when idle).
          return info.num_pending + (subscribeOptions.durable ? info.num_ack_pending : messages.getReceived() - messages.getProcessed() + handling);
        },
      };
    },

    async firstSeq(subjectFilter) {
      const { state } = await jsm.streams.info(streamOf(subjectFilter));
      return state.messages === 0 ? state.last_seq + 1 : state.first_seq;
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

async function ensureStream(jsm: JetStreamManager, name: string, subject: string, duplicateWindowNs: number, retention: BusRetention): Promise<void> {
  try {
    await jsm.streams.info(name);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.status !== 404) throw error;
    await jsm.streams.add({ name, subjects: [subject], duplicate_window: duplicateWindowNs, max_age: retention.maxAgeSeconds * 1_000_000_000, max_msgs: retention.maxMessages });
  }
}

async function durableConsumer(
  jsm: JetStreamManager,
  js: JetStreamClient,
  stream: string,
  name: string,
  filterSubject: string,
  start: { deliver_policy: DeliverPolicy; opt_start_seq?: number },
  ackWaitMs: number,
) {
  try {
    await jsm.consumers.info(stream, name);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.status !== 404) throw error;
    await jsm.consumers.add(stream, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      filter_subject: filterSubject,
      ack_wait: ackWaitMs * 1_000_000,
      max_deliver: -1,
      ...start,
    });
  }
  return js.consumers.get(stream, name);
}
