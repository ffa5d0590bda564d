import pg from 'pg';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { BusMessage, BusRetention, BusSubscription, DeliveredMessage, EventBus, PublishAck, SubscribeOptions } from '../../ports/index.js';
import { subjectFilterRegex } from './subject-filter.js';

/** Where the embedded bus keeps its messages and how it waits (`createPostgresBus`). */
export interface PostgresBusOptions {
  /** The database holding `bus_messages` and `bus_consumers`. */
  dataSource: DataSource;
  /** For the LISTEN connection and the connections that hold durable consumers. */
  databaseUrl: string;
  /** For failures of its connections and of the pruning. */
  logger: Logger;
  /** Safety-net poll when no NOTIFY arrives. @default 1_000 */
  pollIntervalMs?: number;
  /** Wait before a durable consumer retries a message whose handler threw. @default 1_000 */
  redeliveryDelayMs?: number;
  /** How long messages are kept (pruned at start, every 5 minutes and every 1,000 messages). @default 7 days, 1,000,000 messages */
  retention?: BusRetention;
}

const PUBLISH_LOCK = 7_201_000_003;
const BATCH = 200;

interface Row {
  /** The newest sequence the read's snapshot holds (null: the table is empty). */
  top: string | null;
  /** Null on the one row of a read that matched nothing. */
  seq: string | null;
  subject: string;
  data: Buffer;
  headers: Record<string, string> | null;
}

/**
 * The event stream of the embedded runtime, kept in the (embedded) PostgreSQL so that it has what
 * rxgate relies on from JetStream: one total order, dedupe by message id, replay from a position,
 * durable consumers that survive a restart, redelivery when a handler fails, and fan-out to every
 * instance on the same database. Publishes are serialised by an advisory lock held to commit, so
 * sequence order is commit order and a reader never skips a late-committing message.
 */
