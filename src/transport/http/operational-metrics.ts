import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { TimerOutcome } from '../../application/use-cases/workflow-timers.use-case.js';
import type { DatabasePoolState, OperationalReadings, OperationalSnapshot } from '../../ports/index.js';

export interface OperationalSources {
  /** The outbox, dead-letter and pool figures of the database. */
  readings: OperationalReadings;
  /** Open websocket connections, GraphQL and FHIR. */
  connections(): { graphql: number; fhir: number };
  live(): { subscribers: number; replaying: number; delivered: number; dropped: number };
  /** Stream consumers by name (the `consumer` label), each answering its lag (see `BusSubscription.lag`). */
  consumers: Record<string, () => Promise<number>>;
  /** Workflow timers armed and not yet fired or dropped, across tenants. */
  timersPending(): Promise<number>;
}

/** A counter that follows a count kept elsewhere (monotonic since start), read at scrape time. */
function followingCounter(registry: Registry, name: string, help: string, read: () => number): void {
  let seen = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      if (now > seen) this.inc(now - seen);
      seen = now;
    },
  });
}

/**
 * The numbers an operator watches (README "Metrics"): outbox backlog, dead letters, stream consumer
 * lag, live delivery, websockets and the database pool. Gauges are read at scrape time; counters are incremented by
 * the components through the returned handles.
 */
export function registerOperationalMetrics(registry: Registry, sources: OperationalSources) {
  // prom-client collects every metric at once: the gauges below share one read of the database per scrape.
  let reading: Promise<OperationalSnapshot | undefined> | undefined;
  let pool: DatabasePoolState | undefined;
  const snapshot = (): Promise<OperationalSnapshot | undefined> => {
    if (reading) return reading;
    // The pool as the scrape found it, before the scrape's own queries queue on it (pg-pool counts a
    // query as waiting for a tick even when a connection is idle).
    pool = sources.readings.pool();
    return (reading = (async (): Promise<OperationalSnapshot | undefined> => {
      try {
        return await sources.readings.snapshot();
      } catch {
        return undefined;
      } finally {
        reading = undefined; // shared by the collects of one scrape only: the next scrape reads afresh
      }
    })());
  };
  new Gauge({
    name: 'rxgate_outbox_backlog_events',
    help: 'Committed events not yet published to the stream.',
    registers: [registry],
    async collect() {
      const s = await snapshot();
      if (s) this.set(s.outboxBacklog);
    },
  });
  new Gauge({
    name: 'rxgate_outbox_oldest_unpublished_seconds',
    help: 'Age of the oldest unpublished event (0 when none).',
    registers: [registry],
    async collect() {
      const s = await snapshot();
      if (s) this.set(s.oldestUnpublishedSeconds);
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
      for (const d of s.openDeadLetters) this.set({ handler: d.handler }, d.n);
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
  new Gauge({
    name: 'rxgate_live_subscribers',
    help: 'Live subscribers served by this instance.',
    registers: [registry],
    collect() {
      this.set(sources.live().subscribers);
    },
  });
  new Gauge({
    name: 'rxgate_live_replay_consumers',
    help: 'Stream consumers of resumed live subscribers still replaying before they join the shared fan-out.',
    registers: [registry],
    collect() {
      this.set(sources.live().replaying);
    },
  });
  followingCounter(registry, 'rxgate_live_events_delivered_total', 'Events handed to live subscribers.', () => sources.live().delivered);
  followingCounter(
    registry,
    'rxgate_live_subscribers_dropped_total',
    'Live subscribers cut off for not keeping up (backpressure); the event that overflowed is not delivered.',
    () => sources.live().dropped,
  );
  new Gauge({
    name: 'rxgate_stream_consumer_lag_messages',
    help: 'Messages matching a stream consumer’s filter that it has not finished with (durable: across all instances).',
    labelNames: ['consumer'],
    registers: [registry],
    async collect() {
      await snapshot(); // the embedded bus answers from the database: after the pool was read
      const lags = await Promise.all(Object.entries(sources.consumers).map(async ([consumer, lag]) => [consumer, await lag().catch(() => undefined)] as const));
      this.reset(); // a consumer whose bus does not answer has no value rather than a stale one
      for (const [consumer, lag] of lags) if (lag !== undefined) this.set({ consumer }, lag);
    },
  });
  new Gauge({
    name: 'rxgate_db_pool_connections',
    help: 'Database pool connections by state.',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      await snapshot();
      if (!pool) return;
      this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
  new Gauge({
    name: 'rxgate_workflow_timers_pending',
    help: 'Workflow timers armed and not yet fired or dropped (all tenants).',
    registers: [registry],
    async collect() {
      this.set(await sources.timersPending().catch(() => Number.NaN));
    },
  });
  const timersSettled = new Counter({
    name: 'rxgate_workflow_timers_total',
    help: 'Workflow timers settled by this instance, by outcome (fired, dropped).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const timerLateness = new Histogram({
    name: 'rxgate_workflow_timer_lateness_seconds',
    help: 'How long after its due time a timer fired.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [registry],
  });
  return {
    timerSettled(outcome: TimerOutcome) {
      if (outcome.outcome === 'taken') return;
      timersSettled.inc({ outcome: outcome.outcome });
      if (outcome.outcome === 'fired') timerLateness.observe(outcome.lateMs / 1000);
    },
    published: new Counter({ name: 'rxgate_outbox_published_total', help: 'Events the relay published to the stream.', registers: [registry] }),
    actionFailures: new Counter({
      name: 'rxgate_action_failures_total',
      help: 'Failed attempts of workflow actions (each retry counts), by action.',
      labelNames: ['handler'],
      registers: [registry],
    }),
    actionRetries: new Counter({
      name: 'rxgate_action_retries_total',
      help: 'Failed attempts of workflow actions that were tried again, by action.',
      labelNames: ['handler'],
      registers: [registry],
    }),
    actionDeadLetters: new Counter({
      name: 'rxgate_action_dead_letters_total',
      help: 'Workflow actions given up after their last attempt (dead-lettered) by this instance, by action.',
      labelNames: ['handler'],
      registers: [registry],
    }),
  };
}
