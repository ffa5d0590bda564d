import { describe, expect, it } from 'vitest';
import { createMedicationRequest } from '../../../src/application/use-cases/create-medication-request.use-case.js';
import { searchMedicationRequests } from '../../../src/application/use-cases/read-medication-requests.use-case.js';
import { DomainError, MAX_SEARCH_VALUE_LENGTH, MAX_STRING_LENGTH } from '../../../src/domain/index.js';
import { contextOf, createFakeDeps, createPrescription, fhirSchemaValidator, send, stored } from '../../support/fakes/index.js';
import { prescription } from '../../support/fixtures.js';

/** The string bounds of `domain/input-limits` as the use-cases apply them (issue #7, item 5). */
describe('input limits through the use-cases', () => {
  const over = (n: number) => 'x'.repeat(n + 1);
  const failure = (call: Promise<unknown>) =>
    call.then(
      () => undefined,
      (e: unknown) => e as DomainError,
    );

  it('an oversized string in a prescription is 422 naming its FHIRPath, alone, before anything is stored', async () => {
    // The real FHIR structure validator: the size check must come first and keep it from describing the string again.
    const deps = createFakeDeps({ igValidator: fhirSchemaValidator() });
    const resource = { ...prescription(), note: [{ text: 'fine' }, { text: over(MAX_STRING_LENGTH) }] };
    const error = await failure(createMedicationRequest(deps, contextOf('ehr-backend'), { resource }));
    expect(error?.code).toBe('PROFILE_VALIDATION_FAILURE');
    expect(error?.issues.map((i) => i.expression)).toEqual(['MedicationRequest.note[1].text']);
    expect(JSON.stringify(error?.issues)).not.toContain('x'.repeat(100));
    expect(deps.uow.counts()).toEqual({ committed: 0, rolledBack: 0 });
  });

  it('a string at the bound is accepted', async () => {
    const deps = createFakeDeps();
    const resource = { ...prescription(), note: [{ text: 'y'.repeat(MAX_STRING_LENGTH) }] };
    expect((await createMedicationRequest(deps, contextOf('ehr-backend'), { resource })).record.resource.note).toHaveLength(1);
  });

  it('a transition reason over the bound is 422 on statusReason, and nothing moves', async () => {
    const deps = createFakeDeps();
    const record = await createPrescription(deps);
    const error = await failure(send(deps, record.id, 'cancel', { reason: over(MAX_STRING_LENGTH) }));
    expect(error?.code).toBe('PROFILE_VALIDATION_FAILURE');
    expect(error?.issues[0].expression).toBe('MedicationRequest.statusReason.text');
    expect((await stored(deps, record.id))!.workflowStatus).toBe('requested');
    expect((await send(deps, record.id, 'cancel', { reason: 'y'.repeat(MAX_STRING_LENGTH) })).workflowStatus).toBe('cancelled');
  });

  it('a search value over the bound is 400 BAD_REQUEST before the store is asked', async () => {
    const deps = createFakeDeps();
    const error = await failure(
      searchMedicationRequests(deps, contextOf('pharmacy-backend'), { patientId: over(MAX_SEARCH_VALUE_LENGTH) }, { limit: 10, withTotal: false }),
    );
    expect(error?.code).toBe('BAD_REQUEST');
    expect(deps.uow.counts()).toEqual({ committed: 0, rolledBack: 0 });
    const page = await searchMedicationRequests(
      deps,
      contextOf('pharmacy-backend'),
      { patientId: 'y'.repeat(MAX_SEARCH_VALUE_LENGTH) },
      { limit: 10, withTotal: true },
    );
    expect(page.total).toBe(0);
  });
});
