import type { DataSource, EntityManager } from 'typeorm';
import type { PendingTimer, TimerQueue, WorkflowTimerStore } from '../../ports/index.js';
import { type DeferredWrite, sendNow } from './tenant-statement.js';

interface Row {
  id: string;
  tenant_id: string;
  workflow: string;
  instance_id: string;
  name: string;
  due_at: Date;
  armed_at: Date;
}

const COLUMNS = 'id, tenant_id, workflow, instance_id, name, due_at, armed_at';

const toTimer = (row: Row): PendingTimer => ({
  id: row.id,
  tenantId: row.tenant_id,
  workflow: row.workflow,
  instanceId: row.instance_id,
  name: row.name,
  dueAt: row.due_at,
  armedAt: row.armed_at,
});

/** `workflow_timers` of one tenant, inside its transaction (row-level security applies). */
export function createWorkflowTimerStore(manager: EntityManager, tenantId: string, defer: DeferredWrite = sendNow(manager)): WorkflowTimerStore {
  return {
    async arm(timers) {
      if (timers.length === 0) return;
      // One statement for every timer a transition arms (unnest keeps it one round trip).
      await defer(
        `INSERT INTO workflow_timers (id, tenant_id, workflow, instance_id, name, due_at)
         SELECT t.id, $1, t.workflow, t.instance_id, t.name, t.due_at
         FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::timestamptz[]) AS t(id, workflow, instance_id, name, due_at)`,
        [
          tenantId,
          timers.map((t) => t.id),
          timers.map((t) => t.workflow),
          timers.map((t) => t.instanceId),
          timers.map((t) => t.name),
          timers.map((t) => t.dueAt),
        ],
      );
    },

    async drop(instanceId, names, at) {
      if (names.length === 0) return;
      await manager.query(
        `UPDATE workflow_timers SET settled_at = $4, outcome = 'dropped' WHERE tenant_id = $1 AND instance_id = $2 AND name = ANY($3::text[]) AND settled_at IS NULL`,
        [tenantId, instanceId, names, at],
      );
    },

    async claim(id) {
      const rows: Row[] = await manager.query(
        `SELECT ${COLUMNS} FROM workflow_timers WHERE tenant_id = $1 AND id = $2 AND settled_at IS NULL FOR UPDATE SKIP LOCKED`,
        [tenantId, id],
      );
      return rows[0] && toTimer(rows[0]);
    },

    async settle(id, outcome, at) {
      await manager.query(`UPDATE workflow_timers SET settled_at = $3, outcome = $4 WHERE tenant_id = $1 AND id = $2`, [tenantId, id, at, outcome]);
    },

    async pendingOf(instanceIds) {
      const out = new Map<string, PendingTimer[]>();
      if (instanceIds.length === 0) return out;
      const rows: Row[] = await manager.query(
        `SELECT ${COLUMNS} FROM workflow_timers WHERE tenant_id = $1 AND instance_id = ANY($2::uuid[]) AND settled_at IS NULL ORDER BY due_at, id`,
        [tenantId, instanceIds],
      );
      for (const row of rows) out.set(row.instance_id, [...(out.get(row.instance_id) ?? []), toTimer(row)]);
      return out;
    },
  };
}

/** Due timers across tenants (the runner's view; it connects as the owner, as the outbox relay does). */
export function createTimerQueue(dataSource: DataSource): TimerQueue {
  return {
    async due(now, limit) {
      const rows: Array<{ id: string; tenant_id: string; due_at: Date }> = await dataSource.query(
        `SELECT id, tenant_id, due_at FROM workflow_timers WHERE settled_at IS NULL AND due_at <= $1 ORDER BY due_at, id LIMIT $2`,
        [now, limit],
      );
      return rows.map((r) => ({ id: r.id, tenantId: r.tenant_id, dueAt: r.due_at }));
    },
    async nextDueAt() {
      const rows: Array<{ due_at: Date | null }> = await dataSource.query(`SELECT min(due_at) AS due_at FROM workflow_timers WHERE settled_at IS NULL`);
      return rows[0]?.due_at ?? undefined;
    },
    async pendingCount() {
      const rows: Array<{ n: number }> = await dataSource.query(`SELECT count(*)::int AS n FROM workflow_timers WHERE settled_at IS NULL`);
      return rows[0].n;
    },
  };
}
