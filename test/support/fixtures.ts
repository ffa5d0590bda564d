import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Synthetic Synthea MedicationRequests (see test/fixtures/README.md). */
export const SAMPLE_REQUESTS: fhir4.MedicationRequest[] = readFileSync(fileURLToPath(new URL('../fixtures/medication-requests.sample.ndjson', import.meta.url)), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as fhir4.MedicationRequest);

/** Directory pharmacies of the development seed (data/pharmacies.json). */
export const PHARMACY_A = 'FM664';
export const PHARMACY_B = 'FFP01';

let counter = 0;

/**
 * A valid prescription built from a sample request: the source data has no pharmacy or quantity,
 * so both are added, and the patient can be overridden to isolate a test's data.
 */
export function prescription(overrides: { patient?: string; pharmacy?: string; index?: number } = {}): fhir4.MedicationRequest {
  const source = SAMPLE_REQUESTS[(overrides.index ?? counter++) % SAMPLE_REQUESTS.length];
  const { id: _id, ...rest } = source;
  return {
    ...rest,
    ...(overrides.patient ? { subject: { reference: `Patient/${overrides.patient}` } } : {}),
    dispenseRequest: { performer: { reference: `Organization/${overrides.pharmacy ?? PHARMACY_A}` }, quantity: { value: 30, unit: 'tablet' }, numberOfRepeatsAllowed: 1 },
  };
}

export const uniquePatient = (): string => `p-${Math.random().toString(36).slice(2, 10)}`;
