import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger as TypeormLogger } from 'typeorm';

/**
 * Counts SQL statements per unit of work (an HTTP request): TypeORM reports every query to its
 * logger in the caller's async context, so the count lands on the request that caused it.
 */
export class StatementCounter {
  private readonly storage = new AsyncLocalStorage<{ statements: number }>();

  /** Runs `work` in a fresh count; `read` answers the statements issued so far within it. */
  run<T>(work: () => T): { result: T; read: () => number } {
    const store = { statements: 0 };
    const result = this.storage.run(store, work);
    return { result, read: () => store.statements };
  }

  /** A TypeORM logger that counts and stays silent (errors surface as exceptions anyway). */
  logger(): TypeormLogger {
    const count = () => {
      const store = this.storage.getStore();
      if (store) store.statements++;
    };
    return {
      logQuery: count,
      logQueryError: () => undefined,
      logQuerySlow: () => undefined,
      logSchemaBuild: () => undefined,
      logMigration: () => undefined,
      log: () => undefined,
    };
  }
}
