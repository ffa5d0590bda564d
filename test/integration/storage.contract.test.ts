import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDataSource, runMigrations } from '../../src/adapters/db/data-source.js';
import { createUnitOfWork } from '../../src/adapters/db/unit-of-work.js';
import { createTimerQueue } from '../../src/adapters/db/workflow-timer.store.js';
import {
  buildEvent,
  EVENT_TYPES,
  materializeMedicationRequest,
  type MedicationDispenseRecord,
  type MedicationRequestRecord,
  type TaskRecord,
  type TransitionRecord,
} from '../../src/domain/index.js';
import type { TimerQueue, TransactionScope, UnitOfWork } from '../../src/ports/index.js';
import { createMemoryUnitOfWork } from '../support/fakes/index.js';
import { prescription, workflowTask } from '../support/fixtures.js';
import { createTestDatabase } from '../support/test-app.js';

/**
 * One contract, every adapter of the storage ports (issue #14, item 4): what the use-cases rely on
 * from the stores of a tenant's transaction and from the unit of work itself, run against the
 * PostgreSQL adapters (the embedded database, or the server of TEST_DATABASE_URL) and against the
 * in-memory fakes the unit tests use, so a fake that drifts from the real thing fails here.
 */
interface Storage {
  uow: UnitOfWork;
  timerQueue: TimerQueue;
  /** Event ids in the outbox, oldest first (the relay's order). */
  outboxIds(): Promise<string[]>;
  close(): Promise<void>;
}

const TENANT = 'tenant-a';
const OTHER = 'tenant-b';

const adapters: Array<[string, () => Promise<Storage>]> = [
  [
    `PostgreSQL (${inject('databaseKind')})`,
    async () => {
      const database = await createTestDatabase();
      const dataSource = createDataSource({ url: database.url, poolSize: 6 });
      await dataSource.initialize();
      await runMigrations(dataSource);
      await dataSource.query(`INSERT INTO tenants (id, name) VALUES ($1, 'A'), ($2, 'B')`, [TENANT, OTHER]);
      return {
        uow: createUnitOfWork(dataSource),
        timerQueue: createTimerQueue(dataSource),
        outboxIds: async () => ((await dataSource.query('SELECT event_id FROM outbox ORDER BY seq')) as Array<{ event_id: string }>).map((r) => r.event_id),
        async close() {
          await dataSource.destroy();
          await database.drop();
        },
      };
    },
  ],
  [
    'in-memory fakes',
    async () => {
      const uow = createMemoryUnitOfWork({ clock: { now: () => new Date() } });
      return {
        uow,
        timerQueue: uow.timerQueue,
        outboxIds: async () => [...uow.tables.outbox.committed.values()].sort((a, b) => a.seq - b.seq).map((r) => r.eventId),
        close: async () => undefined,
      };
    },
  ],
];

