import type { EntityManager } from 'typeorm';
import type { FillSummary, MedicationRequestRecord } from '../../domain/index.js';
import type { MedicationRequestStore, SearchPage, SearchPosition, SortKey } from '../../ports/index.js';
import { MedicationRequestEntity } from './entities/index.js';
import { insertStatement, setList } from './entity-columns.js';
import { type MedicationRequestRow, rowOf, rowToRecord } from './medication-request.mapper.js';
import { dateCondition, Params } from './seq-page.js';
import { type DeferredWrite, sendNow } from './tenant-statement.js';

const SELECT = 'SELECT id, tenant_id, version, workflow_status, workflow_version, last_updated, resource';

// The fill summary of the row `m` (CONTRACT §7: fills count from the stored dispenses), joined so that a
// read is one statement: in the CPU profile each round trip cost the gateway about as much as the query.
const FILLS_OF_M = `LEFT JOIN LATERAL (SELECT count(*)::int AS fill_count, max(when_handed_over) AS fill_last FROM medication_dispenses d
  WHERE d.tenant_id = m.tenant_id AND d.prescription_id = m.id) f ON true`;

type FillsRow = { fill_count: number; fill_last: Date | null };
const fillsOfRow = (row: FillsRow): FillSummary => ({ count: row.fill_count, lastHandedOver: row.fill_last });

const SORT_EXPRESSION: Record<SortKey, string> = {
  seq: 'seq',
  // Prescriptions without authoredOn sort first ascending, last descending.
  authoredOn: "COALESCE(authored_on, '-infinity'::timestamptz)",
  lastUpdated: 'last_updated',
};

/**
 * Prescriptions of one tenant. `tenant_id` is the first condition of every statement.
 * Hand-written SQL: read, keyset search and the create's writes are the benchmarked paths, bound by
 * the gateway's CPU (test/bench/RESULTS.md: read 1,291/s at 72 %, search 652/s at 68 %, create
 * 262/s at 77 %), where the query builder doubles a statement's CPU (figures in entity-columns.ts).
 */
