import type { Logger } from 'pino';
import type { UseCases } from '../../application/index.js';
import type { BusSubscription, CommandSource, EventBus, InboundCommand } from '../../ports/index.js';
import { consumeSpan } from '../../tracing.js';

/** Durable consumer name of the commands stream: one per deployment, shared by every instance. */
export const COMMANDS_CONSUMER = 'rxgate-commands';

/** `cmd.eprescribing.{tenant}` (CONTRACT §11); the tenant is checked by the use-case. */
const COMMAND_SUBJECT = /^cmd\.eprescribing\.([^.]+)$/;
const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** How much of a dead-lettered body is kept: enough to see what was sent. */
const MAX_KEPT_BODY = 65_536;

/** Where commands come from and what carries them out (`startCommandsConsumer`). */
export interface CommandsConsumerOptions {
  /** The commands stream. */
  source: CommandSource;
  /** Where dead letters go (the dead-letter stream, `dlq.eprescribing.commands.{tenant}`). */
  bus: EventBus;
  /** `handleBusCommand` carries each command out. */
  useCases: UseCases;
  /** For failed and dead-lettered commands. */
  logger: Logger;
  /** Ids of dead letters, and correlation ids for commands that bring none. */
  newId: () => string;
  /** Told of every message dead-lettered (metrics). */
  onDeadLetter?(reason: string): void;
}

const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 2_000);

/**
 * The bus door of the gateway (CONTRACT §11): each message of the commands stream goes to the
 * `handleBusCommand` use-case, whose outcome events travel through the outbox. A message that is
 * not a command is published to the dead-letter stream with the reason and acknowledged (it could
 * never succeed); an unexpected error has it delivered again, and on the last delivery it is
 * dead-lettered too, so nothing is redelivered forever and nothing unexpected is mistaken for a
 * rejection.
 */
export function startCommandsConsumer(options: CommandsConsumerOptions): Promise<BusSubscription> {
  const { bus, useCases, logger, newId } = options;

  const deadLetter = async (command: InboundCommand, tenant: string | undefined, reason: string) => {
    // The token is a credential: it stays out of the dead-letter stream.
    const { authorization: _token, ...headers } = command.headers;
    const body = Buffer.from(command.data).toString('utf8');
    const data = Buffer.from(
      // The dead-letter message of the AsyncAPI document (`dlq.eprescribing`): `event` is the message that was not a command.
      JSON.stringify({
        handler: COMMANDS_CONSUMER,
        error: reason,
        attempts: command.delivery,
        deadLetterId: options.newId(),
        commandId: command.headers['nats-msg-id'] ?? null,
        event: { subject: command.subject, seq: command.seq, headers, body: body.length > MAX_KEPT_BODY ? body.slice(0, MAX_KEPT_BODY) : body },
      }),
    );
    await bus.publish({ subject: `dlq.eprescribing.commands.${tenant ?? 'unknown'}`, msgId: `command:${command.seq}`, data });
    options.onDeadLetter?.(reason);
    logger.warn({ subject: command.subject, seq: command.seq, reason }, 'bus command dead-lettered');
  };

  return options.source.consume((command) =>
    consumeSpan('commands process', command, { 'messaging.consumer.group.name': COMMANDS_CONSUMER }, async (span) => {
      const tenant = COMMAND_SUBJECT.exec(command.subject)?.[1];
      if (tenant === undefined) return deadLetter(command, undefined, `the subject '${command.subject.slice(0, 128)}' is not cmd.eprescribing.{tenant}`);
      const commandId = command.headers['nats-msg-id'];
      if (commandId) span.setAttribute('rxgate.command_id', commandId.slice(0, 128));
      const sent = command.headers['x-correlation-id'];
      const correlationId = sent && CORRELATION_ID.test(sent) ? sent : commandId && CORRELATION_ID.test(commandId) ? commandId : newId();
      let result;
      try {
        result = await useCases.handleBusCommand({
          tenantId: tenant,
          commandId,
          authorization: command.headers.authorization,
          body: Buffer.from(command.data).toString('utf8'),
          correlationId,
        });
      } catch (error) {
        if (!command.lastDelivery) {
          logger.warn(
            { err: error, subject: command.subject, seq: command.seq, delivery: command.delivery },
            'bus command failed unexpectedly; it will be delivered again',
          );
          throw error;
        }
        logger.error({ err: error, subject: command.subject, seq: command.seq, delivery: command.delivery }, 'bus command failed on its last delivery');
        return deadLetter(command, tenant, `failed unexpectedly on each of ${command.delivery} deliveries; last error: ${describe(error)}`);
      }
      if (result.outcome === 'not-a-command') return deadLetter(command, tenant, result.reason);
      logger.debug({ commandId, command: result.command, outcome: result.outcome, repeated: result.repeated }, 'bus command handled');
    }),
  );
}
