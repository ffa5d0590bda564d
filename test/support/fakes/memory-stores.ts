import { randomUUID } from 'node:crypto';
import {
  type AuditRecord,
  type EventEnvelope,
  type MedicationDispenseRecord,
  type MedicationRequestRecord,
  performerReferencesOf,
  type PriorAuthorizationRecord,
  type PriorAuthorizationTransition,
  searchTermsOf,
  subjectOf,
  type SubscriptionRecord,
  type TaskRecord,
  type TransitionRecord,
} from '../../../src/domain/index.js';
import { parseReference, taskCodeOf } from '../../../src/domain/index.js';
import type {
  AuditStore,
  Clock,
  CommandLedger,
  CommandOutcome,
  IdempotencyRecord,
  IdempotencyStore,
  MedicationDispenseStore,
  MedicationRequestHistory,
  MedicationRequestStore,
  OutboxWriter,
  PendingTimer,
  PriorAuthorizationStore,
  SearchPosition,
  SeqPage,
  SeqPageQuery,
  SubscriptionStore,
  TaskStore,
  TransactionLocks,
  WorkflowTimerStore,
} from '../../../src/ports/index.js';
import { within } from '../../../src/transport/fhir/criteria.js';
import { MemoryTable, type MemoryTransaction } from './memory-database.js';

/**
 * In-memory adapters of the storage ports of one tenant's transaction, over {@link MemoryTable}s.
 * They follow the PostgreSQL adapters' contract (test/integration/storage.contract.test.ts runs the
 * same suite over both): rows are copied in and out (no aliasing), every method is tenant-scoped,
 * and searches order and page as the SQL does.
 */

const copy = <T>(value: T): T => structuredClone(value);

interface Sequenced<T> {
  record: T;
  seq: number;
}

export interface StoredOutboxRow {
  eventId: string;
  tenantId: string;
  subject: string;
  envelope: EventEnvelope;
  seq: number;
}

export interface StoredTimer extends PendingTimer {
  settledAt: Date | null;
  outcome: 'fired' | 'dropped' | null;
}

/** Every table of the fake database, shared by all its transactions. */
export class MemoryTables {
  private seq = 0;
  readonly medicationRequests = new MemoryTable<Sequenced<MedicationRequestRecord>>('medication_requests');
  readonly history = new MemoryTable<Sequenced<MedicationRequestRecord> & { transition: TransitionRecord | null }>('medication_request_history');
  readonly dispenses = new MemoryTable<Sequenced<MedicationDispenseRecord>>('medication_dispenses');
  readonly dispenseHistory = new MemoryTable<MedicationDispenseRecord>('medication_dispense_history');
  readonly tasks = new MemoryTable<Sequenced<TaskRecord>>('tasks');
  readonly priorAuthorizations = new MemoryTable<Sequenced<PriorAuthorizationRecord>>('prior_authorizations');
  readonly priorAuthorizationHistory = new MemoryTable<{ tenantId: string; id: string; versionId: number; transition: PriorAuthorizationTransition }>(
    'prior_authorization_history',
  );
  readonly subscriptions = new MemoryTable<SubscriptionRecord>('subscriptions');
  readonly idempotency = new MemoryTable<IdempotencyRecord & { tenantId: string; expiresAt: Date }>('idempotency_keys');
  readonly outbox = new MemoryTable<StoredOutboxRow>('outbox');
  readonly audit = new MemoryTable<AuditRecord>('audit_events');
  readonly timers = new MemoryTable<StoredTimer>('workflow_timers');
  readonly commands = new MemoryTable<CommandOutcome & { tenantId: string }>('bus_commands');

  /** Like a PostgreSQL sequence: numbered at insert, never reused, not rolled back. */
  nextSeq(): number {
    return ++this.seq;
  }
}

/** A keyset page ordered by insertion, as `seqPage` answers it. */
function seqPage<T>(rows: Array<Sequenced<T>>, query: SeqPageQuery): SeqPage<T> {
  const sorted = [...rows].sort((a, b) => a.seq - b.seq);
  const after = query.afterSeq === undefined ? sorted : sorted.filter((r) => r.seq > Number(query.afterSeq));
  return {
    items: after.slice(0, query.limit).map((r) => ({ record: copy(r.record), seq: String(r.seq) })),
    hasMore: after.length > query.limit,
    ...(query.withTotal ? { total: rows.length } : {}),
  };
}

