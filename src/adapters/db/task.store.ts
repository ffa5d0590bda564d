import type { EntityManager } from 'typeorm';
import { taskCodeOf, type TaskRecord } from '../../domain/index.js';
import type { TaskStore } from '../../ports/index.js';
import { TaskEntity } from './entities/index.js';
import { seqPage } from './seq-page.js';

const toRecord = (row: TaskEntity): TaskRecord => ({ id: row.id, tenantId: row.tenantId, versionId: row.version, focusId: row.focusId, lastUpdated: row.lastUpdated, resource: row.resource });

/** Workflow Tasks of one tenant. A Task is written once: it records a move that happened. */
export function createTaskStore(manager: EntityManager, tenantId: string): TaskStore {
  const tasks = manager.getRepository(TaskEntity);
  return {
    async insert(record) {
      await tasks
        .createQueryBuilder()
        .insert()
        .values({ tenantId, id: record.id, version: record.versionId, status: record.resource.status, code: taskCodeOf(record.resource) ?? '', focusId: record.focusId, lastUpdated: record.lastUpdated, resource: record.resource })
        .updateEntity(false)
        .execute();
    },

    async findById(id) {
      const row = await tasks.findOneBy({ tenantId, id });
      return row ? toRecord(row) : undefined;
    },

    async search(query) {
      const filtered = tasks.createQueryBuilder('t').where('t.tenantId = :tenantId', { tenantId });
      if (query.ids) filtered.andWhere('t.id = ANY(CAST(:ids AS uuid[]))', { ids: query.ids });
      if (query.focusIds) filtered.andWhere('t.focusId = ANY(CAST(:focusIds AS uuid[]))', { focusIds: query.focusIds });
      if (query.statuses) filtered.andWhere('t.status = ANY(CAST(:statuses AS text[]))', { statuses: query.statuses });
      if (query.codes) filtered.andWhere('t.code = ANY(CAST(:codes AS text[]))', { codes: query.codes });
      return seqPage(filtered, query, toRecord);
    },
  };
}
