import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type { DocumentNode, GraphQLError, GraphQLSchema } from 'graphql';
import { areGraphQLErrors } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { type WebSocket, WebSocketServer } from 'ws';
import type { UseCases } from '../../application/index.js';
import type { LiveEvents } from '../../application/live-events.js';
import type { RequestContext } from '../../domain/index.js';
import type { Span } from '../../tracing.js';
import { correlationIdOfUpgrade, tenantNamed } from '../http/request-context.js';
import { CloseCode, closeFor } from '../http/websocket-close-code.js';
import { keepWebsocketsAlive } from '../http/websocket-keepalive.js';
import type { GraphqlBounds } from './bounds.js';
import { createGraphqlContext } from './context.js';
import { formatGraphqlError } from './errors.js';
import { endWebsocketOperationSpan, startWebsocketOperationSpan } from './operation-spans.js';
import { createSharedSubscribe, operationKey } from './shared-subscribe.js';
import { prepareWebsocketOperation } from './websocket-operation.js';

// graphql-ws checks errors returned from onSubscribe with `instanceof` against the GraphQLError of the
// graphql build it loads. Under a runner that transforms sources (vitest) ours can be the other build
// (CommonJS vs ESM), so the class is picked by asking graphql-ws which one it accepts.
const graphqlBuilds = [createRequire(import.meta.url)('graphql') as typeof import('graphql'), await import('graphql')];
const WsGraphQLError =
  graphqlBuilds.map((build) => build.GraphQLError).find((ErrorClass) => areGraphQLErrors([new ErrorClass('probe')])) ?? graphqlBuilds[1].GraphQLError;
const refusal = (error: GraphQLError): GraphQLError =>
  new WsGraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: error.extensions,
  }) as unknown as GraphQLError;

interface Extra {
  [key: PropertyKey]: unknown;
  socket: WebSocket;
  request: IncomingMessage;
  rxgate?: RequestContext;
  /** Spans of the operations being set up, by operation id. */
  spans?: Map<string, Span>;
}

/** `x-tenant-id` (any case) in `connectionParams`: how a client that cannot set headers (a browser) names its tenant. */
const tenantParam = (params: Record<string, unknown> | undefined): unknown =>
  Object.entries(params ?? {}).find(([key]) => key.toLowerCase() === 'x-tenant-id')?.[1];

export interface GraphqlWebsocket {
  /** Takes an HTTP upgrade request for `/graphql`. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes every connection with 1001 (going away). */
  close(): Promise<void>;
  readonly connections: number;
}

/**
 * graphql-ws (`graphql-transport-ws`) on `/graphql` of the HTTP server. The token travels in
 * `connectionParams.authorization` and is checked at `connection_init` by the same use-case as HTTP.
 */
