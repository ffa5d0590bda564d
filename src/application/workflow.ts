import {
  buildEvent,
  CURRENT_PRESCRIPTION_WORKFLOW,
  DomainError,
  EVENT_TYPES,
  type EventEnvelope,
  type EventPayload,
  type EventType,
  type Fills,
  fillsOf,
  type FillSummary,
  legalEvents,
  materializeMedicationRequest,
  type MedicationRequestRecord,
  parseReference,
  pharmacyIdOf,
  PRESCRIPTION_NAMING,
  type PrescriptionFacts,
  prescriptionWorkflow,
  quoted,
  type RequestContext,
  validityEndOf,
  withFillsExtension,
  type WorkflowEvent,
  type WorkflowState,
} from '../domain/index.js';
import type { TransactionScope } from '../ports/index.js';
import type { UseCaseDeps } from './deps.js';
import { isStoredId } from './stored-id.js';
import { withPrescribingRules } from './use-cases/medication-request.rules.js';
import { type Change, changePayload, move, type Moved, moveLoaded, type MoveRequest, type WorkflowSubject } from './workflow-engine.js';

/** The tenant's prescription `id` names, if any; an id that cannot be a stored one names none (and never reaches SQL). */
export const findPrescription = (scope: TransactionScope, id: string): Promise<MedicationRequestRecord | undefined> =>
  isStoredId(id) ? scope.medicationRequests.findById(id) : Promise.resolve(undefined);

export const notFound = (id: string) => new DomainError('NOT_FOUND', `MedicationRequest/${quoted(id)} does not exist.`);

export const prescriptionNotFound = (id: string) =>
  new DomainError('PRESCRIPTION_NOT_FOUND', `MedicationRequest/${quoted(id)} does not exist for your tenant.`, {
    issues: [{ expression: 'MedicationRequest', diagnostics: `MedicationRequest/${quoted(id)} does not exist for your tenant.` }],
  });

/** Who and what an event is about, so subscribers can filter without loading resources. */
export function eventContext(prescription: MedicationRequestRecord): Pick<EventPayload, 'medicationRequestId' | 'patientId' | 'pharmacyId'> {
  return {
    medicationRequestId: prescription.id,
    patientId: parseReference(prescription.resource.subject?.reference, 'Patient') ?? null,
    pharmacyId: pharmacyIdOf(prescription.resource) ?? null,
  };
}

/** {@link eventContext} of an event about a prescription's dispense or Task: it also carries the prescription as of the event. */
export function relatedEventContext(
  prescription: MedicationRequestRecord,
): Pick<EventPayload, 'medicationRequestId' | 'patientId' | 'pharmacyId' | 'medicationRequest'> {
  return { ...eventContext(prescription), medicationRequest: prescription.resource as unknown as EventPayload['medicationRequest'] };
}

/** The event that follows `status_changed` for some moves (CONTRACT §3, §7). */
const SPECIFIC_EVENT: Partial<Record<string, EventType>> = {
  cancel: EVENT_TYPES.medicationRequestCancelled,
  expire: EVENT_TYPES.medicationRequestExpired,
};

/** Events a timer of the prescription workflow emits without moving it (CONTRACT §7). */
export const PRESCRIPTION_EMISSIONS: Readonly<Record<string, EventType>> = {
  sla_breached: EVENT_TYPES.medicationRequestSlaBreached,
};

/** The reason an expiry records (CONTRACT §7: `statusReason.text` says the validity period ended). */
const EXPIRY_REASON = 'The validity period of the prescription ended.';

/** Fills a prescription authorizes: `1 + numberOfRepeatsAllowed` from version 2 on; version 1 knew one fill only. */
export const fillsAllowed = (record: Pick<MedicationRequestRecord, 'workflowVersion' | 'resource'>): number =>
  record.workflowVersion >= 2 ? 1 + (record.resource.dispenseRequest?.numberOfRepeatsAllowed ?? 0) : 1;

/** The fill summary of a prescription no dispense refers to yet: one created in this transaction. */
export const NO_FILLS: FillSummary = { count: 0, lastHandedOver: null };

/** The fills of a prescription whose dispenses are summed up in `summary` (CONTRACT §7). */
export const fillsWith = (record: Pick<MedicationRequestRecord, 'workflowVersion' | 'resource'>, summary: FillSummary): Fills =>
  fillsOf(fillsAllowed(record), summary, record.resource.dispenseRequest, validityEndOf(record.resource));

/** The fills of a prescription, from the dispenses stored in this transaction (CONTRACT §7: one source of truth). */
export async function currentFills(scope: TransactionScope, record: Pick<MedicationRequestRecord, 'id' | 'workflowVersion' | 'resource'>): Promise<Fills> {
  return fillsWith(record, await scope.dispenses.fillSummary(record.id));
}

/**
 * Prescriptions as a read serves them: the `fills` extension derived from the dispenses stored now
 * (CONTRACT §7: one source of truth). The copy written with each version goes stale when a later
 * edit of a dispense changes its `whenHandedOver`, which moves `nextEligible` without a new version.
 */
export function withCurrentFills(records: readonly MedicationRequestRecord[], summaries: ReadonlyMap<string, FillSummary>): MedicationRequestRecord[] {
  return records.map((record) => ({
    ...record,
    resource: withFillsExtension(record.resource, fillsWith(record, summaries.get(record.id) ?? NO_FILLS)),
  }));
}

