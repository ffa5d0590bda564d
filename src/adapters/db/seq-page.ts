import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import type { DateBound, SeqPage, SeqPageQuery } from '../../ports/index.js';

/** Builds `$n` placeholders while collecting their values: SQL is only ever built from parameters. */
export class Params {
  readonly values: unknown[] = [];
  bind(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** The same for TypeORM's query builder: `:p0`, `:p1`, … with their values by name. */
export class NamedParams {
  readonly values: Record<string, unknown> = {};
  private next = 0;
  bind(value: unknown): string {
    const name = `p${this.next++}`;
    this.values[name] = value;
    return `:${name}`;
  }
}

/**
 * One page of a table ordered by its insertion sequence (`seq` of the entity), `limit + 1` rows to
 * know whether more follow, and the total over the same filter when asked.
 */
export async function seqPage<E extends ObjectLiteral & { seq: string }, T>(filtered: SelectQueryBuilder<E>, query: SeqPageQuery, toRecord: (entity: E) => T): Promise<SeqPage<T>> {
  const alias = filtered.alias;
  const page = filtered.clone();
  if (query.afterSeq !== undefined) page.andWhere(`${alias}.seq > CAST(:afterSeq AS bigint)`, { afterSeq: query.afterSeq });
  page.orderBy(`${alias}.seq`, 'ASC').limit(query.limit + 1);
  const [rows, count] = await Promise.all([
    page.getMany(),
    query.withTotal ? filtered.clone().select('count(*)::int', 'total').getRawOne<{ total: number }>() : undefined,
  ]);
  return {
    items: rows.slice(0, query.limit).map((row) => ({ record: toRecord(row), seq: row.seq })),
    hasMore: rows.length > query.limit,
    ...(count ? { total: count.total } : {}),
  };
}

/** FHIR R4 search.html#prefix on a value with an implicit range [low, high). */
export function dateCondition(column: string, bound: DateBound, params: { bind(value: unknown): string }): string {
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
