import { DomainError, isObject, pharmacyIdOf, validateMedicationRequest, validityEndOf, type Issue, type MedicationRequestResource } from '../../domain/index.js';
import type { UseCaseDeps } from '../deps.js';
import { assertValid, checkCodes, tagDeferred } from '../validation.js';

/**
 * Validation (422: gateway rules, FHIR R4 structure, medication codes) then the pharmacy routing
 * (422 `PHARMACY_NOT_FOUND`), in the order of CONTRACT §2. Shared by create, update and patch so
 * both transports get the same answer. Answers the resource to store (tagged when the terminology
 * check was deferred).
 */
export async function assertValidMedicationRequest(deps: UseCaseDeps, input: unknown): Promise<MedicationRequestResource> {
  const now = deps.clock.now();
  let resource = assertValid<MedicationRequestResource>(deps, 'MedicationRequest', input, (r) => [...validateMedicationRequest(r), ...validityIssues(r, now)]);
  const { deferred } = await checkCodes(deps, resource.medicationCodeableConcept, 'MedicationRequest.medicationCodeableConcept');
  if (deferred) resource = tagDeferred(resource);
  const pharmacyId = pharmacyIdOf(resource)!;
  if (!(await deps.pharmacyRouter.resolve(pharmacyId))) {
    throw new DomainError('PHARMACY_NOT_FOUND', `Organization/${pharmacyId} is not a pharmacy in the directory; search /fhir/Organization for one.`, {
      issues: [{ expression: 'MedicationRequest.dispenseRequest.performer', diagnostics: `Organization/${pharmacyId} is not in the pharmacy directory.` }],
    });
  }
  return resource;
}

/**
 * CONTRACT §4: dates in the past are accepted (records are imported), except a validity that has
 * already ended: such a prescription could never be filled.
 */
function validityIssues(input: unknown, now: Date): Issue[] {
  if (!isObject(input) || !isObject(input.dispenseRequest)) return [];
  const ends = validityEndOf(input as Pick<MedicationRequestResource, 'dispenseRequest'>);
  if (ends === null || ends > now) return [];
  const end = String((input.dispenseRequest.validityPeriod as { end?: unknown }).end);
  return [{ expression: 'MedicationRequest.dispenseRequest.validityPeriod.end', diagnostics: `The validity period ended at ${end}: the prescription could never be filled; send a later end.` }];
}
