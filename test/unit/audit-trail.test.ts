import type { DataSource } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { createAuditTrail } from '../../src/adapters/db/audit.store.js';
import type { AuditEntry } from '../../src/domain/index.js';

const entry = (n: number): AuditEntry => ({
  tenantId: 'tenant-a',
  recorded: new Date(0),
  actor: `user-${n}`,
  persona: 'ehr-backend',
  action: 'R',
  interaction: 'read',
  outcome: 'success',
  correlationId: `c-${n}`,
});

/** A database whose next `failures` inserts fail; it keeps the actors of what it accepted. */
function flakyDatabase(failures: number) {
  const written: string[] = [];
  let attempts = 0;
  const dataSource = {
    async query(_sql: string, values: unknown[]) {
      attempts++;
      if (failures-- > 0) throw new Error('database unavailable');
      // Each row binds 12 values; the actor is the third.
      for (let i = 2; i < values.length; i += 12) written.push(values[i] as string);
      return [];
    },
  } as unknown as DataSource;
  return { dataSource, written, attempts: () => attempts };
}

describe('audit trail batches', () => {
  it('keeps a batch the database refused and writes it, once and in order, with the next', async () => {
    const db = flakyDatabase(1);
    const errors: unknown[] = [];
    const trail = createAuditTrail(db.dataSource, { flushMs: 5, onError: (error) => errors.push(error) });
    trail.recordLater([entry(1), entry(2)]);
    await trail.flush(); // refused
    expect(db.written).toEqual([]);
    trail.recordLater([entry(3)]);
    await trail.close();
    expect(db.written).toEqual(['user-1', 'user-2', 'user-3']);
    expect(errors).toHaveLength(1);
  });

  it('while the database stays down, keeps at most maxQueued entries, dropping the oldest and saying how many', async () => {
    const db = flakyDatabase(Infinity);
    const dropped: number[] = [];
    const trail = createAuditTrail(db.dataSource, { flushMs: 60_000, maxQueued: 3, onError: (_error, n) => dropped.push(n) });
    trail.recordLater([entry(1), entry(2)]);
    await trail.flush();
    trail.recordLater([entry(3), entry(4)]);
    await trail.flush();
    expect(dropped).toEqual([0, 1]);
  });

  it('writes at once when a batch is full, without waiting for the timer', async () => {
    const db = flakyDatabase(0);
    const trail = createAuditTrail(db.dataSource, { flushMs: 60_000, batchSize: 2 });
    trail.recordLater([entry(1), entry(2)]);
    await expect.poll(() => db.written).toEqual(['user-1', 'user-2']);
    await trail.close();
    expect(db.attempts()).toBe(1);
  });
});
