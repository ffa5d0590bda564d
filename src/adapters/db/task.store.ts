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

/** Workflow Tasks of one tenant. A Task is written once: it records a move that happened. */
export function createTaskStore(manager: EntityManager, tenantId: string): TaskStore {
  const tasks = manager.getRepository(TaskEntity);
  return {
    async insert(record) {
      await tasks
        .createQueryBuilder()
        .insert()
        .values({
          tenantId,
          id: record.id,
          version: record.versionId,
          status: record.resource.status,
          code: taskCodeOf(record.resource) ?? '',
          focusId: record.focusId,
          lastUpdated: record.lastUpdated,
          resource: record.resource,
        })
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
