import { Arg, Ctx, FieldResolver, Resolver, Root, Subscription } from 'type-graphql';
import type { LiveEvent, LiveIndexKey } from '#application/live-events.js';
import {
  assertSearchCriteria,
  bareId,
  DomainError,
  EVENT_TYPES,
  type MedicationDispenseResource,
  type MedicationRequestResource,
  parseReference,
  type TaskResource,
  WORKFLOW_STATUS_EXTENSION,
  type WorkflowState,
} from '#domain/index.js';
import { spanEach } from '#src/tracing.js';
import { CloseCode } from '../../http/websocket-close-code.js';
import type { GraphqlContext } from '../context.js';
import { dispenseToGraphql } from '../medication-dispense.mapper.js';
import { recordToGraphql } from '../medication-request.mapper.js';
import { MedicationRequestType } from '../types/medication-request.type.js';
import { PrescriptionEventFilter, PrescriptionEventMessage } from '../types/prescription-event.type.js';

interface Args {
  filter?: PrescriptionEventFilter;
  after?: string;
}

function parseCursor(after: string | undefined): number | undefined {
  if (after === undefined || after === null) return undefined;
  if (!/^\d{1,15}$/.test(after))
    throw new DomainError('BAD_REQUEST', `after '${String(after).slice(0, 32)}' is not an event cursor; use the sequence of the last event you received.`);
  return Number(after);
}

/** Filters of CONTRACT §5; `subscription.replayed` is an admin event and never reaches this stream. */
function matcher(filter: PrescriptionEventFilter | undefined) {
  const patient = filter?.patient ? bareId(filter.patient, 'Patient') : undefined;
  const pharmacy = filter?.pharmacy ? bareId(filter.pharmacy, 'Organization') : undefined;
  const prescription = filter?.medicationRequest ? bareId(filter.medicationRequest, 'MedicationRequest') : undefined;
  const types = filter?.types && filter.types.length > 0 ? new Set(filter.types) : undefined;
  return ({ envelope }: LiveEvent): boolean => {
    const { metadata, payload } = envelope;
    if (metadata.eventType === EVENT_TYPES.subscriptionReplayed) return false;
    if (types && !types.has(metadata.eventType)) return false;
    if (patient !== undefined && payload.patientId !== patient) return false;
    if (pharmacy !== undefined && payload.pharmacyId !== pharmacy) return false;
    if (prescription !== undefined && payload.medicationRequestId !== prescription) return false;
    return true;
  };
}

/** The most selective value the filter requires, for the fan-out's index (the matcher still decides). */
function indexKeyOf(filter: PrescriptionEventFilter | undefined): LiveIndexKey | undefined {
  if (filter?.medicationRequest) return { field: 'medicationRequestId', value: bareId(filter.medicationRequest, 'MedicationRequest') };
  if (filter?.patient) return { field: 'patientId', value: bareId(filter.patient, 'Patient') };
  if (filter?.pharmacy) return { field: 'pharmacyId', value: bareId(filter.pharmacy, 'Organization') };
  if (filter?.types?.length === 1) return { field: 'eventType', value: filter.types[0]! };
  return undefined;
}

/** The GraphQL prescription of a resource carried by an event (as of that event). */
function prescriptionOf(r: MedicationRequestResource, tenantId: string): MedicationRequestType {
  const workflow = r.extension?.find((e) => e.url === WORKFLOW_STATUS_EXTENSION)?.valueCode as WorkflowState;
  return recordToGraphql({
    id: r.id!,
    tenantId,
    versionId: Number(r.meta?.versionId),
    lastUpdated: new Date(r.meta!.lastUpdated!),
    workflowStatus: workflow,
    resource: r,
  });
}

/**
 * Ends the iteration with `reason()` as an error when there is one (the subscription was interrupted):
 * graphql-ws sends it to the client. Not an async generator: its `return()` would wait for the pending
 * `next()`, and a client leaving a quiet subscription would never close it.
 */
function endingWith<T>(events: AsyncIterable<T>, reason: () => DomainError | undefined): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const inner = events[Symbol.asyncIterator]();
      return {
        // A plain then, not an async function: one promise less per delivery.
        next: () =>
          inner.next().then((result) => {
            const error = result.done ? reason() : undefined;
            if (error) throw error;
            return result;
          }),
        return: () => inner.return?.() ?? Promise.resolve({ value: undefined, done: true }),
      };
    },
  };
}

/** Messages by event: every subscriber of an event resolves the same one, built once (read-only afterwards). */
const messages = new WeakMap<LiveEvent, PrescriptionEventMessage>();

function toMessage(event: LiveEvent): PrescriptionEventMessage {
  let message = messages.get(event);
  if (!message) messages.set(event, (message = buildMessage(event)));
  return message;
}

