import type { EntityManager } from 'typeorm';
import type { DateBound, SeqPage, SeqPageQuery } from '../../ports/index.js';

/** Builds `$n` placeholders while collecting their values: SQL is only ever built from parameters. */
export class Params {
  readonly values: unknown[] = [];
  bind(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/**
 * One page of a table ordered by its insertion sequence, `limit + 1` rows to know whether more
 * follow, and the total over the same filter when asked.
 */
export async function seqPage<Row, T>(
  manager: EntityManager,
  sql: { select: string; table: string; where: string[]; params: Params },
  query: SeqPageQuery,
  toRecord: (row: Row) => T,
): Promise<SeqPage<T>> {
  const { params } = sql;
  const filterValues = [...params.values];
  const filter = sql.where.join(' AND ');
  const pageWhere = query.afterSeq === undefined ? filter : `${filter} AND seq > ${params.bind(query.afterSeq)}::bigint`;
  const limit = params.bind(query.limit + 1);
  const [rows, count] = await Promise.all([
    manager.query(`${sql.select}, seq::text AS position_seq FROM ${sql.table} WHERE ${pageWhere} ORDER BY seq LIMIT ${limit}`, params.values) as Promise<Array<Row & { position_seq: string }>>,
    query.withTotal ? (manager.query(`SELECT count(*)::int AS total FROM ${sql.table} WHERE ${filter}`, filterValues) as Promise<Array<{ total: number }>>) : undefined,
  ]);
  return {
    items: rows.slice(0, query.limit).map((row) => ({ record: toRecord(row), seq: row.position_seq })),
    hasMore: rows.length > query.limit,
    ...(count ? { total: count[0].total } : {}),
  };
}

/** FHIR R4 search.html#prefix on a value with an implicit range [low, high). */
export function dateCondition(column: string, bound: DateBound, params: Params): string {
  switch (bound.op) {
    case 'eq':
      return `(${column} >= ${params.bind(bound.low)} AND ${column} < ${params.bind(bound.high)})`;
    case 'ge':
      return `${column} >= ${params.bind(bound.low)}`;
    case 'gt':
      return `${column} >= ${params.bind(bound.high)}`;
    case 'le':
      return `${column} < ${params.bind(bound.high)}`;
    case 'lt':
      return `${column} < ${params.bind(bound.low)}`;
  }
}
