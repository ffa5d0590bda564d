import { fileURLToPath } from 'node:url';
import { prescription, uniquePatient } from './fixtures.js';

const EPOGEN = '205923'; // epoetin alfa: a classic PA medication, not controlled

/**
 * A tenant rules file marking epoetin alfa for prior authorization (CONTRACT §8):
 * test/fixtures/prior-authorization-rules.json, kept beside the other fixtures.
 */
export function priorAuthorizationRulesFile(): string {
  return fileURLToPath(new URL('../fixtures/prior-authorization-rules.json', import.meta.url));
}

/** A prescription of a medication that needs PA. */
export function paPrescription(priority?: fhir4.MedicationRequest['priority']): fhir4.MedicationRequest {
  const body = prescription({ patient: uniquePatient() });
  return {
    ...body,
    medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: EPOGEN, display: 'Epoetin alfa' }] },
    ...(priority ? { priority } : {}),
  };
}
