import {
  assertPersonaMay,
  assertPersonaMayTransition,
  buildEvent,
  DomainError,
  EVENT_TYPES,
  type EventEnvelope,
  fillType,
  materializeMedicationDispense,
  type MedicationDispenseRecord,
  type MedicationDispenseResource,
  type MedicationRequestRecord,
  prescriptionIdOf,
  type RequestContext,
  validateMedicationDispense,
  validationFailure,
} from '../../domain/index.js';
import type { TransactionScope } from '../../ports/index.js';
import { commitEvents } from '../audit.js';
import type { UseCaseDeps } from '../deps.js';
import { assertIdempotencyKey, idempotently } from '../idempotency.js';
import { assertValid, checkCodes } from '../validation.js';
import { checkIfMatch, stale } from '../versioned-write.js';
import {
  findPrescription,
  moveLoadedPrescription,
  movePrescription,
  notFound,
  prescriptionAllows,
  prescriptionNotFound,
  relatedEventContext,
} from '../workflow.js';
import { isStoredId } from './read-medication-requests.use-case.js';

export interface DispenseResult {
  dispense: MedicationDispenseRecord;
  prescription: MedicationRequestRecord;
  replayed: boolean;
}

export interface CreateDispenseInput {
  resource: unknown;
  idempotencyKey?: string;
  /** Checked against the prescription's version (CONTRACT §3: a conditional transition). */
  ifMatch?: string;
  /** Take medication and quantity from the prescription where the dispense leaves them out (GraphQL). */
  defaultsFromPrescription?: boolean;
  /** The reason recorded on the dispense transition (GraphQL `transitionPrescription(reason:)`, CONTRACT §3). */
  reason?: string | null;
}

const OPERATION = 'MedicationDispense.create';

/**
 * Records a dispense: the prescription moves processing → dispensed (and on to completed when
 * `whenHandedOver` is already set), the dispense is stored, and the events are committed in the
 * order subscribers see them: `medication_dispense.created`, then `status_changed`.
 */
export async function createMedicationDispense(deps: UseCaseDeps, ctx: RequestContext, input: CreateDispenseInput): Promise<DispenseResult> {
  assertPersonaMay(ctx, 'medication-dispense.write');
  if (input.idempotencyKey !== undefined) assertIdempotencyKey(input.idempotencyKey);
  const requested = assertValid<MedicationDispenseResource>(deps, 'MedicationDispense', input.resource, (r) =>
    validateMedicationDispense(r).filter((i) => !(input.defaultsFromPrescription && i.expression === 'MedicationDispense.medicationCodeableConcept')),
  );
  await checkCodes(deps, requested.medicationCodeableConcept, 'MedicationDispense.medicationCodeableConcept');
  const prescriptionId = prescriptionIdOf(requested);

  return deps.uow.transaction(ctx.tenantId, (scope) =>
    idempotently<DispenseResult>(scope, { operation: OPERATION, key: input.idempotencyKey, payload: requested }, deps.idempotencyTtlSeconds, {
      async replay(prior) {
        const dispense = await scope.dispenses.version(prior.resourceId, prior.versionId);
        const prescription = dispense && (await scope.medicationRequests.findById(dispense.prescriptionId));
        return dispense && prescription ? { dispense, prescription, replayed: true } : undefined;
      },
      async run() {
        const result = await recordDispense(deps, scope, ctx, input, requested, prescriptionId);
        return { result, saved: { resourceType: 'MedicationDispense', resourceId: result.dispense.id, versionId: 1, statusCode: 201 } };
      },
    }),
  );
}

