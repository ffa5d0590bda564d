import { beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/index.js';
import type { DeliveredMessage } from '../../src/ports/index.js';
import { DeadLettersDocument, ReplayDeadLetterDocument, ReplayDeadLettersDocument, TransitionDocument } from '../generated/graphql.js';
import { fakeIntegrations } from '../support/fake-integrations.js';
import { errorCodes, graphql } from '../support/graphql.js';
import { useTestApp } from '../support/use-test-app.js';
import { prescriptionIn } from '../support/workflow.js';

const ACTION_ENV = { ACTION_MAX_ATTEMPTS: '3', ACTION_RETRY_BASE_MS: '20', ACTION_RETRY_MAX_MS: '100' };

describe('default integration adapters', () => {
  const t = useTestApp({ env: ACTION_ENV });

  it('publish each action to its own subject on the bus, once per event', async () => {
    const received: Array<{ subject: string; notice: any }> = [];
    const sub = await t.app.bus.subscribe('integration.>', (m: DeliveredMessage) => {
      received.push({ subject: m.subject, notice: JSON.parse(Buffer.from(m.data).toString()) });
    });
    const tokens = { ehr: await t.token('tenant-a', 'ehr-backend'), pharmacy: await t.token('tenant-a', 'pharmacy-backend') };
    const completed = await prescriptionIn(t.url, 'completed', tokens);
    const failed = await prescriptionIn(t.url, 'failed', tokens);
    const forPrescription = (id: string) => received.filter((r) => r.notice.medicationRequestId === id).map((r) => r.subject);
    await expect.poll(() => forPrescription(completed).length, { timeout: 15_000 }).toBe(4);
    await expect.poll(() => forPrescription(failed).length, { timeout: 15_000 }).toBe(5);
    await sub.close();
    expect(forPrescription(completed)).toEqual([
      'integration.insurance.approval.v1',
      'integration.pharmacy.prescription.v1',
      'integration.patient.dispensed.v1',
      'integration.patient.completed.v1',
    ]);
    // `failed` is a compensating end (CONTRACT §10): the pharmacy and the insurer are told, newest action first.
    expect(forPrescription(failed)).toEqual([
      'integration.insurance.approval.v1',
      'integration.pharmacy.prescription.v1',
      'integration.support.failure.v1',
      'integration.pharmacy.cancel.v1',
      'integration.insurance.reversal.v1',
    ]);
    const approval = received.find((r) => r.notice.medicationRequestId === completed)!.notice;
    expect(approval).toMatchObject({
      tenantId: 'tenant-a',
      event: 'approve',
      from: 'requested',
      to: 'approved',
      prescription: { resourceType: 'MedicationRequest', id: completed },
    });
  });
});

describe('retries, dead letters and replay', () => {
  const fake = fakeIntegrations();
  let ehr: string;
  let pharmacy: string;
  let admin: string;
  const t = useTestApp({ env: ACTION_ENV, integrations: fake.integrations });
  beforeAll(async () => {
    [ehr, pharmacy, admin] = await Promise.all([
      t.token('tenant-a', 'ehr-backend'),
      t.token('tenant-a', 'pharmacy-backend'),
      t.token('tenant-a', 'platform-admin'),
    ]);
  });

  const actionRuns = async (handler: string, id: string) =>
    await t.sql<{ attempts: number }>(
      `SELECT r.attempts FROM action_runs r JOIN outbox o ON o.event_id = r.event_id WHERE r.handler = $1 AND o.envelope #>> '{payload,medicationRequestId}' = $2`,
      [handler, id],
    );

  it('an action that throws twice and then succeeds notifies exactly once', async () => {
    fake.fail('insurance', 2);
    const before = fake.attempts.insurance;
    const id = await prescriptionIn(t.url, 'approved', { ehr, pharmacy });
    await expect.poll(async () => (await actionRuns('notifyInsurance', id)).length, { timeout: 15_000 }).toBe(1);
    expect(fake.attempts.insurance - before).toBe(3);
    expect(fake.delivered.insurance.filter((n) => n.medicationRequestId === id)).toHaveLength(1);
    expect((await actionRuns('notifyInsurance', id))[0].attempts).toBe(3);
    expect((await graphql(t.url, DeadLettersDocument, {}, admin)).data!.deadLetters.filter((d) => (d.event as any).payload.medicationRequestId === id)).toEqual(
      [],
    );
  });

  it('one that always throws lands in dead letters after the configured attempts, and a replay once fixed empties the list', async () => {
    const dlq: any[] = [];
    const dlqSub = await t.app.bus.subscribe('dlq.>', (m: DeliveredMessage) => {
      dlq.push({ subject: m.subject, body: JSON.parse(Buffer.from(m.data).toString()) });
    });
    fake.fail('support', Infinity);
    const first = await prescriptionIn(t.url, 'failed', { ehr, pharmacy });
    const second = await prescriptionIn(t.url, 'failed', { ehr, pharmacy });
    const open = async () => (await graphql(t.url, DeadLettersDocument, { filter: { handler: 'alertSupport' } }, admin)).data!.deadLetters;
    await expect.poll(async () => (await open()).length, { timeout: 20_000 }).toBe(2);
    const letters = await open();
    expect(letters.map((d) => (d.event as any).payload.medicationRequestId).sort()).toEqual([first, second].sort());
    for (const letter of letters) {
      expect(letter).toMatchObject({ handler: 'alertSupport', eventType: 'eprescribing.medication_request.status_changed.v1', attempts: 3, resolvedAt: null });
      expect(letter.error).toContain('support endpoint unavailable');
    }
    await expect.poll(() => dlq.length, { timeout: 10_000 }).toBe(2);
    const metrics = await fetch(`${t.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/rxgate_dead_letters_open\{handler="alertSupport"\} 2/);
    expect(metrics).toMatch(/rxgate_action_failures_total\{handler="alertSupport"\} 6/);
    expect(dlq[0].subject).toBe('dlq.eprescribing.alertSupport.tenant-a');
    expect(dlq[0].body).toMatchObject({ handler: 'alertSupport', attempts: 3 });
    await dlqSub.close();

    // Still broken: a replay fails again and the letter stays, with one more attempt.
    const stillBroken = await graphql(t.url, ReplayDeadLetterDocument, { id: letters[0].id }, admin);
    expect(stillBroken.data!.replayDeadLetter).toMatchObject({ attempts: 4, resolvedAt: null });

    fake.recover('support');
    const one = await graphql(t.url, ReplayDeadLetterDocument, { id: letters[0].id }, admin);
    expect(one.data!.replayDeadLetter.resolvedAt).not.toBeNull();
    const rest = await graphql(t.url, ReplayDeadLettersDocument, {}, admin);
    expect(rest.data!.replayDeadLetters).toEqual({ replayed: 1, succeeded: 1, failed: 0 });
    expect(await open()).toEqual([]);
    expect(fake.delivered.support.filter((n) => [first, second].includes(n.medicationRequestId))).toHaveLength(2);
    expect((await graphql(t.url, DeadLettersDocument, { filter: { includeResolved: true, handler: 'alertSupport' } }, admin)).data!.deadLetters).toHaveLength(
      2,
    );
  });

  it('the database away is not an action’s failure: no attempt is spent, the event comes again, and the action runs once', async () => {
    // More unavailable answers than the attempts allowed (3): counted as attempts, they ended as a dead letter.
    fake.fail('support', 4, () => new DomainError('SERVICE_UNAVAILABLE', 'The database is not reachable.'));
    const id = await prescriptionIn(t.url, 'failed', { ehr, pharmacy });
    await expect.poll(() => fake.delivered.support.filter((n) => n.medicationRequestId === id).length, { timeout: 30_000 }).toBe(1);
    expect(fake.attempts.support).toBeGreaterThanOrEqual(5);
    const letters = (await graphql(t.url, DeadLettersDocument, { filter: { handler: 'alertSupport' } }, admin)).data!.deadLetters;
    expect(letters.filter((d) => (d.event as any).payload.medicationRequestId === id)).toEqual([]);
  });

  it('dead letters are for a platform-admin of the tenant only', async () => {
    for (const token of [ehr, pharmacy]) {
      expect(errorCodes(await graphql(t.url, DeadLettersDocument, {}, token))).toEqual(['FORBIDDEN_WRITE_PERSONA']);
      expect(errorCodes(await graphql(t.url, ReplayDeadLettersDocument, {}, token))).toEqual(['FORBIDDEN_WRITE_PERSONA']);
    }
    fake.fail('insurance', Infinity);
    const id = await prescriptionIn(t.url, 'approved', { ehr, pharmacy });
    const open = async (token: string) => (await graphql(t.url, DeadLettersDocument, { filter: { handler: 'notifyInsurance' } }, token)).data!.deadLetters;
    await expect.poll(async () => (await open(admin)).length, { timeout: 20_000 }).toBe(1);
    fake.recover('insurance');
    const adminB = await t.token('tenant-b', 'platform-admin');
    expect(await open(adminB)).toEqual([]);
    expect(errorCodes(await graphql(t.url, ReplayDeadLetterDocument, { id: (await open(admin))[0].id }, adminB))).toEqual(['NOT_FOUND']);
    expect((await graphql(t.url, ReplayDeadLettersDocument, {}, adminB)).data!.replayDeadLetters.replayed).toBe(0);
    expect((await graphql(t.url, ReplayDeadLettersDocument, {}, admin)).data!.replayDeadLetters).toEqual({ replayed: 1, succeeded: 1, failed: 0 });
    expect(fake.delivered.insurance.filter((n) => n.medicationRequestId === id)).toHaveLength(1);
    void TransitionDocument;
  });
});
