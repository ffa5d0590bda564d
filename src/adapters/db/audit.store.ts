import { AsyncResource } from 'node:async_hooks';
import type { DataSource, EntityManager } from 'typeorm';
import type { AuditEntry, AuditRecord } from '../../domain/index.js';
import type { AuditStore, AuditTrail } from '../../ports/index.js';
import { dateCondition, Params } from './seq-page.js';

const COLUMNS = ['tenant_id', 'recorded', 'actor', 'persona', 'action', 'interaction', 'entity_type', 'entity_id', 'outcome', 'outcome_code', 'correlation_id', 'detail'] as const;
/** Bounds what one statement binds (PostgreSQL allows 65,535 parameters). */
const MAX_ROWS_PER_INSERT = 1_000;

interface AuditRow {
  id: string;
  recorded: Date;
  tenant_id: string;
  actor: string;
  persona: string;
  action: AuditRecord['action'];
  interaction: AuditRecord['interaction'];
  entity_type: NonNullable<AuditRecord['entity']>['type'] | null;
  entity_id: string | null;
  outcome: AuditRecord['outcome'];
  outcome_code: string | null;
  correlation_id: string;
  detail: string | null;
}

const valuesOf = (e: AuditEntry) => [e.tenantId, e.recorded, e.actor, e.persona, e.action, e.interaction, e.entity?.type ?? null, e.entity?.id ?? null, e.outcome, e.outcomeCode ?? null, e.correlationId, e.detail ?? null];

/** One multi-row INSERT: the audit costs a write a single statement, whatever it changed. */
async function insert(run: (sql: string, values: unknown[]) => Promise<unknown>, entries: readonly AuditEntry[]): Promise<void> {
  for (let start = 0; start < entries.length; start += MAX_ROWS_PER_INSERT) {
    const params = new Params();
    const rows = entries.slice(start, start + MAX_ROWS_PER_INSERT).map((e) => `(${valuesOf(e).map((v) => params.bind(v)).join(', ')})`);
    await run(`INSERT INTO audit_events (${COLUMNS.join(', ')}) VALUES ${rows.join(', ')}`, params.values);
  }
}

function rowToRecord(row: AuditRow): AuditRecord {
  return {
    id: row.id,
    recorded: row.recorded,
    tenantId: row.tenant_id,
    actor: row.actor,
    persona: row.persona,
    action: row.action,
    interaction: row.interaction,
    ...(row.entity_type && row.entity_id ? { entity: { type: row.entity_type, id: row.entity_id } } : {}),
    outcome: row.outcome,
    ...(row.outcome_code ? { outcomeCode: row.outcome_code } : {}),
    correlationId: row.correlation_id,
    ...(row.detail ? { detail: row.detail } : {}),
  };
}

/** The audit table within a tenant's transaction (row-level security applies: see the TenantSecurity migration). */
export function createAuditWriter(manager: EntityManager, tenantId: string): AuditStore {
  return {
    async record(entries) {
      if (entries.length > 0) await insert((sql, values) => manager.query(sql, values), entries);
    },

    async search(criteria) {
      const params = new Params();
      const where = [`tenant_id = ${params.bind(tenantId)}`];
      if (criteria.entity) {
        where.push(`entity_id = ${params.bind(criteria.entity.id)}`);
        if (criteria.entity.type) where.push(`entity_type = ${params.bind(criteria.entity.type)}`);
      }
      if (criteria.actor !== undefined) where.push(`actor = ${params.bind(criteria.actor)}`);
      if (criteria.outcome !== undefined) where.push(`outcome = ${params.bind(criteria.outcome)}`);
      for (const bound of criteria.recorded ?? []) where.push(dateCondition('recorded', bound, params));
      if (criteria.before) where.push(`(recorded, id) < (${params.bind(criteria.before.recorded)}::timestamptz, ${params.bind(criteria.before.id)}::bigint)`);
      const rows: AuditRow[] = await manager.query(
        `SELECT id::text AS id, ${COLUMNS.join(', ')} FROM audit_events WHERE ${where.join(' AND ')} ORDER BY recorded DESC, id DESC LIMIT ${params.bind(criteria.limit + 1)}`,
        params.values,
      );
      return rows.map(rowToRecord);
    },
  };
}

export interface AuditTrailOptions {
  /** How long entries may wait before a batch is written. @default 200 */
  flushMs?: number;
  /** A batch is written at once when this many entries are queued. @default 500 */
  batchSize?: number;
  /** Entries kept while the database refuses them; beyond it the oldest are dropped (and reported). @default 100_000 */
  maxQueued?: number;
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

  const writeQueued = (): Promise<void> => detached(() => {
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