const key = (...parts: Array<string | number>) => parts.join('/');
const oneOf = <T>(values: readonly T[] | undefined, value: T) => values === undefined || values.includes(value);

/** Insert, look-up and the tenant's rows of a table of sequenced records keyed by tenant and id. */
function sequencedRecords<T extends { id: string; tenantId: string }>(
  db: MemoryTables,
  tx: MemoryTransaction,
  table: MemoryTable<Sequenced<T>>,
  tenantId: string,
) {
  return {
    insert: (record: T) => tx.insert(table, key(tenantId, record.id), { record: copy({ ...record, tenantId }), seq: db.nextSeq() }),
    find: (id: string): T | undefined => {
      const row = tx.get(table, key(tenantId, id));
      return row && copy(row.record);
    },
    mine: () => tx.rows(table).filter((r) => r.record.tenantId === tenantId),
  };
}

export function memoryLocks(tx: MemoryTransaction): TransactionLocks {
  return { lock: (name) => tx.locks.acquire(tx, `advisory:${name}`) };
}

export function memoryMedicationRequestStore(db: MemoryTables, tx: MemoryTransaction, tenantId: string): MedicationRequestStore {
  const table = db.medicationRequests;
  const { insert, find, mine } = sequencedRecords(db, tx, table, tenantId);
  // As the adapter, fills come from the dispenses this transaction sees.
  const fillsOf = async (records: readonly MedicationRequestRecord[]) => {
    const dispenses = memoryDispenseStore(db, tx, tenantId);
    return new Map(await Promise.all(records.map(async (r) => [r.id, await dispenses.fillSummary(r.id)] as const)));
  };
  return {
    insert: async (record) => insert(record),
    findById: async (id) => find(id),
    findByIds: async (ids) => ids.flatMap((id) => find(id) ?? []),
    async findByIdsWithFills(ids) {
      const records = ids.flatMap((id) => find(id) ?? []);
      return { records, fills: await fillsOf(records) };
    },
    async updateIfVersion(record, expectedVersion) {
      const rowKey = key(tenantId, record.id);
      // An UPDATE waits for a concurrent writer of the row, then sees its committed version.
      await tx.locks.acquire(tx, `row:${table.name}:${rowKey}`);
      const current = tx.get(table, rowKey);
      if (!current || current.record.versionId !== expectedVersion) return false;
      tx.put(table, rowKey, { record: copy({ ...record, tenantId }), seq: current.seq });
      return true;
    },
    async search(query) {
      const matches = mine().filter(({ record }) => {
        const terms = searchTermsOf(record.resource);
        return (
          oneOf(query.ids, record.id) &&
          (query.patientId === undefined || terms.patientId === query.patientId) &&
          (query.pharmacyId === undefined || terms.pharmacyId === query.pharmacyId) &&
          oneOf(query.statuses, record.resource.status) &&
          oneOf(query.workflowStatuses, record.workflowStatus) &&
          (query.requester === undefined || terms.requester === query.requester) &&
          (query.identifierTerm === undefined || terms.identifiers.includes(query.identifierTerm)) &&
          (query.codeTerm === undefined || terms.codes.includes(query.codeTerm)) &&
          within(terms.authoredOn, query.authoredOn) &&
          within(record.lastUpdated, query.lastUpdated)
        );
      });
      const sortValue = (row: Sequenced<MedicationRequestRecord>): number | null =>
        query.sort === 'seq'
          ? row.seq
          : query.sort === 'lastUpdated'
            ? row.record.lastUpdated.getTime()
            : (searchTermsOf(row.record.resource).authoredOn?.getTime() ?? null);
      // PostgreSQL sorts NULL after every value ascending (and first descending).
      const compare = (a: Sequenced<MedicationRequestRecord>, b: Sequenced<MedicationRequestRecord>): number => {
        const [va, vb] = [sortValue(a), sortValue(b)];
        const byValue = va === vb ? 0 : va === null ? 1 : vb === null ? -1 : va - vb;
        return (byValue !== 0 ? byValue : a.seq - b.seq) * (query.descending ? -1 : 1);
      };
      const sorted = matches.sort(compare);
      const after = query.after;
      const page = after
        ? sorted.filter((row) => {
            const pivot: Sequenced<MedicationRequestRecord> = { seq: Number(after.seq), record: row.record };
            const v = sortValue(row);
            const pv = query.sort === 'seq' ? Number(after.seq) : after.value === null ? null : new Date(after.value).getTime();
            const byValue = query.sort === 'seq' ? 0 : v === pv ? 0 : v === null ? 1 : pv === null ? -1 : v - pv;
            return (byValue !== 0 ? byValue : row.seq - pivot.seq) * (query.descending ? -1 : 1) > 0;
          })
        : sorted;
      return {
        items: page.slice(0, query.limit).map((row) => {
          const v = sortValue(row);
          const position: SearchPosition = {
            sort: query.sort,
            descending: query.descending,
            value: query.sort === 'seq' || v === null ? null : new Date(v).toISOString(),
            seq: String(row.seq),
          };
          return { record: copy(row.record), position };
        }),
        hasMore: page.length > query.limit,
        ...(query.withTotal ? { total: matches.length } : {}),
        ...(query.withFills ? { fills: await fillsOf(page.slice(0, query.limit + 1).map((row) => row.record)) } : {}),
      };
    },
  };
}

