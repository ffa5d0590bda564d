import { createMedicationRequest } from '../../../src/application/use-cases/create-medication-request.use-case.js';
import { transitionPrescription } from '../../../src/application/use-cases/transition-prescription.use-case.js';
import { DomainError, type MedicationRequestRecord, type WorkflowEvent, type WorkflowState } from '../../../src/domain/index.js';
import { prescription } from '../fixtures.js';
import { PATH_TO as CLIENT_PATHS, PERSONA_OF } from '../workflow-paths.js';
import { contextOf, type FakeDeps } from './fake-deps.js';

/** Who sends each event (CONTRACT §1, §7), so a test can drive a prescription without naming personas. */
export const SENDER: Readonly<Record<WorkflowEvent, 'ehr-backend' | 'pharmacy-backend' | 'system'>> = { ...PERSONA_OF, expire: 'system' };

/** The events that take a new prescription to each state of workflow version 2 (CONTRACT §3, §7). */
export const PATH_TO: Readonly<Record<WorkflowState, readonly WorkflowEvent[]>> = {
  ...CLIENT_PATHS,
  // With a repeat left, the first fill's completion leads here.
  refillable: CLIENT_PATHS.completed,
  expired: ['expire'],
};

/** Creates a prescription (as the EHR) in `tenantId`; `repeats` refills after the first fill. */
export async function createPrescription(
  deps: FakeDeps,
  options: { repeats?: number; tenantId?: string; resource?: fhir4.MedicationRequest } = {},
): Promise<MedicationRequestRecord> {
  const resource = options.resource ?? prescription({ repeats: options.repeats ?? 0 });
  return (await createMedicationRequest(deps, contextOf('ehr-backend', options.tenantId), { resource })).record;
}

/** Sends `event` as its sender. */
export const send = (deps: FakeDeps, id: string, event: WorkflowEvent, options: { ifMatch?: string; reason?: string | null; tenantId?: string } = {}) =>
  transitionPrescription(deps, contextOf(SENDER[event], options.tenantId), { id, event, ifMatch: options.ifMatch, reason: options.reason });

/** A new prescription moved to `state` through the use-cases (`refillable` needs fills left, so it gets a repeat). */
export async function prescriptionIn(deps: FakeDeps, state: WorkflowState, options: { repeats?: number } = {}): Promise<MedicationRequestRecord> {
  let record = await createPrescription(deps, { repeats: options.repeats ?? (state === 'refillable' ? 1 : 0) });
  for (const event of PATH_TO[state]) record = await send(deps, record.id, event);
  if (record.workflowStatus !== state) throw new Error(`driving to ${state} ended in ${record.workflowStatus}`);
  return record;
}

/** The `DomainError` code a call fails with; `undefined` when it succeeds. */
export async function codeOf(call: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof call === 'function' ? call() : call);
    return undefined;
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
}

/** The stored prescription, read in its own transaction. */
export const stored = (deps: FakeDeps, id: string, tenantId = 'tenant-a') => deps.uow.read(tenantId, (scope) => scope.medicationRequests.findById(id));
