import { describe, expect, it } from 'vitest';
import { etagOf } from '../../../src/application/etag.js';
import { updateMedicationRequest } from '../../../src/application/use-cases/update-medication-request.use-case.js';
import { checkIfMatch, retryOnConflict } from '../../../src/application/versioned-write.js';
import { DomainError } from '../../../src/domain/index.js';
import { codeOf, contextOf, createFakeDeps, createPrescription, prescriptionIn, send, stored } from '../../support/fakes/index.js';
import { prescription } from '../../support/fixtures.js';

/** CONTRACT §4 (FHIR R4 http.html#concurrency): If-Match on updates and conditional transitions. */
describe('If-Match on update', () => {
  const ehr = () => contextOf('ehr-backend');
  const withNote = (resource: fhir4.MedicationRequest, text: string): fhir4.MedicationRequest => ({ ...resource, note: [{ text }] });

  it('missing is PRECONDITION_REQUIRED; the prescription is unchanged', async () => {
    const deps = createFakeDeps();
    const record = await createPrescription(deps);
    for (const ifMatch of [undefined, '', '  ']) {
      expect(await codeOf(updateMedicationRequest(deps, ehr(), { id: record.id, resource: withNote(record.resource, 'x'), ifMatch }))).toBe(
        'PRECONDITION_REQUIRED',
      );
    }
    expect(await stored(deps, record.id)).toEqual(record);
  });

  it('stale is PRECONDITION_FAILED carrying the current resource; current writes the next version', async () => {
    const deps = createFakeDeps();
    const record = await createPrescription(deps);
    const v2 = await updateMedicationRequest(deps, ehr(), { id: record.id, resource: withNote(record.resource, 'first'), ifMatch: etagOf(1) });
    expect(v2.versionId).toBe(2);
    const error = await updateMedicationRequest(deps, ehr(), { id: record.id, resource: withNote(record.resource, 'lost'), ifMatch: etagOf(1) }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('PRECONDITION_FAILED');
    expect((error as DomainError).current).toEqual(v2.resource);
    expect((await stored(deps, record.id))!.resource.note).toEqual([{ text: 'first' }]);
  });

  it('two writers with the same If-Match: exactly one wins, the other is told its version is stale', async () => {
    const deps = createFakeDeps();
    const record = await createPrescription(deps);
    const results = await Promise.allSettled(
      ['a', 'b'].map((text) => updateMedicationRequest(deps, ehr(), { id: record.id, resource: withNote(record.resource, text), ifMatch: etagOf(1) })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const [lost] = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect((lost.reason as DomainError).code).toBe('PRECONDITION_FAILED');
    const history = await deps.uow.read('tenant-a', (s) => s.history.list(record.id));
    expect(history.map((h) => h.versionId)).toEqual([2, 1]);
  });

  it('content may change only while requested or approved (UPDATE_NOT_ALLOWED after)', async () => {
    const deps = createFakeDeps();
    const record = await prescriptionIn(deps, 'processing');
    expect(
      await codeOf(updateMedicationRequest(deps, ehr(), { id: record.id, resource: withNote(prescription(), 'late'), ifMatch: etagOf(record.versionId) })),
    ).toBe('UPDATE_NOT_ALLOWED');
  });
});

describe('If-Match on transitions', () => {
  it('optional: without it the move is unconditional; with the current version it moves; stale is PRECONDITION_FAILED', async () => {
    const deps = createFakeDeps();
    const record = await createPrescription(deps);
    expect(await codeOf(send(deps, record.id, 'approve', { ifMatch: etagOf(2) }))).toBe('PRECONDITION_FAILED');
    expect((await stored(deps, record.id))!.workflowStatus).toBe('requested');
    const approved = await send(deps, record.id, 'approve', { ifMatch: etagOf(1) });
    expect(approved.workflowStatus).toBe('approved');
    expect((await send(deps, record.id, 'process')).versionId).toBe(3);
  });

  it('If-Match is checked before the state: a stale version of a final prescription is 412, not 409', async () => {
    const deps = createFakeDeps();
    const record = await prescriptionIn(deps, 'rejected');
    expect(await codeOf(send(deps, record.id, 'approve', { ifMatch: etagOf(1) }))).toBe('PRECONDITION_FAILED');
    expect(await codeOf(send(deps, record.id, 'approve', { ifMatch: etagOf(2) }))).toBe('INVALID_TRANSITION');
  });

  it('racing moves without If-Match never both win: the loser is retried against the new state', async () => {
    const deps = createFakeDeps();
    const record = await prescriptionIn(deps, 'approved');
    const results = await Promise.allSettled([send(deps, record.id, 'process'), send(deps, record.id, 'cancel')]);
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
    expect((lost.reason as DomainError).code).toBe('INVALID_TRANSITION');
    expect((await stored(deps, record.id))!.versionId).toBe(3);
  });
});

describe('checkIfMatch and retryOnConflict (the one routine each)', () => {
  const current = { versionId: 3, resource: { id: 'x' } };

  it('accepts the weak ETag of the current version, strong or weak', () => {
    expect(() => checkIfMatch('W/"3"', current, { required: true })).not.toThrow();
    expect(() => checkIfMatch('"3"', current, { required: true })).not.toThrow();
    expect(() => checkIfMatch(undefined, current, { required: false })).not.toThrow();
  });

  it('retries while the write loses, and gives up with PRECONDITION_FAILED', async () => {
    let attempts = 0;
    expect(await retryOnConflict(async () => (++attempts < 3 ? undefined : 'written'))).toBe('written');
    expect(attempts).toBe(3);
    attempts = 0;
    expect(await codeOf(retryOnConflict(async () => void attempts++, 4))).toBe('PRECONDITION_FAILED');
    expect(attempts).toBe(4);
  });

  it('an error inside an attempt is not retried', async () => {
    let attempts = 0;
    await expect(
      retryOnConflict(async () => {
        attempts++;
        throw new DomainError('INVALID_TRANSITION', 'no');
      }),
    ).rejects.toThrow('no');
    expect(attempts).toBe(1);
  });
});