export function memoryHistory(db: MemoryTables, tx: MemoryTransaction, tenantId: string): MedicationRequestHistory {
  const table = db.history;
  const mine = () => tx.rows(table).filter((r) => r.record.tenantId === tenantId);
  const newestFirst = (a: Sequenced<MedicationRequestRecord>, b: Sequenced<MedicationRequestRecord>) =>
    b.record.lastUpdated.getTime() - a.record.lastUpdated.getTime() ||
    (b.record.id < a.record.id ? -1 : b.record.id > a.record.id ? 1 : 0) ||
    b.record.versionId - a.record.versionId;
  return {
    async append({ record, transition }) {
      tx.insert(table, key(tenantId, record.id, record.versionId), { record: copy({ ...record, tenantId }), transition: copy(transition), seq: db.nextSeq() });
    },
    async version(id, versionId) {
      const row = tx.get(table, key(tenantId, id, versionId));
      return row && copy(row.record);
    },
    async list(id) {
      return mine()
        .filter((r) => r.record.id === id)
        .sort((a, b) => b.record.versionId - a.record.versionId)
        .map((r) => copy(r.record));
    },
    async listAll(query) {
      const all = mine()
        .filter((r) => !query.since || r.record.lastUpdated >= query.since)
        .sort(newestFirst);
      const before = query.before;
      const page = before
        ? all.filter(
            (r) => newestFirst(r, { seq: 0, record: { ...r.record, lastUpdated: new Date(before.lastUpdated), id: before.id, versionId: before.version } }) > 0,
          )
        : all;
      return {
        items: page.slice(0, query.limit).map((r) => ({
          record: copy(r.record),
          position: { lastUpdated: r.record.lastUpdated.toISOString(), id: r.record.id, version: r.record.versionId },
        })),
        hasMore: page.length > query.limit,
        ...(query.withTotal ? { total: all.length } : {}),
      };
    },
    async transitionsOf(ids) {
      const byId = new Map<string, TransitionRecord[]>(ids.map((id) => [id, []]));
      const rows = mine()
        .filter((r) => byId.has(r.record.id) && r.transition !== null)
        .sort((a, b) => a.record.versionId - b.record.versionId);
      for (const row of rows) byId.get(row.record.id)!.push(copy(row.transition!));
      return byId;
    },
  };
}

