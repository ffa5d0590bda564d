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

/** What a prescription search is ordered by: insertion (`seq`), `authoredOn` or `meta.lastUpdated`; ties by insertion. */
export type SortKey = 'seq' | 'authoredOn' | 'lastUpdated';

/** Keyset position of a row in a sorted search: the sort value and the insertion sequence. */
export interface SearchPosition {
  /** The order the position belongs to: a cursor is only valid in the same order. */
  sort: SortKey;
  /** The direction it belongs to. */
  descending: boolean;
  /** The row's sort value as text; `null` when sorted by `seq`. */
  value: string | null;
  /** The row's insertion sequence (a bigint as text). */
  seq: string;
}

/** Filters, order and page of a prescription search; the filters given must all match. */
export interface MedicationRequestQuery {
  /** Only these ids (`_id`). */
  ids?: string[];
  /** The `Patient` id of `subject`. */
  patientId?: string;
  /** The `Organization` id of the intended dispenser (`dispenseRequest.performer`). */
  pharmacyId?: string;
  /** FHIR `status`, any of these. */
  statuses?: string[];
  /** Workflow state, any of these. */
  workflowStatuses?: WorkflowState[];
  /** The `requester` reference, exactly as stored (e.g. `Practitioner/123`). */
  requester?: string;
  /** A token search term (see `tokenQueryTerm`) on `identifier`. */
  identifierTerm?: string;
  /** A token search term on `medicationCodeableConcept`. */
  codeTerm?: string;
  /** `authoredOn` within every one of these bounds. */
  authoredOn?: DateBound[];
  /** `meta.lastUpdated` within every one of these bounds. */
  lastUpdated?: DateBound[];
  /** Order of the rows (ties by insertion). */
  sort: SortKey;
  /** Largest sort value first (the newest, for dates and insertion). */
  descending: boolean;
  /** Keyset position: rows after this one in the order asked for. */
  after?: SearchPosition;
  /** Read the fill summary of each row too (`SearchPage.fills`), in the same statement. */
  withFills?: boolean;
  /** Rows the page holds; the store reads one more to tell whether more follow. */
  limit: number;
  /** Count every match too (`SearchPage.total`). */
  withTotal: boolean;
}

/** One FHIR date search value (`ge2024-01-01`): a prefix and the range the value's precision spans. */
export interface DateBound {
  /** The FHIR prefix (`eq` when none was given). */
  op: 'eq' | 'ge' | 'le' | 'gt' | 'lt';
  /** Inclusive lower bound of the range the value's precision spans (`2024-01` → 1 January). */
  low: Date;
  /** Exclusive upper bound of that range (`2024-01` → 1 February). */
  high: Date;
}

/** One page of a keyset search. */
export interface SearchPage<T, P = SearchPosition> {
  /** The rows in order, each with the position a next page resumes after. */
  items: Array<{ record: T; position: P }>;
  /** True when more rows match after the last one. */
  hasMore: boolean;
  /** Every match, when the query asked for it (`withTotal`). */
  total?: number;
  /** The fill summary of every row, by id, when the query asked for it (`withFills`). */
  fills?: Map<string, FillSummary>;
}

/** Prescriptions with their fill summaries (CONTRACT §7: fills count from the stored dispenses), read together. */
export interface PrescriptionsWithFills {
  /** The current versions found, in no particular order; unknown ids are left out. */
  records: MedicationRequestRecord[];
  /** The fill summary of every record found, by id. */
  fills: Map<string, FillSummary>;
}

/** Prescriptions of one tenant: every method is scoped to the tenant the store was opened for. */
export interface MedicationRequestStore {
  /** Inserts a new prescription (its history entry is the caller's, through {@link MedicationRequestHistory}). */
  insert(record: MedicationRequestRecord): Promise<void>;
  /** The current version, or `undefined`. */
  findById(id: string): Promise<MedicationRequestRecord | undefined>;
  /** The current versions found, in no particular order; unknown ids are left out. */
  findByIds(ids: readonly string[]): Promise<MedicationRequestRecord[]>;
  /** {@link findByIds} with each record's fill summary, in one statement: what a read shows. */
  findByIdsWithFills(ids: readonly string[]): Promise<PrescriptionsWithFills>;
  /** Writes `record` only if the stored version is still `expectedVersion`; answers whether it did. */
  updateIfVersion(record: MedicationRequestRecord, expectedVersion: number): Promise<boolean>;
  /** One page of the prescriptions matching `query`, in its order. */
  search(query: MedicationRequestQuery): Promise<SearchPage<MedicationRequestRecord>>;
}

