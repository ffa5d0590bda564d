/** Ports of the event bus. */

export interface BusMessage {
  subject: string;
  /** Deduplication id (`Nats-Msg-Id`): a second publish with the same id is dropped. */
  msgId: string;
  data: Uint8Array;
  /**
   * Message headers (NATS headers; kept beside the message by the embedded bus), delivered with
   * it. rxgate puts the W3C `traceparent` here so a consumer continues the publisher's trace.
   */
  headers?: MessageHeaders;
}

/** Header names and values of a bus message: one value per name. */
export type MessageHeaders = Readonly<Record<string, string>>;

export interface PublishAck {
  /** Position in the stream. */
  seq: number;
  duplicate: boolean;
}

export interface DeliveredMessage {
  subject: string;
  seq: number;
  data: Uint8Array;
  /** The headers it was published with; absent when it had none. */
  headers?: MessageHeaders;
}

export interface BusSubscription {
  close(): Promise<void>;
  /**
   * Consumer lag: messages matching the filter that this consumer has not finished with (not yet
   * delivered, or delivered and not yet handled or acknowledged). For a durable consumer it is the
   * consumer's, whichever instance holds the messages. Rejects when the bus cannot answer.
   */
  lag(): Promise<number>;
}

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
  readonly kind: 'nats' | 'embedded';
  publish(message: BusMessage): Promise<PublishAck>;
  /** Delivers, in stream order and one at a time, every message matching `subjectFilter` (NATS wildcards). */
  subscribe(subjectFilter: string, handler: (message: DeliveredMessage) => Promise<void> | void, options?: SubscribeOptions): Promise<BusSubscription>;
  /**
   * The oldest position still kept for subjects matching the filter (retention may have dropped
   * older ones); one past the newest when nothing is kept. Cursors before it cannot be replayed.
   */
  firstSeq(subjectFilter: string): Promise<number>;
  /** True while the bus answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** How long the bus keeps messages for replay (stream limits). */
export interface BusRetention {
  /** @default 604_800 // 7 days */
  maxAgeSeconds: number;
  /** @default 1_000_000 */
  maxMessages: number;
}
