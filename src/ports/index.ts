/**
 * The ports of rxgate: what use-cases need from the outside world. Adapters in `src/adapters`
 * implement them; use-cases and transports import only from here and from `src/domain`.
 */
import type { AuditEntry, AuditRecord, EventEnvelope, FillSummary, Issue, MedicationDispenseRecord, SubscriptionRecord, MedicationRequestRecord, Persona, TaskRecord, TransitionRecord, WorkflowState } from '../domain/index.js';

// ── Identity ───────────────────────────────────────────────────────────────────────────────

/** Claims of a verified token (CONTRACT §1). */
export interface TokenClaims {
  sub: string;
  tenant: string;
  persona: Persona;
  /** RFC 8176 authentication method references, when the token carries `amr`. */
  amr?: readonly string[];
}

/** Verifies a bearer token. Rejects (any error) when the token is not acceptable; never returns partial claims. */
export interface TokenVerifier {
  verify(token: string): Promise<TokenClaims>;
}

export interface Tenant {
  id: string;
  name: string;
  modules: string[];
}

/** The tenants table. Answers `undefined` for a tenant that does not exist. */
export interface TenantDirectory {
  find(id: string): Promise<Tenant | undefined>;
}

// ── Validation ────────────────────────────────────────────────────────────────────────────

/** Structure of FHIR resources against the base specification (types, cardinality, formats, unknown elements). */
export interface IgValidator {
  /** Every problem of `resource` as a `resourceType`, each with its FHIRPath; empty when valid. */
  validate(resourceType: string, resource: unknown): Issue[];
  /** Prepares the validators of these types now rather than on first use. */
  warmUp(resourceTypes: readonly string[]): void;
}

/** Answer of a terminology check for one coding. */
export type CodeCheck = { valid: true } | { valid: false; message: string };

/**
 * Checks codes against their code systems. Throws `TerminologyUnavailableError` when the
 * terminology service cannot answer (the caller decides: 503, or accept and flag).
 */
export interface TerminologyClient {
  /** `undefined` for a system this client does not check. */
  check(system: string, code: string): Promise<CodeCheck | undefined>;
}

export class TerminologyUnavailableError extends Error {
  override name = 'TerminologyUnavailableError';
}

// ── Pharmacy directory (shared by all tenants, read-only through the API) ─────────────────────

export interface Pharmacy {
  id: string;
  name: string;
  resource: fhir4.Organization;
}

/** Decides whether a prescription can be routed to a pharmacy (CONTRACT §4: it must be in the directory). */
export interface PharmacyRouter {
  /** The directory pharmacy for this Organization id, or `undefined` when there is none. */
  resolve(organizationId: string): Promise<Pharmacy | undefined>;
}

export interface PharmacyQuery {
  name?: string;
  /** A token search term (see `tokenQueryTerm`) on `Organization.type`. */
  typeTerm?: string;
  limit: number;
  /** Keyset position: the last row's lower-cased name and id. */
  after?: { name: string; id: string };
  withTotal: boolean;
}

export interface PharmacyDirectory {
  /** Answers the pharmacies found, in no particular order; unknown ids are left out. */
  findByIds(ids: readonly string[]): Promise<Pharmacy[]>;
  /** Name contains `name` (case-insensitive) and/or type matches `typeTerm` (token term), ordered by name then id. */
  search(query: PharmacyQuery): Promise<SearchPage<Pharmacy, { name: string; id: string }>>;
}

// ── Storage ───────────────────────────────────────────────────────────────────────────────

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
}

export interface TaskQuery extends SeqPageQuery {
  ids?: string[];
  focusIds?: string[];
  statuses?: string[];
  codes?: string[];
}

