import type { DataSource, QueryRunner } from 'typeorm';
import { DomainError } from '../../domain/index.js';

/** Seconds a caller is asked to wait when the database is away (a restart takes a few). */
export const DATABASE_RETRY_AFTER_SECONDS = 1;

/**
 * Socket errors of the driver, and PostgreSQL SQLSTATEs that mean "not now" rather than "wrong":
 * 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting or stopping),
 * 53300 too many connections; every class 08 code (connection exception) is matched by prefix.
 */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);
/** What `pg` and `pg-pool` say when a connection is lost or cannot be had; they carry no code. */
const TRANSIENT_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Connection ended unexpectedly/i;

/** True when the error (or what it wraps: TypeORM's `driverError`, a `cause`, an AggregateError's errors) is a lost or refused connection. */
export function isConnectionError(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 4) return false;
  const e = error as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (TRANSIENT_CODES.has(e.code) || /^08[0-9A-Z]{3}$/.test(e.code))) return true;
  if (typeof e.message === 'string' && TRANSIENT_MESSAGES.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isConnectionError(inner, depth + 1))) return true;
  return isConnectionError(e.driverError, depth + 1) || isConnectionError(e.cause, depth + 1);
}

/** The database is away for the moment: 503 `SERVICE_UNAVAILABLE` with `Retry-After` (CONTRACT §2). */
export function databaseUnavailable(cause: unknown): DomainError {
  return new DomainError(
    'SERVICE_UNAVAILABLE',
    `The database is unavailable for the moment (a restart or a failover); retry in ${DATABASE_RETRY_AFTER_SECONDS} s.`,
    {
      retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
      cause,
    },
  );
}

const classified = (error: unknown): unknown => (error instanceof DomainError || !isConnectionError(error) ? error : databaseUnavailable(error));

type PostgresRunner = QueryRunner & { releasePostgresConnection(error?: unknown): Promise<void> };

/**
 * Every query runner of this data source (so every query: raw, repository, transaction) reports a
 * lost or refused connection as {@link databaseUnavailable}, and none can run a statement once its
 * connection is gone. TypeORM releases a runner whose connection emits an error (PostgreSQL ended the
 * session: a restart); a transaction's next statement then met TypeORM's "already released" error,
 * an unexplained 500. Now that statement fails as what happened, the database going away, and a
 * statement on a runner released for any other reason (its transaction over) is refused clearly.
 */
export function classifyConnectionErrors(dataSource: DataSource): void {
  const create = dataSource.createQueryRunner.bind(dataSource);
  dataSource.createQueryRunner = (mode) => {
    const runner = create(mode) as PostgresRunner;
    let lost: unknown;
    const release = runner.releasePostgresConnection.bind(runner);
    runner.releasePostgresConnection = (error?: unknown) => {
      if (error !== undefined && !runner.isReleased) lost = error;
      return release(error);
    };
    const connect = runner.connect.bind(runner);
    runner.connect = () => connect().catch((error: unknown) => Promise.reject(classified(error)));
    const query = runner.query.bind(runner) as (...args: unknown[]) => Promise<unknown>;
    const guarded = async (...args: unknown[]): Promise<unknown> => {
      if (runner.isReleased)
        throw lost !== undefined ? databaseUnavailable(lost) : new Error('a statement on a released database connection (its transaction is over)');
      try {
        return await query(...args);
      } catch (error) {
        throw classified(error);
      }
    };
    runner.query = guarded as QueryRunner['query'];
    // The manager's raw queries go straight to this runner (TypeORM would first throw its own "released" error).
    runner.manager.query = ((sql: string, parameters?: unknown[]) => guarded(sql, parameters)) as typeof runner.manager.query;
    return runner;
  };
}