export function memoryDispenseStore(db: MemoryTables, tx: MemoryTransaction, tenantId: string): MedicationDispenseStore {
  const table = db.dispenses;
  const mine = () => tx.rows(table).filter((r) => r.record.tenantId === tenantId);
  const appendHistory = (record: MedicationDispenseRecord) =>
    tx.insert(db.dispenseHistory, key(tenantId, record.id, record.versionId), copy({ ...record, tenantId }));
  return {
    async insert(record) {
      tx.insert(table, key(tenantId, record.id), { record: copy({ ...record, tenantId }), seq: db.nextSeq() });
      appendHistory(record);
    },
    async findById(id) {
      const row = tx.get(table, key(tenantId, id));
      return row && copy(row.record);
    },
    async updateIfVersion(record, expectedVersion) {
      const rowKey = key(tenantId, record.id);
      await tx.locks.acquire(tx, `row:${table.name}:${rowKey}`);
      const current = tx.get(table, rowKey);
      if (!current || current.record.versionId !== expectedVersion) return false;
      tx.put(table, rowKey, { record: copy({ ...record, tenantId, prescriptionId: current.record.prescriptionId }), seq: current.seq });
      appendHistory(record);
      return true;
    },
    async version(id, versionId) {
      const current = tx.get(table, key(tenantId, id));
      const row = tx.get(db.dispenseHistory, key(tenantId, id, versionId));
      // The prescription is kept on the current row only (as in the SQL adapter's join).
      return current && row ? copy({ ...row, prescriptionId: current.record.prescriptionId }) : undefined;
    },
    async history(id) {
      const current = tx.get(table, key(tenantId, id));
      if (!current) return [];
      return tx
        .rows(db.dispenseHistory)
        .filter((r) => r.tenantId === tenantId && r.id === id)
        .sort((a, b) => b.versionId - a.versionId)
        .map((r) => copy({ ...r, prescriptionId: current.record.prescriptionId }));
    },
    async search(query) {
      const rows = mine().filter(({ record }) => {
        const r = record.resource;
        const refs = performerReferencesOf(r);
        return (
          oneOf(query.ids, record.id) &&
          oneOf(query.prescriptionIds, record.prescriptionId) &&
          (query.patientId === undefined || (parseReference(r.subject?.reference, 'Patient') ?? '') === query.patientId) &&
          (query.pharmacyId === undefined || (parseReference(r.performer?.[0]?.actor?.reference, 'Organization') ?? null) === query.pharmacyId) &&
          (query.performers === undefined || refs.some((ref) => query.performers!.includes(ref))) &&
          oneOf(query.statuses, r.status) &&
          within(r.whenHandedOver ? new Date(r.whenHandedOver) : null, query.whenHandedOver)
        );
      });
      return seqPage(rows, query);
    },
    async fillSummary(prescriptionId) {
      const fills = mine().filter((r) => r.record.prescriptionId === prescriptionId);
      const handedOver = fills.flatMap((r) => (r.record.resource.whenHandedOver ? [new Date(r.record.resource.whenHandedOver).getTime()] : []));
      return { count: fills.length, lastHandedOver: handedOver.length > 0 ? new Date(Math.max(...handedOver)) : null };
    },
  };
}

export function memoryTaskStore(db: MemoryTables, tx: MemoryTransaction, tenantId: string): TaskStore {
  const { insert, find, mine } = sequencedRecords(db, tx, db.tasks, tenantId);
  return {
    insert: async (record) => insert(record),
    findById: async (id) => find(id),
    async search(query) {
      const rows = mine().filter(
        ({ record }) =>
          oneOf(query.ids, record.id) &&
          oneOf(query.focusIds, record.focusId) &&
          oneOf(query.statuses, record.resource.status) &&
          oneOf(query.codes, taskCodeOf(record.resource) ?? '') &&
          oneOf(query.businessStatuses, record.resource.businessStatus?.coding?.[0]?.code ?? ''),
      );
      return seqPage(rows, query);
    },
  };
}

