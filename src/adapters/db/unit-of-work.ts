import type { DataSource, EntityManager } from 'typeorm';
import type { TransactionScope, UnitOfWork } from '../../ports/index.js';
import { createMedicationDispenseStore } from './medication-dispense.store.js';
import { createMedicationRequestStore } from './medication-request.store.js';
import { createSubscriptionStore } from './subscription.store.js';
import { createTaskStore } from './task.store.js';
import { createHistoryStore, createIdempotencyStore, createOutboxWriter } from './scope.store.js';

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
  };
}

/** Transactions on TypeORM: inside one, only its EntityManager is used. */
export function createUnitOfWork(dataSource: DataSource): UnitOfWork {
  return {
    transaction: (tenantId, work) => dataSource.transaction((manager) => work(scopeFor(manager, tenantId))),
    read: (tenantId, work) => work(scopeFor(dataSource.manager, tenantId)),
  };
}
