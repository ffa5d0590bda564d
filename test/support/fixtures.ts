import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Synthetic Synthea MedicationRequests (see test/fixtures/README.md). */
export const SAMPLE_REQUESTS: fhir4.MedicationRequest[] = readFileSync(
  fileURLToPath(new URL('../fixtures/medication-requests.sample.ndjson', import.meta.url)),
  'utf8',
)
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as fhir4.MedicationRequest);

/** RxNorm codes of the shipped controlled-substance list (data/controlled-substances.json). */
export const CONTROLLED_CODES: ReadonlySet<string> = new Set(
  (JSON.parse(readFileSync(fileURLToPath(new URL('../../data/controlled-substances.json', import.meta.url)), 'utf8')) as Array<{ code: string }>).map(
    (c) => c.code,
  ),
);

/**
 * Sample requests of uncontrolled medications: tests that do not pick an `index` get these, so the
 * prescribing rules of controlled substances (CONTRACT §8) stay out of their way.
 */
const UNCONTROLLED_REQUESTS = SAMPLE_REQUESTS.filter((r) => !(r.medicationCodeableConcept?.coding ?? []).some((c) => CONTROLLED_CODES.has(c.code ?? '')));

/** Directory pharmacies of the development seed (data/pharmacies.json). */
export const PHARMACY_A = 'FM664';
export const PHARMACY_B = 'FFP01';

let counter = 0;

/**
 * A valid prescription built from a sample request: the source data has no pharmacy or quantity,
 * so both are added, and the patient can be overridden to isolate a test's data. One fill unless
 * `repeats` says otherwise (CONTRACT §7: `1 + numberOfRepeatsAllowed` fills).
 */
export function prescription(overrides: { patient?: string; pharmacy?: string; index?: number; repeats?: number } = {}): fhir4.MedicationRequest {
  const source =
    overrides.index === undefined ? UNCONTROLLED_REQUESTS[counter++ % UNCONTROLLED_REQUESTS.length] : SAMPLE_REQUESTS[overrides.index % SAMPLE_REQUESTS.length];
  const { id: _id, ...rest } = source;
  return {
    ...rest,
    ...(overrides.patient ? { subject: { reference: `Patient/${overrides.patient}` } } : {}),
    dispenseRequest: {
      performer: { reference: `Organization/${overrides.pharmacy ?? PHARMACY_A}` },
      quantity: { value: 30, unit: 'tablet' },
      numberOfRepeatsAllowed: overrides.repeats ?? 0,
    },
  };
}

export const uniquePatient = (): string => `p-${Math.random().toString(36).slice(2, 10)}`;

/** A workflow Task (CONTRACT §3): `code` approve|abort|fulfill with `status` names the event it sends to `focus`. */
export const workflowTask = (focus: string, code: string, status: string): fhir4.Task => ({
  resourceType: 'Task',
  status: status as fhir4.Task['status'],
  intent: 'order',
  code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code }] },
  focus: { reference: `MedicationRequest/${focus}` },
});

/** A Subscription on the R4 websocket channel (CONTRACT §4). */
export const websocketSubscription = (criteria: string, reason = 'test'): fhir4.Subscription => ({
  resourceType: 'Subscription',
  status: 'requested',
  reason,
  criteria,
  channel: { type: 'websocket' },
});