/** Prior authorizations in a table of their own (PostgreSQL keeps them among the tasks; the task search here does not see them). */
export function memoryPriorAuthorizationStore(db: MemoryTables, tx: MemoryTransaction, tenantId: string): PriorAuthorizationStore {
  const table = db.priorAuthorizations;
  const { insert, find, mine } = sequencedRecords(db, tx, table, tenantId);
  const record = (pa: PriorAuthorizationRecord, transition: PriorAuthorizationTransition) =>
    tx.insert(db.priorAuthorizationHistory, key(tenantId, pa.id, pa.versionId), { tenantId, id: pa.id, versionId: pa.versionId, transition: copy(transition) });
  return {
    async insert(pa, transition) {
      insert(pa);
      record(pa, transition);
    },
    findById: async (id) => find(id),
    findByIds: async (ids) => ids.flatMap((id) => find(id) ?? []),
    async latestOf(prescriptionIds) {
      const out = new Map<string, PriorAuthorizationRecord>();
      const rows = mine()
        .filter((r) => prescriptionIds.includes(r.record.prescriptionId))
        .sort((a, b) => a.record.submittedAt.getTime() - b.record.submittedAt.getTime() || a.seq - b.seq);
      for (const r of rows) out.set(r.record.prescriptionId, copy(r.record));
      return out;
    },
    async updateIfVersion(pa, expectedVersion, transition) {
      const rowKey = key(tenantId, pa.id);
      await tx.locks.acquire(tx, `row:${table.name}:${rowKey}`);
      const current = tx.get(table, rowKey);
      if (!current || current.record.versionId !== expectedVersion) return false;
      tx.put(table, rowKey, { record: copy({ ...pa, tenantId }), seq: current.seq });
      record(pa, transition);
      return true;
    },
    async transitionsOf(ids) {
      const byId = new Map<string, PriorAuthorizationTransition[]>(ids.map((id) => [id, []]));
      const rows = tx
        .rows(db.priorAuthorizationHistory)
        .filter((r) => r.tenantId === tenantId && byId.has(r.id))
        .sort((a, b) => a.versionId - b.versionId);
      for (const row of rows) byId.get(row.id)!.push(copy(row.transition));
      return byId;
    },
  };
}

export function memorySubscriptionStore(db: MemoryTables, tx: MemoryTransaction, tenantId: string): SubscriptionStore {
  const table = db.subscriptions;
  return {
    async insert(record) {
      tx.insert(table, key(tenantId, record.id), copy({ ...record, tenantId }));
    },
    async findById(id) {
      const row = tx.get(table, key(tenantId, id));
      return row && copy(row);
    },
    async setStatus(id, status, error, at) {
      const rowKey = key(tenantId, id);
      await tx.locks.acquire(tx, `row:${table.name}:${rowKey}`);
      const current = tx.get(table, rowKey);
      if (!current) return undefined;
      const versionId = current.versionId + 1;
      const next: SubscriptionRecord = {
        ...current,
        status,
        error,
        versionId,
        lastUpdated: at,
        resource: { ...current.resource, meta: { ...current.resource.meta, versionId: String(versionId), lastUpdated: at.toISOString() } },
      };
      tx.put(table, rowKey, copy(next));
      return copy(next);
    },
    async setCursor(id, cursor) {
      const rowKey = key(tenantId, id);
      await tx.locks.acquire(tx, `row:${table.name}:${rowKey}`);
      const current = tx.get(table, rowKey);
      // Cursors only move forward, whichever instance delivered last.
      if (current && (current.cursor === null || BigInt(current.cursor) < BigInt(cursor))) tx.put(table, rowKey, { ...current, cursor });
    },
  };
}

export function memoryIdempotencyStore(db: MemoryTables, tx: MemoryTransaction, tenantId: string, clock: Clock): IdempotencyStore {
  const table = db.idempotency;
  return {
    async claim(idempotencyKey) {
      if (!tx.locks.tryAcquire(tx, `idem:${tenantId}:${idempotencyKey}`)) return { claimed: false };
      const row = tx.get(table, key(tenantId, idempotencyKey));
      if (!row || row.expiresAt <= clock.now()) return { claimed: true, prior: undefined };
      const { tenantId: _tenant, expiresAt: _expires, ...record } = row;
      return { claimed: true, prior: copy(record) };
    },
    async save(record, ttlSeconds) {
      tx.put(table, key(tenantId, record.key), { ...copy(record), tenantId, expiresAt: new Date(clock.now().getTime() + ttlSeconds * 1000) });
    },
  };
}

