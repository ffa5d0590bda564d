import type { EntityManager } from 'typeorm';
import { taskCodeOf, type TaskRecord } from '../../domain/index.js';
import type { TaskStore } from '../../ports/index.js';
import { TaskEntity } from './entities/index.js';
import { Params, seqPage } from './seq-page.js';

/** The columns a record is made of. */
const RECORD_COLUMNS = ['id', 'tenantId', 'version', 'focusId', 'lastUpdated', 'resource'] as const;
const toRecord = (row: Pick<TaskEntity, (typeof RECORD_COLUMNS)[number]>): TaskRecord => ({
  id: row.id,
  tenantId: row.tenantId,
  versionId: row.version,
  focusId: row.focusId,
  lastUpdated: row.lastUpdated,
  resource: row.resource,
});

/**
 * The columns every `tasks` row has, from the Task's record: a workflow Task's here, a prior
 * authorization's in prior-authorization.store.ts (which adds its workflow columns), so both
 * kinds of Task are stored alike.
 */
export const taskRow = (
  tenantId: string,
  task: Pick<TaskRecord, 'id' | 'versionId' | 'focusId' | 'lastUpdated' | 'resource'>,
  code: string,
): Pick<TaskEntity, 'tenantId' | 'id' | 'version' | 'status' | 'code' | 'focusId' | 'lastUpdated' | 'resource'> => ({
  tenantId,
  id: task.id,
  version: task.versionId,
  status: task.resource.status,
  code,
  focusId: task.focusId,
  lastUpdated: task.lastUpdated,
  resource: task.resource,
});

/** Workflow Tasks of one tenant. A Task is written once: it records a move that happened. */
export function createTaskStore(manager: EntityManager, tenantId: string): TaskStore {
  const tasks = manager.getRepository(TaskEntity);
  return {
    async insert(record) {
      await tasks
        .createQueryBuilder()
        .insert()
        .values(taskRow(tenantId, record, taskCodeOf(record.resource) ?? ''))
        .updateEntity(false)
        .execute();
    },

    async findById(id) {
      const row = await tasks.findOneBy({ tenantId, id });
      return row ? toRecord(row) : undefined;
    },

    async search(query) {
      const params = new Params();
      const where = [`tenant_id = ${params.bind(tenantId)}`];
      if (query.ids) where.push(`id = ANY(${params.bind(query.ids)}::uuid[])`);
      if (query.focusIds) where.push(`focus_id = ANY(${params.bind(query.focusIds)}::uuid[])`);
      if (query.statuses) where.push(`status = ANY(${params.bind(query.statuses)}::text[])`);
      if (query.codes) where.push(`code = ANY(${params.bind(query.codes)}::text[])`);
      if (query.businessStatuses) where.push(`business_status = ANY(${params.bind(query.businessStatuses)}::text[])`);
      return seqPage(manager, { entity: TaskEntity, select: RECORD_COLUMNS, where, params }, query, toRecord);
    },
  };
}