export function createGraphqlWebsocket(options: {
  schema: GraphQLSchema;
  useCases: UseCases;
  newId: () => string;
  live: LiveEvents;
  subscriberBufferSize: number;
  /** Interval of websocket pings; a connection that missed the previous pong is dropped. @default 30_000 */
  keepAliveMs?: number;
  exposeErrorDetails: boolean;
  /** Told of every unexpected error, with the correlation id of the connection it happened on. */
  onInternalError: (error: unknown, correlationId: string) => void;
  bounds: GraphqlBounds;
}): GraphqlWebsocket {
  const correlationIdOf = (request: IncomingMessage) => correlationIdOfUpgrade(request, options.newId);
  // What a GraphQLError made here to carry another error stands for (graphql-ws only sends GraphQLErrors).
  const causes = new WeakMap<GraphQLError, unknown>();
  const format = (error: GraphQLError, request: IncomingMessage): GraphQLError => {
    const correlationId = correlationIdOf(request);
    const formatted = formatGraphqlError(error.toJSON(), causes.has(error) ? causes.get(error) : error, options.exposeErrorDetails, (cause) =>
      options.onInternalError(cause, correlationId),
    );
    // Over HTTP the id to quote travels in X-Correlation-Id; a websocket message has no headers.
    return (formatted.extensions?.code === 'INTERNAL'
      ? { ...formatted, extensions: { ...formatted.extensions, correlationId } }
      : formatted) as unknown as GraphQLError;
  };
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1_048_576 });
  wss.on('headers', (headers: string[], request: IncomingMessage) => headers.push(`X-Correlation-Id: ${correlationIdOf(request)}`));
  const keepAlive = keepWebsocketsAlive(wss, options.keepAliveMs);
  wss.on('connection', (socket: WebSocket) => keepAlive.track(socket));

  // The text of each prepared document: subscribers of the same text share each event's execution.
  const queries = new WeakMap<DocumentNode, string>();
  const subscribe = createSharedSubscribe((args) => {
    const query = queries.get(args.document);
    return query === undefined ? undefined : operationKey(query, args);
  });
  const server = useServer<Record<string, unknown> | undefined, Extra>(
    {
      schema: options.schema,
      subscribe,
      onConnect: async (ctx) => {
        try {
          const authorization = ctx.connectionParams?.authorization;
          ctx.extra.rxgate = await options.useCases.authenticate({
            authorization: typeof authorization === 'string' ? authorization : undefined,
            tenantHeader: tenantNamed(ctx.extra.request.headers['x-tenant-id'], tenantParam(ctx.connectionParams)),
            correlationId: correlationIdOf(ctx.extra.request),
          });
          return true;
        } catch (error) {
          const close = closeFor(error);
          if (close.code === CloseCode.InternalError) options.onInternalError(error, correlationIdOf(ctx.extra.request));
          ctx.extra.socket.close(close.code, close.reason);
          return false;
        }
      },
      // Parsed, validated and bounded here as Apollo does over HTTP, so a document that does not parse
      // or validate gets the same answer as there (graphql-ws would throw it, or send it without a code).
      onSubscribe: (ctx, id, payload) => {
        (ctx.extra.spans ??= new Map()).set(id, startWebsocketOperationSpan(payload.operationName));
        try {
          const prepared = prepareWebsocketOperation(options.schema, payload, options.bounds);
          // Built with the GraphQLError class graphql-ws itself imports (it checks with instanceof).
          if ('errors' in prepared) return prepared.errors.map(refusal);
          queries.set(prepared.operation.document, payload.query);
          return { schema: options.schema, ...prepared.operation };
        } catch (error) {
          // Thrown from here, graphql-ws would close the socket with 4500 and print the stack; the
          // error is answered (and logged) as any unexpected one instead.
          const carrier = new WsGraphQLError('unexpected error preparing the operation') as unknown as GraphQLError;
          causes.set(carrier, error);
          return [carrier];
        }
      },
      onOperation: (ctx, id, _payload, args) => {
        const span = ctx.extra.spans?.get(id);
        ctx.extra.spans?.delete(id);
        if (span) endWebsocketOperationSpan(span, args.document, args.operationName);
      },
      // The same error mapping as HTTP (CONTRACT §2): `extensions.code`, nothing internal.
      onError: (ctx, id, _payload, errors) => {
        const formatted = errors.map((e) => format(e, ctx.extra.request));
        const span = ctx.extra.spans?.get(id);
        ctx.extra.spans?.delete(id);
        if (span) endWebsocketOperationSpan(span, undefined, undefined, formatted);
        return formatted as never;
      },
      onComplete: (ctx, id) => {
        ctx.extra.spans?.get(id)?.end(); // an operation that ended before it was set up
        ctx.extra.spans?.delete(id);
      },
      onNext: (ctx, _id, _payload, _args, result) =>
        ('errors' in result && result.errors ? { ...result, errors: result.errors.map((e) => format(e, ctx.extra.request)) } : result) as never,
      context: (ctx) => ({
        ...createGraphqlContext(options.useCases, ctx.extra.rxgate!),
        live: options.live,
        subscriberBufferSize: options.subscriberBufferSize,
        closeConnection: (code: CloseCode, reason: string) => ctx.extra.socket.close(code, reason),
      }),
    },
    wss,
  );

  return {
    handleUpgrade(request, socket, head) {
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
    },
    get connections() {
      return wss.clients.size;
    },
    async close() {
      keepAlive.stop();
      await server.dispose(); // closes every socket with 1001, then the websocket server
    },
  };
}
