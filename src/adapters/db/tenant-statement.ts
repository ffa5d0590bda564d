import pg from 'pg';

// pg's own text form of a parameter (dates, arrays, JSON, buffers), exactly as the extended protocol would send it.
const { prepareValue } = (pg as unknown as { utils: { prepareValue(value: unknown): string | Buffer | null } }).utils;

const PLACEHOLDER = /\$(\d+)/g;

/**
 * `sql` with each `$n` replaced by its value as a quoted literal (`NULL` for null). A quoted literal
 * is of unknown type, as an untyped parameter is, so the database infers the same types from the
 * statement. Values are escaped by pg's `escapeLiteral` (standard conforming strings). The stores'
 * statements hold no `$n` inside string literals.
 */
export function inlineParameters(sql: string, parameters: readonly unknown[]): string {
  if (parameters.length === 0) return sql;
  return sql.replace(PLACEHOLDER, (_match, n: string) => {
    const index = Number(n) - 1;
    if (index >= parameters.length) throw new Error(`statement has $${n} but only ${parameters.length} parameter(s)`);
    const value = prepareValue(parameters[index]);
    if (value === null || value === undefined) return 'NULL';
    return Buffer.isBuffer(value) ? `'\\x${value.toString('hex')}'` : pg.escapeLiteral(value);
  });
}

type QueryFunction = (text: unknown, values?: unknown[]) => Promise<unknown>;

/**
 * Runs `work` with every statement sent on `client` made its own implicit transaction that enters
 * the tenant first: `<enter>; <statement>` as one simple-protocol query, so a read costs one round
 * trip instead of four (BEGIN, the statement, a second statement, COMMIT). In the benchmark's CPU
 * profile the gateway spent 38 % of a read's CPU in socket writes, one or two per round trip.
 * PostgreSQL runs a multi-statement query as one transaction and `set_config(…, true)` lasts until its
 * end, so row-level security binds each statement as in an explicit transaction, and the pooled
 * connection is back to its own role afterwards. Statements do not share a snapshot, which under READ
 * COMMITTED they did not before either. The client is patched, not TypeORM's runner, so the runner's
 * error handling, result shapes and the pg spans stay as they are; the patch ends with `work`.
 */
export async function withOneRoundTripStatements<T>(client: pg.PoolClient, enter: string, work: () => Promise<T>): Promise<T> {
  const target = client as unknown as { query: QueryFunction };
  const own = Object.getOwnPropertyDescriptor(target, 'query');
  const original = target.query;
  target.query = async (text, values) => {
    if (typeof text !== 'string') return original.call(client, text, values);
    const results = (await original.call(client, `${enter}; ${inlineParameters(text, values ?? [])}`)) as pg.QueryResult[];
    return results[results.length - 1];
  };
  try {
    return await work();
  } finally {
    if (own) Object.defineProperty(target, 'query', own);
    else delete (target as Partial<typeof target>).query;
  }
}
