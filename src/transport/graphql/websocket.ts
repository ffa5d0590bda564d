import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { UseCases } from '../../application/index.js';
import { isDomainError, type RequestContext } from '../../domain/index.js';
import { correlationIdOf } from '../http/request-context.js';
import { createGraphqlContext } from './context.js';

/** Close codes of a refused graphql-ws connection (CONTRACT §2). */
export const WS_CLOSE = { unauthorized: 4401, forbidden: 4403, goingAway: 1001 } as const;

interface Extra {
  [key: PropertyKey]: unknown;
  socket: WebSocket;
  request: IncomingMessage;
  rxgate?: RequestContext;
}

export interface GraphqlWebsocket {
  /** Closes every connection with 1001 (going away). */
  close(): Promise<void>;
  readonly connections: number;
}

/**
 * graphql-ws (`graphql-transport-ws`) on `/graphql` of the HTTP server. The token travels in
 * `connectionParams.authorization` and is checked at `connection_init` by the same use-case as HTTP.
 */
export function attachGraphqlWebsocket(options: { server: Server; schema: GraphQLSchema; useCases: UseCases; newId: () => string }): GraphqlWebsocket {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1_048_576 });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/graphql') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  options.server.on('upgrade', onUpgrade);

  const server = useServer<Record<string, unknown> | undefined, Extra>(
    {
      schema: options.schema,
      onConnect: async (ctx) => {
        try {
          const authorization = ctx.connectionParams?.authorization;
          ctx.extra.rxgate = await options.useCases.authenticate({
            authorization: typeof authorization === 'string' ? authorization : undefined,
            correlationId: correlationIdOf(ctx.extra.request.headers, options.newId),
          });
          return true;
        } catch (error) {
          const code = isDomainError(error) && error.code === 'UNAUTHENTICATED' ? WS_CLOSE.unauthorized : WS_CLOSE.forbidden;
          ctx.extra.socket.close(code, isDomainError(error) ? error.code : 'Forbidden');
          return false;
        }
      },
      context: (ctx) => createGraphqlContext(options.useCases, ctx.extra.rxgate!),
    },
    wss,
  );

  return {
    get connections() {
      return wss.clients.size;
    },
    async close() {
      options.server.off('upgrade', onUpgrade);
      await server.dispose(); // closes every socket with 1001, then the websocket server
    },
  };
}
