import type { Logger } from 'pino';
import { actionSubjects, type UseCases } from '../../application/index.js';
import type { EventEnvelope } from '../../domain/index.js';
import type { BusSubscription, DeliveredMessage, EventBus } from '../../ports/index.js';
import { consumeSpan } from '../../tracing.js';

/** Durable consumer name: shared by every instance, so each event's actions run on one of them. */
export const WORKFLOW_ACTIONS_CONSUMER = 'rxgate-workflow-actions';

/** The event types whose actions run here, by durable consumer name: every workflow's transitions and timer emissions. */
const ACTION_SUBJECTS: Record<string, string> = actionSubjects(WORKFLOW_ACTIONS_CONSUMER);

/**
 * The stream door of the workflow: every committed status change reaches `handleWorkflowEvent`
 * through a durable consumer. A message that is not an event envelope is logged and skipped (it
 * could never succeed); a handler that throws leaves the message to be delivered again.
 */
export async function startWorkflowActionsConsumer(options: { bus: EventBus; useCases: UseCases; logger: Logger }): Promise<BusSubscription> {
  const handle = (consumer: string) => (message: DeliveredMessage) =>
    // In the trace of the request that made the change, however much later and wherever it runs.
    consumeSpan('workflow-actions process', message, { 'messaging.consumer.group.name': consumer }, async (span) => {
      let envelope: EventEnvelope;
      try {
        envelope = JSON.parse(Buffer.from(message.data).toString('utf8')) as EventEnvelope;
        if (!envelope?.metadata?.eventId) throw new Error('no metadata.eventId');
      } catch (error) {
        options.logger.error({ err: error, subject: message.subject, seq: message.seq }, 'skipping a message that is not an event envelope');
        return;
      }
      span.setAttribute('rxgate.event_id', envelope.metadata.eventId);
      await options.useCases.handleWorkflowEvent(envelope);
    });
  // One durable per subject (NATS 2.9 consumers filter on one subject): transitions, and each timer emission.
  const subscriptions = await Promise.all(
    Object.entries(ACTION_SUBJECTS).map(([consumer, subject]) => options.bus.subscribe(`${subject}.>`, handle(consumer), { durable: consumer })),
  );
  return {
    async close() {
      await Promise.all(subscriptions.map((s) => s.close()));
    },
    async lag() {
      return (await Promise.all(subscriptions.map((s) => s.lag()))).reduce((a, b) => a + b, 0);
    },
  };
}
