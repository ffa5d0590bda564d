import { type DataSource, type EntityManager, IsNull } from 'typeorm';
import { instanceOf } from '../../domain/index.js';
import type { ActionLedger, ActionRun, DeadLetter } from '../../ports/index.js';
import { ActionRunEntity, DeadLetterEntity } from './entities/index.js';
import { entityOf } from './entity-columns.js';

const toDeadLetter = (row: DeadLetterEntity): DeadLetter => ({
  id: row.id,
  tenantId: row.tenantId,
  handler: row.handler,
  eventId: row.eventId,
  eventType: row.eventType,
  envelope: row.envelope as DeadLetter['envelope'],
  error: row.error,
  attempts: row.attempts,
  createdAt: row.createdAt,
  resolvedAt: row.resolvedAt,
});

/** Records a completed action; a second completion of the same one is no change. */
const markDone = (manager: EntityManager, run: Pick<ActionRunEntity, 'handler' | 'eventId' | 'tenantId' | 'attempts' | 'instanceId'>) =>
  manager.createQueryBuilder().insert().into(ActionRunEntity).values(run).orIgnore().updateEntity(false).execute();

/** `action_runs` and `dead_letters` in PostgreSQL (read and written by the workers, as the owner role). */
export function createActionLedger(dataSource: DataSource): ActionLedger {
  const deadLetters = dataSource.getRepository(DeadLetterEntity);
  return {
    async isDone(handler, eventId) {
      return dataSource.getRepository(ActionRunEntity).existsBy({ handler, eventId });
    },

    async markDone({ handler, eventId, tenantId, attempts, instanceId }) {
      await markDone(dataSource.manager, { handler, eventId, tenantId, attempts, instanceId: instanceId ?? null });
    },

    async completedFor(tenantId, instanceId) {
      const runs = await dataSource
        .getRepository(ActionRunEntity)
        .find({ select: { handler: true }, where: { tenantId, instanceId }, order: { completedAt: 'ASC', handler: 'ASC' } });
      return runs.map((r) => r.handler);
    },

    async runsFor(tenantId, instanceIds) {
      const out = new Map<string, ActionRun[]>();
      if (instanceIds.length === 0) return out;
      // Done runs and open dead letters in one ordered list (a dead letter names its instance inside its event).
      const rows: Array<{ instance_id: string; handler: string; status: ActionRun['status']; attempts: number; last_error: string | null }> =
        await dataSource.query(
          `SELECT instance_id::text, handler, 'done' AS status, attempts, NULL AS last_error, completed_at AS at FROM action_runs WHERE tenant_id = $1 AND instance_id = ANY($2::uuid[])
         UNION ALL
         SELECT COALESCE(envelope #>> '{payload,workflow,instanceId}', envelope #>> '{payload,medicationRequestId}'), handler, 'dead-lettered', attempts, error, created_at
           FROM dead_letters WHERE tenant_id = $1 AND resolved_at IS NULL AND COALESCE(envelope #>> '{payload,workflow,instanceId}', envelope #>> '{payload,medicationRequestId}') = ANY($2::text[])
         ORDER BY at`,
          [tenantId, instanceIds],
        );
      for (const row of rows)
        out.set(row.instance_id, [
          ...(out.get(row.instance_id) ?? []),
          { handler: row.handler, status: row.status, attempts: row.attempts, lastError: row.last_error },
        ]);
      return out;
    },

    async deadLetter(entry) {
      // A second failure of the same action keeps one open entry: the attempts add up.
      const result = await dataSource
        .createQueryBuilder()
        .insert()
        .into(DeadLetterEntity)
        .values({
          id: entry.id,
          tenantId: entry.tenantId,
          handler: entry.handler,
          eventId: entry.eventId,
          eventType: entry.eventType,
          envelope: entry.envelope as never /* jsonb: TypeORM's deep-partial type cannot take unknown fields */,
          error: entry.error,
          attempts: entry.attempts,
        })
        .onConflict('(handler, event_id) DO UPDATE SET error = EXCLUDED.error, attempts = dead_letters.attempts + EXCLUDED.attempts, resolved_at = NULL')
        .returning('*')
        .updateEntity(false)
        .execute();
      return toDeadLetter(entityOf(DeadLetterEntity, (result.raw as Array<Record<string, unknown>>)[0]));
    },

    async listDeadLetters(tenantId, filter) {
      const rows = await deadLetters.find({
        where: {
          tenantId,
          ...(filter.includeResolved ? {} : { resolvedAt: IsNull() }),
          ...(filter.handler ? { handler: filter.handler } : {}),
          ...(filter.eventType ? { eventType: filter.eventType } : {}),
        },
        order: { createdAt: 'ASC', id: 'ASC' },
        take: filter.limit,
      });
      return rows.map(toDeadLetter);
    },

    async findDeadLetter(tenantId, id) {
      const row = await deadLetters.findOneBy({ tenantId, id });
      return row ? toDeadLetter(row) : undefined;
    },

    async resolve(deadLetter, attempts) {
      await dataSource.transaction(async (manager) => {
        await manager.update(DeadLetterEntity, { id: deadLetter.id }, { resolvedAt: () => 'now()', attempts });
        await markDone(manager, {
          handler: deadLetter.handler,
          eventId: deadLetter.eventId,
          tenantId: deadLetter.tenantId,
          attempts,
          instanceId: instanceOf(deadLetter.envelope) ?? null,
        });
      });
    },

    async recordFailedReplay(deadLetter, error) {
      const result = await deadLetters
        .createQueryBuilder()
        .update()
        .set({ error, attempts: () => 'attempts + 1' })
        .where({ id: deadLetter.id })
        .returning('*')
        .updateEntity(false)
        .execute();
      return toDeadLetter(entityOf(DeadLetterEntity, (result.raw as Array<Record<string, unknown>>)[0]));
    },
  };
}
