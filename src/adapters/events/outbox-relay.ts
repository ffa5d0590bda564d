import pg from 'pg';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { EventEnvelope } from '../../domain/index.js';
import type { BusMessage, EventBus } from '../../ports/index.js';
import { contextFrom, recordError, SpanKind, startSpan, traceHeaders, withSpan } from '../../tracing.js';
import { rowsOfEach } from '../db/statement-batch.js';

/** What the outbox relay reads from, publishes to and how often (`createOutboxRelay`). */
export interface OutboxRelayOptions {
  /** The database holding the outbox (the relay reads it as the owner, across tenants). */
  dataSource: DataSource;
  /** Connection URL for the LISTEN connection (a dedicated client, outside the pool). */
  databaseUrl: string;
  /** Where events are published. */
  bus: EventBus;
  /** For failures of the connection, the bus or a batch. */
  logger: Logger;
  /** Safety-net poll when no NOTIFY arrives. @default 2_000 */
  pollIntervalMs?: number;
  /** Rows published per transaction (one relay holds the lock for it). @default 200 */
  batchSize?: number;
  /** How long published rows are kept. @default 604_800 // 7 days */
  retentionSeconds?: number;
  /** Told how many events each batch published. */
  onPublished?: (count: number) => void;
}

/** The running relay. */
export interface OutboxRelay {
  /** Listens for commits, starts the poll and the pruning, and publishes what is waiting. */
  start(): Promise<void>;
  /** Publishes everything committed so far; resolves when the outbox is drained (or the bus failed). */
  flush(): Promise<void>;
  /** Publishes what is committed, then stops listening and polling. */
  stop(): Promise<void>;
}

const RELAY_LOCK = 7_201_000_002;

interface OutboxRow {
  seq: string;
  event_id: string;
  subject: string;
  envelope: EventEnvelope;
  traceparent: string | null;
}

