/**
 * Every event rxgate publishes on its main stream (CONTRACT §6, §7, §9, §11), as data: what it
 * means and the JSON Schema of its payload. `EVENT_TYPES`, the AsyncAPI document (`/asyncapi.json`,
 * docs/asyncapi.json) and the reference tables are all derived from this one table.
 *
 * The catalogue is keyed by the versioned type. A published version is never edited: a change that
 * a consumer could notice is a new entry (`….v2`) with a schema of its own, and a name of its own in
 * `EVENT_TYPES`; the test of the catalogue holds a fingerprint of each schema to keep it so.
 */

/** A JSON Schema (draft-07, which AsyncAPI 3.0 schemas extend). */
export type JsonSchema = { [keyword: string]: unknown };

export interface EventDefinition {
  /** The property of `EVENT_TYPES` that names this type in the code. */
  name: string;
  /** When the event is published, in a sentence. */
  summary: string;
  /** The schema of `payload` inside the envelope. */
  payload: JsonSchema;
  /**
   * Named by the contract but not emitted by this code yet (the workflow engine adds it): kept out
   * of `EVENT_TYPES` so that no code can claim to emit it; documented already.
   */
  announced?: true;
}

const nullable = (schema: JsonSchema): JsonSchema => ({ ...schema, type: [schema.type, 'null'] });
const text = (description: string): JsonSchema => ({ type: 'string', description });
const TIMESTAMP: JsonSchema = { type: 'string', format: 'date-time' };

const TRACEPARENT_HEADER: JsonSchema = { type: 'string', description: 'W3C trace context of the span that sent the message, when tracing is on.' };

/** The `metadata` of every event envelope (CONTRACT §6). */
export const EVENT_METADATA_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['eventId', 'eventType', 'eventSource', 'timestamp', 'sequence', 'tenantId', 'correlationId', 'causationId', 'actor', 'schemaVersion'],
  properties: {
    eventId: {
      type: 'string',
      format: 'uuid',
      description: 'Unique id of the event; consumers dedupe by it (delivery is at least once). Also the `Nats-Msg-Id`.',
    },
    eventType: text('The versioned event type; the subject is `{eventType}.{tenantId}`.'),
    eventSource: { const: 'rxgate' },
    timestamp: { type: 'string', format: 'date-time', description: 'When the change was committed.' },
    sequence: {
      type: 'string',
      pattern: '^[0-9]*$',
      description: 'Position in the stream, the cursor for `after` and `$replay`; assigned on publish (empty in the outbox).',
    },
    tenantId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    correlationId: text('The `X-Correlation-Id` of the request that caused the event.'),
    causationId: nullable(text('Id of the event or command that caused this one, if any.')),
    actor: {
      type: 'object',
      additionalProperties: false,
      required: ['sub', 'persona'],
      properties: { sub: text("The token's subject, or `system` for the gateway's own moves."), persona: text("The token's persona, or `system`.") },
    },
    schemaVersion: { const: 1, description: 'Version of the envelope.' },
  },
};

/** Headers of an event on the main stream. */
export const EVENT_HEADERS_SCHEMA: JsonSchema = {
  type: 'object',
  properties: { 'Nats-Msg-Id': text('The event id: JetStream drops a re-publish within its duplicate window.'), traceparent: TRACEPARENT_HEADER },
};

/** A FHIR R4 resource as stored after the change (validated against FHIR R4 when written). */
const resource = (resourceType: string, what: string): JsonSchema => ({
  type: 'object',
  description: `The ${resourceType} ${what}, as stored after the change (a FHIR R4 resource, with \`meta.versionId\` and \`meta.lastUpdated\`).`,
  required: ['resourceType', 'id'],
  properties: {
    resourceType: { const: resourceType },
    id: { type: 'string', minLength: 1 },
    meta: { type: 'object', properties: { versionId: { type: 'string' }, lastUpdated: TIMESTAMP } },
  },
});

