import type { EntityManager, EntityMetadata, EntityTarget, ObjectLiteral } from 'typeorm';
import type { Params } from './seq-page.js';

/*
 * Hand-written SQL on the hot paths takes its table and column names from the entities, so no
 * statement lists columns kept in step with their values by hand. Why hand-written at all: measured
 * on this machine (PostgreSQL 15, warm, gateway CPU per statement), a query-builder INSERT cost
 * 313 µs against 126 µs for the same statement written out (129 µs with names from the metadata),
 * and `findOneBy` 436 µs against 220 µs; the gateway's CPU is what limits create, read and search
 * (test/bench/RESULTS.md: 77 % gateway CPU at 262 creates/s, 2.58 ms of CPU per create).
 */

const namesByMetadata = new WeakMap<EntityMetadata, Map<string, string>>();

function metadataOf<E extends ObjectLiteral>(manager: EntityManager, entity: EntityTarget<E>): { metadata: EntityMetadata; nameOf(property: string): string } {
  const metadata = manager.connection.getMetadata(entity);
  let names = namesByMetadata.get(metadata);
  if (!names) {
    names = new Map(metadata.columns.map((c) => [c.propertyName, c.databaseName]));
    namesByMetadata.set(metadata, names);
  }
  const known = names;
  return {
    metadata,
    nameOf(property) {
      const name = known.get(property);
      if (!name) throw new Error(`${metadata.name} has no column for ${property}`);
      return name;
    },
  };
}

/** `INSERT INTO table (…) VALUES (…), (…)` of entity-shaped rows (all with the properties of the first). */
export function insertStatement<E extends ObjectLiteral>(manager: EntityManager, entity: EntityTarget<E>, rows: ReadonlyArray<Partial<E>>, params: Params): string {
  const { metadata, nameOf } = metadataOf(manager, entity);
  const properties = Object.keys(rows[0]);
  const tuples = rows.map((row) => `(${properties.map((p) => params.bind(row[p])).join(', ')})`);
  return `INSERT INTO ${metadata.tableName} (${properties.map(nameOf).join(', ')}) VALUES ${tuples.join(', ')}`;
}

/** `a = $1, b = $2, …` of an UPDATE setting the given properties. */
export function setList<E extends ObjectLiteral>(manager: EntityManager, entity: EntityTarget<E>, changes: Partial<E>, params: Params): string {
  const { nameOf } = metadataOf(manager, entity);
  return Object.entries(changes)
    .map(([property, value]) => `${nameOf(property)} = ${params.bind(value)}`)
    .join(', ');
}

/** The database name of a property's column. */
export function columnName<E extends ObjectLiteral>(manager: EntityManager, entity: EntityTarget<E>, property: keyof E & string): string {
  return metadataOf(manager, entity).nameOf(property);
}

/** `"col" AS "property", …`: a SELECT list whose rows come back shaped as the entity (all columns, or the given ones). */
export function selectList<E extends ObjectLiteral>(manager: EntityManager, entity: EntityTarget<E>, properties?: ReadonlyArray<keyof E & string>): string {
  const { metadata, nameOf } = metadataOf(manager, entity);
  return (properties ?? metadata.columns.map((c) => c.propertyName)).map((p) => `${nameOf(p)} AS "${p}"`).join(', ');
}

/** A raw row (database column names, as `RETURNING *` answers) as its entity. */
export function entityOf<E extends ObjectLiteral>(manager: EntityManager, entity: EntityTarget<E>, raw: Record<string, unknown>): E {
  const result: Record<string, unknown> = {};
  for (const column of manager.connection.getMetadata(entity).columns) result[column.propertyName] = raw[column.databaseName];
  return result as E;
}
