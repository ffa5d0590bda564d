import { IsNull, type DataSource, type EntityManager } from 'typeorm';
import type { ActionLedger, DeadLetter } from '../../ports/index.js';
import { entityOf } from './entity-columns.js';
import { ActionRunEntity, DeadLetterEntity } from './entities/index.js';

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
const markDone = (manager: EntityManager, run: Pick<ActionRunEntity, 'handler' | 'eventId' | 'tenantId' | 'attempts'>) =>
  manager.createQueryBuilder().insert().into(ActionRunEntity).values(run).orIgnore().updateEntity(false).execute();

/** `action_runs` and `dead_letters` in PostgreSQL (read and written by the workers, as the owner role). */
export function createActionLedger(dataSource: DataSource): ActionLedger {
  const deadLetters = dataSource.getRepository(DeadLetterEntity);
  return {
    async isDone(handler, eventId) {
      return dataSource.getRepository(ActionRunEntity).existsBy({ handler, eventId });
    },

    async markDone({ handler, eventId, tenantId, attempts }) {
      await markDone(dataSource.manager, { handler, eventId, tenantId, attempts });
    },

    async deadLetter(entry) {
      // A second failure of the same action keeps one open entry: the attempts add up.
      const result = await dataSource
        .createQueryBuilder()
        .insert()
        .into(DeadLetterEntity)
        .values({ id: entry.id, tenantId: entry.tenantId, handler: entry.handler, eventId: entry.eventId, eventType: entry.eventType, envelope: entry.envelope as never /* jsonb: TypeORM's deep-partial type cannot take unknown fields */, error: entry.error, attempts: entry.attempts })
        .onConflict('(handler, event_id) DO UPDATE SET error = EXCLUDED.error, attempts = dead_letters.attempts + EXCLUDED.attempts, resolved_at = NULL')
        .returning('*')
        .updateEntity(false)
        .execute();
      return toDeadLetter(entityOf(DeadLetterEntity, (result.raw as Array<Record<string, unknown>>)[0]));
    },

    async listDeadLetters(tenantId, filter) {
      const rows = await deadLetters.find({
        where: { tenantId, ...(filter.includeResolved ? {} : { resolvedAt: IsNull() }), ...(filter.handler ? { handler: filter.handler } : {}), ...(filter.eventType ? { eventType: filter.eventType } : {}) },
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
        await markDone(manager, { handler: deadLetter.handler, eventId: deadLetter.eventId, tenantId: deadLetter.tenantId, attempts });
      });
    },

    async recordFailedReplay(deadLetter, error) {
      const result = await deadLetters.createQueryBuilder().update().set({ error, attempts: () => 'attempts + 1' }).where({ id: deadLetter.id }).returning('*').updateEntity(false).execute();
      return toDeadLetter(entityOf(DeadLetterEntity, (result.raw as Array<Record<string, unknown>>)[0]));
    },
  };
}
