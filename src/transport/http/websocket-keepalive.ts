import type { WebSocket, WebSocketServer } from 'ws';

/** Keepalive pings sent before the sweep lets other work run. */
const PING_SLICE = 500;

/** The keepalive of one websocket server (`keepWebsocketsAlive`). */
export interface WebsocketKeepAlive {
  /** Counts a socket as alive from now on; it must answer each ping before the next one. */
  track(socket: WebSocket): void;
  /** Ends the pings (the sockets stay open). */
  stop(): void;
}

/**
 * Ping/pong keepalive (RFC 6455 §5.5.2) of every socket of `server` that was tracked: a peer that
 * did not answer the previous ping is dropped, instead of holding its subscriptions and buffers until
 * TCP gives up, which can take hours. Both websocket doors (GraphQL, FHIR) use it; `intervalMs` is
 * `WS_KEEPALIVE_MS` (30 s by default).
 */
export function keepWebsocketsAlive(server: WebSocketServer, intervalMs = 30_000): WebsocketKeepAlive {
  const alive = new WeakSet<WebSocket>();
  const tracked = new WeakSet<WebSocket>();
  // A ping is a socket write: 10,000 in one go held up every event delivered meanwhile (RESULTS.md,
  // 10,000 filtered subscribers: p99 114 ms with one loop, 35 ms with slices). The sweep yields between slices.
  let sweeping = false;
  const sweep = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      let sinceYield = 0;
      for (const socket of [...server.clients]) {
        if (++sinceYield === PING_SLICE) {
          sinceYield = 0;
          await new Promise(setImmediate);
        }
        if (!tracked.has(socket) || socket.readyState !== socket.OPEN) continue; // not yet served, or gone while the sweep yielded
        if (!alive.has(socket)) {
          socket.terminate();
          continue;
        }
        alive.delete(socket);
        socket.ping();
      }
    } finally {
      sweeping = false;
    }
  };
  const timer = setInterval(() => void sweep(), intervalMs);
  timer.unref();
  return {
    track(socket) {
      tracked.add(socket);
      alive.add(socket);
      socket.on('pong', () => alive.add(socket));
    },
    stop() {
      clearInterval(timer);
    },
  };
}
