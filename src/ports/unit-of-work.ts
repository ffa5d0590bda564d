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
  /** Named locks (advisory locks): serialise work that must not race, e.g. identical conditional creates. */
  locks: TransactionLocks;
  /** Prescriptions (current versions). */
  medicationRequests: MedicationRequestStore;
  /** Every version of the prescriptions, with their transitions. */
  history: MedicationRequestHistory;
  /** Dispenses and their versions. */
  dispenses: MedicationDispenseStore;
  /** Workflow Tasks. */
  tasks: TaskStore;
  /** Prior authorizations (CONTRACT §9). */
  priorAuthorizations: PriorAuthorizationStore;
  /** FHIR Subscriptions. */
  subscriptions: SubscriptionStore;
  /** Idempotency keys (CONTRACT §4). */
  idempotency: IdempotencyStore;
  /** The outbox: events commit with the change they describe. */
  outbox: OutboxWriter;
  /** The audit trail, written with the change it records. */
  audit: AuditStore;
  /** Workflow timers, armed and dropped with the transitions. */
  timers: WorkflowTimerStore;
  /** Outcomes of commands received over the bus (CONTRACT §11). */
  commands: CommandLedger;
}

/**
 * Runs work in one database transaction for one tenant: everything written commits together or
 * not at all. `read` is for reads: it must not write.
 */
export interface UnitOfWork {
  /**
   * Runs `work` in a transaction of `tenantId`: commits when it resolves, rolls back when it throws (and rethrows).
   * A write whose result nobody reads may reach the database with the transaction's next statement or its
   * commit; it fails the transaction as a whole all the same.
   */
  transaction<T>(tenantId: string, work: (scope: TransactionScope) => Promise<T>): Promise<T>;
  /**
   * The same for reads: each statement runs as a read-only transaction of its own in the tenant (the database
   * refuses a write), so two statements may see different commits, as under READ COMMITTED they could anyway.
   */
  read<T>(tenantId: string, work: (scope: TransactionScope) => Promise<T>): Promise<T>;
}
