import type { EventEnvelope } from '../../../src/domain/index.js';
import type { Clock, TimerQueue, TransactionScope, UnitOfWork } from '../../../src/ports/index.js';
import { inMemoryTransaction, LockManager, type MemoryTransaction } from './memory-database.js';
import {
  memoryAuditStore,
  memoryCommandLedger,
  memoryDispenseStore,
  memoryHistory,
  memoryIdempotencyStore,
  memoryLocks,
  memoryMedicationRequestStore,
  memoryOutboxWriter,
  memoryPriorAuthorizationStore,
  memorySubscriptionStore,
  MemoryTables,
  memoryTaskStore,
  memoryTimerStore,
} from './memory-stores.js';

/** The in-memory `UnitOfWork`, with what a test may inspect of the data committed through it. */
export interface MemoryUnitOfWork extends UnitOfWork {
  readonly tables: MemoryTables;
  /** Events committed to the outbox, in commit order (what the relay would publish). */
  outbox(): EventEnvelope[];
  /** The cross-tenant view of the timers, as the timer runner reads it. */
  timerQueue: TimerQueue;
  /** Transactions committed and rolled back so far. */
  counts(): { committed: number; rolledBack: number };
}

/**
 * A `UnitOfWork` over in-memory tables: each transaction sees its own writes over what others have
 * committed, and commits all of them or none. No server, so use-case tests run in milliseconds.
 */
export function createMemoryUnitOfWork(options: { clock: Clock }): MemoryUnitOfWork {
  const tables = new MemoryTables();
  const locks = new LockManager();
  const committedOutbox: EventEnvelope[] = [];
  let committed = 0;
  let rolledBack = 0;

  const scopeFor = (tx: MemoryTransaction, tenantId: string): TransactionScope => ({
    locks: memoryLocks(tx),
    medicationRequests: memoryMedicationRequestStore(tables, tx, tenantId),
    history: memoryHistory(tables, tx, tenantId),
    dispenses: memoryDispenseStore(tables, tx, tenantId),
    tasks: memoryTaskStore(tables, tx, tenantId),
    priorAuthorizations: memoryPriorAuthorizationStore(tables, tx, tenantId),
    subscriptions: memorySubscriptionStore(tables, tx, tenantId),
    idempotency: memoryIdempotencyStore(tables, tx, tenantId, options.clock),
    // Events reach the inspectable list only when (and in the order) their transaction commits.
    outbox: memoryOutboxWriter(tables, tx, (event) => committedOutbox.push(event)),
    audit: memoryAuditStore(tables, tx, tenantId),
    timers: memoryTimerStore(tables, tx, tenantId, options.clock),
    commands: memoryCommandLedger(tables, tx, tenantId),
  });

  const run =
    (readOnly: boolean) =>
    async <T>(tenantId: string, work: (scope: TransactionScope) => Promise<T>): Promise<T> => {
      try {
        const result = await inMemoryTransaction(locks, readOnly, (tx) => work(scopeFor(tx, tenantId)));
        committed++;
        return result;
      } catch (error) {
        rolledBack++;
        throw error;
      }
    };

  const pending = () => [...tables.timers.committed.values()].filter((t) => t.settledAt === null);
  return {
    tables,
    transaction: run(false),
    read: run(true),
    outbox: () => [...committedOutbox],
    counts: () => ({ committed, rolledBack }),
    timerQueue: {
      async due(now, limit) {
        return pending()
          .filter((t) => t.dueAt <= now)
          .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
          .slice(0, limit)
          .map((t) => ({ id: t.id, tenantId: t.tenantId, dueAt: t.dueAt }));
      },
      async nextDueAt() {
        const times = pending().map((t) => t.dueAt.getTime());
        return times.length > 0 ? new Date(Math.min(...times)) : undefined;
      },
      pendingCount: async () => pending().length,
    },
  };
}