/** What subscribers filter on: the prescription an event concerns, its patient and its pharmacy. */
const PRESCRIPTION_CONTEXT: Record<string, JsonSchema> = {
  medicationRequestId: text('Id of the prescription (MedicationRequest) the event concerns.'),
  patientId: nullable(text("Id of the prescription's patient (`subject`), when it names one.")),
  pharmacyId: nullable(text('Id of the pharmacy (Organization) the prescription is routed to, when it names one.')),
};
const CONTEXT_REQUIRED = ['medicationRequestId', 'patientId', 'pharmacyId'];

/** A move of a workflow: which event, from which state to which. States and events are lower case (CONTRACT §3). */
const transition = (workflow: string): Record<string, JsonSchema> => ({
  event: text(`The ${workflow} workflow event that was applied (e.g. \`approve\`).`),
  from: nullable(text(`The ${workflow} state before the move; null when the instance was created by it.`)),
  to: text(`The ${workflow} state after the move.`),
  reason: nullable(text('The reason given with the move (Task.statusReason, the GraphQL `reason`), if any.')),
});

const object = (required: string[], properties: Record<string, JsonSchema>): JsonSchema => ({ type: 'object', required, properties });

const prescriptionChange = (what: string, extra: Record<string, JsonSchema> = {}, required: string[] = []): JsonSchema =>
  object(['resource', ...required, ...CONTEXT_REQUIRED], { resource: resource('MedicationRequest', what), ...extra, ...PRESCRIPTION_CONTEXT });

const STATUS_CHANGE = transition('prescription');

const PRIOR_AUTHORIZATION_TASK = resource('Task', 'of the prior authorization (code `urn:rxgate:task-code|prior-authorization`, `businessStatus` its state)');

