import type { EntityManager } from 'typeorm';
import { SUBSCRIPTION_CURSOR_EXTENSION, type SubscriptionRecord } from '../../domain/index.js';
import type { SubscriptionStore } from '../../ports/index.js';

interface Row {
  id: string;
  tenant_id: string;
  version: number;
  status: SubscriptionRecord['status'];
  criteria: string;
  error: string | null;
  cursor: string | null;
  last_updated: Date;
  resource: SubscriptionRecord['resource'];
}

/** The resource as served: status, error and the cursor extension reflect the row. */
function toRecord(row: Row): SubscriptionRecord {
  const others = (row.resource.extension ?? []).filter((e) => e.url !== SUBSCRIPTION_CURSOR_EXTENSION);
  const resource = {
    ...row.resource,
    status: row.status,
    ...(row.error ? { error: row.error } : {}),
    extension: [...others, ...(row.cursor ? [{ url: SUBSCRIPTION_CURSOR_EXTENSION, valueString: row.cursor }] : [])],
  };
  if (resource.extension.length === 0) delete (resource as { extension?: unknown }).extension;
  return { id: row.id, tenantId: row.tenant_id, versionId: row.version, lastUpdated: row.last_updated, status: row.status, criteria: row.criteria, error: row.error, cursor: row.cursor, resource };
}

const SELECT = 'SELECT id, tenant_id, version, status, criteria, error, cursor, last_updated, resource FROM subscriptions';

export function createSubscriptionStore(manager: EntityManager, tenantId: string): SubscriptionStore {
  return {
    async insert(record) {
      await manager.query(
        'INSERT INTO subscriptions (tenant_id, id, version, status, criteria, error, cursor, last_updated, resource) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
        [tenantId, record.id, record.versionId, record.status, record.criteria, record.error, record.cursor, record.lastUpdated, record.resource],
      );
    },

    async findById(id) {
      const rows: Row[] = await manager.query(`${SELECT} WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
      return rows[0] && toRecord(rows[0]);
    },

    async setStatus(id, status, error, at) {
      const [rows]: [Row[], number] = await manager.query(
        `UPDATE subscriptions SET status = $3, error = $4, version = version + 1, last_updated = $5,
           resource = jsonb_set(jsonb_set(resource, '{meta,versionId}', to_jsonb((version + 1)::text)), '{meta,lastUpdated}', to_jsonb($5::timestamptz))
         WHERE tenant_id = $1 AND id = $2 RETURNING id, tenant_id, version, status, criteria, error, cursor, last_updated, resource`,
        [tenantId, id, status, error, at],
      );
      return rows[0] && toRecord(rows[0]);
    },

    async setCursor(id, cursor) {
      // Cursors only move forward, whichever instance delivered last.
      await manager.query('UPDATE subscriptions SET cursor = $3 WHERE tenant_id = $1 AND id = $2 AND (cursor IS NULL OR cursor::bigint < $3::bigint)', [tenantId, id, cursor]);
    },
  };
}