/** Keyset position in the type-level history: newest first. */
export interface HistoryPosition {
  /** `meta.lastUpdated` of the version, as the database writes it. */
  lastUpdated: string;
  /** The prescription's id (ties on `lastUpdated`). */
  id: string;
  /** The version's number (ties on both). */
  version: number;
}

/** One version of a prescription as the history keeps it. */
export interface HistoryEntry {
  /** The prescription as this version left it. */
  record: MedicationRequestRecord;
  /** The workflow transition that made this version; `null` for a change of content only (an update or a patch). */
  transition: TransitionRecord | null;
}

/** Every version of the tenant's prescriptions (FHIR `_history`) with the transitions that made them. */
export interface MedicationRequestHistory {
  /** Records a version; the caller appends one with every write of a prescription. */
  append(entry: HistoryEntry): Promise<void>;
  /** One version (FHIR `vread`), or `undefined`. */
  version(id: string, versionId: number): Promise<MedicationRequestRecord | undefined>;
  /** Every version, newest first (FHIR `_history`). */
  list(id: string): Promise<MedicationRequestRecord[]>;
  /** Versions of every prescription of the tenant, newest first (type-level `_history`). */
  listAll(query: { since?: Date; before?: HistoryPosition; limit: number; withTotal: boolean }): Promise<SearchPage<MedicationRequestRecord, HistoryPosition>>;
  /** The workflow transitions of each prescription, oldest first; every id answered (empty when none). */
  transitionsOf(ids: readonly string[]): Promise<Map<string, TransitionRecord[]>>;
}

/** Filters of a search ordered by insertion (dispenses, tasks): keyset on the store's sequence. */
export interface SeqPageQuery {
  /** Rows the page holds; the store reads one more to tell whether more follow. */
  limit: number;
  /** Sequence of the last row already seen. */
  afterSeq?: string;
  /** Count every match too (`SeqPage.total`), at the cost of a second statement. */
  withTotal: boolean;
}

/** One page of a search ordered by insertion. */
export interface SeqPage<T> {
  /** The rows in insertion order, each with its sequence (what `afterSeq` resumes after). */
  items: Array<{ record: T; seq: string }>;
  /** True when more rows match after the last one. */
  hasMore: boolean;
  /** Every match, when the query asked for it (`withTotal`). */
  total?: number;
}

/** Filters of a dispense search; the filters given must all match. */
export interface MedicationDispenseQuery extends SeqPageQuery {
  /** Only these ids (`_id`). */
  ids?: string[];
  /** Dispenses of any of these prescriptions (`authorizingPrescription`). */
  prescriptionIds?: string[];
  /** The `Patient` id of `subject`. */
  patientId?: string;
  /** The `Organization` id of the first performer. */
  pharmacyId?: string;
  /** `Type/id` references; a dispense matches when one of its performers is one of them. */
  performers?: string[];
  /** FHIR `status`, any of these. */
  statuses?: string[];
  /** `whenHandedOver` within every one of these bounds. */
  whenHandedOver?: DateBound[];
}

/** Dispenses of one tenant; every version is kept (history written by the store with each write). */
export interface MedicationDispenseStore {
  /** Inserts a new dispense and its first version. */
  insert(record: MedicationDispenseRecord): Promise<void>;
  /** The current version, or `undefined`. */
  findById(id: string): Promise<MedicationDispenseRecord | undefined>;
  /** Writes `record` (and its version) only if the stored version is still `expectedVersion`; answers whether it did. */
  updateIfVersion(record: MedicationDispenseRecord, expectedVersion: number): Promise<boolean>;
  /** One version (FHIR `vread`), or `undefined`. */
  version(id: string, versionId: number): Promise<MedicationDispenseRecord | undefined>;
  /** Every version, newest first. */
  history(id: string): Promise<MedicationDispenseRecord[]>;
  /** One page of the dispenses matching `query`, in insertion order. */
  search(query: MedicationDispenseQuery): Promise<SeqPage<MedicationDispenseRecord>>;
  /** How many dispenses the prescription has (CONTRACT §7: a fill counts from its dispense), and its last hand-over. */
  fillSummary(prescriptionId: string): Promise<FillSummary>;
}