/** A deferred: something a test resolves by hand to hold a transaction open. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

// Whole milliseconds: what both a JS Date and the stored timestamptz hold exactly.
const at = (offsetMs = 0) => new Date(Math.floor(Date.now() / 1000) * 1000 + offsetMs);

function prescriptionRecord(overrides: Partial<MedicationRequestRecord> & { patient?: string; repeats?: number } = {}): MedicationRequestRecord {
  const id = overrides.id ?? randomUUID();
  const lastUpdated = overrides.lastUpdated ?? at();
  const workflowStatus = overrides.workflowStatus ?? 'requested';
  const versionId = overrides.versionId ?? 1;
  const source = prescription({ patient: overrides.patient, repeats: overrides.repeats });
  return {
    id,
    tenantId: TENANT,
    versionId,
    lastUpdated,
    workflowStatus,
    workflowVersion: 2,
    resource: materializeMedicationRequest(source, { id, versionId, lastUpdated, workflowStatus }),
  };
}

function dispenseRecord(prescriptionId: string, overrides: { whenHandedOver?: string; status?: 'in-progress' | 'completed' } = {}): MedicationDispenseRecord {
  const id = randomUUID();
  return {
    id,
    tenantId: TENANT,
    versionId: 1,
    lastUpdated: at(),
    prescriptionId,
    resource: {
      resourceType: 'MedicationDispense',
      id,
      meta: { versionId: '1' },
      status: overrides.status ?? 'completed',
      subject: { reference: 'Patient/p-1' },
      performer: [{ actor: { reference: 'Organization/FM664' } }],
      authorizingPrescription: [{ reference: `MedicationRequest/${prescriptionId}` }],
      ...(overrides.whenHandedOver ? { whenHandedOver: overrides.whenHandedOver } : {}),
    },
  };
}

const transition = (event: TransitionRecord['event'], from: TransitionRecord['from'], to: TransitionRecord['to']): TransitionRecord => ({
  event,
  from,
  to,
  actor: 'u-1',
  persona: 'ehr-backend',
  reason: null,
  at: at(),
  correlationId: 'c-1',
});

describe.each(adapters)('storage contract: %s', (_name, open) => {
  let storage: Storage;
  const tx = <T>(work: (scope: TransactionScope) => Promise<T>, tenantId = TENANT) => storage.uow.transaction(tenantId, work);
  const read = <T>(work: (scope: TransactionScope) => Promise<T>, tenantId = TENANT) => storage.uow.read(tenantId, work);

  beforeAll(async () => {
    storage = await open();
  });
  afterAll(async () => storage?.close());

  describe('unit of work', () => {
    it('commits everything written when the work resolves, nothing when it throws', async () => {
      const kept = prescriptionRecord();
      const dropped = prescriptionRecord();
      await tx((s) => s.medicationRequests.insert(kept));
      await expect(
        tx(async (s) => {
          await s.medicationRequests.insert(dropped);
          await s.history.append({ record: dropped, transition: null });
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(await read((s) => s.medicationRequests.findById(kept.id))).toEqual(kept);
      expect(await read((s) => s.medicationRequests.findById(dropped.id))).toBeUndefined();
      expect(await read((s) => s.history.list(dropped.id))).toEqual([]);
    });

    it('a transaction sees its own writes before commit; others see them only after', async () => {
      const record = prescriptionRecord();
      const written = gate();
      const release = gate();
      const writer = tx(async (s) => {
        await s.medicationRequests.insert(record);
        expect(await s.medicationRequests.findById(record.id)).toEqual(record);
        written.open();
        await release.opened;
      });
      await written.opened;
      expect(await read((s) => s.medicationRequests.findById(record.id))).toBeUndefined();
      release.open();
      await writer;
      expect(await read((s) => s.medicationRequests.findById(record.id))).toEqual(record);
    });

    it('a read-only transaction refuses to write', async () => {
      await expect(read((s) => s.medicationRequests.insert(prescriptionRecord()))).rejects.toThrow();
    });

    it('a lock is held until the transaction ends: a second taker waits for it', async () => {
      const name = `lock-${randomUUID()}`;
      const held = gate();
      const release = gate();
      const order: string[] = [];
      const first = tx(async (s) => {
        await s.locks.lock(name);
        held.open();
        await release.opened;
        order.push('first ends');
      });
      await held.opened;
      const second = tx(async (s) => {
        await s.locks.lock(name);
        order.push('second holds');
      });
      // Give the second every chance to (wrongly) take the lock before the first lets go.
      await read((s) => s.medicationRequests.findById(randomUUID()));
      release.open();
      await Promise.all([first, second]);
      expect(order).toEqual(['first ends', 'second holds']);
    });
  });

  describe('medication requests', () => {
    it("are found by id and ids within their tenant only; another tenant's look-up finds nothing", async () => {
      const a = prescriptionRecord();
      const b = prescriptionRecord();
      await tx(async (s) => {
        await s.medicationRequests.insert(a);
        await s.medicationRequests.insert(b);
      });
      expect(await read((s) => s.medicationRequests.findByIds([a.id, randomUUID(), b.id]))).toEqual(expect.arrayContaining([a, b]));
      expect(await read((s) => s.medicationRequests.findByIds([a.id, randomUUID(), b.id]))).toHaveLength(2);
      expect(await read((s) => s.medicationRequests.findById(a.id), OTHER)).toBeUndefined();
      expect(await read((s) => s.medicationRequests.findByIds([a.id]), OTHER)).toEqual([]);
      expect(await read((s) => s.medicationRequests.findByIds([]))).toEqual([]);
    });

    it('updateIfVersion writes only over the expected version', async () => {
      const v1 = prescriptionRecord();
      await tx((s) => s.medicationRequests.insert(v1));
      const v2 = { ...v1, versionId: 2, workflowStatus: 'approved' as const, lastUpdated: at(1000) };
      expect(await tx((s) => s.medicationRequests.updateIfVersion(v2, 1))).toBe(true);
      expect(await tx((s) => s.medicationRequests.updateIfVersion({ ...v2, versionId: 3, workflowStatus: 'cancelled' }, 1))).toBe(false);
      expect(await read((s) => s.medicationRequests.findById(v1.id))).toEqual(v2);
      expect(await tx((s) => s.medicationRequests.updateIfVersion({ ...v2, versionId: 3 }, 2), OTHER)).toBe(false);
    });

    it('a concurrent conditional update waits for the first writer, then finds its version gone', async () => {
      const v1 = prescriptionRecord();
      await tx((s) => s.medicationRequests.insert(v1));
      const updated = gate();
      const release = gate();
      const first = tx(async (s) => {
        const won = await s.medicationRequests.updateIfVersion({ ...v1, versionId: 2, workflowStatus: 'approved' }, 1);
        updated.open();
        await release.opened;
        return won;
      });
      await updated.opened;
      const second = tx((s) => s.medicationRequests.updateIfVersion({ ...v1, versionId: 2, workflowStatus: 'cancelled' }, 1));
      await read((s) => s.medicationRequests.findById(v1.id));
      release.open();
      expect([await first, await second]).toEqual([true, false]);
      expect((await read((s) => s.medicationRequests.findById(v1.id)))!.workflowStatus).toBe('approved');
    });

    it('search filters, orders by insertion and pages by keyset, with a total', async () => {
      const patient = `p-${randomUUID()}`;
      const records = [prescriptionRecord({ patient }), prescriptionRecord({ patient, workflowStatus: 'approved' }), prescriptionRecord({ patient })];
      await tx(async (s) => {
        for (const r of records) await s.medicationRequests.insert(r);
      });
      await tx((s) => s.medicationRequests.insert({ ...prescriptionRecord({ patient }), tenantId: OTHER }), OTHER);
      const first = await read((s) => s.medicationRequests.search({ patientId: patient, sort: 'seq', descending: false, limit: 2, withTotal: true }));
      expect(first.items.map((i) => i.record.id)).toEqual([records[0].id, records[1].id]);
      expect(first).toMatchObject({ hasMore: true, total: 3 });
      const second = await read((s) =>
        s.medicationRequests.search({ patientId: patient, sort: 'seq', descending: false, after: first.items[1].position, limit: 2, withTotal: false }),
      );
      expect(second.items.map((i) => i.record.id)).toEqual([records[2].id]);
      expect(second.hasMore).toBe(false);
      expect(second.total).toBeUndefined();
      const approved = await read((s) =>
        s.medicationRequests.search({ patientId: patient, workflowStatuses: ['approved'], sort: 'seq', descending: true, limit: 10, withTotal: true }),
      );
      expect(approved.items.map((i) => i.record.id)).toEqual([records[1].id]);
      const newestFirst = await read((s) => s.medicationRequests.search({ patientId: patient, sort: 'seq', descending: true, limit: 10, withTotal: false }));
      expect(newestFirst.items.map((i) => i.record.id)).toEqual([records[2].id, records[1].id, records[0].id]);
    });

    it('are read with their fill summaries in one go: by ids, and by search with its total, also past the last page', async () => {
      const patient = `p-${randomUUID()}`;
      const [filled, empty] = [prescriptionRecord({ patient }), prescriptionRecord({ patient })];
      await tx(async (s) => {
        await s.medicationRequests.insert(filled);
        await s.medicationRequests.insert(empty);
        await s.dispenses.insert(dispenseRecord(filled.id, { whenHandedOver: '2026-11-01T10:00:00Z' }));
        await s.dispenses.insert(dispenseRecord(filled.id, { whenHandedOver: '2026-11-20T10:00:00Z' }));
      });
      const twoFills = { count: 2, lastHandedOver: new Date('2026-11-20T10:00:00Z') };
      const noFills = { count: 0, lastHandedOver: null };

      const byIds = await read((s) => s.medicationRequests.findByIdsWithFills([filled.id, randomUUID(), empty.id]));
      expect(byIds.records).toEqual(expect.arrayContaining([filled, empty]));
      expect(byIds.records).toHaveLength(2);
      expect(Object.fromEntries(byIds.fills)).toEqual({ [filled.id]: twoFills, [empty.id]: noFills });
      expect(await read((s) => s.medicationRequests.findByIdsWithFills([filled.id]), OTHER)).toEqual({ records: [], fills: new Map() });

      const query = { patientId: patient, sort: 'authoredOn', descending: true, limit: 1, withTotal: true, withFills: true } as const;
      const first = await read((s) => s.medicationRequests.search(query));
      expect(first).toMatchObject({ hasMore: true, total: 2 });
      expect(first.fills!.get(first.items[0].record.id)).toEqual(first.items[0].record.id === filled.id ? twoFills : noFills);
      const second = await read((s) => s.medicationRequests.search({ ...query, after: first.items[0].position }));
      expect(second).toMatchObject({ hasMore: false, total: 2 });
      expect(new Set([first.items[0].record.id, second.items[0].record.id])).toEqual(new Set([filled.id, empty.id]));
      // Past the last page the page is empty; the total still counts every match.
      const past = await read((s) => s.medicationRequests.search({ ...query, after: second.items[0].position }));
      expect(past).toMatchObject({ items: [], hasMore: false, total: 2 });
      expect(await read((s) => s.medicationRequests.search({ ...query, patientId: `p-${randomUUID()}` }))).toMatchObject({ items: [], total: 0 });
    });
  });

  describe('medication request history', () => {
    it('keeps every version, newest first, with the transitions in order', async () => {
      const v1 = prescriptionRecord();
      const v2 = { ...v1, versionId: 2, workflowStatus: 'approved' as const, lastUpdated: at(1000) };
      const approval = transition('approve', 'requested', 'approved');
      await tx(async (s) => {
        await s.history.append({ record: v1, transition: transition('request', null, 'requested') });
        await s.history.append({ record: v2, transition: approval });
        await s.history.append({ record: { ...v2, versionId: 3, lastUpdated: at(2000) }, transition: null });
      });
      expect((await read((s) => s.history.list(v1.id))).map((r) => r.versionId)).toEqual([3, 2, 1]);
      expect(await read((s) => s.history.version(v1.id, 2))).toEqual(v2);
      expect(await read((s) => s.history.version(v1.id, 9))).toBeUndefined();
      const transitions = await read((s) => s.history.transitionsOf([v1.id, randomUUID()]));
      expect(transitions.get(v1.id)!.map((t) => t.event)).toEqual(['request', 'approve']);
      expect(transitions.get(v1.id)![1]).toEqual(approval);
      expect([...transitions.values()][1]).toEqual([]);
      expect(await read((s) => s.history.list(v1.id), OTHER)).toEqual([]);
    });

    it('lists every version of the tenant newest first, paged by keyset', async () => {
      const since = at(3_600_000);
      const record = prescriptionRecord({ lastUpdated: since });
      await tx(async (s) => {
        for (const v of [1, 2, 3])
          await s.history.append({ record: { ...record, versionId: v, lastUpdated: new Date(since.getTime() + v * 1000) }, transition: null });
      });
      const first = await read((s) => s.history.listAll({ since, limit: 2, withTotal: true }));
      expect(first.items.map((i) => i.record.versionId)).toEqual([3, 2]);
      expect(first).toMatchObject({ hasMore: true, total: 3 });
      const rest = await read((s) => s.history.listAll({ since, before: first.items[1].position, limit: 2, withTotal: false }));
      expect(rest.items.map((i) => i.record.versionId)).toEqual([1]);
      expect(rest.hasMore).toBe(false);
    });
  });

  describe('medication dispenses', () => {
    it('keep their versions and their prescription; a stale update writes nothing', async () => {
      const prescriptionId = randomUUID();
      const v1 = dispenseRecord(prescriptionId, { status: 'in-progress' });
      await tx((s) => s.dispenses.insert(v1));
      const v2: MedicationDispenseRecord = {
        ...v1,
        versionId: 2,
        lastUpdated: at(1000),
        resource: { ...v1.resource, status: 'completed', meta: { versionId: '2' } },
      };
      expect(await tx((s) => s.dispenses.updateIfVersion(v2, 1))).toBe(true);
      expect(await tx((s) => s.dispenses.updateIfVersion({ ...v2, versionId: 3 }, 1))).toBe(false);
      expect(await read((s) => s.dispenses.findById(v1.id))).toEqual(v2);
      expect(await read((s) => s.dispenses.version(v1.id, 1))).toEqual(v1);
      expect((await read((s) => s.dispenses.history(v1.id))).map((d) => [d.versionId, d.prescriptionId])).toEqual([
        [2, prescriptionId],
        [1, prescriptionId],
      ]);
      expect(await read((s) => s.dispenses.findById(v1.id), OTHER)).toBeUndefined();
      expect(await read((s) => s.dispenses.history(v1.id), OTHER)).toEqual([]);
    });

    it('count the fills of a prescription and its last hand-over', async () => {
      const prescriptionId = randomUUID();
      expect(await read((s) => s.dispenses.fillSummary(prescriptionId))).toEqual({ count: 0, lastHandedOver: null });
      await tx(async (s) => {
        await s.dispenses.insert(dispenseRecord(prescriptionId, { whenHandedOver: '2026-11-01T10:00:00Z' }));
        await s.dispenses.insert(dispenseRecord(prescriptionId, { whenHandedOver: '2026-11-20T10:00:00Z' }));
        await s.dispenses.insert(dispenseRecord(prescriptionId, { status: 'in-progress' }));
      });
      expect(await read((s) => s.dispenses.fillSummary(prescriptionId))).toEqual({ count: 3, lastHandedOver: new Date('2026-11-20T10:00:00Z') });
      expect(await read((s) => s.dispenses.fillSummary(prescriptionId), OTHER)).toEqual({ count: 0, lastHandedOver: null });
    });

    it('search by prescription and status, in insertion order, paged by sequence', async () => {
      const prescriptionId = randomUUID();
      const dispenses = [dispenseRecord(prescriptionId), dispenseRecord(prescriptionId, { status: 'in-progress' }), dispenseRecord(prescriptionId)];
      await tx(async (s) => {
        for (const d of dispenses) await s.dispenses.insert(d);
      });
      const first = await read((s) => s.dispenses.search({ prescriptionIds: [prescriptionId], limit: 2, withTotal: true }));
      expect(first.items.map((i) => i.record.id)).toEqual([dispenses[0].id, dispenses[1].id]);
      expect(first).toMatchObject({ hasMore: true, total: 3 });
      const rest = await read((s) => s.dispenses.search({ prescriptionIds: [prescriptionId], afterSeq: first.items[1].seq, limit: 2, withTotal: false }));
      expect(rest.items.map((i) => i.record.id)).toEqual([dispenses[2].id]);
      const completed = await read((s) => s.dispenses.search({ prescriptionIds: [prescriptionId], statuses: ['completed'], limit: 10, withTotal: false }));
      expect(completed.items.map((i) => i.record.id)).toEqual([dispenses[0].id, dispenses[2].id]);
    });
  });

  describe('tasks', () => {
    it('are found by id and searched by focus, code and status within their tenant', async () => {
      const focusId = randomUUID();
      const task = (code: string, status: string): TaskRecord => {
        const id = randomUUID();
        return { id, tenantId: TENANT, versionId: 1, lastUpdated: at(), focusId, resource: { ...workflowTask(focusId, code, status), id } };
      };
      const tasks = [task('approve', 'completed'), task('fulfill', 'in-progress'), task('fulfill', 'completed')];
      await tx(async (s) => {
        for (const t of tasks) await s.tasks.insert(t);
      });
      expect(await read((s) => s.tasks.findById(tasks[0].id))).toEqual(tasks[0]);
      expect(await read((s) => s.tasks.findById(tasks[0].id), OTHER)).toBeUndefined();
      const fulfil = await read((s) => s.tasks.search({ focusIds: [focusId], codes: ['fulfill'], limit: 10, withTotal: true }));
      expect(fulfil.items.map((i) => i.record.id)).toEqual([tasks[1].id, tasks[2].id]);
      expect(fulfil.total).toBe(2);
      const done = await read((s) => s.tasks.search({ focusIds: [focusId], statuses: ['completed'], limit: 1, withTotal: false }));
      expect(done).toMatchObject({ hasMore: true });
      expect(done.items.map((i) => i.record.id)).toEqual([tasks[0].id]);
    });
  });

  describe('subscriptions', () => {
    it('setStatus makes a new version; setCursor only moves forward', async () => {
      const id = randomUUID();
      const created = at();
      const record = {
        id,
        tenantId: TENANT,
        versionId: 1,
        lastUpdated: created,
        status: 'requested' as const,
        criteria: 'MedicationRequest?patient=Patient/p-1',
        error: null,
        cursor: null,
        resource: {
          resourceType: 'Subscription' as const,
          id,
          meta: { versionId: '1', lastUpdated: created.toISOString() },
          status: 'requested' as const,
          reason: 'test',
          criteria: 'MedicationRequest?patient=Patient/p-1',
          channel: { type: 'websocket' as const },
        },
      };
      await tx((s) => s.subscriptions.insert(record));
      expect(await read((s) => s.subscriptions.findById(id))).toEqual(record);
      const later = at(5000);
      const errored = await tx((s) => s.subscriptions.setStatus(id, 'error', 'gone', later));
      expect(errored).toMatchObject({ versionId: 2, status: 'error', error: 'gone', lastUpdated: later });
      expect(errored!.resource.meta).toMatchObject({ versionId: '2' });
      expect(new Date(errored!.resource.meta!.lastUpdated!).getTime()).toBe(later.getTime());
      expect(await tx((s) => s.subscriptions.setStatus(randomUUID(), 'off', null, later))).toBeUndefined();
      await tx((s) => s.subscriptions.setCursor(id, '10'));
      await tx((s) => s.subscriptions.setCursor(id, '9'));
      expect((await read((s) => s.subscriptions.findById(id)))!.cursor).toBe('10');
      expect(await read((s) => s.subscriptions.findById(id), OTHER)).toBeUndefined();
    });
  });

  describe('idempotency keys', () => {
    const record = (key: string, requestHash = 'h1') => ({
      key,
      operation: 'MedicationRequest.create',
      requestHash,
      resourceType: 'MedicationRequest',
      resourceId: randomUUID(),
      versionId: 1,
      statusCode: 201,
    });

    // A claim answers the key's record too (one round trip); a claim in its own transaction is a look-up.
    const priorOf = (key: string, tenantId = TENANT) => tx((s) => s.idempotency.claim(key), tenantId);

    it('are saved with the transaction, found by a claim until they expire, and replaced by a later save', async () => {
      const key = `k-${randomUUID()}`;
      expect(await priorOf(key)).toEqual({ claimed: true, prior: undefined });
      const first = record(key);
      await tx((s) => s.idempotency.save(first, 60));
      expect(await priorOf(key)).toEqual({ claimed: true, prior: first });
      expect(await priorOf(key, OTHER)).toEqual({ claimed: true, prior: undefined });
      const second = record(key, 'h2');
      await tx((s) => s.idempotency.save(second, 60));
      expect(await priorOf(key)).toEqual({ claimed: true, prior: second });
      await tx((s) => s.idempotency.save(record(key), -1));
      expect(await priorOf(key)).toEqual({ claimed: true, prior: undefined });
    });

    it('a claim is held to the end of its transaction: a second claimer is told no, not made to wait', async () => {
      const key = `k-${randomUUID()}`;
      const claimed = gate();
      const release = gate();
      const holder = tx(async (s) => {
        expect(await s.idempotency.claim(key)).toEqual({ claimed: true, prior: undefined });
        expect(await s.idempotency.claim(key)).toEqual({ claimed: true, prior: undefined });
        claimed.open();
        await release.opened;
      });
      await claimed.opened;
      expect(await tx((s) => s.idempotency.claim(key))).toEqual({ claimed: false });
      // Keys are per tenant: the same key elsewhere is free.
      expect(await priorOf(key, OTHER)).toEqual({ claimed: true, prior: undefined });
      release.open();
      await holder;
      expect(await priorOf(key)).toEqual({ claimed: true, prior: undefined });
    });

    it('the claim after the holder committed answers the record the holder saved', async () => {
      const key = `k-${randomUUID()}`;
      const saved = gate();
      const release = gate();
      const first = record(key);
      const holder = tx(async (s) => {
        expect((await s.idempotency.claim(key)).claimed).toBe(true);
        await s.idempotency.save(first, 60);
        saved.open();
        await release.opened;
      });
      await saved.opened;
      // Saved but not committed: the key is still held, and its record is nobody else's yet.
      expect(await tx((s) => s.idempotency.claim(key))).toEqual({ claimed: false });
      release.open();
      await holder;
      expect(await priorOf(key)).toEqual({ claimed: true, prior: first });
    });
  });

  describe('outbox', () => {
    it('holds the events of committed transactions in order, and none of rolled-back ones', async () => {
      const ctx = { tenantId: TENANT, actor: { sub: 'u', persona: 'ehr-backend' as const }, correlationId: 'c' };
      const event = () =>
        buildEvent(
          ctx,
          EVENT_TYPES.medicationRequestUpdated,
          { resource: { resourceType: 'MedicationRequest' }, medicationRequestId: randomUUID() },
          { eventId: randomUUID(), timestamp: new Date() },
        );
      const [a, b, dropped, c] = [event(), event(), event(), event()];
      await tx((s) => s.outbox.append([a, b]));
      await expect(
        tx(async (s) => {
          await s.outbox.append([dropped]);
          throw new Error('rolled back');
        }),
      ).rejects.toThrow();
      await tx((s) => s.outbox.append([]));
      await tx((s) => s.outbox.append([c]));
      const ids = await storage.outboxIds();
      expect(ids.filter((id) => [a, b, dropped, c].some((e) => e.metadata.eventId === id))).toEqual([
        a.metadata.eventId,
        b.metadata.eventId,
        c.metadata.eventId,
      ]);
    });
  });

  describe('workflow timers', () => {
    const timer = (instanceId: string, name: string, dueAt: Date) => ({ id: randomUUID(), workflow: 'prescription', instanceId, name, dueAt });

    it('are armed, listed pending per instance by due time, dropped by name and settled once', async () => {
      const instanceId = randomUUID();
      const expiry = timer(instanceId, 'expiry', at(60_000));
      const sla = timer(instanceId, 'processingServiceLevel', at(30_000));
      await tx((s) => s.timers.arm([expiry, sla]));
      const pending = await read((s) => s.timers.pendingOf([instanceId, randomUUID()]));
      expect(pending.get(instanceId)!.map((t) => t.name)).toEqual(['processingServiceLevel', 'expiry']);
      expect(pending.get(instanceId)![0]).toMatchObject({ ...sla, tenantId: TENANT });
      expect(pending.get(instanceId)![0].armedAt).toBeInstanceOf(Date);
      expect((await read((s) => s.timers.pendingOf([instanceId]), OTHER)).size).toBe(0);
      await tx((s) => s.timers.drop(instanceId, ['processingServiceLevel'], at()));
      expect((await read((s) => s.timers.pendingOf([instanceId]))).get(instanceId)!.map((t) => t.name)).toEqual(['expiry']);
      expect(await tx((s) => s.timers.claim(sla.id))).toBeUndefined();
      const claimed = await tx(async (s) => {
        const got = await s.timers.claim(expiry.id);
        if (got) await s.timers.settle(got.id, 'fired', at());
        return got;
      });
      expect(claimed).toMatchObject({ id: expiry.id, name: 'expiry' });
      expect(await tx((s) => s.timers.claim(expiry.id))).toBeUndefined();
      expect((await read((s) => s.timers.pendingOf([instanceId]))).size).toBe(0);
    });

    it('a timer claimed by one transaction is skipped by another; the queue sees due timers of every tenant', async () => {
      const mine = timer(randomUUID(), 'expiry', at(-60_000));
      const theirs = timer(randomUUID(), 'expiry', at(-30_000));
      const before = await storage.timerQueue.pendingCount();
      await tx((s) => s.timers.arm([mine]));
      await tx((s) => s.timers.arm([theirs]), OTHER);
      expect(await storage.timerQueue.pendingCount()).toBe(before + 2);
      const due = (await storage.timerQueue.due(new Date(), 1000)).filter((d) => d.id === mine.id || d.id === theirs.id);
      expect(due).toEqual([
        { id: mine.id, tenantId: TENANT, dueAt: mine.dueAt },
        { id: theirs.id, tenantId: OTHER, dueAt: theirs.dueAt },
      ]);
      expect((await storage.timerQueue.nextDueAt())!.getTime()).toBeLessThanOrEqual(mine.dueAt.getTime());
      expect(await tx((s) => s.timers.claim(theirs.id))).toBeUndefined();

      const held = gate();
      const release = gate();
      const holder = tx(async (s) => {
        await s.timers.claim(mine.id);
        held.open();
        await release.opened;
        await s.timers.settle(mine.id, 'fired', at());
      });
      await held.opened;
      expect(await tx((s) => s.timers.claim(mine.id))).toBeUndefined();
      release.open();
      await holder;
      expect(await storage.timerQueue.pendingCount()).toBe(before + 1);
    });
  });

  describe('bus command ledger', () => {
    it('keeps the first outcome per command id; a second record fails its transaction', async () => {
      const commandId = `cmd-${randomUUID()}`;
      const accepted = {
        commandId,
        command: 'createMedicationRequest',
        outcome: 'accepted' as const,
        reference: `MedicationRequest/${randomUUID()}`,
        version: 1,
      };
      expect(await read((s) => s.commands.find(commandId))).toBeUndefined();
      await tx(async (s) => {
        await s.commands.claim(commandId);
        await s.commands.record(accepted);
      });
      expect(await read((s) => s.commands.find(commandId))).toEqual(accepted);
      expect(await read((s) => s.commands.find(commandId), OTHER)).toBeUndefined();
      await expect(
        tx((s) => s.commands.record({ commandId, command: 'x', outcome: 'rejected', code: 'BAD_REQUEST', message: 'm', issues: [] })),
      ).rejects.toThrow();
      expect(await read((s) => s.commands.find(commandId))).toEqual(accepted);
      const rejected = {
        commandId: `cmd-${randomUUID()}`,
        command: 'x',
        outcome: 'rejected' as const,
        code: 'PROFILE_VALIDATION_FAILURE',
        message: 'invalid',
        issues: [{ expression: 'MedicationRequest.subject', diagnostics: 'required' }],
      };
      await tx((s) => s.commands.record(rejected));
      expect(await read((s) => s.commands.find(rejected.commandId))).toEqual(rejected);
    });
  });

  describe('audit store', () => {
    it("records entries with the write and searches a tenant's newest first", async () => {
      const entityId = randomUUID();
      const entry = (offsetMs: number, actor: string) => ({
        tenantId: TENANT,
        recorded: at(offsetMs),
        actor,
        persona: 'ehr-backend',
        action: 'U' as const,
        interaction: 'update' as const,
        entity: { type: 'MedicationRequest' as const, id: entityId },
        outcome: 'success' as const,
        correlationId: 'c',
      });
      const [first, second] = [entry(0, 'first'), entry(1000, 'second')];
      await tx((s) => s.audit.record([first, second]));
      await expect(
        tx(async (s) => {
          await s.audit.record([entry(2000, 'rolled-back')]);
          throw new Error('no');
        }),
      ).rejects.toThrow();
      const found = await read((s) => s.audit.search({ entity: { type: 'MedicationRequest', id: entityId }, limit: 10 }));
      expect(found.map((r) => r.actor)).toEqual(['second', 'first']);
      expect(found[0]).toMatchObject({ ...second, id: expect.any(String) });
      const older = await read((s) => s.audit.search({ entity: { id: entityId }, before: { recorded: found[0].recorded, id: found[0].id }, limit: 10 }));
      expect(older.map((r) => r.actor)).toEqual(['first']);
      expect(await read((s) => s.audit.search({ entity: { id: entityId }, limit: 10 }), OTHER)).toEqual([]);
    });
  });
});
