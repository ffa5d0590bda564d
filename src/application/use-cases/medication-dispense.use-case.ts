import {
  assertPersonaMay,
  assertPersonaMayTransition,
  buildEvent,
  DomainError,
  EVENT_TYPES,
  materializeMedicationDispense,
  prescriptionIdOf,
  validateMedicationDispense,
  type EventEnvelope,
  type MedicationDispenseRecord,
  type MedicationDispenseResource,
  type MedicationRequestRecord,
  type RequestContext,
} from '../../domain/index.js';
import type { TransactionScope } from '../../ports/index.js';
import { commitEvents } from '../audit.js';
import type { UseCaseDeps } from '../deps.js';
import { etagOf, parseIfMatch } from '../etag.js';
import { assertIdempotencyKey, priorOutcome, requestHash } from '../idempotency.js';
import { assertValid, checkCodes } from '../validation.js';
import { move, moveWithRetry, notFound, prescriptionNotFound, relatedEventContext, stale } from '../workflow.js';
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
  const hash = input.idempotencyKey === undefined ? undefined : requestHash(OPERATION, requested);

  return deps.uow.transaction(ctx.tenantId, async (scope) => {
    if (input.idempotencyKey !== undefined && hash !== undefined) {
      const prior = await priorOutcome(scope, input.idempotencyKey, hash);
      if (prior) {
        const dispense = await scope.dispenses.version(prior.resourceId, prior.versionId);
        const prescription = dispense && (await scope.medicationRequests.findById(dispense.prescriptionId));
        if (dispense && prescription) return { dispense, prescription, replayed: true };
      }
    }
    if (!isStoredId(prescriptionId)) throw prescriptionNotFound(prescriptionId);
    const dispensed = await moveWithRetry(deps, scope, ctx, { id: prescriptionId, event: 'dispense', ifMatch: input.ifMatch, missing: prescriptionNotFound });
    const prescription = dispensed.previous;
    const resource = input.defaultsFromPrescription ? withPrescriptionDefaults(requested, prescription) : requested;

    const now = deps.clock.now();
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
      patientReference: prescription.resource.subject.reference!,
      pharmacyReference: prescription.resource.dispenseRequest?.performer?.reference,
    });
    await scope.dispenses.insert(dispense);

    const events: EventEnvelope[] = [dispenseEvent(deps, ctx, EVENT_TYPES.medicationDispenseCreated, dispense, dispensed.record), ...dispensed.events];
    let current = dispensed.record;
    if (resource.whenHandedOver) {
      const completed = await move(deps, scope, ctx, current, 'complete', null);
      if (!completed) throw new DomainError('PRECONDITION_FAILED', 'The prescription changed while it was dispensed; re-read and retry.');
      current = completed.record;
      events.push(...completed.events);
    }
    await commitEvents(scope, events);
    if (input.idempotencyKey !== undefined && hash !== undefined) {
      await scope.idempotency.save(
        { key: input.idempotencyKey, operation: OPERATION, requestHash: hash, resourceType: 'MedicationDispense', resourceId: dispense.id, versionId: 1, statusCode: 201 },
        deps.idempotencyTtlSeconds,
      );
    }
    return { dispense, prescription: current, replayed: false };
  });
}

/** GraphQL `transitionPrescription(event: DISPENSE)`: the dispense the prescription asks for. */
export async function dispenseAsPrescribed(deps: UseCaseDeps, ctx: RequestContext, input: { id: string; ifMatch?: string }): Promise<DispenseResult> {
  assertPersonaMayTransition(ctx.actor, 'dispense');
  const resource: MedicationDispenseResource = {
    resourceType: 'MedicationDispense',
    status: 'completed',
    authorizingPrescription: [{ reference: `MedicationRequest/${input.id}` }],
    whenPrepared: deps.clock.now().toISOString(),
  };
  return createMedicationDispense(deps, ctx, { resource, ifMatch: input.ifMatch, defaultsFromPrescription: true });
}

function withPrescriptionDefaults(dispense: MedicationDispenseResource, prescription: MedicationRequestRecord): MedicationDispenseResource {
  const p = prescription.resource;
  return {
    ...dispense,
    ...(dispense.medicationCodeableConcept ? {} : { medicationCodeableConcept: p.medicationCodeableConcept }),
    ...(dispense.quantity || !p.dispenseRequest?.quantity ? {} : { quantity: p.dispenseRequest.quantity }),
  };
}

function dispenseEvent(deps: UseCaseDeps, ctx: RequestContext, type: (typeof EVENT_TYPES)['medicationDispenseCreated' | 'medicationDispenseUpdated'], dispense: MedicationDispenseRecord, prescription: MedicationRequestRecord): EventEnvelope {
  return buildEvent(ctx, type, { resource: dispense.resource as never, ...relatedEventContext(prescription) }, { eventId: deps.newId(), timestamp: dispense.lastUpdated });
}

export interface UpdateDispenseInput {
  id: string;
  resource: unknown;
  ifMatch: string | undefined;
}

/**
 * Replaces a dispense's content (allowed at any time, with If-Match). Setting `whenHandedOver`
 * for the first time completes a prescription that is `dispensed` (CONTRACT §3).
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
        issues: [{ expression: 'MedicationDispense.authorizingPrescription[0].reference', diagnostics: `must stay MedicationRequest/${current.prescriptionId}.` }],
      });
    }
    if (input.ifMatch === undefined || input.ifMatch.trim() === '') {
      throw new DomainError('PRECONDITION_REQUIRED', `Updates need If-Match with the current version (now ${etagOf(current.versionId)}).`);
    }
    if (parseIfMatch(input.ifMatch) !== current.versionId) throw stale(current);
    const prescription = await scope.medicationRequests.findById(current.prescriptionId);
    if (!prescription) throw prescriptionNotFound(current.prescriptionId);

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
      }),
    };
    if (!(await scope.dispenses.updateIfVersion(record, current.versionId))) throw stale((await scope.dispenses.findById(current.id)) ?? current);

    const events = [dispenseEvent(deps, ctx, EVENT_TYPES.medicationDispenseUpdated, record, prescription)];
    let latest = prescription;
    if (resource.whenHandedOver && !current.resource.whenHandedOver && prescription.workflowStatus === 'dispensed') {
      assertPersonaMayTransition(ctx.actor, 'complete');
      const completed = await moveWithRetry(deps, scope, ctx, { id: prescription.id, event: 'complete', missing: notFound });
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
