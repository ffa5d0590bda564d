/** Ports of commands over the bus (CONTRACT §11): where they come from and the ledger of their outcomes. */
import type { Issue } from '../domain/index.js';
import type { BusSubscription, MessageHeaders } from './event-bus.js';

/**
 * The first outcome of a command received over the bus (CONTRACT §11), kept by command id: what a
 * repeat of the same id is answered with.
 */
export type CommandOutcome = { commandId: string; command: string } & (
  | { outcome: 'accepted'; /** `MedicationRequest/<id>` */ reference: string; version: number }
  | { outcome: 'rejected'; code: string; message: string; /** One per problem (validation failures). */ issues: Issue[] }
);

/** Commands of one tenant already processed, by command id (the `Nats-Msg-Id`); outcomes are never rewritten. */
export interface CommandLedger {
  /**
   * Waits for, then holds until the transaction ends, the command id: a repeat being handled at the
   * same moment (a redelivery on another instance) waits here, then finds the first outcome.
   */
  claim(commandId: string): Promise<void>;
  /** The outcome recorded for this command id, if it was handled before. */
  find(commandId: string): Promise<CommandOutcome | undefined>;
  /** Inserts the outcome; a second outcome for the same id fails the transaction (it cannot happen after `claim` and `find`). */
  record(outcome: CommandOutcome): Promise<void>;
}

/** One message of the commands stream, as delivered to the gateway. */
export interface InboundCommand {
  /** Without the deployment's subject prefix: `cmd.eprescribing.{tenant}`. */
  subject: string;
  /** Position in the commands stream. */
  seq: number;
  /** The body as published (CONTRACT §11: a JSON command). */
  data: Uint8Array;
  /** Every header it was published with (`Nats-Msg-Id` included), names lower-cased: headers are case-insensitive. */
  headers: MessageHeaders;
  /** 1 on the first delivery. */
  delivery: number;
  /** True when a throw would not have it delivered again (the consumer's bound is reached). */
  lastDelivery: boolean;
}

/**
 * The stream commands arrive on (NATS JetStream only: in embedded mode there is none). One durable
 * consumer shared by every instance, so each command is handled by one of them, in stream order.
 */
export interface CommandSource {
  /**
   * Hands `handler` one command at a time. A resolve acknowledges it; a throw has it delivered
   * again after a delay, up to a bound after which it is not redelivered (the handler sees
   * `lastDelivery` and should dead-letter it then).
   */
  consume(handler: (command: InboundCommand) => Promise<void>): Promise<BusSubscription>;
}
