import type { DataSource } from 'typeorm';
import type { ActionLedger, ActionRun, DeadLetter } from '../../ports/index.js';
import { instanceOf } from '../../domain/index.js';
import { Params } from './seq-page.js';

interface Row {
  id: string;
  tenant_id: string;
  handler: string;
  event_id: string;
  event_type: string;
  envelope: DeadLetter['envelope'];
  error: string;
  attempts: number;
  created_at: Date;
  resolved_at: Date | null;
}

const toDeadLetter = (row: Row): DeadLetter => ({
  id: row.id,
  tenantId: row.tenant_id,
  handler: row.handler,
  eventId: row.event_id,
  eventType: row.event_type,
  envelope: row.envelope,
  error: row.error,
  attempts: row.attempts,
  createdAt: row.created_at,
  resolvedAt: row.resolved_at,
});

const COLUMNS = 'id, tenant_id, handler, event_id, event_type, envelope, error, attempts, created_at, resolved_at';

/** `action_runs` and `dead_letters` in PostgreSQL. */
export function createActionLedger(dataSource: DataSource): ActionLedger {
  return {
    async isDone(handler, eventId) {
      return (await dataSource.query('SELECT 1 FROM action_runs WHERE handler = $1 AND event_id = $2', [handler, eventId])).length > 0;
    },

    async markDone({ handler, eventId, tenantId, attempts, instanceId }) {
      await dataSource.query('INSERT INTO action_runs (handler, event_id, tenant_id, attempts, instance_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [
        handler,
        eventId,
        tenantId,
        attempts,
        instanceId ?? null,
      ]);
    },

    async runsFor(tenantId, instanceIds) {
      const out = new Map<string, ActionRun[]>();
      if (instanceIds.length === 0) return out;
      const rows: Array<{ instance_id: string; handler: string; status: ActionRun['status']; attempts: number; last_error: string | null }> = await dataSource.query(
        `SELECT instance_id::text, handler, 'done' AS status, attempts, NULL AS last_error, completed_at AS at FROM action_runs WHERE tenant_id = $1 AND instance_id = ANY($2::uuid[])
         UNION ALL
         SELECT COALESCE(envelope #>> '{payload,workflow,instanceId}', envelope #>> '{payload,medicationRequestId}'), handler, 'dead-lettered', attempts, error, created_at
           FROM dead_letters WHERE tenant_id = $1 AND resolved_at IS NULL AND COALESCE(envelope #>> '{payload,workflow,instanceId}', envelope #>> '{payload,medicationRequestId}') = ANY($2::text[])
         ORDER BY at`,
        [tenantId, instanceIds],
      );
      for (const row of rows) out.set(row.instance_id, [...(out.get(row.instance_id) ?? []), { handler: row.handler, status: row.status, attempts: row.attempts, lastError: row.last_error }]);
      return out;
    },

    async completedFor(tenantId, instanceId) {
      const rows: Array<{ handler: string }> = await dataSource.query('SELECT handler FROM action_runs WHERE tenant_id = $1 AND instance_id = $2 ORDER BY completed_at, handler', [tenantId, instanceId]);
      return rows.map((r) => r.handler);
    },

    async deadLetter(entry) {
      const rows: Row[] = await dataSource.query(
        `INSERT INTO dead_letters (id, tenant_id, handler, event_id, event_type, envelope, error, attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (handler, event_id) DO UPDATE SET error = EXCLUDED.error, attempts = dead_letters.attempts + EXCLUDED.attempts, resolved_at = NULL
         RETURNING ${COLUMNS}`,
        [entry.id, entry.tenantId, entry.handler, entry.eventId, entry.eventType, entry.envelope, entry.error, entry.attempts],
      );
      return toDeadLetter(rows[0]);
    },

    async listDeadLetters(tenantId, filter) {
      const params = new Params();
      const where = [`tenant_id = ${params.bind(tenantId)}`];
      if (!filter.includeResolved) where.push('resolved_at IS NULL');
      if (filter.handler) where.push(`handler = ${params.bind(filter.handler)}`);
      if (filter.eventType) where.push(`event_type = ${params.bind(filter.eventType)}`);
      const rows: Row[] = await dataSource.query(`SELECT ${COLUMNS} FROM dead_letters WHERE ${where.join(' AND ')} ORDER BY created_at, id LIMIT ${params.bind(filter.limit)}`, params.values);
      return rows.map(toDeadLetter);
    },

    async findDeadLetter(tenantId, id) {
      const rows: Row[] = await dataSource.query(`SELECT ${COLUMNS} FROM dead_letters WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
      return rows[0] && toDeadLetter(rows[0]);
    },

    async resolve(deadLetter, attempts) {
      await dataSource.transaction(async (manager) => {
        await manager.query('UPDATE dead_letters SET resolved_at = now(), attempts = $2 WHERE id = $1', [deadLetter.id, attempts]);
        await manager.query('INSERT INTO action_runs (handler, event_id, tenant_id, attempts, instance_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [
          deadLetter.handler,
          deadLetter.eventId,
          deadLetter.tenantId,
          attempts,
          instanceOf(deadLetter.envelope) ?? null,
        ]);
      });
    },

    async recordFailedReplay(deadLetter, error) {
      // TypeORM answers an UPDATE as [rows, affected].
      const [rows]: [Row[], number] = await dataSource.query(`UPDATE dead_letters SET error = $2, attempts = attempts + 1 WHERE id = $1 RETURNING ${COLUMNS}`, [deadLetter.id, error]);
      return toDeadLetter(rows[0]);
    },
  };
}
