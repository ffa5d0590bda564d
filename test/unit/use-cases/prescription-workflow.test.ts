import { describe, expect, it } from 'vitest';
import { createMedicationDispense } from '../../../src/application/use-cases/medication-dispense.use-case.js';
import { transitionPrescription } from '../../../src/application/use-cases/transition-prescription.use-case.js';
import { fireDueTimers } from '../../../src/application/use-cases/workflow-timers.use-case.js';
import { EVENT_TYPES, PERSONAS, WORKFLOW_EVENTS, WORKFLOW_STATES, type WorkflowEvent, type WorkflowState } from '../../../src/domain/index.js';
import { codeOf, contextOf, createFakeDeps, createPrescription, prescriptionIn, send, SENDER, stored } from '../../support/fakes/index.js';
import { prescription } from '../../support/fixtures.js';

/**
 * The prescription workflow through its use-cases, against the in-memory fakes: every event from
 * every state with its sender, the senders themselves, and the guard that picks `refillable` or
 * `completed`. The expected answers are CONTRACT §3 and §7 written out, not read from the definition.
 */
function expectedTarget(state: WorkflowState, event: WorkflowEvent): WorkflowState | undefined {
  const table: Partial<Record<WorkflowEvent, Partial<Record<WorkflowState, WorkflowState>>>> = {
    approve: { requested: 'approved' },
    reject: { requested: 'rejected' },
    cancel: { requested: 'cancelled', approved: 'cancelled', refillable: 'cancelled' },
    process: { approved: 'processing', refillable: 'processing' },
    dispense: { processing: 'dispensed' },
    // A prescription driven to `dispensed` here has no repeats: its only fill is done.
    complete: { dispensed: 'completed' },
    fail: { processing: 'failed' },
    expire: { requested: 'expired', approved: 'expired', refillable: 'expired' },
  };
  return table[event]?.[state];
}

describe('prescription workflow use-cases: every event from every state', () => {
  for (const state of WORKFLOW_STATES) {
    for (const event of WORKFLOW_EVENTS) {
      const target = expectedTarget(state, event);
      it(`${state} --${event}--> ${target ?? 'INVALID_TRANSITION'}`, async () => {
        const deps = createFakeDeps();
        const before = await prescriptionIn(deps, state);
        const eventsBefore = deps.uow.outbox().length;
        if (target === undefined) {
          expect(await codeOf(send(deps, before.id, event))).toBe('INVALID_TRANSITION');
          // Refused as a whole: not even a dispense row is left behind by a refused `dispense`.
          expect(await stored(deps, before.id)).toEqual(before);
          expect(deps.uow.outbox().length).toBe(eventsBefore);
          expect(await deps.uow.read('tenant-a', (s) => s.dispenses.fillSummary(before.id))).toEqual(await fillsOf(deps, before.id));
          return;
        }
        const after = await send(deps, before.id, event, { reason: 'unit test' });
        expect(after.workflowStatus).toBe(target);
        expect(after.versionId).toBe(before.versionId + 1);
        expect(await stored(deps, before.id)).toEqual(after);
        const history = await deps.uow.read('tenant-a', (s) => s.history.transitionsOf([before.id]));
        expect(history.get(before.id)!.at(-1)).toMatchObject({ event, from: state, to: target, persona: SENDER[event], reason: 'unit test' });
        const types = deps.uow
          .outbox()
          .slice(eventsBefore)
          .map((e) => e.metadata.eventType);
        expect(types).toContain(EVENT_TYPES.medicationRequestStatusChanged);
        if (event === 'cancel') expect(types).toContain(EVENT_TYPES.medicationRequestCancelled);
        if (event === 'expire') expect(types).toContain(EVENT_TYPES.medicationRequestExpired);
        if (event === 'dispense') expect(types[0]).toBe(EVENT_TYPES.medicationDispenseCreated);
      });
    }
  }
});

const fillsOf = (deps: ReturnType<typeof createFakeDeps>, id: string) => deps.uow.read('tenant-a', (s) => s.dispenses.fillSummary(id));

describe('prescription workflow use-cases: senders (CONTRACT §1)', () => {
  /** A state each event is legal from, so only the persona can refuse it. */
  const LEGAL_FROM: Record<WorkflowEvent, WorkflowState> = {
    approve: 'requested',
    reject: 'requested',
    cancel: 'approved',
    process: 'approved',
    dispense: 'processing',
    complete: 'dispensed',
    fail: 'processing',
    expire: 'requested',
  };
  for (const event of WORKFLOW_EVENTS) {
    for (const persona of PERSONAS) {
      const allowed = SENDER[event] === persona;
      it(`${persona} ${allowed ? 'may' : 'may not'} ${event}`, async () => {
        const deps = createFakeDeps();
        const before = await prescriptionIn(deps, LEGAL_FROM[event]);
        const transactions = deps.uow.counts();
        const code = await codeOf(transitionPrescription(deps, contextOf(persona), { id: before.id, event }));
        if (allowed) {
          expect(code).toBeUndefined();
          return;
        }
        expect(code).toBe('FORBIDDEN_WRITE_PERSONA');
        // Refused before any transaction is opened.
        expect(deps.uow.counts()).toEqual(transactions);
        expect(await stored(deps, before.id)).toEqual(before);
      });
    }
  }

  it('the gateway itself (persona system) expires, and a client persona never may', async () => {
    const deps = createFakeDeps();
    const record = await createPrescription(deps);
    expect(await codeOf(send(deps, record.id, 'expire', {}))).toBeUndefined();
    expect((await stored(deps, record.id))!.workflowStatus).toBe('expired');
  });
});