/** Filters of a Task search; the filters given must all match. */
export interface TaskQuery extends SeqPageQuery {
  /** Only these ids (`_id`). */
  ids?: string[];
  /** Tasks whose `focus` is any of these prescriptions. */
  focusIds?: string[];
  /** FHIR `status`, any of these. */
  statuses?: string[];
  /** Task codes (workflow or prior authorization), any of these. */
  codes?: string[];
  /** `businessStatus` codes (a PA's state). */
  businessStatuses?: string[];
}

/** Tasks of one tenant: the workflow Tasks (CONTRACT §3), each written once, and the prior authorizations' Tasks when read as Tasks. */
export interface TaskStore {
  /** Inserts a workflow Task (it records a move that happened and is not written again). */
  insert(record: TaskRecord): Promise<void>;
  /** The Task, or `undefined`. */
  findById(id: string): Promise<TaskRecord | undefined>;
  /** One page of the Tasks matching `query`, in insertion order. */
  search(query: TaskQuery): Promise<SeqPage<TaskRecord>>;
}

/**
 * Prior authorizations of one tenant (CONTRACT §9): Tasks that are workflow instances. Every write
 * also records the version with the transition that made it.
 */
export interface PriorAuthorizationStore {
  /** Inserts a new PA with its first version and the transition that opened it. */
  insert(record: PriorAuthorizationRecord, transition: PriorAuthorizationTransition): Promise<void>;
  /** The PA's current version, or `undefined` (also for a Task that is no PA). */
  findById(id: string): Promise<PriorAuthorizationRecord | undefined>;
  /** The PAs found, in no particular order; unknown ids are left out. */
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
  /** The `Idempotency-Key` the caller sent. */
  key: string;
  /** The operation it was sent with (a repeat must be the same operation and payload). */
  operation: string;
  /** SHA-256 of the canonical operation and payload (`requestHash`): a repeat with another payload is a conflict. */
  requestHash: string;
  /** Type of the resource the first request created. */
  resourceType: string;
  /** Its id. */
  resourceId: string;
  /** The version the first request left; a repeat is answered with that version. */
  versionId: number;
  /** The HTTP status the first request was answered with. */
  statusCode: number;
}

/** What claiming an Idempotency-Key found. */
export type IdempotencyClaim =
  /** Another transaction holds the key: the first request is still running. */
  | { claimed: false }
  /**
   * The key is this transaction's until it ends; `prior` is the unexpired record of a finished
   * request with it, including one committed by the transaction that held the key just before.
   */
  | { claimed: true; prior: IdempotencyRecord | undefined };

/** Idempotency keys of one tenant (CONTRACT §4), kept for a time to live. */
export interface IdempotencyStore {
  /** Claims the key for the rest of the transaction and looks up its record, together (one round trip). */
  claim(key: string): Promise<IdempotencyClaim>;
  /** Remembers a finished request for `ttlSeconds`, replacing an expired record of the same key. */
  save(record: IdempotencyRecord, ttlSeconds: number): Promise<void>;
}

/** The transactional outbox: events written with the change they describe, published later by the relay. */
export interface OutboxWriter {
  /** Inserts the events in the caller's transaction, with the trace context of the writing request. */
  append(events: readonly EventEnvelope[]): Promise<void>;
}

/** FHIR Subscriptions of one tenant. */
export interface SubscriptionStore {
  /** Inserts a new Subscription. */
  insert(record: SubscriptionRecord): Promise<void>;
  /** The Subscription, or `undefined`. */
  findById(id: string): Promise<SubscriptionRecord | undefined>;
  /** Sets status (and error) — a new version. */
  setStatus(id: string, status: SubscriptionRecord['status'], error: string | null, at: Date): Promise<SubscriptionRecord | undefined>;
  /** Records the last delivered cursor (not a new version: delivery bookkeeping). */
  setCursor(id: string, cursor: string): Promise<void>;
}
