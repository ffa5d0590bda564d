import type { EntityManager } from 'typeorm';
import { isPriorAuthorizationState, type PriorAuthorizationRecord, type PriorAuthorizationTransition, type Urgency } from '../../domain/index.js';
import type { PriorAuthorizationStore } from '../../ports/index.js';
import { TaskEntity, TaskHistoryEntity } from './entities/index.js';
import { taskRow } from './task.store.js';

const WORKFLOW = 'prior-authorization';

type Row = Pick<TaskEntity, 'id' | 'tenantId' | 'version' | 'focusId' | 'lastUpdated' | 'resource' | 'businessStatus' | 'workflowVersion'>;

/** A PA's own facts live in its Task (priority, authoredOn, restriction.period.end): one source. */
function toRecord(row: Row): PriorAuthorizationRecord {
  const state = row.businessStatus;
  if (!isPriorAuthorizationState(state)) throw new Error(`Task/${row.id}: '${String(state)}' is not a prior-authorization state`);
  const resource = row.resource;
  return {
    id: row.id,
    tenantId: row.tenantId,
    versionId: row.version,
    lastUpdated: row.lastUpdated,
    prescriptionId: row.focusId,
    state,
    workflowVersion: row.workflowVersion ?? 1,
    urgency: (resource.priority === 'urgent' ? 'urgent' : 'standard') satisfies Urgency,
    submittedAt: new Date(resource.authoredOn!),
    decisionDueAt: new Date(resource.restriction!.period!.end!),
    resource,
  };
}

const historyRow = (tenantId: string, record: PriorAuthorizationRecord, transition: PriorAuthorizationTransition): Partial<TaskHistoryEntity> => ({
  tenantId,
  id: record.id,
  version: record.versionId,
  businessStatus: record.state,
  workflowVersion: record.workflowVersion,
  lastUpdated: record.lastUpdated,
  resource: record.resource,
  transition: { ...transition, at: transition.at.toISOString() },
});

/** Prior authorizations of one tenant: rows of `tasks` with a business state, and their versions in `task_history`. */
export function createPriorAuthorizationStore(manager: EntityManager, tenantId: string): PriorAuthorizationStore {
  const tasks = manager.getRepository(TaskEntity);
  const history = manager.getRepository(TaskHistoryEntity);
  // Every version a prior authorization reaches, with the transition that made it.
  const appendVersion = async (record: PriorAuthorizationRecord, transition: PriorAuthorizationTransition) => {
    await history
      .createQueryBuilder()
      .insert()
      .values(historyRow(tenantId, record, transition))
      .updateEntity(false)
      .execute();
  };
  const where = () => tasks.createQueryBuilder('t').where('t.tenant_id = :tenantId AND t.workflow_name = :workflow', { tenantId, workflow: WORKFLOW });
  return {
    async insert(record, transition) {
      await tasks
        .createQueryBuilder()
        .insert()
        .values({
          ...taskRow(tenantId, { ...record, focusId: record.prescriptionId }, 'prior-authorization'),
          businessStatus: record.state,
          workflowName: WORKFLOW,
          workflowVersion: record.workflowVersion,
        })
        .updateEntity(false)
        .execute();
      await appendVersion(record, transition);
    },

    async findById(id) {
      const row = await where().andWhere('t.id = :id', { id }).getOne();
      return row ? toRecord(row) : undefined;
    },

    async findByIds(ids) {
      if (ids.length === 0) return [];
      return (await where().andWhere('t.id = ANY(CAST(:ids AS uuid[]))', { ids }).getMany()).map(toRecord);
    },

    async latestOf(prescriptionIds) {
      if (prescriptionIds.length === 0) return new Map();
      const rows = await where().andWhere('t.focus_id = ANY(CAST(:ids AS uuid[]))', { ids: prescriptionIds }).orderBy('t.seq', 'ASC').getMany();
      // Ascending: the newest of each prescription is set last.
      return new Map(rows.map((row) => [row.focusId, toRecord(row)]));
    },

    async updateIfVersion(record, expectedVersion, transition) {
      const result = await tasks
        .createQueryBuilder()
        .update()
        .set({
          version: record.versionId,
          status: record.resource.status,
          lastUpdated: record.lastUpdated,
          resource: record.resource,
          businessStatus: record.state,
        })
        .where('tenant_id = :tenantId AND id = :id AND version = :expectedVersion', { tenantId, id: record.id, expectedVersion })
        .execute();
      if (result.affected !== 1) return false;
      await appendVersion(record, transition);
      return true;
    },

    async transitionsOf(ids) {
      const result = new Map<string, PriorAuthorizationTransition[]>(ids.map((id) => [id, []]));
      if (ids.length === 0) return result;
      const rows = await history
        .createQueryBuilder('h')
        .where('h.tenant_id = :tenantId AND h.id = ANY(CAST(:ids AS uuid[]))', { tenantId, ids })
        .orderBy('h.version', 'ASC')
        .getMany();
      for (const row of rows) result.get(row.id)?.push({ ...row.transition, at: new Date(row.transition.at) });
      return result;
    },
  };
}
