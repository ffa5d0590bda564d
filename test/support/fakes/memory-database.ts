/**
 * The transaction machinery behind the in-memory fakes of the storage ports: tables of rows, each
 * transaction writing to its own overlay that becomes visible to others only at commit (and is
 * dropped on rollback), and locks held until the transaction ends. It behaves as rxgate relies on
 * PostgreSQL to behave at READ COMMITTED: a committed change is seen by the next statement of any
 * transaction, a conditional update waits for a concurrent writer of the row and then re-checks,
 * and advisory/row locks come in waiting and skip-if-held flavours.
 */

/** One table: committed rows by key, in insertion order. */
export class MemoryTable<T> {
  readonly committed = new Map<string, T>();
  constructor(readonly name: string) {}
}

interface Held {
  owner: MemoryTransaction;
  waiters: Array<() => void>;
}

/** Named locks, each held by one transaction until it commits or rolls back. */
export class LockManager {
  private readonly held = new Map<string, Held>();

  /** Waits until `name` is free (or already ours), then holds it for `tx`. */
  async acquire(tx: MemoryTransaction, name: string): Promise<void> {
    for (;;) {
      const current = this.held.get(name);
      if (!current) {
        this.held.set(name, { owner: tx, waiters: [] });
        tx.heldLocks.add(name);
        return;
      }
      if (current.owner === tx) return;
      await new Promise<void>((resolve) => current.waiters.push(resolve));
    }
  }

  /** Holds `name` for `tx` if nobody else does; answers whether it does now. */
  tryAcquire(tx: MemoryTransaction, name: string): boolean {
    const current = this.held.get(name);
    if (current) return current.owner === tx;
    this.held.set(name, { owner: tx, waiters: [] });
    tx.heldLocks.add(name);
    return true;
  }

  releaseAll(tx: MemoryTransaction): void {
    for (const name of tx.heldLocks) {
      const current = this.held.get(name);
      if (current?.owner !== tx) continue;
      this.held.delete(name);
      for (const wake of current.waiters) wake();
    }
    tx.heldLocks.clear();
  }
}

/** A transaction's view of the tables: its own writes over what others have committed. */
export class MemoryTransaction {
  readonly heldLocks = new Set<string>();
  private readonly writes = new Map<MemoryTable<unknown>, Map<string, unknown>>();
  private readonly afterCommit: Array<() => void> = [];
  private open = true;

  constructor(
    readonly locks: LockManager,
    readonly readOnly: boolean,
  ) {}

  get<T>(table: MemoryTable<T>, key: string): T | undefined {
    const own = this.writes.get(table as MemoryTable<unknown>);
    if (own?.has(key)) return own.get(key) as T;
    return table.committed.get(key);
  }

  /** Every row visible to this transaction, committed ones in insertion order, then its own new ones. */
  rows<T>(table: MemoryTable<T>): T[] {
    const own = (this.writes.get(table as MemoryTable<unknown>) ?? new Map<string, unknown>()) as Map<string, T>;
    const out: T[] = [];
    for (const [key, row] of table.committed) out.push(own.has(key) ? own.get(key)! : row);
    for (const [key, row] of own) if (!table.committed.has(key)) out.push(row);
    return out;
  }

  put<T>(table: MemoryTable<T>, key: string, row: T): void {
    this.assertWritable(table);
    let own = this.writes.get(table as MemoryTable<unknown>);
    if (!own) this.writes.set(table as MemoryTable<unknown>, (own = new Map()));
    own.set(key, row);
  }

  /** Inserts a new row; like a primary key, a key already present fails the statement. */
  insert<T>(table: MemoryTable<T>, key: string, row: T): void {
    if (this.get(table, key) !== undefined) throw new Error(`duplicate key value violates unique constraint on ${table.name}: ${key}`);
    this.put(table, key, row);
  }

  /** Runs `effect` once the transaction has committed (e.g. numbering rows in commit order). */
  onCommit(effect: () => void): void {
    this.afterCommit.push(effect);
  }

  commit(): void {
    this.ensureOpen();
    for (const [table, rows] of this.writes) for (const [key, row] of rows) table.committed.set(key, row);
    this.end();
    for (const effect of this.afterCommit) effect();
  }

  rollback(): void {
    if (!this.open) return;
    this.end();
  }

  private end(): void {
    this.open = false;
    this.writes.clear();
    this.locks.releaseAll(this);
  }

  private ensureOpen(): void {
    if (!this.open) throw new Error('the transaction has already ended');
  }

  private assertWritable(table: MemoryTable<unknown>): void {
    this.ensureOpen();
    if (this.readOnly) throw new Error(`cannot execute a write to ${table.name} in a read-only transaction`);
  }
}

/** Runs `work` in a new transaction: commit when it resolves, rollback when it throws. */
export async function inMemoryTransaction<T>(locks: LockManager, readOnly: boolean, work: (tx: MemoryTransaction) => Promise<T>): Promise<T> {
  const tx = new MemoryTransaction(locks, readOnly);
  let result: T;
  try {
    result = await work(tx);
  } catch (error) {
    tx.rollback();
    throw error;
  }
  tx.commit();
  return result;
}
