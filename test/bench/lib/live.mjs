// Many graphql-ws subscribers in this process, and what they receive: commit → receipt latency
// (from the event's occurredAt, stamped in the writing transaction), losses and repeats.
import { fork } from 'node:child_process';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { sleep, summarize, waitFor } from './stats.mjs';

/** What the subscribers received since the last reset. */
export function createCollector() {
  const collector = {
    latencies: [],
    received: 0,
    seen: [],
    firstAt: undefined,
    lastAt: undefined,
    errors: [],
    reset() {
      collector.latencies = [];
      collector.received = 0;
      collector.seen = collector.seen.map(() => new Set());
      collector.firstAt = collector.lastAt = undefined;
    },
    record(index, event) {
      const now = Date.now();
      collector.received++;
      collector.sample ??= event; // the payload the bare server will send
      collector.firstAt ??= now;
      collector.lastAt = now;
      collector.latencies.push(now - Date.parse(event.occurredAt));
      (collector.seen[index] ??= new Set()).add(event.sequence);
    },
    /** Deliveries counted once per subscriber and event; the rest are repeats. */
    unique: () => collector.seen.reduce((n, s) => n + (s?.size ?? 0), 0),
    summary: () => ({ ...summarize(collector.latencies), received: collector.received, unique: collector.unique() }),
  };
  return collector;
}

/**
 * Opens `count` graphql-ws clients, each with one subscription, in batches (a burst of thousands of
 * handshakes at once only measures the accept queue). Resolves once all are connected. `query` may be
 * a function of the subscriber's index (each its own filter).
 */
export async function connectSubscribers({ wsUrl, token, count, query, collector, batch = 250, timeoutMs = 120_000 }) {
  const clients = [];
  let connected = 0;
  let closedEarly = 0;
  let disposing = false;
  for (let start = 0; start < count; start += batch) {
    for (let i = start; i < Math.min(count, start + batch); i++) {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        retryAttempts: 0,
        lazy: true,
      });
      client.on('connected', () => connected++);
      client.on('closed', (event) => {
        if (!disposing) {
          closedEarly++;
          collector?.errors.push(`subscriber closed: ${event?.code ?? ''} ${event?.reason ?? ''}`.trim());
        }
      });
      client.subscribe(
        { query: typeof query === 'function' ? query(i) : query },
        {
          next: (value) => {
            if (value.errors) collector?.errors.push(JSON.stringify(value.errors).slice(0, 200));
            else if (collector) collector.record(i, value.data.prescriptionEvents);
          },
          error: (error) => !disposing && collector?.errors.push(`subscription error: ${JSON.stringify(error?.message ?? error).slice(0, 200)}`),
          complete: () => undefined,
        },
      );
      clients.push(client);
    }
    const target = Math.min(count, start + batch);
    const ok = await waitFor(() => connected + closedEarly >= target, timeoutMs, 20);
    if (!ok) throw new Error(`only ${connected} of ${target} subscribers connected within ${timeoutMs / 1000} s`);
  }
  if (closedEarly > 0) throw new Error(`${closedEarly} subscribers were closed while connecting: ${collector?.errors.slice(-1)}`);
  return {
    clients,
    async close() {
      disposing = true;
      await Promise.all(clients.map((c) => c.dispose()));
    },
  };
}

/**
 * Waits until `expected` deliveries arrived, nothing more arrived for `stallMs` (the rest is lost),
 * or `ms` passed while they were still arriving (the rest is late, not lost). Answers which.
 */
export async function drain(collector, expected, ms, stallMs = 5_000) {
  const deadline = Date.now() + ms;
  let seen = collector.received;
  let changedAt = Date.now();
  for (;;) {
    if (collector.received >= expected) break;
    if (collector.received !== seen) [seen, changedAt] = [collector.received, Date.now()];
    if (Date.now() - changedAt > stallMs) return { missing: expected - collector.unique(), late: 0 };
    if (Date.now() > deadline) return { missing: 0, late: expected - collector.unique() };
    await sleep(20);
  }
  await sleep(200); // repeats, if any, arrive too
  return { missing: Math.max(0, expected - collector.unique()), late: 0 };
}

/** Starts the bare graphql-ws server (bare-graphql-ws.mjs) as a child process. */
export async function startBareServer() {
  const child = fork(new URL('./bare-graphql-ws.mjs', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m.port));
    child.once('exit', () => reject(new Error('the bare graphql-ws server did not start')));
  });
  const ask = (message, key) =>
    new Promise((resolve) => {
      const onMessage = (m) => {
        if (m[key] === undefined) return;
        child.off('message', onMessage);
        resolve(m[key]);
      };
      child.on('message', onMessage);
      child.send(message);
    });
  return {
    pid: child.pid,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    publish: (payload, events, rate) => ask({ publish: { payload, events, rate } }, 'published'),
    subscribers: () => ask({ count: true }, 'subscribers'),
    stop: () => {
      child.disconnect();
      return new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
