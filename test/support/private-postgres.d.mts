// Types of private-postgres.mjs (a plain ES module, so that the chaos soak runs it under bare node).

/** The path of a server binary (`initdb`, `pg_ctl`, `nats-server`, …) on this machine, or `undefined`. */
export function findBinary(name: string): string | undefined;

/** {@link findBinary}, or an error naming what is not installed. */
export function requireBinary(name: string): string;

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number>;

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; rejects after `ms` (default 20 s), naming `what`. */
export function untilAccepting(what: string, port: number, ms?: number): Promise<void>;

export interface PrivatePostgresOptions {
  /** Prefix of the temp dir that holds the cluster. @default 'rxgate-pgdata-' */
  prefix?: string;
  /** The server's `max_connections`. @default 200 */
  maxConnections?: number;
}

/** A server of a test's own, on a loopback port, that the test may stop and start again. */
export interface PrivateServer {
  /** Where to connect (for PostgreSQL: the `postgres` database, trust auth). */
  url: string;
  port: number;
  /** Stops it, as in a restart (PostgreSQL: `pg_ctl stop -m fast`, sessions end with 57P01 admin shutdown). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it and deletes its files. */
  cleanup(): Promise<void>;
}

/** A {@link PrivateServer} running PostgreSQL. */
export type PrivatePostgres = PrivateServer;

/** PostgreSQL (the machine's binaries, fsync off) in a temp dir, started; under root it runs as the `postgres` user. */
export function privatePostgres(options?: PrivatePostgresOptions): Promise<PrivatePostgres>;
