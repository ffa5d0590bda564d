import {
  type AuditedType,
  auditEntriesOfEvents,
  type AuditEntry,
  auditEntry,
  type AuditInteraction,
  DENIAL_CODES,
  deniedEntry,
  DomainError,
  type EventEnvelope,
  type RequestContext,
} from '../domain/index.js';
import type { TransactionScope } from '../ports/index.js';

/**
 * Commits a write's events: to the outbox (for the stream) and to the audit trail, both in the
 * write's transaction, so an audited change and its record commit together or not at all.
 */
export async function commitEvents(scope: TransactionScope, events: readonly EventEnvelope[]): Promise<void> {
  await scope.outbox.append(events);
  await scope.audit.record(auditEntriesOfEvents(events));
}

interface HasId {
  id: string;
}

/** How a read use-case is audited: the interaction, the type it reads, and which ids it touched. */
interface ReadAudit {
  interaction: AuditInteraction;
  type: AuditedType;
  /** Ids the result discloses (success), or the ids asked for (failure, when `result` is undefined). */
  ids(args: readonly unknown[], result: unknown): string[];
  /** The criteria of a search, kept as the entry's detail. */
  detail?(args: readonly unknown[]): string;
}

const askedId = (args: readonly unknown[]) => (typeof args[1] === 'string' ? [args[1]] : []);
const recordId = (args: readonly unknown[], result: unknown) => (result === undefined ? askedId(args) : [(result as HasId).id]);
const pageIds = (_args: readonly unknown[], result: unknown) =>
  ((result as { items?: Array<{ record: HasId }> } | undefined)?.items ?? []).map((i) => i.record.id);
const foundIds = (_args: readonly unknown[], result: unknown) => ((result as Array<HasId | undefined> | undefined) ?? []).flatMap((r) => (r ? [r.id] : []));
const nestedIds = (_args: readonly unknown[], result: unknown) => ((result as HasId[][] | undefined) ?? []).flat().map((r) => r.id);
const criteriaOf = (args: readonly unknown[]) =>
  JSON.stringify(args[1] ?? {}, (_key, value: unknown) => (value instanceof Date ? value.toISOString() : value)).slice(0, 2_000);

/**
 * The read use-cases of prescriptions and dispenses (CONTRACT §1: every read is audited). A search
 * discloses each resource on its page; the GraphQL loaders (`…ByIds`, `dispensesOfPrescriptions`)
 * are reads like any other. `transitionsOf` is not listed: it reads history of prescriptions the same
 * request has just read (and audited).
 */
export const READ_AUDITS: Record<string, ReadAudit> = {
  getMedicationRequest: { interaction: 'read', type: 'MedicationRequest', ids: recordId },
  getMedicationRequestVersion: { interaction: 'vread', type: 'MedicationRequest', ids: recordId },
  getMedicationRequestsByIds: { interaction: 'read', type: 'MedicationRequest', ids: foundIds },
  medicationRequestHistory: { interaction: 'history-instance', type: 'MedicationRequest', ids: askedId },
  medicationRequestTypeHistory: { interaction: 'history-type', type: 'MedicationRequest', ids: pageIds },
  searchMedicationRequests: { interaction: 'search-type', type: 'MedicationRequest', ids: pageIds, detail: criteriaOf },
  getMedicationDispense: { interaction: 'read', type: 'MedicationDispense', ids: recordId },
  getMedicationDispenseVersion: { interaction: 'vread', type: 'MedicationDispense', ids: recordId },
  getMedicationDispensesByIds: { interaction: 'read', type: 'MedicationDispense', ids: foundIds },
  medicationDispenseHistory: { interaction: 'history-instance', type: 'MedicationDispense', ids: askedId },
  searchMedicationDispenses: { interaction: 'search-type', type: 'MedicationDispense', ids: pageIds, detail: criteriaOf },
  dispensesOfPrescriptions: { interaction: 'search-type', type: 'MedicationDispense', ids: nestedIds },
};

/**
 * FHIR resource types readable through the facade whose reads are deliberately not audited, and
 * why: CONTRACT §1 audits the reads of prescriptions and dispenses. A readable type in neither
 * {@link READ_AUDITS} nor here fails test/unit/audit-coverage.test.ts, so a new resource cannot
 * leave its reads unaudited by omission.
 */
export const READS_NOT_AUDITED: Readonly<Record<string, string>> = {
  Organization: 'the pharmacy directory: shared by every tenant, no patient data',
  AuditEvent: 'the audit trail itself, searched by a platform-admin',
  Task: 'a workflow request naming a prescription, not its content; its creation is audited',
  Subscription: "a client's notification channel; its creation and replays are audited",
};

const isContext = (value: unknown): value is RequestContext =>
  typeof value === 'object' && value !== null && typeof (value as RequestContext).tenantId === 'string' && typeof (value as RequestContext).actor === 'object';

/** The entries of a read: one per disclosed resource, or one for the search itself when it found nothing. */
export function readAuditEntries(spec: ReadAudit, ctx: RequestContext, args: readonly unknown[], result: unknown, error?: unknown): AuditEntry[] {
  const code = error instanceof DomainError ? error.code : error === undefined ? undefined : 'INTERNAL';
  const outcome = code === undefined ? 'success' : DENIAL_CODES.has(code) ? 'denied' : 'failed';
  const ids = error === undefined ? spec.ids(args, result) : spec.ids(args, undefined);
  const common = {
    action: 'R' as const,
    interaction: spec.interaction,
    outcome,
    ...(code ? { outcomeCode: code } : {}),
    ...(spec.detail ? { detail: spec.detail(args) } : {}),
  } as const;
  if (ids.length === 0) return [auditEntry(ctx, common)];
  return [...new Set(ids)].map((id) => auditEntry(ctx, { ...common, entity: { type: spec.type, id } }));
}

/** Use-cases that audit their own refusals (the wrapper would record them twice). */
const SELF_AUDITED = new Set(['authenticate', 'authorizeWrite']);

/**
 * Wraps a use-case so its reads and its refusals reach the audit trail. Writes record themselves in
 * their transaction ({@link commitEvents}); here a refused write (persona, tenant, module) is
 * recorded, since its transaction never commits.
 */
export function audited<A extends unknown[], R>(
  name: string,
  fn: (...args: A) => Promise<R> | R,
  recordLater: (entries: AuditEntry[]) => void,
): (...args: A) => Promise<R> | R {
  const read = READ_AUDITS[name];
  return (...args: A) => {
    const ctx = args[0];
    if (!isContext(ctx) || SELF_AUDITED.has(name)) return fn(...args);
    const onError = (error: unknown): never => {
      if (read) recordLater(readAuditEntries(read, ctx, args, undefined, error));
      else if (error instanceof DomainError && DENIAL_CODES.has(error.code)) {
        recordLater([deniedEntry(ctx, error.code, name)]);
      }
      throw error;
    };
    let result: Promise<R> | R;
    try {
      result = fn(...args);
    } catch (error) {
      return onError(error);
    }
    const onValue = (value: R): R => {
      if (read) recordLater(readAuditEntries(read, ctx, args, value));
      return value;
    };
    return result instanceof Promise ? result.then(onValue, onError) : onValue(result as R);
  };
}
