import type { EntityManager } from 'typeorm';
import { subjectOf, type TransitionRecord } from '../../domain/index.js';
import type { IdempotencyStore, MedicationRequestHistory, OutboxWriter } from '../../ports/index.js';
import { traceHeaders } from '../../tracing.js';
import { IdempotencyKeyEntity, MedicationRequestHistoryEntity, OutboxEntity } from './entities/index.js';
import { insertStatement } from './entity-columns.js';
import {
  historyToRecord,
  type MedicationRequestRow,
  rowToRecord,
  type StoredTransition,
  transitionFromJson,
  transitionToJson,
} from './medication-request.mapper.js';
import { Params } from './seq-page.js';
import { rowsOfEach } from './statement-batch.js';
import { type DeferredWrite, sendNow } from './tenant-statement.js';

export function createHistoryStore(manager: EntityManager, tenantId: string, defer: DeferredWrite = sendNow(manager)): MedicationRequestHistory {
  const versions = manager.getRepository(MedicationRequestHistoryEntity);
  return {
    async append({ record, transition }) {
      // One of the create's writes: hand-written (see medication-request.store.ts), names from the entity.
      const params = new Params();
      const row = {
        tenantId,
        id: record.id,
        version: record.versionId,
        workflowStatus: record.workflowStatus,
        lastUpdated: record.lastUpdated,
        resource: record.resource,
        transition: transition && transitionToJson(transition),
        workflowVersion: record.workflowVersion,
      };
      await defer(insertStatement(MedicationRequestHistoryEntity, [row], params), params.values);
    },

    async version(id, versionId) {
      const row = await versions.findOneBy({ tenantId, id, version: versionId });
      return row ? historyToRecord(row) : undefined;
    },

    async list(id) {
      return (await versions.find({ where: { tenantId, id }, order: { version: 'DESC' } })).map(historyToRecord);
    },

    // A keyset search over every version, like the prescriptions' (medication-request.store.ts).
    async listAll(query) {
      const params = new Params();
      const where = [`tenant_id = ${params.bind(tenantId)}`];
      if (query.since) where.push(`last_updated >= ${params.bind(query.since)}`);
      const filterValues = [...params.values];
      const filter = where.join(' AND ');
      if (query.before)
        where.push(
          `(last_updated, id, version) < (${params.bind(query.before.lastUpdated)}::timestamptz, ${params.bind(query.before.id)}::uuid, ${params.bind(query.before.version)}::int)`,
        );
      // One after the other, as seqPage (seq-page.ts) says why.
      const rows: Array<MedicationRequestRow & { position_at: string }> = await manager.query(
        `SELECT id, tenant_id, version, workflow_status, workflow_version, last_updated, resource, to_json(last_updated)#>>'{}' AS position_at FROM medication_request_history
         WHERE ${where.join(' AND ')} ORDER BY last_updated DESC, id DESC, version DESC LIMIT ${params.bind(query.limit + 1)}`,
        params.values,
      );
      const count: Array<{ total: number }> | undefined = query.withTotal
        ? await manager.query(`SELECT count(*)::int AS total FROM medication_request_history WHERE ${filter}`, filterValues)
        : undefined;
      return {
        items: rows
          .slice(0, query.limit)
          .map((row) => ({ record: rowToRecord(row), position: { lastUpdated: row.position_at, id: row.id, version: row.version } })),
        hasMore: rows.length > query.limit,
        ...(count ? { total: count[0].total } : {}),
      };
    },

    // Hand-written: one statement per GraphQL page, the benchmark's most CPU-bound row (RESULTS.md: 73 pages/s at 97 % gateway CPU).
    async transitionsOf(ids) {
      const byId = new Map<string, TransitionRecord[]>(ids.map((id) => [id, []]));
      if (ids.length === 0) return byId;
      const rows: Array<{ id: string; transition: StoredTransition }> = await manager.query(
        `SELECT id, transition FROM medication_request_history
         WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND transition IS NOT NULL ORDER BY id, version`,
        [tenantId, ids],
      );
      for (const row of rows) byId.get(row.id)?.push(transitionFromJson(row.transition));
      return byId;
    },
  };
}

