import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { UseCases } from '../../application/index.js';
import type { LiveEvents, LiveSubscription } from '../../application/live-events.js';
import { EVENT_TYPES, isDomainError, type RequestContext } from '../../domain/index.js';
import { correlationIdOf } from '../http/request-context.js';
import { toDomainError } from '../http/errors.js';
import { compileCriteria, type CompiledCriteria } from './criteria.js';
import { FHIR_JSON } from './http.js';
import { toOperationOutcome } from './operation-outcome.js';
import { inSpan, SpanKind } from '../../tracing.js';

/** Close code of a subscriber that could not keep up (shared with graphql-ws). */
const SLOW_SUBSCRIBER_CLOSE = 4420;
const CURSOR_WRITE_INTERVAL_MS = 1_000;

interface Binding {
  criteria: CompiledCriteria;
  live: LiveSubscription;
}

/**
 * The R4 websocket channel (FHIR R4 subscription.html#websockets) on `/fhir/websocket`: a client
 * sends `bind {id}`, gets `bound {id}`, and then `ping {id}` for every event matching that
 * Subscription's criteria. The bearer token comes with the upgrade (`Authorization`, or
 * `?access_token=` for browsers); a Subscription of another tenant is unknown here.
 */
export function createFhirWebsocketChannel(options: { useCases: UseCases; live: LiveEvents; bufferSize: number; newId: () => string }) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4_096 });

  async function authenticate(request: IncomingMessage): Promise<RequestContext> {
    const query = new URL(request.url ?? '/', 'http://localhost').searchParams;
    const token = query.get('access_token');
    const tenant = request.headers['x-tenant-id'];
    return options.useCases.authenticate({
      authorization: request.headers.authorization ?? (token ? `Bearer ${token}` : undefined),
      tenantHeader: Array.isArray(tenant) ? tenant.join(', ') : tenant,
      correlationId: correlationIdOf(request.headers, options.newId),
    });
  }

  function serve(socket: WebSocket, ctx: RequestContext) {
    const bindings = new Map<string, Binding>();
    const send = (text: string) => socket.readyState === socket.OPEN && socket.send(text);
    const cursors = new Map<string, string>();
    const flushCursors = () => {
      for (const [id, cursor] of cursors) void options.useCases.recordSubscriptionCursor(ctx, id, cursor).catch(() => undefined);
      cursors.clear();
    };
    const cursorTimer = setInterval(flushCursors, CURSOR_WRITE_INTERVAL_MS);

    const pump = async (id: string, live: LiveSubscription, until?: number) => {
      for await (const event of live) {
        if (until !== undefined && event.seq >= until) break;
        if (event.trace) {
          // The notification is the end of the event's trace: a span in it per subscriber.
          const attributes = { 'rxgate.subscription_id': id, 'rxgate.event_id': event.envelope.metadata.eventId, 'rxgate.stream.seq': event.seq };
          inSpan('fhir-websocket deliver', { kind: SpanKind.PRODUCER, parent: event.trace, attributes }, () => send(`ping ${id}`));
        } else send(`ping ${id}`);
        cursors.set(id, String(event.seq));
      }
    };

    // Replays requested by an admin ($replay) arrive as events; each one concerns one Subscription.
    const replays = options.live.subscribe({
      tenantId: ctx.tenantId,
      matches: (e) => e.envelope.metadata.eventType === EVENT_TYPES.subscriptionReplayed && bindings.has(String(e.envelope.payload.subscriptionId)),
      bufferSize: 100,
      onOverflow: () => socket.close(SLOW_SUBSCRIBER_CLOSE, 'too many replays'),
    });
    void replays.then(async (stream) => {
      socket.once('close', () => void stream.close());
      for await (const request of stream) {
        const id = String(request.envelope.payload.subscriptionId);
        const binding = bindings.get(id);
        if (!binding) continue;
        const replay = await options.live.subscribe({
          tenantId: ctx.tenantId,
          after: Number(request.envelope.payload.from),
          matches: (e) => binding.criteria.matches(e.envelope.payload.resource),
          bufferSize: options.bufferSize,
          onOverflow: () => undefined,
        }).catch((error: unknown) => {
          send(`error ${id} ${isDomainError(error) ? error.message : 'replay failed'}`);
          return undefined;
        });
        if (replay) await pump(id, replay, request.seq).finally(() => replay.close());
      }
    });

    socket.on('message', (data) => {
      const [command, id] = data.toString('utf8').trim().split(/\s+/);
      if (command !== 'bind' || !id) return void send(`error ${id ?? ''} expected: bind {id}`.trim());
      if (bindings.has(id)) return void send(`bound ${id}`);
      void (async () => {
        try {
          const subscription = await options.useCases.getSubscription(ctx, id);
          if (subscription.status !== 'active') return send(`error ${id} subscription is ${subscription.status}`);
          let criteria: CompiledCriteria;
          try {
            criteria = compileCriteria(subscription.criteria);
          } catch (error) {
            const reason = `criteria can no longer be evaluated: ${isDomainError(error) ? error.message : String(error)}`;
            await options.useCases.failSubscription(ctx, id, reason);
            return send(`error ${id} ${reason}`);
          }
          const live = await options.live.subscribe({
            tenantId: ctx.tenantId,
            matches: (e) => e.envelope.metadata.eventType !== EVENT_TYPES.subscriptionReplayed && criteria.matches(e.envelope.payload.resource),
            bufferSize: options.bufferSize,
            onOverflow: () => socket.close(SLOW_SUBSCRIBER_CLOSE, 'subscriber too slow'),
          });
          bindings.set(id, { criteria, live });
          send(`bound ${id}`);
          void pump(id, live);
        } catch (error) {
          send(`error ${id} ${isDomainError(error) ? error.message : 'bind failed'}`);
        }
      })();
    });

    socket.on('close', () => {
      clearInterval(cursorTimer);
      flushCursors();
      for (const binding of bindings.values()) void binding.live.close();
      bindings.clear();
    });
  }

  return {
    handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer) {
      authenticate(request).then(
        (ctx) => wss.handleUpgrade(request, socket, head, (ws) => serve(ws, ctx)),
        (error: unknown) => {
          // Refused like any FHIR request: the status and an OperationOutcome carrying the contract code.
          const refusal = toDomainError(error);
          const body = JSON.stringify(toOperationOutcome(refusal));
          const status = refusal.httpStatus;
          socket.end(
            `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Error'}\r\nConnection: close\r\n` +
              `Content-Type: ${FHIR_JSON}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
          );
        },
      );
    },
    get connections() {
      return wss.clients.size;
    },
    async close() {
      for (const client of wss.clients) client.close(1001, 'server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

export type FhirWebsocketChannel = ReturnType<typeof createFhirWebsocketChannel>;
