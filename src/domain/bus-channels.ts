import type { JsonSchema } from './event-catalog.js';

/**
 * The subjects rxgate uses on the bus besides its events (CONTRACT §6, §10, §11), as data: the
 * integration notices its workflow actions send, the dead letters, and the commands it receives.
 * The events themselves are in `EVENT_CATALOG`, on `{eventType}.{tenantId}`, wrapped in the
 * envelope below. Versioned subjects follow the catalogue's rule: a new version is a new entry.
 */
export interface ChannelDefinition {
  /** The subject, with `{parameter}` tokens; absent, the channel's key is the subject. */
  address?: string;
  /** Meaning of each `{parameter}` of the address. */
  parameters: Record<string, string>;
  /** `send`: rxgate publishes; `receive`: rxgate consumes. */
  action: 'send' | 'receive';
  /** The JetStream stream that keeps the subject (names for the default `NATS_STREAM`). */
  stream: string;
  summary: string;
  /** Message headers (NATS headers). */
  headers?: JsonSchema;
  payload: JsonSchema;
  /** Named by the contract but not used by this code yet (the workflow engine adds it); documented already. */
  announced?: true;
}

const TENANT_ID = 'The tenant the message belongs to (`[A-Za-z0-9_-]{1,64}`).';
const text = (description: string): JsonSchema => ({ type: 'string', description });
const nullableText = (description: string): JsonSchema => ({ type: ['string', 'null'], description });
const TRACEPARENT: JsonSchema = { type: 'string', description: 'W3C trace context of the span that sent the message, when tracing is on.' };

/** What a workflow action (or its compensation) tells an outside system. */
const INTEGRATION_NOTICE: JsonSchema = {
  type: 'object',
  required: [
    'eventId',
    'tenantId',
    'medicationRequestId',
    'patientId',
    'pharmacyId',
    'event',
    'from',
    'to',
    'reason',
    'occurredAt',
    'correlationId',
    'prescription',
  ],
  properties: {
    eventId: { type: 'string', format: 'uuid', description: 'The event the action ran on.' },
    tenantId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    medicationRequestId: text('Id of the prescription.'),
    patientId: nullableText('Id of its patient.'),
    pharmacyId: nullableText('Id of its pharmacy (Organization).'),
    event: text('The workflow event of the transition.'),
    from: nullableText('State before the transition.'),
    to: text('State after the transition.'),
    reason: nullableText('The reason given with the transition.'),
    occurredAt: { type: 'string', format: 'date-time' },
    correlationId: text('Correlation id of the request that caused the transition.'),
    prescription: { type: 'object', description: 'The MedicationRequest (FHIR R4) after the transition.' },
  },
};

const integration = (summary: string, announced?: true): ChannelDefinition => ({
  parameters: {},
  action: 'send',
  stream: 'EPRESCRIBING_INTEGRATION',
  summary: `${summary} The message id is \`<action>:<eventId>\`, so a repeat is dropped.`,
  headers: { type: 'object', properties: { traceparent: TRACEPARENT } },
  payload: INTEGRATION_NOTICE,
  ...(announced && { announced }),
});

/** Integration notices, keyed by their (versioned) subject. */
export const INTEGRATION_CHANNELS = {
  'integration.insurance.approval.v1': integration('Tells the insurer a prescription was approved (action on `approve`).'),
  'integration.pharmacy.prescription.v1': integration('Routes a prescription to its pharmacy (action on `approved → processing`).'),
  'integration.patient.dispensed.v1': integration('Tells the patient the prescription was dispensed.'),
  'integration.patient.completed.v1': integration('Tells the patient the prescription was completed.'),
  'integration.support.failure.v1': integration('Alerts support that a prescription failed at the pharmacy.'),
  'integration.support.alert.v1': integration("Alerts support that a deadline passed (the prescription service level); the notice's `event` names it."),
  'integration.pharmacy.cancel.v1': integration(
    'Compensation of the pharmacy routing (`cancelAtPharmacy`): withdraws the prescription from the pharmacy when it is cancelled, fails or expires.',
  ),
  'integration.insurance.reversal.v1': integration(
    'Compensation of the insurance notice (`reverseInsuranceNotice`): reverses it when the prescription is cancelled, fails or expires.',
  ),
} satisfies Record<`integration.${string}.v${number}`, ChannelDefinition>;