export interface TaskStore {
  insert(record: TaskRecord): Promise<void>;
  findById(id: string): Promise<TaskRecord | undefined>;
  search(query: TaskQuery): Promise<SeqPage<TaskRecord>>;
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

// ── Workflow timers (CONTRACT §7, §10) ──────────────────────────────────────────────────────

/** A timer to arm: the instance it guards, its name in the definition, and when it is due. */
export interface TimerToArm {
  id: string;
  workflow: string;
  instanceId: string;
  name: string;
  dueAt: Date;
}

export interface PendingTimer extends TimerToArm {
  tenantId: string;
  armedAt: Date;
}

/** One tenant's timers inside its transaction: armed, dropped and settled with the changes they follow. */
export interface WorkflowTimerStore {
  arm(timers: readonly TimerToArm[]): Promise<void>;
  /** Settles the instance's pending timers of these names as dropped (the state they guard was left). */
  drop(instanceId: string, names: readonly string[], at: Date): Promise<void>;
  /**
   * Locks a pending timer for the rest of the transaction (`FOR UPDATE SKIP LOCKED`); `undefined`
   * when it is settled or another instance holds it — it then fires there, or has fired.
   */
  claim(id: string): Promise<PendingTimer | undefined>;
  settle(id: string, outcome: 'fired' | 'dropped', at: Date): Promise<void>;
  /** The pending timers of these instances (inspection). */
  pendingOf(instanceIds: readonly string[]): Promise<Map<string, PendingTimer[]>>;
}

/** The timers of every tenant, for the runner that fires them (reads across tenants, like the relay). */
export interface TimerQueue {
  /** Pending timers due at `now`, oldest first. */
  due(now: Date, limit: number): Promise<Array<{ id: string; tenantId: string; dueAt: Date }>>;
  /** When the next pending timer is due; `undefined` when none is pending. */
  nextDueAt(): Promise<Date | undefined>;
  pendingCount(): Promise<number>;
}

/** Locks held until the transaction ends. */
export interface TransactionLocks {
  /** Waits for, then holds, the lock named `name`. */
  lock(name: string): Promise<void>;
}

/** The repositories of one tenant inside one database transaction. */
export interface TransactionScope {
  locks: TransactionLocks;
  medicationRequests: MedicationRequestStore;
  history: MedicationRequestHistory;
  dispenses: MedicationDispenseStore;
  tasks: TaskStore;
  subscriptions: SubscriptionStore;
  idempotency: IdempotencyStore;
  outbox: OutboxWriter;
  audit: AuditStore;
  timers: WorkflowTimerStore;
  commands: CommandLedger;
}

/**
 * The first outcome of a command received over the bus (CONTRACT §11), kept by command id: what a
 * repeat of the same id is answered with.
 */
export type CommandOutcome = { commandId: string; command: string } & (
  | { outcome: 'accepted'; /** `MedicationRequest/<id>` */ reference: string; version: number }
  | { outcome: 'rejected'; code: string; message: string; /** One per problem (validation failures). */ issues: Issue[] }
);

/** Commands of one tenant already processed, by command id (the `Nats-Msg-Id`); outcomes are never rewritten. */
export interface CommandLedger {
  /**
   * Waits for, then holds until the transaction ends, the command id: a repeat being handled at the
   * same moment (a redelivery on another instance) waits here, then finds the first outcome.
   */
  claim(commandId: string): Promise<void>;
  find(commandId: string): Promise<CommandOutcome | undefined>;
  /** Inserts the outcome; a second outcome for the same id fails the transaction (it cannot happen after `claim` and `find`). */
  record(outcome: CommandOutcome): Promise<void>;
}

// ── Audit trail ───────────────────────────────────────────────────────────────────────────

/** Criteria of an audit search (FHIR `AuditEvent?entity=…&agent=…&date=…`), newest first. */
export interface AuditCriteria {
  entity?: { type?: string; id: string };
  actor?: string;
  recorded?: DateBound[];
  outcome?: AuditRecord['outcome'];
  /** Keyset position: entries older than this one (by time, then id). */
  before?: { recorded: Date; id: string };
  limit: number;
}

/** The audit table, inside a tenant's transaction. */
export interface AuditStore {
  /** Inserts entries in the caller's transaction: they commit (or vanish) with the write they describe. */
  record(entries: readonly AuditEntry[]): Promise<void>;
  /** One page of the tenant's entries, newest first (`limit + 1` read, so callers can tell more exist). */
  search(criteria: AuditCriteria): Promise<AuditRecord[]>;
}

/**
 * Entries recorded off the request's path (reads and refused attempts, which write nothing of
 * their own): buffered and inserted in batches.
 */
export interface AuditTrail {
  /** Queues entries; never throws and never waits for the database. */
  recordLater(entries: readonly AuditEntry[]): void;
  /** Writes everything queued so far (tests, shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Runs work in one database transaction for one tenant: everything written commits together or
 * not at all. `read` runs in a read-only transaction: it must not write.
 */
export interface UnitOfWork {
  transaction<T>(tenantId: string, work: (scope: TransactionScope) => Promise<T>): Promise<T>;
  read<T>(tenantId: string, work: (scope: TransactionScope) => Promise<T>): Promise<T>;
}

// ── Events ────────────────────────────────────────────────────────────────────────────────

export interface BusMessage {
  subject: string;
  /** Deduplication id (`Nats-Msg-Id`): a second publish with the same id is dropped. */
  msgId: string;
  data: Uint8Array;
  /**
   * Message headers (NATS headers; kept beside the message by the embedded bus), delivered with
   * it. rxgate puts the W3C `traceparent` here so a consumer continues the publisher's trace.
   */
  headers?: MessageHeaders;
}

/** Header names and values of a bus message: one value per name. */
export type MessageHeaders = Readonly<Record<string, string>>;

export interface PublishAck {
  /** Position in the stream. */
  seq: number;
  duplicate: boolean;
}

export interface DeliveredMessage {
  subject: string;
  seq: number;
  data: Uint8Array;
  /** The headers it was published with; absent when it had none. */
  headers?: MessageHeaders;
}

export interface BusSubscription {
  close(): Promise<void>;
  /**
   * Consumer lag: messages matching the filter that this consumer has not finished with (not yet
   * delivered, or delivered and not yet handled or acknowledged). For a durable consumer it is the
   * consumer's, whichever instance holds the messages. Rejects when the bus cannot answer.
   */
  lag(): Promise<number>;
}

export interface SubscribeOptions {
  /** Deliver every matching message after this stream position; default: only new ones (or, for a durable, all). */
  afterSeq?: number;
  /**
   * Name of a durable consumer: its position survives restarts and is shared by every instance
   * (each message is handled by one of them). The handler's resolve acknowledges the message; a
   * throw has it delivered again after a delay. Without a name the subscription is ephemeral and a
   * throwing handler's message is skipped.
   */
  durable?: string;
  /**
   * Called once if the subscription ends on its own: its consumer is gone and cannot be made again
   * (the stream no longer keeps its position, the bus connection closed for good). Not called after
   * `close()`. A subscriber told so may subscribe again from the last position it handled. While the
   * bus is only away for a while (a restart), the subscription waits and resumes by itself.
   */
  onEnd?: (error: Error) => void;
}

/**
 * The event stream (NATS JetStream, or the PostgreSQL-backed embedded bus). Ordered per stream,
 * deduplicated by `msgId`, replayable from a stream position, with durable consumers.
 */
export interface EventBus {
  readonly kind: 'nats' | 'embedded';
  publish(message: BusMessage): Promise<PublishAck>;
  /** Delivers, in stream order and one at a time, every message matching `subjectFilter` (NATS wildcards). */
  subscribe(subjectFilter: string, handler: (message: DeliveredMessage) => Promise<void> | void, options?: SubscribeOptions): Promise<BusSubscription>;
  /**
   * The oldest position still kept for subjects matching the filter (retention may have dropped
   * older ones); one past the newest when nothing is kept. Cursors before it cannot be replayed.
   */
  firstSeq(subjectFilter: string): Promise<number>;
  /** True while the bus answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** How long the bus keeps messages for replay (stream limits). */
export interface BusRetention {
  /** @default 604_800 // 7 days */
  maxAgeSeconds: number;
  /** @default 1_000_000 */
  maxMessages: number;
}

// ── Commands over the bus (CONTRACT §11) ───────────────────────────────────────────────────

/** One message of the commands stream, as delivered to the gateway. */
export interface InboundCommand {
  /** Without the deployment's subject prefix: `cmd.eprescribing.{tenant}`. */
  subject: string;
  /** Position in the commands stream. */
  seq: number;
  data: Uint8Array;
  /** Every header it was published with (`Nats-Msg-Id` included), names lower-cased: headers are case-insensitive. */
  headers: MessageHeaders;
  /** 1 on the first delivery. */
  delivery: number;
  /** True when a throw would not have it delivered again (the consumer's bound is reached). */
  lastDelivery: boolean;
}

/**
 * The stream commands arrive on (NATS JetStream only: in embedded mode there is none). One durable
 * consumer shared by every instance, so each command is handled by one of them, in stream order.
 */
export interface CommandSource {
  /**
   * Hands `handler` one command at a time. A resolve acknowledges it; a throw has it delivered
   * again after a delay, up to a bound after which it is not redelivered (the handler sees
   * `lastDelivery` and should dead-letter it then).
   */
  consume(handler: (command: InboundCommand) => Promise<void>): Promise<BusSubscription>;
}

// ── Workflow actions ──────────────────────────────────────────────────────────────────────

/** What an outside system is told about a transition. */
export interface IntegrationNotice {
  eventId: string;
  tenantId: string;
  medicationRequestId: string;
  patientId: string | null;
  pharmacyId: string | null;
  event: string;
  from: string | null;
  to: string;
  reason: string | null;
  occurredAt: string;
  correlationId: string;
  prescription: Record<string, unknown>;
}

/** Tells the insurer a prescription was approved. Throws when the message could not be handed over. */
export interface InsuranceNotifier {
  approvalGranted(notice: IntegrationNotice): Promise<void>;
  /** Withdraws an earlier approval notice (the compensation of `notifyInsurance`). */
  approvalReversed(notice: IntegrationNotice): Promise<void>;
}

/** Routes an approved prescription to its pharmacy for processing. */
export interface PharmacyGateway {
  sendPrescription(notice: IntegrationNotice): Promise<void>;
  /** Tells the pharmacy to drop a prescription it was sent (the compensation of `sendToPharmacy`). */
  cancelPrescription(notice: IntegrationNotice): Promise<void>;
}

export interface PatientNotifier {
  prescriptionDispensed(notice: IntegrationNotice): Promise<void>;
  prescriptionCompleted(notice: IntegrationNotice): Promise<void>;
}

export interface SupportAlerter {
  prescriptionFailed(notice: IntegrationNotice): Promise<void>;
  /** A deadline passed (service level, decision deadline): `notice.event` names what was breached. */
  alert(notice: IntegrationNotice): Promise<void>;
}

export interface Integrations {
  insurance: InsuranceNotifier;
  pharmacy: PharmacyGateway;
  patient: PatientNotifier;
  support: SupportAlerter;
}

export interface DeadLetter {
  id: string;
  tenantId: string;
  handler: string;
  eventId: string;
  eventType: string;
  envelope: EventEnvelope;
  error: string;
  attempts: number;
  createdAt: Date;
  resolvedAt: Date | null;
}

export interface DeadLetterFilter {
  handler?: string;
  eventType?: string;
  includeResolved?: boolean;
  limit: number;
}

/** One action's run for an instance, as the ledger knows it. */
export interface ActionRun {
  handler: string;
  status: 'done' | 'dead-lettered';
  attempts: number;
  lastError: string | null;
}

/** Bookkeeping of workflow actions: which ran, and which gave up (dead letters). */
export interface ActionLedger {
  isDone(handler: string, eventId: string): Promise<boolean>;
  /** `instanceId`: the workflow instance the action acted for (its compensations are found by it). */
  markDone(entry: { handler: string; eventId: string; tenantId: string; attempts: number; instanceId?: string }): Promise<void>;
  /** Names of the actions completed for an instance, oldest first. */
  completedFor(tenantId: string, instanceId: string): Promise<string[]>;
  /** What each action of these instances did, by instance (inspection): done runs and dead letters, oldest first. */
  runsFor(tenantId: string, instanceIds: readonly string[]): Promise<Map<string, ActionRun[]>>;
  /** Records (or refreshes) the dead letter of `handler` for this event; answers it. */
  deadLetter(entry: Omit<DeadLetter, 'id' | 'createdAt' | 'resolvedAt'> & { id: string }): Promise<DeadLetter>;
  listDeadLetters(tenantId: string, filter: DeadLetterFilter): Promise<DeadLetter[]>;
  findDeadLetter(tenantId: string, id: string): Promise<DeadLetter | undefined>;
  /** Marks it resolved and the action done, together. */
  resolve(deadLetter: DeadLetter, attempts: number): Promise<void>;
  recordFailedReplay(deadLetter: DeadLetter, error: string): Promise<DeadLetter>;
}

// ── Operations ────────────────────────────────────────────────────────────────────────────

/** The database's share of what an operator watches (README "Metrics"), read once per scrape. */
export interface OperationalSnapshot {
  /** Committed events not yet published to the stream. */
  outboxBacklog: number;
  /** Age in seconds of the oldest of them (0 when none). */
  oldestUnpublishedSeconds: number;
  /** Open dead letters per action. */
  openDeadLetters: Array<{ handler: string; n: number }>;
}

/** The database connection pool as it stands. */
export interface DatabasePoolState {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/** Reads the operational figures kept in the database. */
export interface OperationalReadings {
  /** The outbox and dead-letter figures; rejects when the database does not answer. */
  snapshot(): Promise<OperationalSnapshot>;
  /** The pool right now, without a query; undefined when the driver keeps none. */
  pool(): DatabasePoolState | undefined;
}

/** Token buckets, keyed by tenant and persona. Shared across instances when the adapter is. */
export interface RateLimiter {
  take(key: string, cost: number): Promise<import('../domain/index.js').TakeResult>;
}

export interface Clock {
  now(): Date;
}
