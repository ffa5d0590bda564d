import { describe, expect, it } from 'vitest';
import {
  materializeMedicationRequest,
  searchTermsOf,
  tokenQueryTerm,
  tokenTerms,
  validateMedicationRequest,
  WORKFLOW_STATUS_EXTENSION,
} from '../../src/domain/index.js';
import { prescription, SAMPLE_REQUESTS } from '../support/fixtures.js';

describe('validateMedicationRequest', () => {
  it('accepts every sample request once a pharmacy is added', () => {
    for (let index = 0; index < SAMPLE_REQUESTS.length; index++) expect(validateMedicationRequest(prescription({ index }))).toEqual([]);
  });

  it('refuses the sample requests as published: they name no pharmacy', () => {
    expect(validateMedicationRequest(SAMPLE_REQUESTS[0]).map((i) => i.expression)).toEqual(['MedicationRequest.dispenseRequest.performer']);
  });

  it('reports every problem at once, each with its FHIRPath', () => {
    const issues = validateMedicationRequest({
      resourceType: 'MedicationRequest',
      status: 'bogus',
      intent: 'proposal',
      subject: { reference: 'Patient/' },
      medicationReference: { reference: 'Medication/1' },
      authoredOn: '21/11/2026',
      identifier: [{ system: 'urn:x' }],
      dispenseRequest: { performer: { reference: 'Practitioner/1' }, quantity: { value: 0 }, numberOfRepeatsAllowed: 1.5, validityPeriod: { start: 'soon' } },
    });
    expect(issues.map((i) => i.expression)).toEqual([
      'MedicationRequest.status',
      'MedicationRequest.intent',
      'MedicationRequest.subject.reference',
      'MedicationRequest.medicationReference',
      'MedicationRequest.medicationCodeableConcept',
      'MedicationRequest.authoredOn',
      'MedicationRequest.identifier[0].value',
      'MedicationRequest.dispenseRequest.performer.reference',
      'MedicationRequest.dispenseRequest.quantity.value',
      'MedicationRequest.dispenseRequest.numberOfRepeatsAllowed',
      'MedicationRequest.dispenseRequest.validityPeriod.start',
    ]);
  });

  it('refuses things that are not a MedicationRequest', () => {
    expect(validateMedicationRequest(null)[0].expression).toBe('MedicationRequest');
    expect(validateMedicationRequest([])[0].expression).toBe('MedicationRequest');
    expect(validateMedicationRequest({ ...prescription(), resourceType: 'Patient' })[0].expression).toBe('MedicationRequest.resourceType');
  });

  it('accepts ATC codes and past dates', () => {
    const atc = {
      ...prescription(),
      authoredOn: '1923-11-10',
      medicationCodeableConcept: { coding: [{ system: 'http://www.whocc.no/atc', code: 'C09AA03' }] },
    };
    expect(validateMedicationRequest(atc)).toEqual([]);
  });
});

describe('materializeMedicationRequest', () => {
  it('sets id, meta and the status of the workflow, replacing client-sent ones and keeping other extensions', () => {
    const input = {
      ...prescription(),
      id: 'client-id',
      status: 'completed' as const,
      meta: { versionId: '99', profile: ['http://example.org/p'] },
      extension: [
        { url: WORKFLOW_STATUS_EXTENSION, valueCode: 'completed' },
        { url: 'urn:other', valueString: 'kept' },
      ],
    };
    const at = new Date('2026-11-21T10:00:00Z');
    const out = materializeMedicationRequest(input, { id: 'server-id', versionId: 3, lastUpdated: at, workflowStatus: 'approved' });
    expect(out.id).toBe('server-id');
    expect(out.meta).toEqual({ profile: ['http://example.org/p'], versionId: '3', lastUpdated: '2026-11-21T10:00:00.000Z' });
    expect(out.status).toBe('active');
    expect(out.extension).toEqual([
      { url: 'urn:other', valueString: 'kept' },
      { url: WORKFLOW_STATUS_EXTENSION, valueCode: 'approved' },
    ]);
  });
});

describe('token search terms (FHIR R4 search.html#token)', () => {
  it('answer system|value, value, system| and |value queries', () => {
    const terms = tokenTerms('urn:s', 'v1');
    for (const q of ['urn:s|v1', 'v1', 'urn:s|']) expect(terms).toContain(tokenQueryTerm(q));
    expect(terms).not.toContain(tokenQueryTerm('|v1'));
    expect(tokenTerms(undefined, 'v2')).toContain(tokenQueryTerm('|v2'));
  });

  it('derive search columns from the resource', () => {
    const terms = searchTermsOf({ ...prescription({ patient: 'p9', pharmacy: 'FM664' }), authoredOn: '2021-03' });
    expect(terms).toMatchObject({ patientId: 'p9', pharmacyId: 'FM664', authoredOn: new Date('2021-03-01T00:00:00Z') });
  });
});