/**
 * Publishes committed outbox rows to the bus in outbox order, woken by NOTIFY at commit.
 * One relay publishes at a time across all instances (a transaction-scoped advisory lock), so
 * order holds with several instances; a row published but not yet marked (crash in between) is
 * published again and dropped by the bus's dedupe on the event id.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { dataSource, bus, logger } = options;
  const batchSize = options.batchSize ?? 200;
  const retentionSeconds = options.retentionSeconds ?? 604_800;
  let pruneTimer: NodeJS.Timeout | undefined;
  let listener: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let listenTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  let draining: Promise<void> | undefined;
  let again = false;
  let drainFailures = 0;
  let listenFailures = 0;
  /** 100 ms, doubling, at most 1 s: back within a second of the database or the bus being back. */
  const backoff = (failures: number) => Math.min(100 * 2 ** Math.min(failures, 10), 1_000);

  // Hand-written SQL: the drain follows every commit and keeps up with creates (RESULTS.md: drained 0.0 s after 262 creates/s).
  async function drainOnce(): Promise<number> {
    return dataSource.transaction(async (manager) => {
      // Lock, rows and last sequence in one round trip; each statement still reads after the lock (its own snapshot).
      const [[{ locked }], rows, [{ last }]] = await rowsOfEach<[Array<{ locked: boolean }>, OutboxRow[], Array<{ last: string }>]>(manager, [
        { sql: 'SELECT pg_try_advisory_xact_lock($1) AS locked', parameters: [RELAY_LOCK] },
        {
          sql: 'SELECT seq::text AS seq, event_id, subject, envelope, traceparent FROM outbox WHERE published_at IS NULL ORDER BY outbox.seq LIMIT $1',
          parameters: [batchSize],
        },
        // Sequence numbers follow publish order (the relay holds the lock); a rolled-back batch reuses them.
        { sql: 'SELECT last_sequence::text AS last FROM relay_state WHERE id = 1', parameters: [] },
      ]);
      if (!locked || rows.length === 0) return 0;
      let sequence = BigInt(last);
      const sequences: string[] = [];
      const messages: BusMessage[] = [];
      // A span per row, in the trace of the request that wrote it; its context goes on in the message headers.
      const spans = rows.map((row) => {
        const parent = contextFrom(row);
        const span = startSpan('outbox publish', {
          kind: SpanKind.PRODUCER,
          parent,
          attributes: {
            'messaging.system': bus.kind === 'nats' ? 'nats' : 'rxgate-embedded',
            'messaging.operation.type': 'send',
            'messaging.destination.name': row.subject,
            'messaging.message.id': row.event_id,
          },
        });
        sequence += 1n;
        sequences.push(sequence.toString());
        const envelope = { ...row.envelope, metadata: { ...row.envelope.metadata, sequence: sequence.toString() } };
        messages.push({
          subject: row.subject,
          msgId: row.event_id,
          data: Buffer.from(JSON.stringify(envelope)),
          headers: traceHeaders(withSpan(parent, span)),
        });
        return span;
      });
      // All of the batch at once, in order: the bus keeps a prefix if it fails (then nothing is marked and all go again).
      try {
        await bus.publishAll(messages);
      } catch (error) {
        for (const span of spans) recordError(span, error);
        throw error;
      } finally {
        for (const span of spans) span.end();
      }
      await rowsOfEach(manager, [
        {
          sql: 'UPDATE outbox o SET published_at = now(), sequence = s.sequence FROM unnest($1::bigint[], $2::bigint[]) AS s(seq, sequence) WHERE o.seq = s.seq',
          parameters: [rows.map((r) => r.seq), sequences],
        },
        { sql: 'UPDATE relay_state SET last_sequence = $1 WHERE id = 1', parameters: [sequence.toString()] },
      ]);
      options.onPublished?.(rows.length);
      return rows.length;
    });
  }

  /** Published rows older than the retention go; the bus keeps what subscribers replay. */
  async function prune(): Promise<void> {
    await dataSource
      .query(`DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)`, [retentionSeconds])
      .catch((error: unknown) => logger.warn({ err: error }, 'outbox prune failed'));
  }

  function drain(): Promise<void> {
    if (draining) {
      again = true;
      return draining;
    }
    draining = (async () => {
      try {
        do {
          again = false;
          while (!stopped && (await drainOnce()) === batchSize);
        } while (again && !stopped);
        drainFailures = 0;
      } catch (error) {
        // The database or the bus is away: try again soon rather than at the next poll.
        if (drainFailures === 0) logger.warn({ err: error }, 'outbox relay could not publish; will retry');
        drainFailures++;
        if (!stopped && !retryTimer) {
          retryTimer = setTimeout(() => {
            retryTimer = undefined;
            void drain();
          }, backoff(drainFailures));
          retryTimer.unref();
        }
      } finally {
        draining = undefined;
      }
    })();
    return draining;
  }

  /**
   * The LISTEN connection, opened again (with backoff) whenever it is lost: a database restart ends
   * it, and without it every event would wait for the safety-net poll.
   */
  async function listen(): Promise<void> {
    const client = new pg.Client({ connectionString: options.databaseUrl });
    client.on('error', (error) => logger.warn({ err: error }, 'outbox LISTEN connection lost; listening again'));
    try {
      await client.connect();
      client.on('notification', () => void drain());
      await client.query('LISTEN rxgate_outbox');
    } catch (error) {
      client.removeAllListeners('notification');
      await client.end().catch(() => undefined);
      throw error;
    }
    if (stopped) return void (await client.end().catch(() => undefined));
    client.once('end', () => {
      if (listener !== client) return;
      listener = undefined;
      listenAgain();
    });
    listener = client;
    if (listenFailures > 0) logger.info({ attempts: listenFailures }, 'outbox LISTEN connection back');
    listenFailures = 0;
    void drain(); // whatever committed while nobody listened
  }

  function listenAgain(): void {
    if (stopped || listenTimer) return;
    listenTimer = setTimeout(() => {
      listenTimer = undefined;
      listen().catch((error: unknown) => {
        if (listenFailures === 0) logger.warn({ err: error }, 'outbox LISTEN connection failed; polling meanwhile, listening again');
        listenFailures++;
        listenAgain();
      });
    }, backoff(listenFailures));
    listenTimer.unref();
  }

  return {
    async start() {
      await listen();
      timer = setInterval(() => void drain(), options.pollIntervalMs ?? 2_000);
      timer.unref();
      pruneTimer = setInterval(() => void prune(), 600_000);
      pruneTimer.unref();
      await prune();
      await drain();
    },

    async flush() {
      await drain();
    },

    async stop() {
      if (timer) clearInterval(timer);
      if (pruneTimer) clearInterval(pruneTimer);
      await drain();
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      if (listenTimer) clearTimeout(listenTimer);
      const client = listener;
      listener = undefined;
      await client?.end().catch(() => undefined);
    },
  };
}
