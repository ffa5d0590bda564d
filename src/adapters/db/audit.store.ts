import { AsyncResource } from 'node:async_hooks';
import type { DataSource, EntityManager } from 'typeorm';
import type { AuditEntry, AuditRecord } from '../../domain/index.js';
import type { AuditStore, AuditTrail } from '../../ports/index.js';
import { AuditEventEntity } from './entities/index.js';
import { insertStatement } from './entity-columns.js';
import { dateCondition, NamedParams, Params } from './seq-page.js';
import { type DeferredWrite, sendNow } from './tenant-statement.js';

/** Bounds what one statement binds (PostgreSQL allows 65,535 parameters; an entry binds 12). */
const MAX_ROWS_PER_INSERT = 1_000;

const rowOf = (e: AuditEntry): Omit<AuditEventEntity, 'id'> => ({
  tenantId: e.tenantId,
  recorded: e.recorded,
  actor: e.actor,
  persona: e.persona,
  action: e.action,
  interaction: e.interaction,
  entityType: e.entity?.type ?? null,
  entityId: e.entity?.id ?? null,
  outcome: e.outcome,
  outcomeCode: e.outcomeCode ?? null,
  correlationId: e.correlationId,
  detail: e.detail ?? null,
});

/**
 * One multi-row INSERT: the audit costs a write a single statement, whatever it changed. Written
 * out, not through the query builder: it is one of the create's writes (see entity-columns.ts).
 */
async function insert(run: (sql: string, values: unknown[]) => Promise<unknown>, entries: readonly AuditEntry[]): Promise<void> {
  for (let start = 0; start < entries.length; start += MAX_ROWS_PER_INSERT) {
    const params = new Params();
    await run(insertStatement(AuditEventEntity, entries.slice(start, start + MAX_ROWS_PER_INSERT).map(rowOf), params), params.values);
  }
}

function toRecord(row: AuditEventEntity): AuditRecord {
  return {
    id: row.id,
    recorded: row.recorded,
    tenantId: row.tenantId,
    actor: row.actor,
    persona: row.persona,
    action: row.action as AuditRecord['action'],
    interaction: row.interaction as AuditRecord['interaction'],
    ...(row.entityType && row.entityId ? { entity: { type: row.entityType as NonNullable<AuditRecord['entity']>['type'], id: row.entityId } } : {}),
    outcome: row.outcome as AuditRecord['outcome'],
    ...(row.outcomeCode ? { outcomeCode: row.outcomeCode } : {}),
    correlationId: row.correlationId,
    ...(row.detail ? { detail: row.detail } : {}),
  };
}

/** The audit table within a tenant's transaction (row-level security applies: see the TenantSecurity migration). */
export function createAuditWriter(manager: EntityManager, tenantId: string, defer: DeferredWrite = sendNow(manager)): AuditStore {
  return {
    async record(entries) {
      if (entries.length > 0) await insert(defer, entries);
    },

    async search(criteria) {
      const query = manager.getRepository(AuditEventEntity).createQueryBuilder('a').where('a.tenantId = :tenantId', { tenantId });
      if (criteria.entity) {
        query.andWhere('a.entityId = :entityId', { entityId: criteria.entity.id });
        if (criteria.entity.type) query.andWhere('a.entityType = :entityType', { entityType: criteria.entity.type });
      }
      if (criteria.actor !== undefined) query.andWhere('a.actor = :actor', { actor: criteria.actor });
      if (criteria.outcome !== undefined) query.andWhere('a.outcome = :outcome', { outcome: criteria.outcome });
      const dates = new NamedParams();
      for (const bound of criteria.recorded ?? []) query.andWhere(dateCondition('a.recorded', bound, dates), dates.values);
      if (criteria.before) {
        query.andWhere('(a.recorded, a.id) < (CAST(:beforeRecorded AS timestamptz), CAST(:beforeId AS bigint))', {
          beforeRecorded: criteria.before.recorded,
          beforeId: criteria.before.id,
        });
      }
      const rows = await query
        .orderBy('a.recorded', 'DESC')
        .addOrderBy('a.id', 'DESC')
        .limit(criteria.limit + 1)
        .getMany();
      return rows.map(toRecord);
    },
  };
}

/** Batching of the off-path audit trail (`createAuditTrail`). */
export interface AuditTrailOptions {
  /** How long entries may wait before a batch is written. @default 200 */
  flushMs?: number;
  /** A batch is written at once when this many entries are queued. @default 500 */
  batchSize?: number;
  /** Entries kept while the database refuses them; beyond it the oldest are dropped (and reported). @default 100_000 */
  maxQueued?: number;
  /** Told of a batch the database refused (it is retried with the next one) and of how many queued entries were dropped. */
  onError?(error: unknown, dropped: number): void;
}

/**
 * Reads and refused attempts are audited off the request path: queued in memory and inserted in
 * multi-row batches by the connecting (owner) role, since one batch spans tenants. A failed batch is
 * put back and retried with the next one.
 */
export function createAuditTrail(dataSource: DataSource, options: AuditTrailOptions = {}): AuditTrail {
  const { flushMs = 200, batchSize = 500, maxQueued = 100_000, onError } = options;
  let queue: AuditEntry[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  // Batches run in the context the trail was created in, not in the request that happened to fill
  // them: their SQL must not be counted (or traced) as that request's.
  const detached = AsyncResource.bind(<T>(work: () => T): T => work());

  const writeQueued = (): Promise<void> =>
    detached(() => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      writing = writing.then(async () => {
        const batch = queue;
        queue = [];
        if (batch.length === 0) return;
        try {
          await insert((sql, values) => dataSource.query(sql, values), batch);
        } catch (error) {
          queue = [...batch, ...queue];
          const dropped = Math.max(0, queue.length - maxQueued);
          if (dropped > 0) queue = queue.slice(dropped);
          onError?.(error, dropped);
          schedule();
        }
      });
      return writing;
    });
  const schedule = () => {
    if (!timer) {
      timer = setTimeout(() => void writeQueued(), flushMs);
      timer.unref();
    }
  };

  return {
    recordLater(entries) {
      if (entries.length === 0) return;
      queue.push(...entries);
      if (queue.length >= batchSize) void writeQueued();
      else schedule();
    },
    flush: writeQueued,
    async close() {
      await writeQueued();
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
