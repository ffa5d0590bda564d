import { Ajv, type ValidateFunction } from 'ajv';
import { buildAsyncApiDocument } from '../../src/transport/events/asyncapi-document.js';

/** A message as it was seen on the bus or in the outbox. */
export interface SeenMessage {
  subject: string;
  /** The parsed JSON body; a string when the body was not JSON. */
  body: unknown;
  /** Where it was seen (`outbox`, `bus`, the stream's name), for the report. */
  source: string;
}

const DOCUMENT_ID = 'urn:rxgate:asyncapi';
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Channel {
  id: string;
  pattern: RegExp;
  parameters: string[];
  validate: ValidateFunction;
}

/**
 * Validates messages against the AsyncAPI document the gateway serves: the subject must be the
 * address of a channel, and the body must validate against that channel's message payload schema.
 * Ajv is strict, so a schema keyword it does not know (a typo in the catalogue) fails too.
 */
export function createMessageValidator(document: Record<string, unknown> = buildAsyncApiDocument({ version: 'test' })) {
  const ajv = new Ajv({
    allErrors: true,
    strict: true,
    allowUnionTypes: true,
    formats: { 'date-time': (value: string) => DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)), uuid: UUID },
  });
  // The document's own members are not schema keywords; its schemas are reached by JSON pointer.
  ajv.addVocabulary(['asyncapi', 'info', 'defaultContentType', 'servers', 'channels', 'operations', 'components']);
  ajv.addSchema({ ...document, $id: DOCUMENT_ID });

  const channels: Channel[] = Object.entries(document.channels as Record<string, { address: string; messages: Record<string, { $ref: string }> }>).map(
    ([id, channel]) => {
      const parameters = [...channel.address.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const pattern = new RegExp(`^${channel.address.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '([^.]+)')}$`);
      const [message] = Object.values(channel.messages);
      const validate = ajv.compile({ $ref: `${DOCUMENT_ID}${message.$ref}/payload` });
      return { id, pattern, parameters, validate };
    },
  );

  const received = new Set(
    Object.values(document.operations as Record<string, { action: string; channel: { $ref: string } }>)
      .filter((operation) => operation.action === 'receive')
      .map((operation) => operation.channel.$ref.replace('#/channels/', '')),
  );

  /** True for a message on a channel rxgate receives (commands): sent by others, not by the gateway. */
  const inbound = (message: SeenMessage) => channels.some((channel) => received.has(channel.id) && channel.pattern.test(message.subject));

  /** The problems of one message; none when it is documented and valid. */
  function problemsOf(message: SeenMessage): string[] {
    const where = `${message.source} ${message.subject}`;
    const matches = channels.flatMap((channel) => {
      const m = channel.pattern.exec(message.subject);
      return m ? [{ channel, values: Object.fromEntries(channel.parameters.map((name, i) => [name, m[i + 1]])) }] : [];
    });
    if (matches.length !== 1)
      return [
        `${where}: ${matches.length === 0 ? 'no channel of the AsyncAPI document has this subject' : `several channels match (${matches.map((m) => m.channel.id).join(', ')})`}`,
      ];
    const [{ channel, values }] = matches;
    if (!channel.validate(message.body)) {
      return (channel.validate.errors ?? []).map(
        (e) => `${where}: ${e.instancePath || '(body)'} ${e.message}${e.params && Object.keys(e.params).length > 0 ? ` ${JSON.stringify(e.params)}` : ''}`,
      );
    }
    const tenant = (message.body as { metadata?: { tenantId?: string } }).metadata?.tenantId;
    if (values.tenantId !== undefined && tenant !== undefined && tenant !== values.tenantId)
      return [`${where}: metadata.tenantId '${tenant}' is not the subject's tenant`];
    return [];
  }

  return {
    problemsOf,
    /** Throws, naming every problem (up to 20), unless every message is documented and valid. */
    assertValid(messages: SeenMessage[]): void {
      // What others send rxgate (commands) is judged by the gateway itself, which dead-letters what does
      // not fit (a test sends malformed commands on purpose): only what rxgate publishes must validate.
      const problems = messages.filter((m) => !inbound(m)).flatMap(problemsOf);
      if (problems.length > 0) {
        throw new Error(`${problems.length} message(s) do not match the AsyncAPI document (docs/asyncapi.json):\n  ${problems.slice(0, 20).join('\n  ')}`);
      }
    },
  };
}

/** The body of a message on the wire: JSON, or the text when it is not JSON. */
export function parseBody(data: Uint8Array | string): unknown {
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