export function createMedicationRequestStore(manager: EntityManager, tenantId: string, defer: DeferredWrite = sendNow(manager)): MedicationRequestStore {
  return {
    async insert(record) {
      const params = new Params();
      await defer(insertStatement(MedicationRequestEntity, [rowOf(record)], params), params.values);
    },

    async findById(id) {
      const rows: MedicationRequestRow[] = await manager.query(`${SELECT} FROM medication_requests WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
      return rows[0] && rowToRecord(rows[0]);
    },

    async findByIds(ids) {
      if (ids.length === 0) return [];
      const rows: MedicationRequestRow[] = await manager.query(`${SELECT} FROM medication_requests WHERE tenant_id = $1 AND id = ANY($2::uuid[])`, [
        tenantId,
        ids,
      ]);
      return rows.map(rowToRecord);
    },

    async findByIdsWithFills(ids) {
      if (ids.length === 0) return { records: [], fills: new Map() };
      const rows: Array<MedicationRequestRow & FillsRow> = await manager.query(
        `SELECT m.id, m.tenant_id, m.version, m.workflow_status, m.workflow_version, m.last_updated, m.resource, f.fill_count, f.fill_last
           FROM medication_requests m ${FILLS_OF_M} WHERE m.tenant_id = $1 AND m.id = ANY($2::uuid[])`,
        [tenantId, ids],
      );
      return { records: rows.map(rowToRecord), fills: new Map(rows.map((row) => [row.id, fillsOfRow(row)])) };
    },

    async updateIfVersion(record, expectedVersion) {
      const { tenantId: _tenant, id, ...changes } = rowOf(record);
      const params = new Params();
      const set = setList(MedicationRequestEntity, changes, params);
      const result: [unknown[], number] = await manager.query(
        `UPDATE medication_requests SET ${set} WHERE tenant_id = ${params.bind(tenantId)} AND id = ${params.bind(id)} AND version = ${params.bind(expectedVersion)}`,
        params.values,
      );
      return result[1] === 1;
    },

    async search(query) {
      const params = new Params();
      const where = [`tenant_id = ${params.bind(tenantId)}`];
      const bind = (value: unknown) => params.bind(value);
      if (query.ids) where.push(`id = ANY(${bind(query.ids)}::uuid[])`);
      if (query.patientId !== undefined) where.push(`patient_id = ${bind(query.patientId)}`);
      if (query.pharmacyId !== undefined) where.push(`pharmacy_id = ${bind(query.pharmacyId)}`);
      if (query.statuses) where.push(`status = ANY(${bind(query.statuses)}::text[])`);
      if (query.workflowStatuses) where.push(`workflow_status = ANY(${bind(query.workflowStatuses)}::text[])`);
      if (query.requester !== undefined) where.push(`requester = ${bind(query.requester)}`);
      if (query.identifierTerm !== undefined) where.push(`identifiers @> ARRAY[${bind(query.identifierTerm)}::text]`);
      if (query.codeTerm !== undefined) where.push(`codes @> ARRAY[${bind(query.codeTerm)}::text]`);
      for (const bound of query.authoredOn ?? []) where.push(dateCondition('authored_on', bound, params));
      for (const bound of query.lastUpdated ?? []) where.push(dateCondition('last_updated', bound, params));

      const filter = where.join(' AND ');
      const filterParams = [...params.values];
      const sort = SORT_EXPRESSION[query.sort];
      const direction = query.descending ? 'DESC' : 'ASC';
      const pageWhere = [...where];
      if (query.after) {
        const cmp = query.descending ? '<' : '>';
        pageWhere.push(
          query.sort === 'seq'
            ? `seq ${cmp} ${bind(query.after.seq)}::bigint`
            : `(${sort}, seq) ${cmp} (${bind(query.after.value)}::timestamptz, ${bind(query.after.seq)}::bigint)`,
        );
      }
      const pageSql = `${SELECT}, seq, ${sort} AS sort_key, seq::text AS position_seq, to_json(${sort})#>>'{}' AS sort_value FROM medication_requests
        WHERE ${pageWhere.join(' AND ')} ORDER BY ${sort} ${direction}, seq ${direction} LIMIT ${bind(query.limit + 1)}`;
      // One statement for the page, its rows' fills and the count (an uncorrelated subquery: run once), so a
      // search is one round trip; the page is materialised first so that fills are read for its rows only.
      const total = query.withTotal ? `, (SELECT count(*)::int FROM medication_requests WHERE ${filter}) AS total` : '';
      const rows: Array<MedicationRequestRow & Partial<FillsRow> & { position_seq: string; sort_value: string; total?: number }> = await manager.query(
        `WITH page AS MATERIALIZED (${pageSql})
         SELECT m.*${query.withFills ? ', f.fill_count, f.fill_last' : ''}${total} FROM page m ${query.withFills ? FILLS_OF_M : ''}
         ORDER BY m.sort_key ${direction}, m.seq ${direction}`,
        params.values,
      );
      const hasMore = rows.length > query.limit;
      const items = rows.slice(0, query.limit).map((row) => ({
        record: rowToRecord(row),
        position: {
          sort: query.sort,
          descending: query.descending,
          value: query.sort === 'seq' ? null : row.sort_value,
          seq: row.position_seq,
        } satisfies SearchPosition,
      }));
      const page: SearchPage<MedicationRequestRecord> = { items, hasMore };
      if (query.withFills) page.fills = new Map(rows.map((row) => [row.id, fillsOfRow(row as FillsRow)]));
      if (query.withTotal) {
        // An empty page carries no count: nothing matches at all, or (past a cursor) count on their own.
        page.total =
          rows.length > 0
            ? rows[0].total!
            : query.after
              ? ((await manager.query(`SELECT count(*)::int AS total FROM medication_requests WHERE ${filter}`, filterParams)) as Array<{ total: number }>)[0]
                  .total
              : 0;
      }
      return page;
    },
  };
}
