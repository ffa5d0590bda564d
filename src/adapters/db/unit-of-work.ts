import type { PoolClient } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import type { TransactionScope, UnitOfWork } from '../../ports/index.js';
import { createAuditWriter } from './audit.store.js';
import { createCommandLedger } from './bus-command.store.js';
import { createMedicationDispenseStore } from './medication-dispense.store.js';
import { createMedicationRequestStore } from './medication-request.store.js';
import { createPriorAuthorizationStore } from './prior-authorization.store.js';
import { createHistoryStore, createIdempotencyStore, createOutboxWriter } from './scope.store.js';
import { createSubscriptionStore } from './subscription.store.js';
import { createTaskStore } from './task.store.js';
import { type DeferredWrite, sendNow, TransactionPipe, withOneRoundTripStatements } from './tenant-statement.js';
import { createWorkflowTimerStore } from './workflow-timer.store.js';

/** The role request-path SQL runs as (created by the TenantSecurity migration; row-level security binds it). */
export const APP_ROLE = 'rxgate_app';
const TENANT_ID = /^[A-Za-z0-9_-]{1,64}$/;

function scopeFor(manager: EntityManager, tenantId: string, defer: DeferredWrite = sendNow(manager)): TransactionScope {
  return {
    locks: { lock: async (name) => void (await manager.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [name])) },
    medicationRequests: createMedicationRequestStore(manager, tenantId, defer),
    history: createHistoryStore(manager, tenantId, defer),
    dispenses: createMedicationDispenseStore(manager, tenantId),
    tasks: createTaskStore(manager, tenantId),
    priorAuthorizations: createPriorAuthorizationStore(manager, tenantId),
    subscriptions: createSubscriptionStore(manager, tenantId),
    idempotency: createIdempotencyStore(manager, tenantId, defer),
    outbox: createOutboxWriter(manager, defer),
    audit: createAuditWriter(manager, tenantId, defer),
    timers: createWorkflowTimerStore(manager, tenantId, defer),
    commands: createCommandLedger(manager, tenantId),
  };
}

/**
 * Runs `work` in a transaction confined to one tenant twice over: the stores filter by tenant, and
 * the transaction runs as {@link APP_ROLE} with `app.tenant_id` set, so row-level security hides
 * (and refuses to write) any other tenant's rows even if a query forgot its filter. Both settings are
 * transaction-local: the pooled connection is back to its own role and no tenant after commit.
 */
export async function inTenantTransaction<T>(
  dataSource: DataSource,
  tenantId: string,
  work: (manager: EntityManager, defer: DeferredWrite) => Promise<T>,
): Promise<T> {
  const enter = enterTenant(tenantId);
  const runner = dataSource.createQueryRunner();
  const client = (await runner.connect()) as PoolClient;
  // BEGIN and the tenant travel with the first statement, held-back writes with the next (TransactionPipe).
  const pipe = TransactionPipe.open(client, enter);
  try {
    const result = await work(runner.manager, pipe.defer);
    await runner.query('COMMIT');
    return result;
  } catch (error) {
    // Also after a failed COMMIT: the writes sent with it may have failed and left the transaction open.
    await runner.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    pipe.end();
    await runner.release();
  }
}

/**
 * Runs `work` for one tenant with each statement its own read-only transaction that enters the tenant
 * (`withOneRoundTripStatements`): the same two walls as {@link inTenantTransaction}, one round trip a statement.
 */
export async function inTenantReads<T>(dataSource: DataSource, tenantId: string, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  const enter = `SELECT set_config('transaction_read_only', 'on', true), ${enterTenant(tenantId).slice('SELECT '.length)}`;
  const runner = dataSource.createQueryRunner();
  const client = (await runner.connect()) as PoolClient;
  try {
    return await withOneRoundTripStatements(client, enter, () => work(runner.manager));
  } finally {
    await runner.release();
  }
}

/** The statement that makes the rest of a transaction run as {@link APP_ROLE} for `tenantId`. */
function enterTenant(tenantId: string): string {
  // Tokens carry only such ids (CONTRACT §1); checked again because the id is spliced into SQL.
  if (!TENANT_ID.test(tenantId)) throw new Error(`not a tenant id: ${JSON.stringify(tenantId.slice(0, 80))}`);
  return `SELECT set_config('role', '${APP_ROLE}', true), set_config('app.tenant_id', '${tenantId}', true)`;
}

/** Transactions on TypeORM: inside one, only its EntityManager is used. */
export function createUnitOfWork(dataSource: DataSource): UnitOfWork {
  return {
    transaction: (tenantId, work) => inTenantTransaction(dataSource, tenantId, (manager, defer) => work(scopeFor(manager, tenantId, defer))),
    // Reads need the tenant setting too: each of their statements enters the tenant itself.
    read: (tenantId, work) => inTenantReads(dataSource, tenantId, (manager) => work(scopeFor(manager, tenantId))),
  };
}