/** The facts the prescription workflow's guards and timers read (CONTRACT §7), from the prescription's fills. */
export const prescriptionFactsOf = (fills: Fills, now: Date): PrescriptionFacts => ({
  fillsAllowed: fills.allowed,
  fillsDispensed: fills.dispensed,
  validUntil: fills.validUntil,
  now,
});

/** {@link prescriptionFactsOf} the fills stored now. */
async function prescriptionFacts(scope: TransactionScope, record: MedicationRequestRecord, now: Date): Promise<PrescriptionFacts> {
  return prescriptionFactsOf(await currentFills(scope, record), now);
}

/**
 * CONTRACT §7: a refill may not be processed before the last fill's hand-over plus `dispenseInterval`.
 * Which states a refill starts from is the definition's business: before the first fill there is no
 * hand-over, so `nextEligible` is null and nothing is refused.
 */
async function refillInterval(scope: TransactionScope, current: MedicationRequestRecord, change: Change): Promise<void> {
  if (change.event !== 'process') return;
  const { nextEligible } = await currentFills(scope, current);
  if (nextEligible && nextEligible > change.at) {
    throw new DomainError(
      'REFILL_TOO_EARLY',
      `The next fill may be processed from ${nextEligible.toISOString()} (the dispense interval after the last hand-over).`,
      {
        issues: [{ expression: 'MedicationRequest.dispenseRequest.dispenseInterval', diagnostics: `earliest: ${nextEligible.toISOString()}` }],
        details: { earliest: nextEligible.toISOString() },
      },
    );
  }
}

/** Prescriptions as instances of the prescription workflow. */
export const PRESCRIPTION_SUBJECT: WorkflowSubject<MedicationRequestRecord, PrescriptionFacts> = {
  naming: PRESCRIPTION_NAMING,
  definitionOf: (record) => prescriptionWorkflow(record.workflowVersion),
  stateOf: (record) => record.workflowStatus,
  find: findPrescription,
  facts: prescriptionFacts,
  beforeMove: refillInterval,
  async write(scope, ctx, current, change) {
    const to = change.to as WorkflowState;
    const versionId = current.versionId + 1;
    const reason = change.reason ?? (change.event === 'expire' ? EXPIRY_REASON : null);
    const record: MedicationRequestRecord = {
      ...current,
      versionId,
      lastUpdated: change.at,
      workflowStatus: to,
      resource: materializeMedicationRequest(current.resource, {
        id: current.id,
        versionId,
        lastUpdated: change.at,
        workflowStatus: to,
        statusReason: reason ?? undefined,
        fills: await currentFills(scope, current),
      }),
    };
    if (!(await scope.medicationRequests.updateIfVersion(record, current.versionId))) return undefined;
    await scope.history.append({
      record,
      transition: {
        event: change.event as WorkflowEvent,
        from: change.from as WorkflowState,
        to,
        actor: ctx.actor.sub,
        persona: ctx.actor.persona,
        reason,
        at: change.at,
        correlationId: ctx.correlationId,
      },
    });
    return record;
  },
  events(ctx, record, change, newId) {
    const workflow = { name: CURRENT_PRESCRIPTION_WORKFLOW.name, version: record.workflowVersion, instanceId: record.id };
    const payload = changePayload(record.resource, change, workflow, eventContext(record));
    const types = [EVENT_TYPES.medicationRequestStatusChanged, SPECIFIC_EVENT[change.event]].filter((t): t is EventType => t !== undefined);
    return types.map((type) => buildEvent(ctx, type, payload, { eventId: newId(), timestamp: change.at }));
  },
};

/** Whether the prescription's own definition lets `event` leave its current state (guards aside). */
export const prescriptionAllows = (record: MedicationRequestRecord, event: WorkflowEvent): boolean =>
  legalEvents(PRESCRIPTION_SUBJECT.definitionOf(record), record.workflowStatus).includes(event);

/** Moves a prescription one step in the caller's transaction (see `move`), under the prescribing rules (CONTRACT §8). */
export const movePrescription = (
  deps: UseCaseDeps,
  scope: TransactionScope,
  ctx: RequestContext,
  request: MoveRequest<MedicationRequestRecord> & { event: WorkflowEvent },
): Promise<Moved<MedicationRequestRecord>> => move(deps, scope, ctx, PRESCRIPTION_SUBJECT, withPrescribingRules(deps, ctx, request));

/** Moves a prescription already loaded in this transaction; `undefined` when it changed meanwhile. */
export const moveLoadedPrescription = (
  deps: UseCaseDeps,
  scope: TransactionScope,
  ctx: RequestContext,
  current: MedicationRequestRecord,
  event: WorkflowEvent,
  reason: string | null = null,
) => moveLoaded(deps, scope, ctx, PRESCRIPTION_SUBJECT, current, { event, reason });

/** The event a prescription timer emits, built like a transition's events (same context, same filters). */
export function emittedEvent(
  ctx: RequestContext,
  record: MedicationRequestRecord,
  emission: string,
  timer: string,
  at: Date,
  newId: () => string,
): EventEnvelope {
  const type = PRESCRIPTION_EMISSIONS[emission];
  if (!type) throw new Error(`prescription workflow: no event type for emission '${emission}'`);
  const payload = {
    resource: record.resource as never,
    emitted: emission,
    timer,
    state: record.workflowStatus,
    workflow: { name: CURRENT_PRESCRIPTION_WORKFLOW.name, version: record.workflowVersion, instanceId: record.id },
    ...eventContext(record),
  };
  return buildEvent(ctx, type, payload, { eventId: newId(), timestamp: at });
}

export type { Change };