async function recordDispense(
  deps: UseCaseDeps,
  scope: TransactionScope,
  ctx: RequestContext,
  input: CreateDispenseInput,
  requested: MedicationDispenseResource,
  prescriptionId: string,
): Promise<DispenseResult> {
  const found = await findPrescription(scope, prescriptionId);
  if (!found) throw prescriptionNotFound(prescriptionId);
  const resource = input.defaultsFromPrescription ? withPrescriptionDefaults(requested, found) : requested;
  assertWithinFillQuantity(resource, found);

  // The dispense is written before the move, so the prescription's new version counts it among its fills.
  const now = deps.clock.now();
  const { count: previousFills } = await scope.dispenses.fillSummary(prescriptionId);
  const dispense: MedicationDispenseRecord = {
    id: deps.newId(),
    tenantId: ctx.tenantId,
    versionId: 1,
    lastUpdated: now,
    prescriptionId,
    resource: {} as MedicationDispenseResource,
  };
  dispense.resource = materializeMedicationDispense(resource, {
    id: dispense.id,
    versionId: 1,
    lastUpdated: now,
    patientReference: found.resource.subject.reference!,
    pharmacyReference: found.resource.dispenseRequest?.performer?.reference,
    type: fillType(previousFills),
  });
  await scope.dispenses.insert(dispense);
  const dispensed = await movePrescription(deps, scope, ctx, {
    id: prescriptionId,
    event: 'dispense',
    ifMatch: input.ifMatch,
    reason: input.reason ?? null,
    missing: prescriptionNotFound,
  });

  const events: EventEnvelope[] = [dispenseEvent(deps, ctx, EVENT_TYPES.medicationDispenseCreated, dispense, dispensed.record), ...dispensed.events];
  let current = dispensed.record;
  if (resource.whenHandedOver) {
    const completed = await moveLoadedPrescription(deps, scope, ctx, current, 'complete');
    if (!completed) throw new DomainError('PRECONDITION_FAILED', 'The prescription changed while it was dispensed; re-read and retry.');
    current = completed.record;
    events.push(...completed.events);
  }
  await commitEvents(scope, events);
  return { dispense, prescription: current, replayed: false };
}

/** CONTRACT §7: `dispenseRequest.quantity` is the most one fill may hand out (compared in the same unit). */
function assertWithinFillQuantity(dispense: MedicationDispenseResource, prescription: MedicationRequestRecord): void {
  const most = prescription.resource.dispenseRequest?.quantity;
  const given = dispense.quantity;
  if (most?.value === undefined || given?.value === undefined) return;
  const unitOf = (q: fhir4.Quantity) => q.code ?? q.unit;
  if (unitOf(most) !== unitOf(given) || given.value <= most.value) return;
  throw validationFailure([
    {
      expression: 'MedicationDispense.quantity',
      diagnostics: `A fill may hand out at most ${most.value} ${unitOf(most) ?? ''} (dispenseRequest.quantity); this dispense has ${given.value}.`.replace(
        '  ',
        ' ',
      ),
    },
  ]);
}

/** GraphQL `transitionPrescription(event: DISPENSE)`: the dispense the prescription asks for. */
export async function dispenseAsPrescribed(
  deps: UseCaseDeps,
  ctx: RequestContext,
  input: { id: string; ifMatch?: string; reason?: string | null },
): Promise<DispenseResult> {
  assertPersonaMayTransition(ctx.actor, 'dispense');
  const resource: MedicationDispenseResource = {
    resourceType: 'MedicationDispense',
    status: 'completed',
    authorizingPrescription: [{ reference: `MedicationRequest/${input.id}` }],
    whenPrepared: deps.clock.now().toISOString(),
  };
  return createMedicationDispense(deps, ctx, { resource, ifMatch: input.ifMatch, reason: input.reason, defaultsFromPrescription: true });
}

function withPrescriptionDefaults(dispense: MedicationDispenseResource, prescription: MedicationRequestRecord): MedicationDispenseResource {
  const p = prescription.resource;
  return {
    ...dispense,
    ...(dispense.medicationCodeableConcept ? {} : { medicationCodeableConcept: p.medicationCodeableConcept }),
    ...(dispense.quantity || !p.dispenseRequest?.quantity ? {} : { quantity: p.dispenseRequest.quantity }),
  };
}

function dispenseEvent(
  deps: UseCaseDeps,
  ctx: RequestContext,
  type: (typeof EVENT_TYPES)['medicationDispenseCreated' | 'medicationDispenseUpdated'],
  dispense: MedicationDispenseRecord,
  prescription: MedicationRequestRecord,
): EventEnvelope {
  return buildEvent(
    ctx,
    type,
    { resource: dispense.resource as never, ...relatedEventContext(prescription) },
    { eventId: deps.newId(), timestamp: dispense.lastUpdated },
  );
}

export interface UpdateDispenseInput {
  id: string;
  resource: unknown;
  ifMatch: string | undefined;
}

