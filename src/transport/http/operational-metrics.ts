import { Counter, Gauge, type Registry } from 'prom-client';
import type { DataSource } from 'typeorm';

export interface OperationalSources {
  dataSource: DataSource;
  /** Open websocket connections, GraphQL and FHIR. */
  connections(): { graphql: number; fhir: number };
  live(): { subscribers: number; delivered: number; dropped: number };
}

/**
 * The numbers an operator watches (README "Metrics"): outbox backlog, dead letters, live delivery,
 * websockets and the database pool. Gauges are read at scrape time; counters are incremented by
 * the components through the returned handles.
 */
export function registerOperationalMetrics(registry: Registry, sources: OperationalSources) {
  // prom-client collects every metric at once: the gauges below share one read of the database per scrape.
  type Snapshot = { backlog: number; age: number; deadLetters: Array<{ handler: string; n: number }> } | undefined;
  let reading: Promise<Snapshot> | undefined;
  const snapshot = (): Promise<Snapshot> =>
    (reading ??= (async (): Promise<Snapshot> => {
      try {
        const [row] = (await sources.dataSource.query(
          `SELECT count(*)::int AS n, COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS age FROM outbox WHERE published_at IS NULL`,
        )) as Array<{ n: number; age: number }>;
        const deadLetters = (await sources.dataSource.query(`SELECT handler, count(*)::int AS n FROM dead_letters WHERE resolved_at IS NULL GROUP BY handler`)) as Array<{ handler: string; n: number }>;
        return { backlog: row.n, age: Number(row.age), deadLetters };
      } catch {
        return undefined;
      } finally {
        reading = undefined; // shared by the collects of one scrape only: the next scrape reads afresh
      }
    })());
  new Gauge({
    name: 'rxgate_outbox_backlog_events',
    help: 'Committed events not yet published to the stream.',
    registers: [registry],
    async collect() {
      const s = await snapshot();
      if (s) this.set(s.backlog);
    },
  });
  new Gauge({
    name: 'rxgate_outbox_oldest_unpublished_seconds',
    help: 'Age of the oldest unpublished event (0 when none).',
    registers: [registry],
    async collect() {
      const s = await snapshot();
      if (s) this.set(s.age);
    },
  });
  new Gauge({
    name: 'rxgate_dead_letters_open',
    help: 'Open dead letters by action (handler).',
    labelNames: ['handler'],
    registers: [registry],
    async collect() {
      const s = await snapshot();
      if (!s) return;
      this.reset();
      for (const d of s.deadLetters) this.set({ handler: d.handler }, d.n);
    },
  });
  new Gauge({
    name: 'rxgate_outbox_scrape_ok',
    help: '1 when the last scrape could read the outbox and dead letters.',
    registers: [registry],
    async collect() {
      this.set((await snapshot()) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'rxgate_websocket_connections',
    help: 'Open websocket connections by protocol.',
    labelNames: ['protocol'],
    registers: [registry],
    collect() {
      const { graphql, fhir } = sources.connections();
      this.set({ protocol: 'graphql-ws' }, graphql);
      this.set({ protocol: 'fhir' }, fhir);
    },
  });
  new Gauge({ name: 'rxgate_live_subscribers', help: 'Live subscribers served by this instance.', registers: [registry], collect() { this.set(sources.live().subscribers); } });
  new Gauge({ name: 'rxgate_live_events_delivered', help: 'Events handed to live subscribers since start.', registers: [registry], collect() { this.set(sources.live().delivered); } });
  new Gauge({ name: 'rxgate_live_subscribers_dropped', help: 'Live subscribers cut off for not keeping up (backpressure) since start.', registers: [registry], collect() { this.set(sources.live().dropped); } });
  new Gauge({
    name: 'rxgate_db_pool_connections',
    help: 'Database pool connections by state.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const pool = (sources.dataSource.driver as unknown as { master?: { totalCount: number; idleCount: number; waitingCount: number } }).master;
      if (!pool) return;
      this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
  return {
    published: new Counter({ name: 'rxgate_outbox_published_total', help: 'Events the relay published to the stream.', registers: [registry] }),
    actionFailures: new Counter({ name: 'rxgate_action_failures_total', help: 'Failed attempts of workflow actions (each retry counts), by action.', labelNames: ['handler'], registers: [registry] }),
  };
}
