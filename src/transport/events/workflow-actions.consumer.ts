import type { Logger } from 'pino';
import type { UseCases } from '../../application/index.js';
import type { EventEnvelope } from '../../domain/index.js';
import type { BusSubscription, EventBus } from '../../ports/index.js';
import { consumeSpan } from '../../tracing.js';

/** Durable consumer name: shared by every instance, so each event's actions run on one of them. */
export const WORKFLOW_ACTIONS_CONSUMER = 'rxgate-workflow-actions';

/**
 * The stream door of the workflow: every committed status change reaches `handleWorkflowEvent`
 * through a durable consumer. A message that is not an event envelope is logged and skipped (it
 * could never succeed); a handler that throws leaves the message to be delivered again.
 */
export function startWorkflowActionsConsumer(options: { bus: EventBus; useCases: UseCases; logger: Logger }): Promise<BusSubscription> {
  return options.bus.subscribe(
    'eprescribing.medication_request.status_changed.v1.>',
    // In the trace of the request that made the change, however much later and wherever it runs.
    (message) =>
      consumeSpan('workflow-actions process', message, { 'messaging.consumer.group.name': WORKFLOW_ACTIONS_CONSUMER }, async (span) => {
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
      }),
    { durable: WORKFLOW_ACTIONS_CONSUMER },
  );
}
