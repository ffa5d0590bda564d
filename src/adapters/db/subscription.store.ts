import type { EntityManager } from 'typeorm';
import { SUBSCRIPTION_CURSOR_EXTENSION, type SubscriptionRecord } from '../../domain/index.js';
import type { SubscriptionStore } from '../../ports/index.js';
import { SubscriptionEntity } from './entities/index.js';
import { entityOf } from './entity-columns.js';

/** The resource as served: status, error and the cursor extension reflect the row. */
function toRecord(row: SubscriptionEntity): SubscriptionRecord {
  const others = (row.resource.extension ?? []).filter((e) => e.url !== SUBSCRIPTION_CURSOR_EXTENSION);
  const resource = {
    ...row.resource,
    status: row.status,
    ...(row.error ? { error: row.error } : {}),
    extension: [...others, ...(row.cursor ? [{ url: SUBSCRIPTION_CURSOR_EXTENSION, valueString: row.cursor }] : [])],
  };
  if (resource.extension.length === 0) delete (resource as { extension?: unknown }).extension;
  return {
    id: row.id,
    tenantId: row.tenantId,
    versionId: row.version,
    lastUpdated: row.lastUpdated,
    status: row.status,
    criteria: row.criteria,
    error: row.error,
    cursor: row.cursor,
    resource,
  };
}

export function createSubscriptionStore(manager: EntityManager, tenantId: string): SubscriptionStore {
  const subscriptions = manager.getRepository(SubscriptionEntity);
  return {
    async insert(record) {
      await subscriptions.insert({
        tenantId,
        id: record.id,
        version: record.versionId,
        status: record.status,
        criteria: record.criteria,
        error: record.error,
        cursor: record.cursor,
        lastUpdated: record.lastUpdated,
        resource: record.resource,
      });
    },

    async findById(id) {
      const row = await subscriptions.findOneBy({ tenantId, id });
      return row ? toRecord(row) : undefined;
    },

    async setStatus(id, status, error, at) {
      // One statement: the version moves by one whatever another writer did, and the stored resource follows.
      const result = await subscriptions
        .createQueryBuilder()
        .update()
        .set({
          status,
          error,
          version: () => 'version + 1',
          lastUpdated: at,
          resource: () =>
            `jsonb_set(jsonb_set(resource, '{meta,versionId}', to_jsonb((version + 1)::text)), '{meta,lastUpdated}', to_jsonb(CAST(:at AS timestamptz)))`,
        })
        .setParameter('at', at)
        .where({ tenantId, id })
        .returning('*')
        .execute();
      const [raw] = result.raw as Array<Record<string, unknown>>;
      return raw && toRecord(entityOf(SubscriptionEntity, raw));
    },

    async setCursor(id, cursor) {
      // Cursors only move forward, whichever instance delivered last.
      await subscriptions
        .createQueryBuilder()
        .update()
        .set({ cursor })
        .where({ tenantId, id })
        .andWhere('(cursor IS NULL OR CAST(cursor AS bigint) < CAST(:cursor AS bigint))', { cursor })
        .execute();
    },
  };
}
