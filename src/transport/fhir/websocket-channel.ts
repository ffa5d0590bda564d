import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { UseCases } from '../../application/index.js';
import type { LiveEvents } from '../../application/live-events.js';
import { openSubscriptionDelivery } from '../../application/use-cases/subscription-delivery.use-case.js';
import type { RequestContext } from '../../domain/index.js';
import { inSpan, SpanKind } from '../../tracing.js';
import { httpStatusOf } from '../http/error-status.js';
import { toDomainError } from '../http/errors.js';
import { correlationIdOfUpgrade, tenantNamed } from '../http/request-context.js';
import { CloseCode } from '../http/websocket-close-code.js';
import { keepWebsocketsAlive } from '../http/websocket-keepalive.js';
import { compileCriteria } from './criteria.js';
import { FHIR_JSON } from './http.js';
import { toOperationOutcome } from './operation-outcome.js';

/**
 * The R4 websocket channel (FHIR R4 subscription.html#websockets) on `/fhir/websocket`: a client
 * sends `bind {id}`, gets `bound {id}`, and then `ping {id}` for every event matching that
 * Subscription's criteria (`error {id} {what}` when it cannot be bound or replayed). The bearer
 * token comes with the upgrade (`Authorization`, or `?access_token=` for browsers); a Subscription
 * of another tenant is unknown here. What is delivered when is the application's
 * (`openSubscriptionDelivery`); this is only the wire.
 */
export function createFhirWebsocketChannel(options: {
  useCases: UseCases;
  live: LiveEvents;
  bufferSize: number;
  newId: () => string;
  /** Interval of websocket pings; a connection that missed the previous pong is dropped. @default 30_000 */
  keepAliveMs?: number;
  /** Told of unexpected errors, with the connection's correlation id (the client only hears that something failed). @default ignored */
  onInternalError?: (error: unknown, correlationId: string) => void;
}) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4_096 });
  const keepAlive = keepWebsocketsAlive(wss, options.keepAliveMs);
  const onInternalError = options.onInternalError ?? (() => undefined);
  const correlationIdOf = (request: IncomingMessage) => correlationIdOfUpgrade(request, options.newId);
  wss.on('headers', (headers: string[], request: IncomingMessage) => headers.push(`X-Correlation-Id: ${correlationIdOf(request)}`));

  async function authenticate(request: IncomingMessage): Promise<RequestContext> {
    const token = new URL(request.url ?? '/', 'http://localhost').searchParams.get('access_token');
    return options.useCases.authenticate({
      authorization: request.headers.authorization ?? (token ? `Bearer ${token}` : undefined),
      tenantHeader: tenantNamed(request.headers['x-tenant-id']),
      correlationId: correlationIdOf(request),
    });
  }

  function serve(socket: WebSocket, ctx: RequestContext) {
    keepAlive.track(socket);
    const send = (text: string) => socket.readyState === socket.OPEN && socket.send(text);
    const delivery = openSubscriptionDelivery(
      {
        useCases: options.useCases,
        live: options.live,
        bufferSize: options.bufferSize,
        compileCriteria: (criteria) => compileCriteria(criteria).matches,
        onInternalError: (error) => onInternalError(error, ctx.correlationId),
      },
      ctx,
      {
        bound: (id) => send(`bound ${id}`),
        notify: (id, event) => {
          if (!event.trace) return void send(`ping ${id}`);
          // The notification is the end of the event's trace: a span in it per subscriber.
          const attributes = { 'rxgate.subscription_id': id, 'rxgate.event_id': event.envelope.metadata.eventId, 'rxgate.stream.seq': event.seq };
          inSpan('fhir-websocket deliver', { kind: SpanKind.PRODUCER, parent: event.trace, attributes }, () => send(`ping ${id}`));
        },
        failed: (id, error) => send(`error ${id} ${error.message}`),
        cutOff: (reason) => socket.close(CloseCode.SubscriberTooSlow, reason),
      },
    );

    socket.on('message', (data) => {
      const [command, id] = data.toString('utf8').trim().split(/\s+/);
      if (command !== 'bind' || !id) return void send(`error ${id ?? ''} expected: bind {id}`.trim());
      delivery.bind(id);
    });
    socket.on('close', () => void delivery.close());
  }

  return {
    handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer) {
      authenticate(request).then(
        (ctx) => wss.handleUpgrade(request, socket, head, (ws) => serve(ws, ctx)),
        (error: unknown) => {
          // Refused like any FHIR request: the status and an OperationOutcome carrying the contract code.
          const refusal = toDomainError(error);
          if (refusal.code === 'INTERNAL') onInternalError(error, correlationIdOf(request));
          const body = JSON.stringify(toOperationOutcome(refusal));
          const status = httpStatusOf(refusal);
          socket.end(
            `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Error'}\r\nConnection: close\r\nX-Correlation-Id: ${correlationIdOf(request)}\r\n` +
              `Content-Type: ${FHIR_JSON}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
          );
        },
      );
    },
    get connections() {
      return wss.clients.size;
    },
    async close() {
      keepAlive.stop();
      for (const client of wss.clients) client.close(CloseCode.GoingAway, 'server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

export type FhirWebsocketChannel = ReturnType<typeof createFhirWebsocketChannel>;
