import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { prescription, uniquePatient } from './fixtures.js';

const EPOGEN = '205923'; // epoetin alfa: a classic PA medication, not controlled

/** A tenant rules file marking the medication for prior authorization (CONTRACT §8). */
export function priorAuthorizationRulesFile(): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'rxgate-pa-')), 'rules.json');
  writeFileSync(
    file,
    JSON.stringify({
      ruleSets: [
        {
          id: 'tenant-a-payer',
          version: '1',
          tenants: ['tenant-a'],
          rules: [
            {
              id: 'tenant-a.epoetin-pa',
              description: "Epoetin alfa needs the payer's prior authorization.",
              citation: 'tenant-a payer formulary',
              rxnormCodes: [EPOGEN],
              requiresPriorAuthorization: true,
            },
          ],
        },
      ],
    }),
  );
  return file;
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
