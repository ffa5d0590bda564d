import type { DataSource, EntityManager } from 'typeorm';
import type { TransactionScope, UnitOfWork } from '../../ports/index.js';
import { createAuditWriter } from './audit.store.js';
import { createMedicationDispenseStore } from './medication-dispense.store.js';
import { createMedicationRequestStore } from './medication-request.store.js';
import { createSubscriptionStore } from './subscription.store.js';
import { createTaskStore } from './task.store.js';
import { createHistoryStore, createIdempotencyStore, createOutboxWriter } from './scope.store.js';

/** The role request-path SQL runs as (created by the TenantSecurity migration; row-level security binds it). */
export const APP_ROLE = 'rxgate_app';

function scopeFor(manager: EntityManager, tenantId: string): TransactionScope {
  return {
    locks: { lock: async (name) => void (await manager.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [name])) },
    medicationRequests: createMedicationRequestStore(manager, tenantId),
    history: createHistoryStore(manager, tenantId),
    dispenses: createMedicationDispenseStore(manager, tenantId),
    tasks: createTaskStore(manager, tenantId),
    subscriptions: createSubscriptionStore(manager, tenantId),
    idempotency: createIdempotencyStore(manager, tenantId),
    outbox: createOutboxWriter(manager),
    audit: createAuditWriter(manager, tenantId),
  };
}

/**
 * Runs `work` in a transaction confined to one tenant twice over: the stores filter by tenant, and
 * the transaction runs as {@link APP_ROLE} with `app.tenant_id` set, so row-level security hides
 * (and refuses to write) any other tenant's rows even if a query forgot its filter. Both settings are
 * transaction-local: the pooled connection is back to its own role and no tenant after commit.
 */
export function inTenantTransaction<T>(dataSource: DataSource, tenantId: string, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  return dataSource.transaction(async (manager) => {
    await manager.query(`SELECT set_config('role', $1, true), set_config('app.tenant_id', $2, true)`, [APP_ROLE, tenantId]);
    return work(manager);
  });
}

/** Transactions on TypeORM: inside one, only its EntityManager is used. */
export function createUnitOfWork(dataSource: DataSource): UnitOfWork {
  const run = <T>(tenantId: string, work: (scope: TransactionScope) => Promise<T>) => inTenantTransaction(dataSource, tenantId, (manager) => work(scopeFor(manager, tenantId)));
  // Reads need the tenant setting too, so they also run in a (short) transaction.
  return { transaction: run, read: run };
}
