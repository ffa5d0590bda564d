import { AckPolicy, DeliverPolicy, jetstream, JetStreamApiError, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import type { BusRetention, BusSubscription, CommandSource, InboundCommand, MessageHeaders } from '../../ports/index.js';

/** The commands stream and its consumer (`createNatsCommandSource`). */
export interface NatsCommandSourceOptions {
  /** The bus's connection (the commands stream lives beside the events stream). */
  connection: NatsConnection;
  /** The commands stream. @default 'EPRESCRIBING_COMMANDS' */
  stream?: string;
  /** Prepended to the subjects on the wire, as for the events stream (tests isolate runs with it). @default '' */
  subjectPrefix?: string;
  /** The durable consumer, one per deployment: every instance shares it. @default 'rxgate-commands' */
  consumer?: string;
  /**
   * JetStream drops a second publish of a command id within this window (the gateway's own record
   * of command ids covers the time after it). At least 100 ms (a server limit).
   * @default 120_000 // 2 minutes, JetStream's default
   */
  duplicateWindowMs?: number;
  /** Deliveries of a command whose handling keeps failing unexpectedly; the last one is told so. @default 5 */
  maxDeliveries?: number;
  /** Wait before a failed command is delivered again. @default 1_000 */
  redeliveryDelayMs?: number;
  /** How long a command stays with an instance that stopped answering before another gets it. @default 30_000 */
  ackWaitMs?: number;
  /** Limits of the stream when rxgate creates it (an existing stream keeps its own). */
  retention?: BusRetention;
}

/** Subjects of the commands stream, under the deployment's prefix (CONTRACT §11: `cmd.eprescribing.{tenant}`). */
export const COMMAND_SUBJECTS = 'cmd.eprescribing.>';

/** Every header of a delivered message, names lower-cased (`Nats-Msg-Id` kept: it is the command id). */
function headersOf(h: MsgHdrs | undefined): MessageHeaders {
  const out: Record<string, string> = {};
  if (h) for (const [name, values] of h) if (values.length > 0) out[name.toLowerCase()] = values[0];
  return out;
}

/**
 * The JetStream stream `EPRESCRIBING_COMMANDS` behind the `CommandSource` port: created if missing
 * (so a publisher's PubAck means the command is kept), with one durable consumer that hands the
 * gateway one command at a time across every instance (`max_ack_pending` 1), so commands take
 * effect in the order they were accepted.
 */
export async function createNatsCommandSource(options: NatsCommandSourceOptions): Promise<CommandSource & { stream: string }> {
  const nc = options.connection;
  const stream = options.stream ?? 'EPRESCRIBING_COMMANDS';
  const prefix = options.subjectPrefix ?? '';
  const durable = options.consumer ?? 'rxgate-commands';
  const maxDeliveries = options.maxDeliveries ?? 5;
  const redeliveryDelayMs = options.redeliveryDelayMs ?? 1_000;
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  const retention = options.retention ?? { maxAgeSeconds: 604_800, maxMessages: 1_000_000 };
  const jsm = await jetstreamManager(nc);
  const missing = (error: unknown) => error instanceof JetStreamApiError && error.status === 404;

  try {
    await jsm.streams.info(stream);
  } catch (error) {
    if (!missing(error)) throw error;
    await jsm.streams.add({
      name: stream,
      subjects: [`${prefix}${COMMAND_SUBJECTS}`],
      // JetStream refuses a window longer than the stream keeps messages.
      duplicate_window: Math.min(options.duplicateWindowMs ?? 120_000, retention.maxAgeSeconds * 1_000) * 1_000_000,
      max_age: retention.maxAgeSeconds * 1_000_000_000,
      max_msgs: retention.maxMessages,
    });
  }
  let limit = maxDeliveries;
  try {
    // An existing consumer keeps its settings: its bound is the one that holds.
    limit = (await jsm.consumers.info(stream, durable)).config.max_deliver ?? maxDeliveries;
  } catch (error) {
    if (!missing(error)) throw error;
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: `${prefix}${COMMAND_SUBJECTS}`,
      ack_wait: ackWaitMs * 1_000_000,
      max_deliver: maxDeliveries,
      max_ack_pending: 1,
    });
  }
  const js = jetstream(nc);

  const toCommand = (m: JsMsg): InboundCommand => ({
    subject: m.subject.slice(prefix.length),
    seq: m.seq,
    data: m.data,
    headers: headersOf(m.headers),
    delivery: m.info.deliveryCount,
    lastDelivery: limit > 0 && m.info.deliveryCount >= limit,
  });

  return {
    stream,
    async consume(handler): Promise<BusSubscription> {
      const consumer = await js.consumers.get(stream, durable);
      const messages = await consumer.consume({ max_messages: 1 });
      const done = (async () => {
        for await (const m of messages) {
          // A slow command (a remote terminology check) keeps the message its own by reporting progress.
          const keepAlive = setInterval(() => m.working(), ackWaitMs / 3);
          try {
            await handler(toCommand(m));
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
          return info.num_pending + info.num_ack_pending;
        },
      };
    },
  };
}
