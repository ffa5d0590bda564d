import { describe, expect, it } from 'vitest';
import { idempotently, requestHash } from '../../../src/application/idempotency.js';
import { createMedicationRequest } from '../../../src/application/use-cases/create-medication-request.use-case.js';
import { createMedicationDispense } from '../../../src/application/use-cases/medication-dispense.use-case.js';
import { EVENT_TYPES } from '../../../src/domain/index.js';
import { codeOf, contextOf, createFakeDeps, prescriptionIn, stored } from '../../support/fakes/index.js';
import { prescription } from '../../support/fixtures.js';

/** CONTRACT §4: Idempotency-Key → fingerprint → claim → replay or run → save, through the use-cases. */
describe('idempotent creates', () => {
  const ehr = () => contextOf('ehr-backend');
  const createdEvents = (deps: ReturnType<typeof createFakeDeps>) =>
    deps.uow.outbox().filter((e) => e.metadata.eventType === EVENT_TYPES.medicationRequestCreated);

  it('the same key with the same body answers the first result again, creating nothing more', async () => {
    const deps = createFakeDeps();
    const resource = prescription();
    const first = await createMedicationRequest(deps, ehr(), { resource, idempotencyKey: 'order-1' });
    const again = await createMedicationRequest(deps, ehr(), { resource: structuredClone(resource), idempotencyKey: 'order-1' });
    expect(first.replayed).toBe(false);
    expect(again).toEqual({ record: first.record, replayed: true });
    expect(createdEvents(deps)).toHaveLength(1);
    const all = await deps.uow.read('tenant-a', (s) => s.medicationRequests.search({ sort: 'seq', descending: false, limit: 10, withTotal: true }));
    expect(all.total).toBe(1);
  });

  it('the replay is the version the key created, even after the prescription moved on', async () => {
    const deps = createFakeDeps();
    const resource = prescription();
    const first = await createMedicationRequest(deps, ehr(), { resource, idempotencyKey: 'order-2' });
    await deps.uow.transaction('tenant-a', async (s) => {
      const current = (await s.medicationRequests.findById(first.record.id))!;
      await s.medicationRequests.updateIfVersion({ ...current, versionId: 2 }, 1);
    });
    expect((await createMedicationRequest(deps, ehr(), { resource, idempotencyKey: 'order-2' })).record.versionId).toBe(1);
  });

  it('the same key with a different body is IDEMPOTENCY_KEY_CONFLICT and writes nothing', async () => {
    const deps = createFakeDeps();
    await createMedicationRequest(deps, ehr(), { resource: prescription(), idempotencyKey: 'order-3' });
    const outbox = deps.uow.outbox().length;
    expect(await codeOf(createMedicationRequest(deps, ehr(), { resource: prescription({ repeats: 2 }), idempotencyKey: 'order-3' }))).toBe(
      'IDEMPOTENCY_KEY_CONFLICT',
    );
    expect(deps.uow.outbox()).toHaveLength(outbox);
  });

  it('keys are per tenant: another tenant may use the same key for another body', async () => {
    const deps = createFakeDeps();
    await createMedicationRequest(deps, contextOf('ehr-backend', 'tenant-a'), { resource: prescription(), idempotencyKey: 'shared' });
    const other = await createMedicationRequest(deps, contextOf('ehr-backend', 'tenant-b'), {
      resource: prescription({ repeats: 1 }),
      idempotencyKey: 'shared',
    });
    expect(other.replayed).toBe(false);
  });

  it('a key still held by a running request is IDEMPOTENCY_KEY_IN_FLIGHT', async () => {
    const deps = createFakeDeps();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let claimed!: () => void;
    const isClaimed = new Promise<void>((resolve) => (claimed = resolve));
    const holder = deps.uow.transaction('tenant-a', async (s) => {
      expect(await s.idempotency.claim('busy')).toEqual({ claimed: true, prior: undefined });
      claimed();
      await held;
    });
    await isClaimed;
    expect(await codeOf(createMedicationRequest(deps, ehr(), { resource: prescription(), idempotencyKey: 'busy' }))).toBe('IDEMPOTENCY_KEY_IN_FLIGHT');
    release();
    await holder;
    expect((await createMedicationRequest(deps, ehr(), { resource: prescription(), idempotencyKey: 'busy' })).replayed).toBe(false);
  });

  it('after the TTL the key is forgotten: the same request creates again', async () => {
    const deps = createFakeDeps({ idempotencyTtlSeconds: 60 });
    const resource = prescription();
    const first = await createMedicationRequest(deps, ehr(), { resource, idempotencyKey: 'short-lived' });
    deps.clock.advance(61_000);
    const second = await createMedicationRequest(deps, ehr(), { resource, idempotencyKey: 'short-lived' });
    expect(second.replayed).toBe(false);
    expect(second.record.id).not.toBe(first.record.id);
  });

  it('a malformed key is BAD_REQUEST before anything runs', async () => {
    const deps = createFakeDeps();
    for (const key of ['', 'has space', 'x'.repeat(129), 'semi;colon']) {
      expect(await codeOf(createMedicationRequest(deps, ehr(), { resource: prescription(), idempotencyKey: key }))).toBe('BAD_REQUEST');
    }
    expect(deps.uow.counts()).toEqual({ committed: 0, rolledBack: 0 });
  });

  it('dispenses replay too: the same key and body dispense once', async () => {
    const deps = createFakeDeps();
    const record = await prescriptionIn(deps, 'processing');
    const resource = {
      resourceType: 'MedicationDispense',
      status: 'in-progress',
      authorizingPrescription: [{ reference: `MedicationRequest/${record.id}` }],
      medicationCodeableConcept: record.resource.medicationCodeableConcept,
    };
    const pharmacy = contextOf('pharmacy-backend');
    const first = await createMedicationDispense(deps, pharmacy, { resource, idempotencyKey: 'fill-1' });
    const again = await createMedicationDispense(deps, pharmacy, { resource, idempotencyKey: 'fill-1' });
    expect(again.replayed).toBe(true);
    expect(again.dispense).toEqual(first.dispense);
    expect((await deps.uow.read('tenant-a', (s) => s.dispenses.fillSummary(record.id))).count).toBe(1);
    expect((await stored(deps, record.id))!.workflowStatus).toBe('dispensed');
    expect(await codeOf(createMedicationDispense(deps, pharmacy, { resource: { ...resource, status: 'completed' }, idempotencyKey: 'fill-1' }))).toBe(
      'IDEMPOTENCY_KEY_CONFLICT',
    );
  });
});

