/** Ports of storage: one tenant's resources, idempotency keys, the outbox and Subscriptions, inside its transaction. */
import type {
  EventEnvelope,
  FillSummary,
  MedicationDispenseRecord,
  MedicationRequestRecord,
  PriorAuthorizationRecord,
  PriorAuthorizationTransition,
  SubscriptionRecord,
  TaskRecord,
  TransitionRecord,
  WorkflowState,
} from '../domain/index.js';

export type SortKey = 'seq' | 'authoredOn' | 'lastUpdated';

/** Keyset position of a row in a sorted search: the sort value and the insertion sequence. */
export interface SearchPosition {
  sort: SortKey;
  descending: boolean;
  value: string | null;
  seq: string;
}

export interface MedicationRequestQuery {
  ids?: string[];
  patientId?: string;
  pharmacyId?: string;
  statuses?: string[];
  workflowStatuses?: WorkflowState[];
  requester?: string;
  identifierTerm?: string;
  codeTerm?: string;
  authoredOn?: DateBound[];
  lastUpdated?: DateBound[];
  sort: SortKey;
  descending: boolean;
  after?: SearchPosition;
  limit: number;
  withTotal: boolean;
}

export interface DateBound {
  op: 'eq' | 'ge' | 'le' | 'gt' | 'lt';
  /** Inclusive lower and exclusive upper bound of the value's precision. */
  low: Date;
  high: Date;
}

export interface SearchPage<T, P = SearchPosition> {
  items: Array<{ record: T; position: P }>;
  hasMore: boolean;
  total?: number;
}

/** Prescriptions of one tenant: every method is scoped to the tenant the store was opened for. */
export interface MedicationRequestStore {
  insert(record: MedicationRequestRecord): Promise<void>;
  findById(id: string): Promise<MedicationRequestRecord | undefined>;
  findByIds(ids: readonly string[]): Promise<MedicationRequestRecord[]>;
  /** Writes `record` only if the stored version is still `expectedVersion`; answers whether it did. */
  updateIfVersion(record: MedicationRequestRecord, expectedVersion: number): Promise<boolean>;
  search(query: MedicationRequestQuery): Promise<SearchPage<MedicationRequestRecord>>;
}

/** Keyset position in the type-level history: newest first. */
export interface HistoryPosition {
  lastUpdated: string;
  id: string;
  version: number;
}

export interface HistoryEntry {
  record: MedicationRequestRecord;
  transition: TransitionRecord | null;
}

export interface MedicationRequestHistory {
  append(entry: HistoryEntry): Promise<void>;
  version(id: string, versionId: number): Promise<MedicationRequestRecord | undefined>;
  /** Every version, newest first (FHIR `_history`). */
  list(id: string): Promise<MedicationRequestRecord[]>;
  /** Versions of every prescription of the tenant, newest first (type-level `_history`). */
  listAll(query: { since?: Date; before?: HistoryPosition; limit: number; withTotal: boolean }): Promise<SearchPage<MedicationRequestRecord, HistoryPosition>>;
  transitionsOf(ids: readonly string[]): Promise<Map<string, TransitionRecord[]>>;
}

/** Filters of a search ordered by insertion (dispenses, tasks): keyset on the store's sequence. */
export interface SeqPageQuery {
  limit: number;
  /** Sequence of the last row already seen. */
  afterSeq?: string;
  withTotal: boolean;
}

export interface SeqPage<T> {
  items: Array<{ record: T; seq: string }>;
  hasMore: boolean;
  total?: number;
}

export interface MedicationDispenseQuery extends SeqPageQuery {
  ids?: string[];
  prescriptionIds?: string[];
  patientId?: string;
  pharmacyId?: string;
  /** `Type/id` references; a dispense matches when one of its performers is one of them. */
  performers?: string[];
  statuses?: string[];
  whenHandedOver?: DateBound[];
}

/** Dispenses of one tenant; every version is kept (history written by the store with each write). */
export interface MedicationDispenseStore {
  insert(record: MedicationDispenseRecord): Promise<void>;
  findById(id: string): Promise<MedicationDispenseRecord | undefined>;
  updateIfVersion(record: MedicationDispenseRecord, expectedVersion: number): Promise<boolean>;
  version(id: string, versionId: number): Promise<MedicationDispenseRecord | undefined>;
  /** Every version, newest first. */
  history(id: string): Promise<MedicationDispenseRecord[]>;
  search(query: MedicationDispenseQuery): Promise<SeqPage<MedicationDispenseRecord>>;
  /** How many dispenses the prescription has (CONTRACT §7: a fill counts from its dispense), and its last hand-over. */
  fillSummary(prescriptionId: string): Promise<FillSummary>;
  /** {@link fillSummary} of several prescriptions in one statement (a page of reads); every id answered. */
  fillSummaries(prescriptionIds: readonly string[]): Promise<Map<string, FillSummary>>;
}

export interface TaskQuery extends SeqPageQuery {
  ids?: string[];
  focusIds?: string[];
  statuses?: string[];
  codes?: string[];
  /** `businessStatus` codes (a PA's state). */
  businessStatuses?: string[];
}

export interface TaskStore {
  insert(record: TaskRecord): Promise<void>;
  findById(id: string): Promise<TaskRecord | undefined>;
  search(query: TaskQuery): Promise<SeqPage<TaskRecord>>;
}

/**
 * Prior authorizations of one tenant (CONTRACT §9): Tasks that are workflow instances. Every write
 * also records the version with the transition that made it.
 */
export interface PriorAuthorizationStore {
  insert(record: PriorAuthorizationRecord, transition: PriorAuthorizationTransition): Promise<void>;
  findById(id: string): Promise<PriorAuthorizationRecord | undefined>;
  findByIds(ids: readonly string[]): Promise<PriorAuthorizationRecord[]>;
  /** The newest PA of each prescription (by submission), if it has one. */
  latestOf(prescriptionIds: readonly string[]): Promise<Map<string, PriorAuthorizationRecord>>;
  /** Writes `record` only if the stored version is still `expectedVersion`; answers whether it did. */
  updateIfVersion(record: PriorAuthorizationRecord, expectedVersion: number, transition: PriorAuthorizationTransition): Promise<boolean>;
  /** Every transition of each PA, oldest first. */
  transitionsOf(ids: readonly string[]): Promise<Map<string, PriorAuthorizationTransition[]>>;
}

/** What an idempotent request left behind, enough to answer it again identically. */
export interface IdempotencyRecord {
  key: string;
  operation: string;
  requestHash: string;
  resourceType: string;
  resourceId: string;
  versionId: number;
  statusCode: number;
}

export interface IdempotencyStore {
  /**
   * Claims the key for the rest of the transaction. Answers false when another transaction holds
   * it (the first request is still running).
   */
  claim(key: string): Promise<boolean>;
  /** The unexpired record of a finished request with this key. */
  find(key: string): Promise<IdempotencyRecord | undefined>;
  save(record: IdempotencyRecord, ttlSeconds: number): Promise<void>;
}

export interface OutboxWriter {
  append(events: readonly EventEnvelope[]): Promise<void>;
}

/** FHIR Subscriptions of one tenant. */
export interface SubscriptionStore {
  insert(record: SubscriptionRecord): Promise<void>;
  findById(id: string): Promise<SubscriptionRecord | undefined>;
  /** Sets status (and error) — a new version. */
  setStatus(id: string, status: SubscriptionRecord['status'], error: string | null, at: Date): Promise<SubscriptionRecord | undefined>;
  /** Records the last delivered cursor (not a new version: delivery bookkeeping). */
  setCursor(id: string, cursor: string): Promise<void>;
}
