/** Ports of operations: the figures an operator watches. */

/** The database's share of what an operator watches (README "Metrics"), read once per scrape. */
export interface OperationalSnapshot {
  /** Committed events not yet published to the stream. */
  outboxBacklog: number;
  /** Age in seconds of the oldest of them (0 when none). */
  oldestUnpublishedSeconds: number;
  /** Open dead letters per action. */
  openDeadLetters: Array<{ handler: string; n: number }>;
}

/** The database connection pool as it stands. */
export interface DatabasePoolState {
  /** Connections open, in use or idle. */
  totalCount: number;
  /** Open connections no query holds. */
  idleCount: number;
  /** Queries waiting for a connection. */
  waitingCount: number;
}

/** Reads the operational figures kept in the database. */
export interface OperationalReadings {
  /** The outbox and dead-letter figures; rejects when the database does not answer. */
  snapshot(): Promise<OperationalSnapshot>;
  /** The pool right now, without a query; undefined when the driver keeps none. */
  pool(): DatabasePoolState | undefined;
}