describe('idempotently (the one routine)', () => {
  const saved = { resourceType: 'MedicationRequest', resourceId: 'r-1', versionId: 1, statusCode: 201 };

  it('without a key it just runs, and remembers nothing', async () => {
    const deps = createFakeDeps();
    let runs = 0;
    const work = { replay: async () => 'replayed', run: async () => ({ result: `run ${++runs}`, saved }) };
    await deps.uow.transaction('t', (s) => idempotently(s, { operation: 'op', key: undefined, payload: {} }, 60, work));
    expect(await deps.uow.transaction('t', (s) => idempotently(s, { operation: 'op', key: undefined, payload: {} }, 60, work))).toBe('run 2');
    expect(deps.uow.tables.idempotency.committed.size).toBe(0);
  });

  it('a replay that cannot be rebuilt runs the request again; a run that saves nothing leaves the key free', async () => {
    const deps = createFakeDeps();
    let runs = 0;
    const call = (save: boolean) =>
      deps.uow.transaction('t', (s) =>
        idempotently(s, { operation: 'op', key: 'k', payload: { a: 1 } }, 60, {
          replay: async () => undefined,
          run: async () => ({ result: ++runs, saved: save ? saved : undefined }),
        }),
      );
    await call(false);
    expect(deps.uow.tables.idempotency.committed.size).toBe(0);
    await call(true);
    expect(await call(true)).toBe(3);
  });

  it('the fingerprint is canonical JSON: key order does not matter, values and the operation do', () => {
    expect(requestHash('op', { a: 1, b: [1, 2] })).toBe(requestHash('op', { b: [1, 2], a: 1 }));
    expect(requestHash('op', { a: 1 })).not.toBe(requestHash('op', { a: 2 }));
    expect(requestHash('op', { a: 1 })).not.toBe(requestHash('other', { a: 1 }));
  });

  it('a failed run rolls back with its transaction: the key is not saved', async () => {
    const deps = createFakeDeps();
    const failing = deps.uow.transaction('t', (s) =>
      idempotently(s, { operation: 'op', key: 'k', payload: {} }, 60, { replay: async () => 'x', run: () => Promise.reject(new Error('boom')) }),
    );
    await expect(failing).rejects.toThrow('boom');
    expect(deps.uow.tables.idempotency.committed.size).toBe(0);
    expect(deps.uow.counts().rolledBack).toBe(1);
  });
});
