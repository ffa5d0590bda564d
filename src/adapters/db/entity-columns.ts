import type { EntityManager, EntityMetadata, EntityTarget, ObjectLiteral } from 'typeorm';
import type { Params } from './seq-page.js';

/** A row of an entity as columns: database names from the entity's metadata, values in the same order. */
export interface Columns {
  table: string;
  names: string[];
  values: unknown[];
}

const namesByMetadata = new WeakMap<EntityMetadata, Map<string, string>>();

function columnNames(metadata: EntityMetadata): Map<string, string> {
  let names = namesByMetadata.get(metadata);
  if (!names) {
    names = new Map(metadata.columns.map((c) => [c.propertyName, c.databaseName]));
    namesByMetadata.set(metadata, names);
  }
  return names;
}

/**
 * The columns of `row` (an entity-shaped object) for hand-written SQL: names come from the entity,
 * so a statement never lists columns kept in step with its values by hand.
 */
export function columnsOf<E extends ObjectLiteral>(manager: EntityManager, entity: EntityTarget<E>, row: Partial<E>): Columns {
  const metadata = manager.connection.getMetadata(entity);
  const byProperty = columnNames(metadata);
  const names: string[] = [];
  const values: unknown[] = [];
  for (const [property, value] of Object.entries(row)) {
    const name = byProperty.get(property);
    if (!name) throw new Error(`${metadata.name} has no column for ${property}`);
    names.push(name);
    values.push(value);
  }
  return { table: metadata.tableName, names, values };
}

/** `INSERT INTO table (…) VALUES (…)` of one row. */
export function insertStatement(columns: Columns, params: Params): string {
  return `INSERT INTO ${columns.table} (${columns.names.join(', ')}) VALUES (${columns.values.map((v) => params.bind(v)).join(', ')})`;
}

/** `a = $1, b = $2, …` of an UPDATE. */
export function setList(columns: Columns, params: Params): string {
  return columns.names.map((name, i) => `${name} = ${params.bind(columns.values[i])}`).join(', ');
}

/** A raw row (database column names, as `RETURNING *` answers) as its entity. */
export function entityOf<E extends ObjectLiteral>(manager: EntityManager, entity: EntityTarget<E>, raw: Record<string, unknown>): E {
  const result: Record<string, unknown> = {};
  for (const column of manager.connection.getMetadata(entity).columns) result[column.propertyName] = raw[column.databaseName];
  return result as E;
}