/** `onCommitted` hears each event once its transaction has committed, in commit order. */
export function memoryOutboxWriter(db: MemoryTables, tx: MemoryTransaction, onCommitted?: (event: EventEnvelope) => void): OutboxWriter {
  return {
    async append(events) {
      for (const event of events) {
        const { eventId, tenantId } = event.metadata;
        tx.insert(db.outbox, eventId, { eventId, tenantId, subject: subjectOf(event.metadata), envelope: copy(event), seq: db.nextSeq() });
        if (onCommitted) tx.onCommit(() => onCommitted(copy(event)));
      }
    },
  };
}

export function memoryAuditStore(db: MemoryTables, tx: MemoryTransaction, tenantId: string): AuditStore {
  const table = db.audit;
  return {
    async record(entries) {
      for (const entry of entries) {
        const id = String(db.nextSeq());
        tx.insert(table, id, copy({ ...entry, id }));
      }
    },
    async search(criteria) {
      return tx
        .rows(table)
        .filter(
          (r) =>
            r.tenantId === tenantId &&
            (!criteria.entity || (r.entity?.id === criteria.entity.id && (!criteria.entity.type || r.entity.type === criteria.entity.type))) &&
            (criteria.actor === undefined || r.actor === criteria.actor) &&
            (criteria.outcome === undefined || r.outcome === criteria.outcome) &&
            within(r.recorded, criteria.recorded) &&
            (!criteria.before ||
              r.recorded < criteria.before.recorded ||
              (r.recorded.getTime() === criteria.before.recorded.getTime() && Number(r.id) < Number(criteria.before.id))),
        )
        .sort((a, b) => b.recorded.getTime() - a.recorded.getTime() || Number(b.id) - Number(a.id))
        .slice(0, criteria.limit + 1)
        .map(copy);
    },
  };
}

const pendingTimer = ({ settledAt: _settled, outcome: _outcome, ...timer }: StoredTimer): PendingTimer => copy(timer);

export function memoryTimerStore(db: MemoryTables, tx: MemoryTransaction, tenantId: string, clock: Clock): WorkflowTimerStore {
  const table = db.timers;
  const mine = () => tx.rows(table).filter((t) => t.tenantId === tenantId);
  return {
    async arm(timers) {
      for (const t of timers) tx.insert(table, t.id, { ...copy(t), tenantId, armedAt: clock.now(), settledAt: null, outcome: null });
    },
    async drop(instanceId, names, at) {
      for (const t of mine())
        if (t.instanceId === instanceId && names.includes(t.name) && t.settledAt === null) tx.put(table, t.id, { ...t, settledAt: at, outcome: 'dropped' });
    },
    async claim(id) {
      const timer = tx.get(table, id);
      if (!timer || timer.tenantId !== tenantId || timer.settledAt !== null) return undefined;
      // FOR UPDATE SKIP LOCKED: another transaction holding it means it fires there.
      if (!tx.locks.tryAcquire(tx, `row:${table.name}:${id}`)) return undefined;
      const again = tx.get(table, id)!;
      return again.settledAt === null ? pendingTimer(again) : undefined;
    },
    async settle(id, outcome, at) {
      const timer = tx.get(table, id);
      if (timer && timer.tenantId === tenantId) tx.put(table, id, { ...timer, settledAt: at, outcome });
    },
    async pendingOf(instanceIds) {
      const out = new Map<string, PendingTimer[]>();
      const pending = mine()
        .filter((t) => instanceIds.includes(t.instanceId) && t.settledAt === null)
        .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      for (const t of pending) out.set(t.instanceId, [...(out.get(t.instanceId) ?? []), pendingTimer(t)]);
      return out;
    },
  };
}

export function memoryCommandLedger(db: MemoryTables, tx: MemoryTransaction, tenantId: string): CommandLedger {
  const table = db.commands;
  return {
    claim: (commandId) => tx.locks.acquire(tx, `cmd:${tenantId}:${commandId}`),
    async find(commandId) {
      const row = tx.get(table, key(tenantId, commandId));
      if (!row) return undefined;
      const { tenantId: _tenant, ...outcome } = row;
      return copy(outcome) as CommandOutcome;
    },
    async record(outcome) {
      tx.insert(table, key(tenantId, outcome.commandId), { ...copy(outcome), tenantId });
    },
  };
}

/** A fresh id in the format the SQL adapters' uuid columns take. */
export const newUuid = (): string => randomUUID();
