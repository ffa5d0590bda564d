/** Ports of the event bus. */

/** A message to publish. */
export interface BusMessage {
  /** Subject without the deployment's prefix, e.g. `{eventType}.{tenantId}`; the adapter adds the prefix on the wire. */
  subject: string;
  /** Deduplication id (`Nats-Msg-Id`): a second publish with the same id is dropped. */
  msgId: string;
  /** The body (rxgate publishes JSON). */
  data: Uint8Array;
  /**
   * Message headers (NATS headers; kept beside the message by the embedded bus), delivered with
   * it. rxgate puts the W3C `traceparent` here so a consumer continues the publisher's trace.
   */
  headers?: MessageHeaders;
}

/** Header names and values of a bus message: one value per name. */
export type MessageHeaders = Readonly<Record<string, string>>;

/** The bus's answer to a publish: the message is kept. */
export interface PublishAck {
  /** Position in the stream. */
  seq: number;
  /** True when the bus dropped the message as a repeat of an earlier `msgId`. */
  duplicate: boolean;
}

/** A message as a subscriber receives it. */
export interface DeliveredMessage {
  /** Subject without the deployment's prefix, as it was published. */
  subject: string;
  /** Position in the stream (what `SubscribeOptions.afterSeq` resumes from). */
  seq: number;
  /** The body as published. */
  data: Uint8Array;
  /** The headers it was published with; absent when it had none. */
  headers?: MessageHeaders;
}

/** A running subscription (or consumer) and what can be asked of it. */
export interface BusSubscription {
  /** Stops delivery; a durable consumer keeps its position on the bus. */
  close(): Promise<void>;
  /**
   * Consumer lag: messages matching the filter that this consumer has not finished with (not yet
   * delivered, or delivered and not yet handled or acknowledged). For a durable consumer it is the
   * consumer's, whichever instance holds the messages. Rejects when the bus cannot answer.
   */
  lag(): Promise<number>;
}

/** How `EventBus.subscribe` delivers: from where, and whether the position is kept. */
export interface SubscribeOptions {
  /** Deliver every matching message after this stream position; default: only new ones (or, for a durable, all). */
  afterSeq?: number;
  /**
   * Name of a durable consumer: its position survives restarts and is shared by every instance
   * (each message is handled by one of them, one message at a time across all of them, in stream
   * order: a message is not delivered before the one ahead of it is acknowledged). The handler's resolve acknowledges the message; a
   * throw has it delivered again after a delay. Without a name the subscription is ephemeral and a
   * throwing handler's message is skipped.
   */
  durable?: string;
  /**
   * Called once if the subscription ends on its own: its consumer is gone and cannot be made again
   * (the stream no longer keeps its position, the bus connection closed for good). Not called after
   * `close()`. A subscriber told so may subscribe again from the last position it handled. While the
   * bus is only away for a while (a restart), the subscription waits and resumes by itself.
   */
  onEnd?: (error: Error) => void;
}

/**
 * The event stream (NATS JetStream, or the PostgreSQL-backed embedded bus). Ordered per stream,
 * deduplicated by `msgId`, replayable from a stream position, with durable consumers.
 */
export interface EventBus {
  /** Which implementation this is (logs, trace attributes). */
  readonly kind: 'nats' | 'embedded';
  /**
   * Resolves once the bus keeps the message (or dropped it as a duplicate); rejects when it could not,
   * with a `DomainError` `SERVICE_UNAVAILABLE` when the bus (or, embedded, its database) is away for the moment.
   */
  publish(message: BusMessage): Promise<PublishAck>;
  /**
   * Publishes `messages` in this order, as `publish` would one after the other, without waiting for
   * each to be kept before sending the next. Resolves once all are kept. When it rejects, the bus
   * kept a prefix of them and none after one it did not keep: publishing them all again (duplicates
   * are dropped) keeps the stream in their order.
   */
  publishAll(messages: readonly BusMessage[]): Promise<PublishAck[]>;
  /** Delivers, in stream order and one at a time, every message matching `subjectFilter` (NATS wildcards). */
  subscribe(subjectFilter: string, handler: (message: DeliveredMessage) => Promise<void> | void, options?: SubscribeOptions): Promise<BusSubscription>;
  /**
   * The oldest position still kept for subjects matching the filter (retention may have dropped
   * older ones); one past the newest when nothing is kept. Cursors before it cannot be replayed.
   */
  firstSeq(subjectFilter: string): Promise<number>;
  /** True while the bus answers. */
  ping(): Promise<boolean>;
  /** Ends every subscription and the bus's own connections. */
  close(): Promise<void>;
}

/** How long the bus keeps messages for replay (stream limits). */
export interface BusRetention {
  /** Messages older than this are dropped. @default 604_800 // 7 days */
  maxAgeSeconds: number;
  /** Most messages kept; beyond it the oldest are dropped. @default 1_000_000 */
  maxMessages: number;
}