// Hand-written SQL: every event crosses it (not in RESULTS.md, which ran on NATS); nextval, regex subjects and the locks have no query-builder form.
export function createPostgresBus(options: PostgresBusOptions): EventBus & { start(): Promise<void>; prune(): Promise<unknown> } {
  const { dataSource, logger } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const redeliveryDelayMs = options.redeliveryDelayMs ?? 1_000;
  const subscriptions = new Set<{ wake(): void }>();
  const clients = new Set<pg.Client>();
  let listener: pg.Client | undefined;
  let closed = false;
  let pruneTimer: NodeJS.Timeout | undefined;
  const retention = options.retention ?? { maxAgeSeconds: 604_800, maxMessages: 1_000_000 };
  const prune = () =>
    dataSource
      .query(`DELETE FROM bus_messages WHERE published_at < now() - make_interval(secs => $1) OR seq <= (SELECT max(seq) FROM bus_messages) - $2`, [
        retention.maxAgeSeconds,
        retention.maxMessages,
      ])
      .catch((error: unknown) => logger.warn({ err: error }, 'embedded bus prune failed'));

  const connect = async (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: options.databaseUrl });
    client.on('error', (error) => logger.warn({ err: error }, 'embedded bus connection failed'));
    await client.connect();
    clients.add(client);
    return client;
  };
  const release = async (client: pg.Client) => {
    clients.delete(client);
    await client.end().catch(() => undefined);
  };

  const bus: EventBus & { start(): Promise<void>; prune(): Promise<unknown> } = {
    kind: 'embedded',

    async start() {
      listener = await connect();
      listener.on('notification', () => {
        for (const s of subscriptions) s.wake();
      });
      await listener.query('LISTEN rxgate_bus');
      await prune();
      pruneTimer = setInterval(() => void prune(), 300_000);
      pruneTimer.unref();
    },

    async firstSeq(subjectFilter) {
      const [row] = (await dataSource.query(
        `SELECT COALESCE((SELECT min(seq) FROM bus_messages WHERE subject ~ $1), (SELECT CASE WHEN is_called THEN last_value + 1 ELSE 1 END FROM bus_messages_seq))::text AS first`,
        [subjectFilterRegex(subjectFilter)],
      )) as Array<{ first: string }>;
      return Number(row.first);
    },

    /** Drops messages past the retention now (also done every five minutes). */
    prune,

    async publish(message: BusMessage): Promise<PublishAck> {
      return (await bus.publishAll([message]))[0];
    },

    // One transaction, one statement and one NOTIFY for the batch: one transaction per message held
    // the relay at about 500 messages/s on the embedded runtime, with 1 ms of the gateway's CPU each.
    async publishAll(messages: readonly BusMessage[]): Promise<PublishAck[]> {
      if (closed) throw new Error('event bus is closed');
      if (messages.length === 0) return [];
      const msgIds = messages.map((m) => m.msgId);
      return dataSource.transaction(async (manager) => {
        await manager.query('SELECT pg_advisory_xact_lock($1)', [PUBLISH_LOCK]);
        // In the batch's order (volatile nextval is evaluated after the sort); a repeat of an earlier
        // message, in the stream or in the batch, is not inserted.
        const inserted = (await manager.query(
          `INSERT INTO bus_messages (seq, subject, msg_id, data, headers)
           SELECT nextval('bus_messages_seq'), subject, msg_id, data, headers
             FROM unnest($1::text[], $2::text[], $3::bytea[], $4::jsonb[]) WITH ORDINALITY AS m(subject, msg_id, data, headers, n)
            ORDER BY n
           ON CONFLICT (msg_id) DO NOTHING RETURNING msg_id, seq::text AS seq`,
          [
            messages.map((m) => m.subject),
            msgIds,
            messages.map((m) => Buffer.from(m.data)),
            messages.map((m) => (m.headers && Object.keys(m.headers).length > 0 ? JSON.stringify(m.headers) : null)),
          ],
        )) as Array<{ msg_id: string; seq: string }>;
        const fresh = new Map(inserted.map((row) => [row.msg_id, Number(row.seq)]));
        const kept = new Map(fresh);
        if (inserted.length < messages.length) {
          const repeated = msgIds.filter((id) => !fresh.has(id));
          const rows = (await manager.query('SELECT msg_id, seq::text AS seq FROM bus_messages WHERE msg_id = ANY($1::text[])', [repeated])) as Array<{
            msg_id: string;
            seq: string;
          }>;
          for (const row of rows) kept.set(row.msg_id, Number(row.seq));
        }
        if (inserted.length > 0) {
          await manager.query(`SELECT pg_notify('rxgate_bus', '')`);
          // Keep within the limits between the periodic prunes: once per thousand messages.
          const seqs = [...fresh.values()];
          if (Math.floor(Math.max(...seqs) / 1_000) > Math.floor((Math.min(...seqs) - 1) / 1_000)) void prune();
        }
        const acked = new Set<string>();
        return msgIds.map((id) => {
          const duplicate = !fresh.has(id) || acked.has(id);
          acked.add(id);
          return { seq: kept.get(id)!, duplicate };
        });
      });
    },

    async subscribe(subjectFilter, handler, subscribeOptions: SubscribeOptions = {}): Promise<BusSubscription> {
      const regex = subjectFilterRegex(subjectFilter);
      const durable = subscribeOptions.durable;
      let stopped = false;
      let wakeUp: (() => void) | undefined;
      // A wake that comes while a read or a delivery runs finds no sleep to end: it is kept, and the
      // next sleep returns at once (else a message published meanwhile waited for the poll). A close
      // likewise: the next sleep must not begin.
      let woken = false;
      const sleep = (ms: number) => {
        if (stopped || woken) {
          woken = false;
          return Promise.resolve();
        }
        return new Promise<void>((resolve) => {
          const end = () => {
            wakeUp = undefined;
            resolve();
          };
          const timer = setTimeout(end, ms);
          wakeUp = () => {
            clearTimeout(timer);
            end();
          };
        });
      };
      const subscription = {
        wake: () => {
          if (wakeUp) wakeUp();
          else woken = true;
        },
      };
      subscriptions.add(subscription);

      // A durable consumer is served by one instance at a time: the holder of its session lock.
      let owner: pg.Client | undefined;
      const current = async () =>
        Number(
          ((await dataSource.query('SELECT last_value::text AS v, is_called FROM bus_messages_seq')) as Array<{ v: string; is_called: boolean }>).map((r) =>
            r.is_called ? r.v : '0',
          )[0],
        );
      let position = subscribeOptions.afterSeq ?? (durable ? 0 : await current());

      const acquire = async (): Promise<boolean> => {
        owner ??= await connect();
        const [{ locked }] = (await owner.query('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [`bus-consumer:${durable}`])).rows as Array<{
          locked: boolean;
        }>;
        if (!locked) return false;
        await owner.query('INSERT INTO bus_consumers (name, acked_seq) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [durable, position]);
        const [{ acked }] = (await owner.query('SELECT acked_seq::text AS acked FROM bus_consumers WHERE name = $1', [durable])).rows as Array<{
          acked: string;
        }>;
        position = Number(acked);
        return true;
      };

      /** Answers whether the message is done with (handled, or skipped by an ephemeral subscriber). */
      const deliver = async (message: DeliveredMessage): Promise<boolean> => {
        for (;;) {
          try {
            await handler(message);
            return true;
          } catch (error) {
            if (!durable) {
              logger.warn({ err: error, subject: message.subject }, 'event handler failed');
              return true;
            }
            if (stopped) return false; // left unacknowledged: delivered again after a restart
            logger.warn({ err: error, consumer: durable, seq: message.seq }, 'durable consumer handler failed; redelivering');
            await sleep(redeliveryDelayMs);
          }
        }
      };

      const loop = (async () => {
        while (!stopped && durable && !(await acquire().catch(() => false))) await sleep(pollIntervalMs);
        while (!stopped) {
          // `top` is the newest message this statement's snapshot holds. Publishes commit in sequence
          // order (the publish lock), so when fewer than a batch match, nothing matching is left at or
          // below `top`: the position moves there. Without that, a consumer whose filter rarely matches
          // scanned every later message again at each wake, and its cost grew with the stream.
          const rows = (await dataSource
            .query(
              `SELECT t.top::text AS top, m.seq::text AS seq, m.subject, m.data, m.headers
                 FROM (SELECT max(seq) AS top FROM bus_messages) t
                 LEFT JOIN LATERAL (SELECT seq, subject, data, headers FROM bus_messages
                                     WHERE seq > $1 AND seq <= t.top AND subject ~ $2 ORDER BY seq LIMIT $3) m ON true`,
              [position, regex, BATCH],
            )
            .catch((error: unknown) => {
              logger.warn({ err: error }, 'embedded bus read failed');
              return [];
            })) as Row[];
          const messages = rows.filter((row) => row.seq !== null);
          let delivered = true;
          for (const row of messages) {
            if (stopped) break;
            delivered = await deliver({
              subject: row.subject,
              seq: Number(row.seq),
              data: new Uint8Array(row.data),
              ...(row.headers && { headers: row.headers }),
            });
            if (!delivered) break;
            position = Number(row.seq);
            if (durable) await owner!.query('UPDATE bus_consumers SET acked_seq = $2, updated_at = now() WHERE name = $1', [durable, position]);
          }
          if (stopped || !delivered) continue;
          if (messages.length < BATCH) {
            const top = rows.length > 0 && rows[0].top !== null ? Number(rows[0].top) : position;
            if (top > position) position = top; // a durable's table position stays at its last handled message: lag() counts from there
            await sleep(pollIntervalMs);
          }
        }
      })();

      return {
        async close() {
          stopped = true;
          subscriptions.delete(subscription);
          subscription.wake();
          await loop.catch(() => undefined);
          if (owner) await release(owner);
        },
        // Matching messages past the position: a durable's is the acknowledged one in the table,
        // whichever instance consumes (this one's `position` is stale when another holds the lock).
        async lag() {
          const [row] = (await dataSource.query(
            `SELECT count(*)::int AS n FROM bus_messages
              WHERE seq > COALESCE((SELECT acked_seq FROM bus_consumers WHERE name = $1), $2) AND subject ~ $3`,
            [durable ?? null, position, regex],
          )) as Array<{ n: number }>;
          return row.n;
        },
      };
    },

    async ping() {
      if (closed || !listener) return false;
      try {
        await listener.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },

    async close() {
      closed = true;
      if (pruneTimer) clearInterval(pruneTimer);
      for (const s of subscriptions) s.wake();
      for (const client of [...clients]) await release(client);
    },
  };
  return bus;
}
