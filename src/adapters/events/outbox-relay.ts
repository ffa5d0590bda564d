import pg from 'pg';
import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { EventEnvelope } from '../../domain/index.js';
import type { EventBus } from '../../ports/index.js';

export interface OutboxRelayOptions {
  dataSource: DataSource;
  /** Connection URL for the LISTEN connection (a dedicated client, outside the pool). */
  databaseUrl: string;
  bus: EventBus;
  logger: Logger;
  /** Safety-net poll when no NOTIFY arrives. @default 2_000 */
  pollIntervalMs?: number;
  /** @default 200 */
  batchSize?: number;
}

export interface OutboxRelay {
  start(): Promise<void>;
  /** Publishes everything committed so far; resolves when the outbox is drained (or the bus failed). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

const RELAY_LOCK = 7_201_000_002;

interface OutboxRow {
  seq: string;
  event_id: string;
  subject: string;
  envelope: EventEnvelope;
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
  let listener: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let draining: Promise<void> | undefined;
  let again = false;

  async function drainOnce(): Promise<number> {
    return dataSource.transaction(async (manager) => {
      const [{ locked }] = (await manager.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [RELAY_LOCK])) as Array<{ locked: boolean }>;
      if (!locked) return 0;
      const rows = (await manager.query(
        `SELECT seq::text AS seq, event_id, subject, envelope FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1`,
        [batchSize],
      )) as OutboxRow[];
      for (const row of rows) {
        const envelope = { ...row.envelope, metadata: { ...row.envelope.metadata, sequence: row.seq } };
        await bus.publish({ subject: row.subject, msgId: row.event_id, data: Buffer.from(JSON.stringify(envelope)) });
      }
      if (rows.length > 0) await manager.query('UPDATE outbox SET published_at = now() WHERE seq = ANY($1::bigint[])', [rows.map((r) => r.seq)]);
      return rows.length;
    });
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
      } catch (error) {
        logger.warn({ err: error }, 'outbox relay could not publish; will retry');
      } finally {
        draining = undefined;
      }
    })();
    return draining;
  }

  return {
    async start() {
      listener = new pg.Client({ connectionString: options.databaseUrl });
      listener.on('notification', () => void drain());
      listener.on('error', (error) => logger.warn({ err: error }, 'outbox LISTEN connection failed; polling only'));
      await listener.connect();
      await listener.query('LISTEN rxgate_outbox');
      timer = setInterval(() => void drain(), options.pollIntervalMs ?? 2_000);
      timer.unref();
      await drain();
    },

    async flush() {
      await drain();
    },

    async stop() {
      if (timer) clearInterval(timer);
      await drain();
      stopped = true;
      await listener?.end().catch(() => undefined);
    },
  };
}
