import pg from 'pg';

// pg's own text form of a parameter (dates, arrays, JSON, buffers), exactly as the extended protocol would send it.
const { prepareValue } = (pg as unknown as { utils: { prepareValue(value: unknown): string | Buffer | null } }).utils;

const PLACEHOLDER = /\$(\d+)/g;

const NEEDS_ESCAPING = /['\\]/;

/**
 * pg's `escapeLiteral`, which copies a value character by character: with nothing to escape (ids,
 * arrays of uuids, dates) its result is the value in quotes, built here at once. A page's two uuid
 * arrays of 50 made it 5 % of a GraphQL page's CPU.
 */
const quoted = (value: string): string => (!NEEDS_ESCAPING.test(value) ? `'${value}'` : pg.escapeLiteral(value));

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
    return Buffer.isBuffer(value) ? `'\\x${value.toString('hex')}'` : quoted(value);
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

/** A write whose result nobody reads: sent now, or held back by a transaction to travel with its next statement. */
export type DeferredWrite = (sql: string, parameters: readonly unknown[]) => Promise<void>;

/** The {@link DeferredWrite} of a store used outside a unit of work: the statement is sent at once. */
export const sendNow =
  (manager: { query(sql: string, parameters?: unknown[]): Promise<unknown> }): DeferredWrite =>
  async (sql, parameters) => {
    await manager.query(sql, [...parameters]);
  };

const INSERT_TABLE = /^\s*INSERT\s+INTO\s+"?(\w+)"?/i;

/**
 * One tenant transaction on `client` in as few round trips as it can: `BEGIN` and entering the tenant
 * travel with the first statement, and writes handed to {@link TransactionPipe.defer} wait for the next
 * statement or the COMMIT and go with it as one statement (data-modifying CTEs). A create went from
 * ten round trips to four. Every statement that carries something else is sent as one simple-protocol
 * string with its values inlined ({@link inlineParameters}); results are those of the statement asked.
 * A deferred write that fails fails the statement it travels with, so the transaction still fails as
 * a whole. Two writes to one table are never put in one statement (sibling CTEs run in no fixed order;
 * the outbox's order is the events' order).
 */
export class TransactionPipe {
  private begun = false;
  private pending: Array<{ sql: string; table: string }> = [];
  private readonly original: QueryFunction;

  private constructor(
    private readonly client: pg.PoolClient,
    private readonly enter: string,
  ) {
    this.original = (client as unknown as { query: QueryFunction }).query;
  }

  /** Patches `client` for the transaction; `end()` (always call it) gives it back untouched. */
  static open(client: pg.PoolClient, enter: string): TransactionPipe {
    const pipe = new TransactionPipe(client, enter);
    (client as unknown as { query: QueryFunction }).query = (text, values) => pipe.query(text, values);
    return pipe;
  }

  end(): void {
    delete (this.client as unknown as Partial<{ query: QueryFunction }>).query;
  }

  /** Holds back a write (inlined now, so later changes of its values do not matter). */
  readonly defer: DeferredWrite = async (sql, parameters) => {
    const table = INSERT_TABLE.exec(sql)?.[1] ?? '';
    if (this.pending.some((p) => p.table === table)) await this.query('SELECT 1');
    this.pending.push({ sql: inlineParameters(sql, parameters), table });
  };

  private async query(text: unknown, values?: unknown[]): Promise<unknown> {
    if (typeof text !== 'string') return this.original.call(this.client, this.carried(text), values);
    const ending = text === 'COMMIT' || text === 'ROLLBACK';
    if (text === 'ROLLBACK') this.pending = [];
    // Nothing was sent and nothing waits: there is no transaction to end.
    if (ending && !this.begun && this.pending.length === 0) return { command: text, rows: [], rowCount: null };
    const before = this.takeBefore();
    if (before.length === 0) return this.original.call(this.client, text, values);
    const results = (await this.original.call(this.client, `${before.join('; ')}; ${inlineParameters(text, values ?? [])}`)) as pg.QueryResult[];
    return results[results.length - 1];
  }

  /** What must go before the next statement: BEGIN and the tenant at first, then the held-back writes. */
  private takeBefore(): string[] {
    const before: string[] = [];
    if (!this.begun) before.push('BEGIN', this.enter);
    this.begun = true;
    if (this.pending.length > 0) before.push(batch(this.pending.splice(0).map((p) => p.sql)));
    return before;
  }

  /**
   * A pg query object (`statement-batch.ts` sends several statements as one) carries what goes before
   * it in its own text; its callback gets only its own statements' results, as if sent alone.
   */
  private carried(query: unknown): unknown {
    const q = query as { text?: unknown; callback?: (error: Error | undefined, results: unknown) => void };
    if (typeof q.text !== 'string' || typeof q.callback !== 'function') return query;
    const before = this.takeBefore();
    if (before.length === 0) return query;
    const callback = q.callback;
    q.text = `${before.join('; ')}; ${q.text}`;
    q.callback = (error, results) => {
      if (error || !Array.isArray(results)) return callback(error, results);
      const own = results.slice(before.length);
      callback(undefined, own.length === 1 ? own[0] : own);
    };
    return query;
  }
}

/** Several writes as one statement: all but the last as data-modifying CTEs (each runs exactly once). */
function batch(statements: string[]): string {
  if (statements.length === 1) return statements[0];
  const last = statements.pop()!;
  return `WITH ${statements.map((sql, i) => `w${i} AS (${sql})`).join(', ')} ${last}`;
}