const CONFLICT_COLUMNS = ['tenant_id', 'key'];

/** A row of `idempotency_keys` as the claim's lookup reads it. */
interface StoredIdempotencyKey {
  key: string;
  operation: string;
  request_hash: string;
  resource_type: string;
  resource_id: string;
  version: number;
  status_code: number;
}

export function createIdempotencyStore(manager: EntityManager, tenantId: string, defer: DeferredWrite = sendNow(manager)): IdempotencyStore {
  const repository = manager.getRepository(IdempotencyKeyEntity);
  const updatedColumns = (row: Partial<IdempotencyKeyEntity>) =>
    repository.metadata.columns.filter((c) => c.getEntityValue(row) !== undefined).map((c) => c.databaseName);
  return {
    async claim(key) {
      // One round trip, two statements: the transaction-scoped advisory lock (released at commit or
      // rollback, never leaked), then the lookup. Not one statement: its snapshot would predate the
      // lock, and a request that held the key and committed its record in between would be missed
      // (run twice). The lookup's own snapshot comes after the lock, so it sees that record.
      const [[{ claimed }], rows] = await rowsOfEach<[Array<{ claimed: boolean }>, StoredIdempotencyKey[]]>(manager, [
        { sql: 'SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS claimed', parameters: [`idem:${tenantId}:${key}`] },
        {
          sql: `SELECT key, operation, request_hash, resource_type, resource_id, version, status_code FROM idempotency_keys
                WHERE tenant_id = $1 AND key = $2 AND expires_at > now()`,
          parameters: [tenantId, key],
        },
      ]);
      if (!claimed) return { claimed: false };
      const row = rows[0];
      return {
        claimed: true,
        prior: row && {
          key: row.key,
          operation: row.operation,
          requestHash: row.request_hash,
          resourceType: row.resource_type,
          resourceId: row.resource_id,
          versionId: row.version,
          statusCode: row.status_code,
        },
      };
    },

    async save(record, ttlSeconds) {
      // An expired record with the same key is replaced: keys are kept for the TTL only. Not
      // `repository.upsert`: it would add RETURNING created_at to one of the create's writes.
      const row: Partial<IdempotencyKeyEntity> = {
        tenantId,
        key: record.key,
        operation: record.operation,
        requestHash: record.requestHash,
        resourceType: record.resourceType,
        resourceId: record.resourceId,
        version: record.versionId,
        statusCode: record.statusCode,
        expiresAt: new Date(Date.now() + ttlSeconds * 1000),
      };
      await defer(
        ...manager
          .createQueryBuilder()
          .insert()
          .into(IdempotencyKeyEntity)
          .values(row)
          .orUpdate(updatedColumns(row), CONFLICT_COLUMNS)
          .updateEntity(false)
          .getQueryAndParameters(),
      );
    },
  };
}

export function createOutboxWriter(manager: EntityManager, defer: DeferredWrite = sendNow(manager)): OutboxWriter {
  return {
    async append(events) {
      if (events.length === 0) return;
      // The trace of the writing request travels with the row: the relay publishes in it, later or elsewhere.
      const traceparent = traceHeaders()?.traceparent ?? null;
      // No RETURNING (updateEntity false): nothing reads the new seq back on the create path.
      await defer(
        ...manager
          .createQueryBuilder()
          .insert()
          .into(OutboxEntity)
          .values(
            events.map((e) => ({
              eventId: e.metadata.eventId,
              tenantId: e.metadata.tenantId,
              eventType: e.metadata.eventType,
              subject: subjectOf(e.metadata),
              envelope: e as never,
              traceparent,
            })),
          )
          .updateEntity(false)
          .getQueryAndParameters(),
      );
    },
  };
}