describe('prescription workflow use-cases: complete picks refillable or completed (CONTRACT §7)', () => {
  it('with fills left and validity running, complete leads to refillable; the last fill completes', async () => {
    const deps = createFakeDeps();
    let record = await prescriptionIn(deps, 'refillable', { repeats: 2 });
    for (const expected of ['refillable', 'completed'] as const) {
      for (const event of ['process', 'dispense'] as const) record = await send(deps, record.id, event);
      record = await send(deps, record.id, 'complete');
      expect(record.workflowStatus).toBe(expected);
    }
    expect((await fillsOf(deps, record.id)).count).toBe(3);
    expect(await codeOf(send(deps, record.id, 'process'))).toBe('INVALID_TRANSITION');
  });

  it('once the validity period has ended, complete leads to completed even with fills left', async () => {
    const deps = createFakeDeps();
    const end = new Date(deps.clock.now().getTime() + 86_400_000);
    const resource = { ...prescription({ repeats: 3 }) };
    resource.dispenseRequest = { ...resource.dispenseRequest, validityPeriod: { end: end.toISOString() } };
    let record = await createPrescription(deps, { resource });
    for (const event of ['approve', 'process', 'dispense'] as const) record = await send(deps, record.id, event);
    deps.clock.set(new Date(end.getTime() + 1));
    expect((await send(deps, record.id, 'complete')).workflowStatus).toBe('completed');
  });

  it('a refill before the dispense interval has passed is REFILL_TOO_EARLY, and allowed after it', async () => {
    const deps = createFakeDeps();
    const resource = prescription({ repeats: 1 });
    resource.dispenseRequest = {
      ...resource.dispenseRequest,
      expectedSupplyDuration: undefined,
      dispenseInterval: { value: 30, unit: 'days', system: 'http://unitsofmeasure.org', code: 'd' },
    };
    let record = await createPrescription(deps, { resource });
    for (const event of ['approve', 'process'] as const) record = await send(deps, record.id, event);
    const dispense = {
      resourceType: 'MedicationDispense',
      status: 'completed',
      authorizingPrescription: [{ reference: `MedicationRequest/${record.id}` }],
      medicationCodeableConcept: record.resource.medicationCodeableConcept,
      quantity: { value: 30, unit: 'tablet' },
      whenHandedOver: deps.clock.now().toISOString(),
    };
    const handedOver = await createMedicationDispense(deps, contextOf('pharmacy-backend'), { resource: dispense });
    expect(handedOver.prescription.workflowStatus).toBe('refillable');
    deps.clock.advance(29 * 86_400_000);
    expect(await codeOf(send(deps, record.id, 'process'))).toBe('REFILL_TOO_EARLY');
    deps.clock.advance(86_400_000);
    expect((await send(deps, record.id, 'process')).workflowStatus).toBe('processing');
  });
});

describe('prescription workflow use-cases: timers (CONTRACT §7)', () => {
  it('approval arms the processing service level; once due it emits sla_breached and leaves the state alone', async () => {
    const deps = createFakeDeps({ workflowSettings: { slaProcessingSeconds: 60 } });
    const record = await prescriptionIn(deps, 'approved');
    expect(await deps.uow.timerQueue.pendingCount()).toBe(1);
    expect(await fireDueTimers(deps, deps.uow.timerQueue, 10)).toEqual([]);
    deps.clock.advance(61_000);
    const fired = await fireDueTimers(deps, deps.uow.timerQueue, 10);
    expect(fired.map((f) => f.outcome)).toEqual(['fired']);
    expect(deps.uow.outbox().at(-1)!.metadata.eventType).toBe(EVENT_TYPES.medicationRequestSlaBreached);
    expect((await stored(deps, record.id))!.workflowStatus).toBe('approved');
  });

  it('the expiry timer expires a prescription at the end of its validity, and leaving the state drops it', async () => {
    const deps = createFakeDeps();
    const make = async () => {
      const resource = prescription();
      resource.dispenseRequest = { ...resource.dispenseRequest, validityPeriod: { end: new Date(deps.clock.now().getTime() + 3_600_000).toISOString() } };
      return createPrescription(deps, { resource });
    };
    const waiting = await make();
    const rejected = await make();
    await send(deps, rejected.id, 'reject');
    deps.clock.advance(3_600_000);
    const fired = await fireDueTimers(deps, deps.uow.timerQueue, 10);
    expect(fired.map((f) => f.outcome)).toEqual(['fired']);
    expect((await stored(deps, waiting.id))!.workflowStatus).toBe('expired');
    expect((await stored(deps, rejected.id))!.workflowStatus).toBe('rejected');
    expect(await deps.uow.timerQueue.pendingCount()).toBe(0);
  });
});

describe('prescription workflow use-cases: tenants', () => {
  it("another tenant's prescription does not exist for the caller", async () => {
    const deps = createFakeDeps();
    const record = await createPrescription(deps, { tenantId: 'tenant-a' });
    expect(await codeOf(send(deps, record.id, 'approve', { tenantId: 'tenant-b' }))).toBe('NOT_FOUND');
    expect((await stored(deps, record.id))!.workflowStatus).toBe('requested');
  });
});
