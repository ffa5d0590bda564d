import { DomainError, pharmacyIdOf, validateMedicationRequest, validationFailure, type MedicationRequestResource } from '../../domain/index.js';
import type { UseCaseDeps } from '../deps.js';

/**
 * Validation (422) then existence of the pharmacy (422 `PHARMACY_NOT_FOUND`), in the order of
 * CONTRACT §2. Shared by create and update so both transports get the same answer.
 */
export async function assertValidMedicationRequest(deps: UseCaseDeps, input: unknown): Promise<MedicationRequestResource> {
  const issues = validateMedicationRequest(input);
  if (issues.length > 0) throw validationFailure(issues);
  const resource = input as MedicationRequestResource;
  const pharmacyId = pharmacyIdOf(resource)!;
  const [pharmacy] = await deps.pharmacies.findByIds([pharmacyId]);
  if (!pharmacy) {
    throw new DomainError('PHARMACY_NOT_FOUND', `Organization/${pharmacyId} is not a pharmacy in the directory; search /fhir/Organization for one.`, {
      issues: [{ expression: 'MedicationRequest.dispenseRequest.performer', diagnostics: `Organization/${pharmacyId} is not in the pharmacy directory.` }],
    });
  }
  return resource;
}
