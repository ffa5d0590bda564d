import { EVENT_TYPES, type EventEnvelope, type EventType } from './events.js';
import type { RequestContext } from './identity.js';

/**
 * What was done, in the words of FHIR's audit vocabulary: `action` is AuditEvent.action
 * (C create, R read, U update, E execute) and `interaction` the restful-interaction code
 * (http://hl7.org/fhir/restful-interaction), or `transition` / `operation` for workflow moves and
 * `$` operations.
 */
export type AuditAction = 'C' | 'R' | 'U' | 'D' | 'E';
export type AuditInteraction =
  'read' | 'vread' | 'search-type' | 'history-instance' | 'history-type' | 'create' | 'update' | 'patch' | 'transition' | 'operation';

/** `denied`: refused for who the caller is (persona, tenant, module); `failed`: refused for what was asked. */
export type AuditOutcome = 'success' | 'denied' | 'failed';

/** Audited resource types (CONTRACT §1: prescriptions and dispenses, plus the workflow's Task and Subscription operations). */
export type AuditedType = 'MedicationRequest' | 'MedicationDispense' | 'Task' | 'Subscription';

/** One record of the audit trail: who, as which persona, in which tenant, did what, to what, with what outcome. */
export interface AuditEntry {
  tenantId: string;
  /** When it happened (for a write: its events' timestamp; entries written later in a batch keep it). */
  recorded: Date;
  actor: string;
  persona: string;
  action: AuditAction;
  interaction: AuditInteraction;
  entity?: { type: AuditedType; id: string };
  outcome: AuditOutcome;
  /** The CONTRACT §2 code of a refusal. */
  outcomeCode?: string;
  correlationId: string;
  /** Free text: the search criteria, or the workflow move (`approve requested→approved`). */
  detail?: string;
}

/** A stored entry. */
export interface AuditRecord extends AuditEntry {
  id: string;
}

/** Codes that refuse a caller for who it is: their attempts are audited as `denied`. */
export const DENIAL_CODES: ReadonlySet<string> = new Set([
  'FORBIDDEN_WRITE_PERSONA',
  'TENANT_ISOLATION_VIOLATION',
  'MODULE_NOT_LICENSED',
  'EPCS_TWO_FACTOR_REQUIRED',
]);

/** How each committed event reads in the audit trail; `null`: covered by another event of the same write. */
const AUDIT_OF_EVENT: Record<EventType, { action: AuditAction; interaction: AuditInteraction; type: AuditedType } | null> = {
  [EVENT_TYPES.medicationRequestCreated]: { action: 'C', interaction: 'create', type: 'MedicationRequest' },
  [EVENT_TYPES.medicationRequestUpdated]: { action: 'U', interaction: 'update', type: 'MedicationRequest' },
  [EVENT_TYPES.medicationRequestStatusChanged]: { action: 'U', interaction: 'transition', type: 'MedicationRequest' },
  // The status_changed event of the same transition already records the cancellation.
  [EVENT_TYPES.medicationRequestCancelled]: null,
  [EVENT_TYPES.medicationDispenseCreated]: { action: 'C', interaction: 'create', type: 'MedicationDispense' },
  [EVENT_TYPES.medicationDispenseUpdated]: { action: 'U', interaction: 'update', type: 'MedicationDispense' },
  [EVENT_TYPES.taskStatusChanged]: { action: 'C', interaction: 'create', type: 'Task' },
  [EVENT_TYPES.subscriptionReplayed]: { action: 'E', interaction: 'operation', type: 'Subscription' },
  // The status_changed event of the expire transition records it.
  [EVENT_TYPES.medicationRequestExpired]: null,
  // A service-level breach changes nothing: it is an alert, not a write.
  [EVENT_TYPES.medicationRequestSlaBreached]: null,
  // A command's outcome changes nothing itself: its effect's events are audited in the same transaction.
  [EVENT_TYPES.commandAccepted]: null,
  [EVENT_TYPES.commandRejected]: null,
  // A PA's moves (its submission included) are writes of its Task.
  [EVENT_TYPES.priorAuthorizationStatusChanged]: { action: 'U', interaction: 'transition', type: 'Task' },
  [EVENT_TYPES.priorAuthorizationDeadlineBreached]: null,
};

/**
 * The audit entries of a write, derived from the events it commits: every change of a prescription
 * or dispense is an event, so nothing written escapes the trail.
 */
export function auditEntriesOfEvents(events: readonly EventEnvelope[]): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (const { metadata, payload } of events) {
    const kind = AUDIT_OF_EVENT[metadata.eventType];
    if (!kind) continue;
    const id = kind.type === 'MedicationRequest' ? (payload.medicationRequestId ?? payload.resource.id) : payload.resource.id;
    entries.push({
      tenantId: metadata.tenantId,
      recorded: new Date(metadata.timestamp),
      actor: metadata.actor.sub,
      persona: metadata.actor.persona,
      action: kind.action,
      interaction: kind.interaction,
      ...(id ? { entity: { type: kind.type, id } } : {}),
      outcome: 'success',
      correlationId: metadata.correlationId,
      ...(kind.interaction === 'transition' && payload.event ? { detail: `${payload.event} ${payload.from ?? '∅'}→${payload.to ?? '?'}` } : {}),
    });
  }
  return entries;
}

/** A refused attempt: `code` is the refusal's (a {@link DENIAL_CODES} member), `detail` what was tried. */
export function deniedEntry(ctx: RequestContext, code: string, detail: string): AuditEntry {
  return auditEntry(ctx, { action: 'E', interaction: 'operation', outcome: 'denied', outcomeCode: code, detail });
}

/** An entry for something `ctx` did or tried. */
export function auditEntry(
  ctx: RequestContext,
  entry: Omit<AuditEntry, 'tenantId' | 'recorded' | 'actor' | 'persona' | 'correlationId'>,
  recorded = new Date(),
): AuditEntry {
  return { tenantId: ctx.tenantId, recorded, actor: ctx.actor.sub, persona: ctx.actor.persona, correlationId: ctx.correlationId, ...entry };
}