/** The dead letters of CONTRACT §6 and the commands of §11. */
export const OPERATION_CHANNELS = {
  'dlq.eprescribing': {
    address: 'dlq.eprescribing.{handler}.{tenantId}',
    parameters: {
      handler: 'The action (or command consumer) that gave up, e.g. `notifyInsurance`, or `rxgate-commands` for a message that was not a command.',
      tenantId: TENANT_ID,
    },
    action: 'send',
    stream: 'EPRESCRIBING_DLQ',
    summary: 'An action that still failed after its last attempt; a platform-admin lists and replays it (GraphQL `deadLetters`).',
    payload: {
      type: 'object',
      required: ['handler', 'attempts', 'error', 'deadLetterId', 'event'],
      properties: {
        handler: text('The action that failed.'),
        attempts: { type: 'integer', minimum: 1, description: 'How many times it was tried.' },
        error: text('The last error.'),
        deadLetterId: text('Id of the stored dead letter (for `replayDeadLetter`).'),
        event: { type: 'object', description: 'The event envelope the action failed on (or the message that was not a command).' },
      },
    },
  },
  'cmd.eprescribing': {
    address: 'cmd.eprescribing.{tenantId}',
    parameters: { tenantId: TENANT_ID },
    action: 'receive',
    stream: 'EPRESCRIBING_COMMANDS',
    summary:
      'A command from a system on the bus, carried out with the same use-cases, persona rules and errors as HTTP (NATS_URL only). ' +
      'The outcome is `eprescribing.command.accepted.v1` or `.rejected.v1`; a body that is not a command is dead-lettered.',
    headers: {
      type: 'object',
      required: ['Authorization', 'Nats-Msg-Id'],
      properties: {
        Authorization: { type: 'string', pattern: '^Bearer ', description: "A token as for HTTP; its tenant must be the subject's." },
        'Nats-Msg-Id': text('The command id, and its idempotency key: a repeated id does nothing again and its outcome is emitted again.'),
      },
    },
    payload: {
      oneOf: [
        {
          type: 'object',
          title: 'Create',
          required: ['command', 'resource'],
          properties: {
            command: { const: 'create' },
            resource: {
              type: 'object',
              required: ['resourceType'],
              properties: { resourceType: { const: 'MedicationRequest' } },
              description: 'A MedicationRequest, as for `POST /fhir/MedicationRequest`.',
            },
          },
        },
        {
          type: 'object',
          title: 'Prescription event',
          required: ['command', 'prescriptionId'],
          properties: {
            command: {
              type: 'string',
              pattern: '^[a-z][a-z-]*$',
              not: { const: 'create' },
              description: 'An event of the prescription workflow, e.g. `approve`.',
            },
            prescriptionId: text('Id of the MedicationRequest.'),
            ifMatch: { type: 'string', pattern: '^W/"[0-9]+"$', description: 'The version the command applies to; a stale one is `PRECONDITION_FAILED`.' },
            reason: text('Why, as the GraphQL `reason`.'),
          },
        },
        {
          type: 'object',
          title: 'Prior authorization event',
          required: ['command', 'priorAuthorizationId'],
          properties: {
            command: {
              type: 'string',
              pattern: '^[a-z][a-z-]*$',
              not: { const: 'create' },
              description: 'An event of the prior authorization workflow, e.g. `deny`.',
            },
            priorAuthorizationId: text('Id of the prior authorization (Task).'),
            ifMatch: { type: 'string', pattern: '^W/"[0-9]+"$', description: 'The version the command applies to.' },
            reason: text('Why.'),
          },
        },
      ],
    },
  },
} satisfies Record<string, ChannelDefinition>;

/** Every channel besides the events, by id (the subject, or its fixed part when it has parameters), each with its address. */
export const BUS_CHANNELS: Readonly<Record<string, ChannelDefinition & { address: string }>> = Object.fromEntries(
  Object.entries({ ...INTEGRATION_CHANNELS, ...OPERATION_CHANNELS } as Record<string, ChannelDefinition>).map(([key, channel]) => [
    key,
    { ...channel, address: channel.address ?? key },
  ]),
);
