import { describe, expect, it } from 'vitest';
import { authorizeWrite } from '../../../src/application/use-cases/authorize-write.use-case.js';
import { createMedicationRequest } from '../../../src/application/use-cases/create-medication-request.use-case.js';
import { createMedicationDispense, updateMedicationDispense } from '../../../src/application/use-cases/medication-dispense.use-case.js';
import { transitionPrescription } from '../../../src/application/use-cases/transition-prescription.use-case.js';
import { updateMedicationRequest } from '../../../src/application/use-cases/update-medication-request.use-case.js';
import { type Persona, personaMay, PERSONAS, RESOURCE_WRITERS, WRITE_PERMISSIONS, type WriteAction } from '../../../src/domain/index.js';
import { codeOf, contextOf, createFakeDeps, createPrescription, type FakeDeps, prescriptionIn, send } from '../../support/fakes/index.js';
import { CONTROLLED_CODES, prescription, SAMPLE_REQUESTS } from '../../support/fixtures.js';

/**
 * CONTRACT §1 through the use-cases: who may write what. The expected personas are written out
 * here; the code's table (`domain/permissions.ts`) must agree with them.
 */
const EXPECTED: Record<string, readonly Persona[]> = {
  'medication-request.create': ['ehr-backend'],
  'medication-request.update': ['ehr-backend'],
  'medication-dispense.write': ['pharmacy-backend'],
  'subscription.register': ['ehr-backend', 'pharmacy-backend'],
  'subscription.replay': ['platform-admin'],
  'dead-letter.manage': ['platform-admin'],
  'audit.read': ['platform-admin'],
};

describe('write permissions', () => {
  it('the table is the contract, action by action', () => {
    expect(Object.keys(WRITE_PERMISSIONS).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [action, personas] of Object.entries(EXPECTED)) {
      for (const persona of PERSONAS) expect(personaMay(persona, action as WriteAction), `${persona} ${action}`).toBe(personas.includes(persona));
      expect(personaMay('system', action as WriteAction)).toBe(false);
    }
  });

  it('who writes each resource type at all', () => {
    expect(RESOURCE_WRITERS).toEqual({
      MedicationRequest: ['ehr-backend'],
      MedicationDispense: ['pharmacy-backend'],
      Task: ['ehr-backend', 'pharmacy-backend', 'payer-backend'], // the payer moves a PA Task (CONTRACT §9)
      Subscription: ['ehr-backend', 'pharmacy-backend', 'platform-admin'],
    });
  });

  it('a refusal by authorizeWrite is audited as denied, with the code', () => {
    const deps = createFakeDeps();
    expect(() => authorizeWrite(deps, contextOf('pharmacy-backend'), 'medication-request.create')).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN_WRITE_PERSONA' }),
    );
    expect(() => authorizeWrite(deps, contextOf('platform-admin'), { resourceType: 'MedicationDispense' })).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN_WRITE_PERSONA' }),
    );
    expect(() => authorizeWrite(deps, contextOf('ehr-backend'), { resourceType: 'Organization' })).not.toThrow();
    expect(deps.auditedLater.map((e) => [e.outcome, e.outcomeCode, e.persona])).toEqual([
      ['denied', 'FORBIDDEN_WRITE_PERSONA', 'pharmacy-backend'],
      ['denied', 'FORBIDDEN_WRITE_PERSONA', 'platform-admin'],
    ]);
  });
});

describe('use-cases refuse a persona before anything else', () => {
  const WRITES: Array<[string, Persona, (deps: FakeDeps, persona: Persona) => Promise<unknown>]> = [
    [
      'create a prescription',
      'ehr-backend',
      (deps, persona) => createMedicationRequest(deps, contextOf(persona), { resource: { resourceType: 'not even valid' } }),
    ],
    [
      'update a prescription',
      'ehr-backend',
      (deps, persona) => updateMedicationRequest(deps, contextOf(persona), { id: 'missing', resource: {}, ifMatch: undefined }),
    ],
    ['create a dispense', 'pharmacy-backend', (deps, persona) => createMedicationDispense(deps, contextOf(persona), { resource: {} })],
    [
      'update a dispense',
      'pharmacy-backend',
      (deps, persona) => updateMedicationDispense(deps, contextOf(persona), { id: 'missing', resource: {}, ifMatch: undefined }),
    ],
  ];
  for (const [what, allowed, write] of WRITES) {
    for (const persona of PERSONAS.filter((p) => p !== allowed)) {
      it(`${persona} may not ${what}: 403 before validation, existence or If-Match, no transaction`, async () => {
        const deps = createFakeDeps();
        expect(await codeOf(write(deps, persona))).toBe('FORBIDDEN_WRITE_PERSONA');
        expect(deps.uow.counts()).toEqual({ committed: 0, rolledBack: 0 });
      });
    }
    it(`${allowed} gets past the persona check to ${what} (and is then judged on the request)`, async () => {
      expect(await codeOf(write(createFakeDeps(), allowed))).not.toBe('FORBIDDEN_WRITE_PERSONA');
    });
  }
});

describe('approving a controlled substance (CONTRACT §8)', () => {
  const controlled = (): fhir4.MedicationRequest => {
    const index = SAMPLE_REQUESTS.findIndex((r) => (r.medicationCodeableConcept?.coding ?? []).some((c) => CONTROLLED_CODES.has(c.code ?? '')));
    return { ...prescription({ index }), dispenseRequest: { ...prescription().dispenseRequest, numberOfRepeatsAllowed: 0 } };
  };

  it('needs a second factor in the token: EPCS_TWO_FACTOR_REQUIRED without, approved with mfa', async () => {
    const deps = createFakeDeps();
    const record = await createPrescription(deps, { resource: controlled() });
    const approve = (amr?: string[]) => transitionPrescription(deps, contextOf('ehr-backend', 'tenant-a', { amr }), { id: record.id, event: 'approve' });
    expect(await codeOf(approve())).toBe('EPCS_TWO_FACTOR_REQUIRED');
    expect(await codeOf(approve(['pwd']))).toBe('EPCS_TWO_FACTOR_REQUIRED');
    expect((await approve(['mfa'])).workflowStatus).toBe('approved');
  });

  it('an uncontrolled prescription is approved without a second factor', async () => {
    const deps = createFakeDeps();
    const record = await createPrescription(deps);
    expect((await send(deps, record.id, 'approve')).workflowStatus).toBe('approved');
  });

  it('the persona is refused before the second factor is asked for', async () => {
    const deps = createFakeDeps();
    const record = await prescriptionIn(deps, 'requested');
    expect(await codeOf(send(deps, record.id, 'process'))).toBe('INVALID_TRANSITION');
    expect(await codeOf(transitionPrescription(deps, contextOf('pharmacy-backend'), { id: record.id, event: 'approve' }))).toBe('FORBIDDEN_WRITE_PERSONA');
  });
});