function buildMessage(event: LiveEvent): PrescriptionEventMessage {
  const { metadata, payload } = event.envelope;
  const resource = payload.resource as { resourceType: string };
  const message: PrescriptionEventMessage = {
    eventId: metadata.eventId,
    type: metadata.eventType,
    sequence: String(event.seq),
    occurredAt: new Date(metadata.timestamp),
    tenantId: metadata.tenantId,
    event: payload.event ?? null,
    from: payload.from ?? null,
    to: payload.to ?? null,
    medicationRequest: null,
    medicationDispense: null,
    task: null,
    medicationRequestId: payload.medicationRequestId ?? null,
  };
  if (resource.resourceType === 'MedicationRequest') {
    message.medicationRequest = prescriptionOf(resource as MedicationRequestResource, metadata.tenantId);
  } else if (payload.medicationRequest?.resourceType === 'MedicationRequest') {
    // A dispense or Task event carries its prescription: delivered from the event, not read per subscriber.
    message.medicationRequest = prescriptionOf(payload.medicationRequest as unknown as MedicationRequestResource, metadata.tenantId);
  }
  if (resource.resourceType === 'MedicationDispense') {
    const d = resource as MedicationDispenseResource;
    message.medicationDispense = dispenseToGraphql({
      id: d.id!,
      tenantId: metadata.tenantId,
      versionId: Number(d.meta?.versionId),
      lastUpdated: new Date(d.meta!.lastUpdated!),
      prescriptionId: parseReference(d.authorizingPrescription?.[0]?.reference, 'MedicationRequest') ?? '',
      resource: d,
    });
  } else if (resource.resourceType === 'Task') {
    const t = resource as TaskResource;
    message.task = {
      id: t.id!,
      status: t.status,
      code: t.code?.coding?.[0]?.code ?? null,
      focus: t.focus ?? {},
      resource: t as unknown as Record<string, unknown>,
    };
  }
  return message;
}

@Resolver(() => PrescriptionEventMessage)
export class PrescriptionEventResolver {
  @Subscription(() => PrescriptionEventMessage, {
    description:
      'Changes of your tenant as they commit; `after` first replays every matching event after that cursor, then continues live, with no gap and no duplicate.',
    subscribe: async ({ args, context }: { args: Args; context: GraphqlContext }) => {
      if (!context.live) throw new DomainError('BAD_REQUEST', 'Subscriptions are served over graphql-ws on /graphql.');
      assertSearchCriteria(args.filter ?? {}); // the same bounds as a list filter, though only matched in memory
      let interrupted: DomainError | undefined;
      const events = await context.live.subscribe({
        tenantId: context.ctx.tenantId,
        matches: matcher(args.filter),
        indexKey: indexKeyOf(args.filter),
        after: parseCursor(args.after),
        bufferSize: context.subscriberBufferSize ?? 1_000,
        onOverflow: () => context.closeConnection?.(CloseCode.SubscriberTooSlow, 'subscriber too slow; resume with your last cursor'),
        // Events stopped for good: the subscription ends with SERVICE_UNAVAILABLE, the client resumes with `after`.
        onInterrupted: (error) => (interrupted = error),
      });
      // Each event's websocket delivery (resolve, write the frame) is a span in the event's trace.
      return spanEach(
        endingWith(events, () => interrupted),
        'graphql-ws deliver',
        (event) => ({ 'rxgate.event_id': event.envelope.metadata.eventId, 'rxgate.stream.seq': event.seq, 'rxgate.tenant': context.ctx.tenantId }),
      );
    },
  })
  prescriptionEvents(
    @Root() event: LiveEvent,
    @Ctx() { loaders }: GraphqlContext,
    @Arg('filter', () => PrescriptionEventFilter, { nullable: true, description: 'Which events; all of your tenant when omitted.' })
    _filter?: PrescriptionEventFilter,
    @Arg('after', () => String, { nullable: true, description: 'Resume after this cursor (a `sequence`).' }) _after?: string,
  ): PrescriptionEventMessage {
    // Each event is resolved on its own: loads must see the data as it is now, not as first cached.
    loaders.medicationRequest.clearAll();
    return toMessage(event);
  }
}

@Resolver(() => PrescriptionEventMessage)
export class PrescriptionEventFieldsResolver {
  @FieldResolver(() => MedicationRequestType, { nullable: true, description: 'The prescription concerned (as of this event when the event is about it).' })
  async medicationRequest(@Root() message: PrescriptionEventMessage, @Ctx() { loaders }: GraphqlContext): Promise<MedicationRequestType | null> {
    if (message.medicationRequest) return message.medicationRequest;
    if (!message.medicationRequestId) return null;
    // Events written before they carried their prescription: read it (as it is now).
    const record = await loaders.medicationRequest.load(message.medicationRequestId);
    return record ? recordToGraphql(record) : null;
  }
}