export const EVENT_CATALOG = {
  'eprescribing.medication_request.created.v1': {
    name: 'medicationRequestCreated',
    summary: 'A prescription was created (the workflow event `request`).',
    payload: prescriptionChange('created', { ...STATUS_CHANGE, event: { const: 'request' }, from: { type: 'null' } }, ['event', 'from', 'to']),
  },
  'eprescribing.medication_request.updated.v1': {
    name: 'medicationRequestUpdated',
    summary: "A prescription's content was updated (PUT or PATCH, not a state change).",
    payload: prescriptionChange('updated'),
  },
  'eprescribing.medication_request.status_changed.v1': {
    name: 'medicationRequestStatusChanged',
    summary: 'A prescription moved in its workflow (any transition).',
    payload: prescriptionChange('moved', STATUS_CHANGE, ['event', 'from', 'to', 'reason']),
  },
  'eprescribing.medication_request.cancelled.v1': {
    name: 'medicationRequestCancelled',
    summary: 'A prescription was cancelled (published after the `status_changed` of the same move).',
    payload: prescriptionChange('cancelled', { ...STATUS_CHANGE, event: { const: 'cancel' }, to: { const: 'cancelled' } }, ['event', 'from', 'to', 'reason']),
  },
  'eprescribing.medication_dispense.created.v1': {
    name: 'medicationDispenseCreated',
    summary: 'A dispense (one fill) was recorded for a prescription.',
    payload: object(['resource', ...CONTEXT_REQUIRED], { resource: resource('MedicationDispense', 'created'), ...PRESCRIPTION_CONTEXT }),
  },
  'eprescribing.medication_dispense.updated.v1': {
    name: 'medicationDispenseUpdated',
    summary: "A dispense's content was updated.",
    payload: object(['resource', ...CONTEXT_REQUIRED], { resource: resource('MedicationDispense', 'updated'), ...PRESCRIPTION_CONTEXT }),
  },
  'eprescribing.task.status_changed.v1': {
    name: 'taskStatusChanged',
    summary: 'A Task that moves a prescription was created, or its status changed.',
    payload: object(['resource', 'event', 'status', ...CONTEXT_REQUIRED], {
      resource: resource('Task', 'created'),
      event: text('The prescription workflow event the Task sent.'),
      status: text("The Task's status (http://hl7.org/fhir/task-status)."),
      ...PRESCRIPTION_CONTEXT,
    }),
  },
  'eprescribing.subscription.replayed.v1': {
    name: 'subscriptionReplayed',
    summary: 'A platform-admin replayed a FHIR Subscription (`$replay`); every instance redelivers to its bound websockets.',
    payload: object(['resource', 'subscriptionId', 'from'], {
      resource: resource('Subscription', 'replayed'),
      subscriptionId: text('Id of the Subscription.'),
      from: { type: 'string', pattern: '^[0-9]{1,15}$', description: 'The event cursor (sequence) after which events are delivered again.' },
    }),
  },
  'eprescribing.medication_request.sla_breached.v1': {
    name: 'medicationRequestSlaBreached',
    summary: 'A prescription stayed `approved`, waiting for its first fill, longer than SLA_PROCESSING_SECONDS; published once, state unchanged.',
    payload: prescriptionChange('whose service level was breached'),
  },
  'eprescribing.medication_request.expired.v1': {
    name: 'medicationRequestExpired',
    summary: "A prescription's validity period ended and it moved to `expired` (published after the `status_changed` of the `expire` move).",
    payload: prescriptionChange('expired', STATUS_CHANGE),
  },
  'eprescribing.prior_authorization.status_changed.v1': {
    name: 'priorAuthorizationStatusChanged',
    summary: 'A prior authorization moved in its workflow; delivered to `prescriptionEvents` through its prescription.',
    payload: object(['resource', 'event', 'from', 'to', 'medicationRequestId'], {
      resource: PRIOR_AUTHORIZATION_TASK,
      ...transition('prior authorization'),
      ...PRESCRIPTION_CONTEXT,
    }),
  },
  'eprescribing.prior_authorization.deadline_breached.v1': {
    name: 'priorAuthorizationDeadlineBreached',
    summary:
      'A prior authorization was not decided by its deadline (PA_URGENT_SECONDS or PA_STANDARD_SECONDS after submission); published once, state unchanged.',
    payload: object(['resource', 'medicationRequestId'], { resource: PRIOR_AUTHORIZATION_TASK, ...PRESCRIPTION_CONTEXT }),
  },
  'eprescribing.command.accepted.v1': {
    name: 'commandAccepted',
    summary: 'A command received on `cmd.eprescribing.{tenantId}` was carried out.',
    payload: object(['commandId', 'command'], {
      commandId: text('The command id (its `Nats-Msg-Id`).'),
      command: text('The command, e.g. `approve` or `create`.'),
      reference: text('The resource the command wrote, e.g. `MedicationRequest/…`.'),
      version: { type: 'integer', minimum: 1, description: 'The version of that resource after the command.' },
      etag: text('That version as an ETag (`W/"n"`), for the next command\'s `ifMatch`.'),
    }),
  },
  'eprescribing.command.rejected.v1': {
    name: 'commandRejected',
    summary: 'A command received on `cmd.eprescribing.{tenantId}` was refused, with the error HTTP would have answered.',
    payload: object(['commandId', 'command', 'code', 'message'], {
      commandId: text('The command id (its `Nats-Msg-Id`).'),
      command: text('The command as sent.'),
      code: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$', description: 'The error code (see the error table of docs/reference.md).' },
      message: text("What was wrong and what to do, as in an OperationOutcome's diagnostics."),
    }),
  },
} as const satisfies Record<`${string}.v${number}`, EventDefinition>;

type Catalog = typeof EVENT_CATALOG;

/** Every versioned type of the catalogue, emitted or announced. */
export type CataloguedEventType = keyof Catalog;

type Emitted = { [T in CataloguedEventType as Catalog[T] extends { announced: true } ? never : Catalog[T]['name']]: T };

/** Event types the code emits, by name; the subject on the bus is `{eventType}.{tenantId}`. */
export const EVENT_TYPES = Object.freeze(
  Object.fromEntries(
    Object.entries(EVENT_CATALOG as Record<string, EventDefinition>)
      .filter(([, definition]) => !definition.announced)
      .map(([type, definition]) => [definition.name, type]),
  ),
) as Readonly<Emitted>;