/**
 * Replaces a dispense's content (allowed at any time, with If-Match). Setting `whenHandedOver`
 * for the first time completes a prescription whose state allows `complete` (CONTRACT §3: `dispensed`).
 */
export async function updateMedicationDispense(deps: UseCaseDeps, ctx: RequestContext, input: UpdateDispenseInput): Promise<DispenseResult> {
  assertPersonaMay(ctx, 'medication-dispense.write');
  const resource = assertValid<MedicationDispenseResource>(deps, 'MedicationDispense', input.resource, validateMedicationDispense);
  await checkCodes(deps, resource.medicationCodeableConcept, 'MedicationDispense.medicationCodeableConcept');

  return deps.uow.transaction(ctx.tenantId, async (scope) => {
    const current = isStoredId(input.id) ? await scope.dispenses.findById(input.id) : undefined;
    if (!current) throw new DomainError('NOT_FOUND', `MedicationDispense/${input.id} does not exist.`);
    if (prescriptionIdOf(resource) !== current.prescriptionId) {
      throw new DomainError('PROFILE_VALIDATION_FAILURE', 'A dispense cannot move to another prescription.', {
        issues: [
          { expression: 'MedicationDispense.authorizingPrescription[0].reference', diagnostics: `must stay MedicationRequest/${current.prescriptionId}.` },
        ],
      });
    }
    checkIfMatch(input.ifMatch, current, { required: true });
    const prescription = await scope.medicationRequests.findById(current.prescriptionId);
    if (!prescription) throw prescriptionNotFound(current.prescriptionId);
    assertWithinFillQuantity(resource, prescription);

    const now = deps.clock.now();
    const versionId = current.versionId + 1;
    const record: MedicationDispenseRecord = {
      ...current,
      versionId,
      lastUpdated: now,
      resource: materializeMedicationDispense(resource, {
        id: current.id,
        versionId,
        lastUpdated: now,
        patientReference: prescription.resource.subject.reference!,
        pharmacyReference: prescription.resource.dispenseRequest?.performer?.reference,
        type: current.resource.type,
      }),
    };
    if (!(await scope.dispenses.updateIfVersion(record, current.versionId))) throw stale((await scope.dispenses.findById(current.id)) ?? current);

    const events = [dispenseEvent(deps, ctx, EVENT_TYPES.medicationDispenseUpdated, record, prescription)];
    let latest = prescription;
    if (resource.whenHandedOver && !current.resource.whenHandedOver && prescriptionAllows(prescription, 'complete')) {
      assertPersonaMayTransition(ctx.actor, 'complete');
      const completed = await movePrescription(deps, scope, ctx, { id: prescription.id, event: 'complete', missing: notFound });
      latest = completed.record;
      events.push(...completed.events);
    }
    await commitEvents(scope, events);
    return { dispense: record, prescription: latest, replayed: false };
  });
}

/** Reads for both transports. */
export async function getMedicationDispense(deps: UseCaseDeps, ctx: RequestContext, id: string): Promise<MedicationDispenseRecord> {
  const record = isStoredId(id) ? await deps.uow.read(ctx.tenantId, (scope) => scope.dispenses.findById(id)) : undefined;
  if (!record) throw new DomainError('NOT_FOUND', `MedicationDispense/${id} does not exist.`);
  return record;
}

export async function getMedicationDispenseVersion(deps: UseCaseDeps, ctx: RequestContext, id: string, versionId: number): Promise<MedicationDispenseRecord> {
  const record = isStoredId(id) ? await deps.uow.read(ctx.tenantId, (scope) => scope.dispenses.version(id, versionId)) : undefined;
  if (!record) throw new DomainError('NOT_FOUND', `MedicationDispense/${id} has no version ${versionId}.`);
  return record;
}

export async function medicationDispenseHistory(deps: UseCaseDeps, ctx: RequestContext, id: string): Promise<MedicationDispenseRecord[]> {
  const versions = isStoredId(id) ? await deps.uow.read(ctx.tenantId, (scope: TransactionScope) => scope.dispenses.history(id)) : [];
  if (versions.length === 0) throw new DomainError('NOT_FOUND', `MedicationDispense/${id} does not exist.`);
  return versions;
}
