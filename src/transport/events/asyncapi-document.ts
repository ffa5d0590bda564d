import { BUS_CHANNELS, EVENT_CATALOG, EVENT_HEADERS_SCHEMA, EVENT_METADATA_SCHEMA, type EventDefinition, type JsonSchema } from '../../domain/index.js';

const TENANT_PARAMETER = { description: 'The tenant the event belongs to (`[A-Za-z0-9_-]{1,64}`).' };
const ref = (pointer: string) => ({ $ref: pointer });

/** `{tenantId}`-style parameters of an address, each described. */
function parametersOf(address: string, described: Record<string, string>): Record<string, { description: string }> {
  const names = [...address.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  return Object.fromEntries(names.map((name) => [name, { description: described[name] ?? TENANT_PARAMETER.description }]));
}

/**
 * The AsyncAPI 3.0 document of every subject rxgate publishes or consumes, built from the event
 * catalogue and the channel table of the domain: nothing in it is written by hand. Channel,
 * message and schema ids are the versioned types, so a new version sits beside the old one.
 */
export function buildAsyncApiDocument(options: { version: string }): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, JsonSchema> = { EventMetadata: EVENT_METADATA_SCHEMA };

  const add = (
    id: string,
    channel: { address: string; summary: string; action: 'send' | 'receive'; parameters: Record<string, string>; stream: string; announced?: true },
    message: Record<string, unknown>,
  ) => {
    messages[id] = message;
    channels[id] = {
      address: channel.address,
      summary: channel.summary,
      parameters: parametersOf(channel.address, channel.parameters),
      messages: { [id]: ref(`#/components/messages/${id}`) },
      'x-jetstream-stream': channel.stream,
      // Named by the contract, not used by this version yet: a consumer may prepare for it.
      ...(channel.announced && { 'x-announced': true }),
    };
    operations[`${channel.action}.${id}`] = {
      action: channel.action,
      channel: ref(`#/channels/${id}`),
      summary: channel.summary,
      messages: [ref(`#/channels/${id}/messages/${id}`)],
    };
  };

  for (const [type, definition] of Object.entries(EVENT_CATALOG as Record<string, EventDefinition>)) {
    schemas[type] = definition.payload;
    add(
      type,
      { address: `${type}.{tenantId}`, summary: definition.summary, action: 'send', parameters: {}, stream: 'EPRESCRIBING', announced: definition.announced },
      {
        name: type,
        title: definition.name,
        summary: definition.summary,
        contentType: 'application/json',
        headers: ref('#/components/schemas/EventHeaders'),
        payload: {
          type: 'object',
          additionalProperties: false,
          required: ['metadata', 'payload'],
          properties: {
            metadata: { allOf: [ref('#/components/schemas/EventMetadata'), { type: 'object', properties: { eventType: { const: type } } }] },
            payload: ref(`#/components/schemas/${type}`),
          },
        },
      },
    );
  }
  schemas.EventHeaders = EVENT_HEADERS_SCHEMA;

  for (const [id, channel] of Object.entries(BUS_CHANNELS)) {
    schemas[id] = channel.payload;
    if (channel.headers) schemas[`${id}.headers`] = channel.headers;
    add(id, channel, {
      name: id,
      summary: channel.summary,
      contentType: 'application/json',
      ...(channel.headers && { headers: ref(`#/components/schemas/${id}.headers`) }),
      payload: ref(`#/components/schemas/${id}`),
    });
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'rxgate events',
      version: options.version,
      description:
        'Every subject the rxgate e-prescribing gateway publishes or consumes. Events are committed with the change they describe ' +
        '(transactional outbox) and published on `{eventType}.{tenantId}`, wrapped in an envelope (`metadata`, `payload`); delivery is at ' +
        'least once, so consumers dedupe by `metadata.eventId`. A published version of an event is never changed: a new version is a new ' +
        'type (`….v2`) with its own schema. Stream names are those of the default `NATS_STREAM` (`EPRESCRIBING`).',
    },
    defaultContentType: 'application/json',
    servers: {
      nats: {
        host: 'localhost:4222',
        protocol: 'nats',
        description:
          "NATS JetStream at `NATS_URL`. Without `NATS_URL`, the gateway's embedded bus (kept in PostgreSQL) carries the same subjects inside the process.",
      },
    },
    channels,
    operations,
    components: { schemas, messages },
  };
}
