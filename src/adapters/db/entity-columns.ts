import { getMetadataArgsStorage, type ObjectLiteral } from 'typeorm';
import type { Params } from './seq-page.js';

/*
 * Hand-written SQL on the hot paths takes its table and column names from the entities, so no
 * statement lists columns kept in step with their values by hand. Why hand-written at all: measured
 * on this machine (PostgreSQL 15, warm, gateway CPU per statement), a query-builder INSERT cost
 * 313 µs against 126 µs for the same statement written out (129 µs with names from the entities),
 * and `findOneBy` 436 µs against 220 µs; the gateway's CPU is what limits create, read and search
 * (test/bench/RESULTS.md: 77 % gateway CPU at 262 creates/s, 2.58 ms of CPU per create).
 *
 * Names are read from the entities' decorators (no connection needed, so the audit trail works on
 * any `query`); the default naming strategy maps them one to one, and
 * test/integration/entity-schema.test.ts checks they equal the data source's metadata.
 */

type EntityClass<E> = abstract new () => E;

interface Names {
  table: string;
  columns: Map<string, string>;
}

const cache = new Map<unknown, Names>();

/** Table name and column name of every property of an entity class. */
export function namesOf(entity: EntityClass<unknown>): Names {
  let names = cache.get(entity);
  if (!names) {
    const storage = getMetadataArgsStorage();
    const table = storage.tables.find((t) => t.target === entity);
    if (!table?.name) throw new Error(`${entity.name} is not an entity with a table name`);
    names = { table: table.name, columns: new Map(storage.filterColumns(entity).map((c) => [c.propertyName, c.options.name ?? c.propertyName])) };
    cache.set(entity, names);
  }
  return names;
}

function nameOf(entity: EntityClass<unknown>, property: string): string {
  const name = namesOf(entity).columns.get(property);
  if (!name) throw new Error(`${entity.name} has no column for ${property}`);
  return name;
}

/** `INSERT INTO table (…) VALUES (…), (…)` of entity-shaped rows (all with the properties of the first). */
export function insertStatement<E extends ObjectLiteral>(entity: EntityClass<E>, rows: ReadonlyArray<Partial<E>>, params: Params): string {
  const properties = Object.keys(rows[0]);
  const tuples = rows.map((row) => `(${properties.map((p) => params.bind(row[p])).join(', ')})`);
  return `INSERT INTO ${namesOf(entity).table} (${properties.map((p) => nameOf(entity, p)).join(', ')}) VALUES ${tuples.join(', ')}`;
}

/** `a = $1, b = $2, …` of an UPDATE setting the given properties. */
export function setList<E extends ObjectLiteral>(entity: EntityClass<E>, changes: Partial<E>, params: Params): string {
  return Object.entries(changes)
    .map(([property, value]) => `${nameOf(entity, property)} = ${params.bind(value)}`)
    .join(', ');
}

/** `"col" AS "property", …`: a SELECT list whose rows come back shaped as the entity (all columns, or the given ones). */
export function selectList<E extends ObjectLiteral>(entity: EntityClass<E>, properties?: ReadonlyArray<keyof E & string>): string {
  return (properties ?? [...namesOf(entity).columns.keys()]).map((p) => `${nameOf(entity, p)} AS "${p}"`).join(', ');
}

/** A raw row (database column names, as `RETURNING *` answers) as its entity. */
export function entityOf<E extends ObjectLiteral>(entity: EntityClass<E>, raw: Record<string, unknown>): E {
  const result: Record<string, unknown> = {};
  for (const [property, name] of namesOf(entity).columns) result[property] = raw[name];
  return result as E;
}
