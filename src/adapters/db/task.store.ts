import type { EntityManager } from 'typeorm';
import { taskCodeOf, type TaskRecord } from '../../domain/index.js';
import type { TaskStore } from '../../ports/index.js';
import { Params, seqPage } from './seq-page.js';

interface Row {
  id: string;
  tenant_id: string;
  version: number;
  focus_id: string;
  last_updated: Date;
  resource: TaskRecord['resource'];
}

const SELECT = 'SELECT id, tenant_id, version, focus_id, last_updated, resource';
const toRecord = (row: Row): TaskRecord => ({ id: row.id, tenantId: row.tenant_id, versionId: row.version, focusId: row.focus_id, lastUpdated: row.last_updated, resource: row.resource });

/** Workflow Tasks of one tenant. A Task is written once: it records a move that happened. */
export function createTaskStore(manager: EntityManager, tenantId: string): TaskStore {
  return {
    async insert(record) {
      await manager.query(
        `INSERT INTO tasks (tenant_id, id, version, status, code, focus_id, last_updated, resource) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [tenantId, record.id, record.versionId, record.resource.status, taskCodeOf(record.resource) ?? '', record.focusId, record.lastUpdated, record.resource],
      );
    },

    async findById(id) {
      const rows: Row[] = await manager.query(`${SELECT} FROM tasks WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
      return rows[0] && toRecord(rows[0]);
    },

    async search(query) {
      const params = new Params();
      const where = [`tenant_id = ${params.bind(tenantId)}`];
      if (query.ids) where.push(`id = ANY(${params.bind(query.ids)}::uuid[])`);
      if (query.focusIds) where.push(`focus_id = ANY(${params.bind(query.focusIds)}::uuid[])`);
      if (query.statuses) where.push(`status = ANY(${params.bind(query.statuses)}::text[])`);
      if (query.codes) where.push(`code = ANY(${params.bind(query.codes)}::text[])`);
      return seqPage<Row, TaskRecord>(manager, { select: SELECT, table: 'tasks', where, params }, query, toRecord);
    },
  };
}
