import { setTimeout as setTimeoutPromise } from 'node:timers/promises';
import {
  AckPolicy,
  type Consumer,
  type ConsumerMessages,
  DeliverPolicy,
  jetstream,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { connect, errors as natsErrors, headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { DomainError } from '../../domain/index.js';
import type { BusMessage, BusRetention, BusSubscription, DeliveredMessage, EventBus, MessageHeaders, PublishAck, SubscribeOptions } from '../../ports/index.js';

/** How `createNatsBus` connects and which streams it makes. */
export interface NatsBusOptions {
  /** NATS server URL (`nats://…`); the server needs JetStream. */
  url: string;
  /** The events stream; dead letters and integration messages get `<stream>_DLQ` and `<stream>_INTEGRATION`. @default 'EPRESCRIBING' */
  stream?: string;
  /**
   * Prepended to every subject on the wire (tests give each run its own prefix and streams, since
   * two streams may not share subjects). The port's callers always see unprefixed subjects.
   * @default ''
   */
  subjectPrefix?: string;
  /** JetStream drops a second publish of a message id within this window (each stream rxgate creates). @default 120_000 // 2 minutes, JetStream's default */
  duplicateWindowMs?: number;
  /** Wait before a durable consumer's failed message is delivered again. @default 1_000 */
  redeliveryDelayMs?: number;
  /**
   * How long a durable consumer's message stays with an instance that stopped answering (crashed)
   * before it goes to another. A live handler extends it while it works. @default 30_000
   */
  ackWaitMs?: number;
  /**
   * Failed attempts at re-creating a consumer (100 ms apart, doubling to 1 s), while NATS answers,
   * before it is reported to its subscriber as dead: about 10 s by default. A JetStream cluster whose
   * streams move between servers may need more; clients that fail over quickly may want to be told
   * sooner. @default 12
   */
  consumerMaxAttempts?: number;
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

/** Consumers ask for a heartbeat every second while idle: a dead one is noticed after two missed, not 30 s. */
const IDLE_HEARTBEAT_MS = 1_000;
const PULL_EXPIRES_MS = 5_000;
/** 100 ms, doubling, at most 1 s: a consumer is back within a second of JetStream answering again. */
const backoff = (failures: number) => Math.min(100 * 2 ** Math.min(failures, 10), 1_000);

/** Seconds a caller is asked to wait when NATS is away (a restart takes a few). */
const BUS_RETRY_AFTER_SECONDS = 1;

/**
 * The bus cannot take or serve a message for the moment (NATS restarting, not yet reachable, or
 * JetStream not ready): `SERVICE_UNAVAILABLE`, as the database away is, so that callers tell "not
 * now" from a refusal (a workflow action spends none of its attempts on it).
 */
export class BusUnavailableError extends DomainError {
  constructor(message = `The event bus (NATS) is unavailable for the moment; retry in ${BUS_RETRY_AFTER_SECONDS} s.`, cause?: unknown) {
    super('SERVICE_UNAVAILABLE', message, { retryAfterSeconds: BUS_RETRY_AFTER_SECONDS, cause });
    this.name = 'BusUnavailableError';
  }
}

/**
 * What the client throws when the server is away or JetStream does not answer yet, not when it
 * refused the message. Exported for its unit test.
 */
export function isUnavailable(error: unknown): boolean {
  return (
    error instanceof natsErrors.TimeoutError ||
    error instanceof natsErrors.ClosedConnectionError ||
    error instanceof natsErrors.ConnectionError ||
    error instanceof natsErrors.DrainingConnectionError ||
    error instanceof natsErrors.NoRespondersError ||
    (error instanceof natsErrors.RequestError && error.isNoResponders()) ||
    // JetStream's "no responders" (its stream leader not back yet); the class is not exported.
    (error instanceof Error && error.name === 'JetStreamNotEnabled')
  );
}

interface Supervised {
  /** Ends the current consumer so the supervisor re-creates it from the last handled position. */
  renew(): void;
  die(error: Error): void;
  close(): Promise<void>;
}

/**
 * NATS JetStream behind the `EventBus` port. Creates its streams if they do not exist. NATS may be
 * away when it starts (the gateway starts anyway and connects when NATS comes) and may restart at
 * any time: every consumer is re-created at once when the connection is back, from the last message
 * its handler took (or, for a durable, from the server's acknowledged position); a consumer that
 * cannot be re-created is reported to its subscriber (`SubscribeOptions.onEnd`), never left silent.
 */
export async function createNatsBus(options: NatsBusOptions): Promise<EventBus & { readonly connection: NatsConnection | undefined; streams: string[] }> {
  const base = options.stream ?? 'EPRESCRIBING';
  const prefix = options.subjectPrefix ?? '';
  const redeliveryDelayMs = options.redeliveryDelayMs ?? 1_000;
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  const consumerMaxAttempts = options.consumerMaxAttempts ?? 12;
  const streams = Object.values(STREAM_SUFFIX).map((suffix) => `${base}${suffix}`);
  const streamOf = (subjectFilter: string) => `${base}${STREAM_SUFFIX[subjectFilter.split('.')[0]] ?? ''}`;

  let nc: NatsConnection | undefined;
  let jsm: JetStreamManager | undefined;
  let js: JetStreamClient | undefined;
  /** Connected, and the streams are known to exist. */
  let up = false;
  let closed = false;
  const supervised = new Set<Supervised>();
  const upWaiters: Array<() => void> = [];
  /**
   * "Only new messages" subscriptions made while NATS was away, until their consumer exists: publishes
   * wait for them, so that what is published once NATS is back (the outbox's backlog) reaches them.
   */
  const pendingStarts = new Set<Promise<void>>();
  const stopWaiting = new AbortController();

  const sleep = (ms: number) => setTimeoutPromise(ms, undefined, { signal: stopWaiting.signal }).catch(() => undefined);
  const whenUp = () => (up || closed ? Promise.resolve() : new Promise<void>((resolve) => upWaiters.push(resolve)));
  const markUp = () => {
    up = true;
    for (const wake of upWaiters.splice(0)) wake();
    for (const s of supervised) s.renew();
  };

  async function ensureStreams(manager: JetStreamManager): Promise<void> {
    for (const [token, suffix] of Object.entries(STREAM_SUFFIX)) {
      await ensureStream(
        manager,
        `${base}${suffix}`,
        `${prefix}${token}.>`,
        (options.duplicateWindowMs ?? 120_000) * 1_000_000,
        options.retention ?? { maxAgeSeconds: 604_800, maxMessages: 1_000_000 },
      );
    }
  }

  /** Right after a (re)start JetStream may not answer yet: the streams are checked until it does. */
  async function streamsReady(connection: NatsConnection): Promise<void> {
    for (let failures = 0; !closed && !connection.isClosed(); failures++) {
      try {
        jsm ??= await jetstreamManager(connection);
        await ensureStreams(jsm);
        return;
      } catch (error) {
        if (failures === 0) options.onStatus?.(`jetstream unavailable: ${(error as Error).message}`);
        await sleep(backoff(failures));
      }
    }
  }

  function watch(connection: NatsConnection): void {
    void (async () => {
      for await (const status of connection.status()) {
        options.onStatus?.(status.type);
        if (status.type === 'disconnect') up = false;
        if (status.type === 'reconnect') {
          await streamsReady(connection);
          if (!connection.isClosed() && !closed) markUp();
        }
      }
    })().catch(() => undefined);
    void connection.closed().then(() => {
      up = false;
      if (closed) return;
      const error = new BusUnavailableError('The connection to NATS was closed for good.');
      for (const s of supervised) s.die(error);
    });
  }

  async function open(): Promise<boolean> {
    try {
      // noAsyncTraces: the client would otherwise build an Error (a stack trace) for every publish.
      nc = await connect({ servers: options.url, name: 'rxgate', maxReconnectAttempts: -1, reconnectTimeWait: 500, noAsyncTraces: true });
    } catch {
      return false;
    }
    if (closed) {
      await nc.close();
      return true;
    }
    js = jetstream(nc);
    watch(nc);
    await streamsReady(nc);
    if (!closed && !nc.isClosed()) markUp();
    return true;
  }

  // NATS may be away at start: the gateway starts anyway (its readiness says the bus is down) and
  // connects when NATS comes.
  if (!(await open())) {
    options.onStatus?.('unavailable; connecting in the background');
    void (async () => {
      while (!closed && !(await open())) await sleep(500);
    })();
  }

  const readyToPublish = async () => {
    if (!up || !js) throw new BusUnavailableError(); // the outbox keeps it; the relay retries
    if (pendingStarts.size > 0) await Promise.race([Promise.all(pendingStarts), sleep(2_000)]);
  };

  /** One publish; with `lastMsgId`, JetStream refuses it unless the stream's last message has that id. */
  const publishOne = async (message: BusMessage, lastMsgId?: string): Promise<PublishAck> => {
    if (!js) throw new BusUnavailableError();
    const headers = toNatsHeaders(message.headers);
    try {
      const ack = await js.publish(prefix + message.subject, message.data, {
        msgID: message.msgId,
        timeout: 5_000,
        ...(headers && { headers }),
        ...(lastMsgId !== undefined && { expect: { lastMsgID: lastMsgId } }),
      });
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (error) {
      throw isUnavailable(error) ? new BusUnavailableError(undefined, error) : error;
    }
  };

  const toDelivered = (m: JsMsg): DeliveredMessage => {
    const headers = fromNatsHeaders(m.headers);
    return { subject: m.subject.slice(prefix.length), seq: m.seq, data: m.data, ...(headers && { headers }) };
  };

  return {
    kind: 'nats',
    get connection() {
      return nc;
    },
    streams,

    async publish(message: BusMessage): Promise<PublishAck> {
      await readyToPublish();
      return publishOne(message);
    },

    async publishAll(messages: readonly BusMessage[]): Promise<PublishAck[]> {
      await readyToPublish();
      // Sent together, each expecting the stream's last message to be the one before it: the server
      // takes them in order, so one it did not keep (or another publisher's in between) fails every
      // later one, and the order holds without a round trip per message.
      const sent = await Promise.allSettled(messages.map((message, i) => publishOne(message, messages[i - 1]?.msgId)));
      const acks: PublishAck[] = [];
      for (const outcome of sent) {
        if (outcome.status === 'rejected') break;
        acks.push(outcome.value);
      }
      // The rest one by one, as `publish` would (a repeat of one kept meanwhile is dropped).
      for (const message of messages.slice(acks.length)) acks.push(await publishOne(message));
      return acks;
    },

    async subscribe(subjectFilter, handler, subscribeOptions: SubscribeOptions = {}): Promise<BusSubscription> {
      const stream = streamOf(subjectFilter);
      const durable = subscribeOptions.durable;
      /** The last stream position the handler took; re-created consumers start after it. */
      let last = subscribeOptions.afterSeq;
      let consumer: Consumer | undefined;
      let messages: ConsumerMessages | undefined;
      let handling = 0;
      let stopped = false;
      let ended: Error | undefined;
      let established!: () => void;
      const firstEstablished = new Promise<void>((resolve) => (established = resolve));

      const create = async (): Promise<Consumer> => {
        if (durable) {
          const start = last !== undefined ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: last + 1 } : { deliver_policy: DeliverPolicy.All };
          return durableConsumer(jsm!, js!, stream, durable, prefix + subjectFilter, start, ackWaitMs);
        }
        const { state } = await jsm!.streams.info(stream);
        if (last === undefined)
          last = state.last_seq; // "only new ones": from here on, through every re-creation
        else if (state.messages > 0 && state.first_seq > last + 1) {
          throw Object.assign(new Error(`events after position ${last} are no longer kept (the oldest kept is ${state.first_seq})`), { final: true });
        }
        // One subject filter (not filter_subjects): works on servers before 2.10 too.
        return js!.consumers.get(stream, { filter_subjects: prefix + subjectFilter, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: last + 1 });
      };

      const supervisor: Supervised = {
        renew: () => void messages?.close(),
        die(error) {
          if (stopped) return;
          ended = error;
          stopped = true;
          void messages?.close();
        },
        close: async () => {
          stopped = true;
          await messages?.close();
          await running;
        },
      };

      const handle = async (m: JsMsg) => {
        if (!durable) {
          handling = 1;
          await Promise.resolve(handler(toDelivered(m))).catch(() => undefined);
          handling = 0;
          last = m.seq;
          return;
        }
        // Long handlers (retries with backoff) keep the message theirs by reporting progress.
        const keepAlive = setInterval(() => m.working(), ackWaitMs / 3);
        try {
          await handler(toDelivered(m));
          await m.ackAck(); // confirmed by the server: a restart right after cannot redeliver it
          last = m.seq;
        } catch {
          m.nak(redeliveryDelayMs);
        } finally {
          clearInterval(keepAlive);
        }
      };

      const running = (async () => {
        let failures = 0;
        while (!stopped) {
          await whenUp();
          if (stopped || closed) break;
          let current: ConsumerMessages;
          try {
            consumer = await create();
            // A durable holds one message while its handler works (retries and all): no pull, hence no
            // heartbeat, is outstanding meanwhile, so it is renewed on reconnect only.
            current = await consumer.consume(durable ? { max_messages: 1 } : { idle_heartbeat: IDLE_HEARTBEAT_MS, expires: PULL_EXPIRES_MS });
          } catch (error) {
            failures++;
            if ((error as { final?: boolean }).final || (up && failures >= consumerMaxAttempts)) {
              supervisor.die(error as Error);
              break;
            }
            await sleep(backoff(failures));
            continue;
          }
          failures = 0;
          messages = current;
          established();
          if (stopped) await current.close();
          // Two missed heartbeats: the consumer is gone (a restart) or stalled; a new one is made at once.
          void (async () => {
            for await (const note of current.status()) if (note.type === 'heartbeats_missed' && note.count >= 2) void current.close();
          })().catch(() => undefined);
          try {
            for await (const m of current) {
              if (ended) break;
              await handle(m);
            }
          } catch {
            // the consumer failed: it is re-created below, from the last handled position
          }
          messages = undefined;
          if (!durable && consumer) void consumer.delete().catch(() => undefined); // ephemeral: not left to expire
        }
        supervised.delete(supervisor);
        if (ended) subscribeOptions.onEnd?.(ended);
      })();
      supervised.add(supervisor);
      if (!up && !durable && last === undefined) {
        const started = Promise.race([firstEstablished, running]).finally(() => pendingStarts.delete(started));
        pendingStarts.add(started);
      }
      // Connected: the consumer exists when this resolves (a message published after it is delivered).
      // Not connected: it is made when NATS is back.
      if (up) await Promise.race([firstEstablished, running]);

      return {
        close: () => supervisor.close(),
        async lag() {
          if (!consumer || !messages || !up) throw new BusUnavailableError();
          const info = await consumer.info();
          // A durable's delivered-but-unacknowledged messages are counted by the server, on every
          // instance; an ephemeral (ordered) consumer acknowledges nothing, so what it holds is counted
          // here (received minus taken by the loop: the iterator's getPending() miscounts when idle).
          return info.num_pending + (durable ? info.num_ack_pending : messages.getReceived() - messages.getProcessed() + handling);
        },
      };
    },

    async firstSeq(subjectFilter) {
      if (!up || !jsm) throw new BusUnavailableError();
      const { state } = await jsm.streams.info(streamOf(subjectFilter));
      return state.messages === 0 ? state.last_seq + 1 : state.first_seq;
    },

    async ping() {
      if (!up || !nc || nc.isClosed() || !jsm) return false;
      try {
        await nc.flush();
        await jsm.getAccountInfo();
        return true;
      } catch {
        return false;
      }
    },

    async close() {
      closed = true;
      stopWaiting.abort();
      for (const wake of upWaiters.splice(0)) wake();
      await Promise.all([...supervised].map((s) => s.close()));
      if (nc) await nc.drain().catch(() => nc!.close());
    },
  };
}

async function ensureStream(jsm: JetStreamManager, name: string, subject: string, duplicateWindowNs: number, retention: BusRetention): Promise<void> {
  try {
    await jsm.streams.info(name);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.status !== 404) throw error;
    await jsm.streams.add({
      name,
      subjects: [subject],
      duplicate_window: duplicateWindowNs,
      max_age: retention.maxAgeSeconds * 1_000_000_000,
      max_msgs: retention.maxMessages,
    });
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
    const { config } = await jsm.consumers.info(stream, name);
    // Consumers made before one-at-a-time delivery keep their config on the server until told.
    if (config.max_ack_pending !== 1) await jsm.consumers.update(stream, name, { max_ack_pending: 1 });
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.status !== 404) throw error;
    await jsm.consumers.add(stream, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      filter_subject: filterSubject,
      ack_wait: ackWaitMs * 1_000_000,
      max_deliver: -1,
      // One message in flight across every instance: a durable's handler sees the stream in order
      // (a saga's compensation must see the actions of earlier events settled, even when another
      // instance ran them or one of them is being retried), as the embedded bus's single holder does.
      max_ack_pending: 1,
      ...start,
    });
  }
  return js.consumers.get(stream, name);
}
