/** Ports of the unit of work: one tenant's repositories inside one database transaction. */
import type { AuditStore } from './audit.js';
import type { CommandLedger } from './bus-commands.js';
import type {
  IdempotencyStore,
  MedicationDispenseStore,
  MedicationRequestHistory,
  MedicationRequestStore,
  OutboxWriter,
  PriorAuthorizationStore,
  SubscriptionStore,
  TaskStore,
} from './storage.js';
import type { WorkflowTimerStore } from './workflow-timers.js';

/** Locks held until the transaction ends. */
export interface TransactionLocks {
  /** Waits for, then holds, the lock named `name`. */
  lock(name: string): Promise<void>;
}

/** The repositories of one tenant inside one database transaction. */
export interface TransactionScope {
  locks: TransactionLocks;
  medicationRequests: MedicationRequestStore;
  history: MedicationRequestHistory;
  dispenses: MedicationDispenseStore;
  tasks: TaskStore;
  priorAuthorizations: PriorAuthorizationStore;
  subscriptions: SubscriptionStore;
  idempotency: IdempotencyStore;
  outbox: OutboxWriter;
  audit: AuditStore;
  timers: WorkflowTimerStore;
  commands: CommandLedger;
}
/**
 * Runs work in one database transaction for one tenant: everything written commits together or
 * not at all. `read` runs in a read-only transaction: it must not write.
 */
export interface UnitOfWork {
  transaction<T>(tenantId: string, work: (scope: TransactionScope) => Promise<T>): Promise<T>;
  read<T>(tenantId: string, work: (scope: TransactionScope) => Promise<T>): Promise<T>;
}
