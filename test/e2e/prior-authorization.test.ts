import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PrescriptionPriorAuthorizationDocument,
  PriorAuthorizationDefinitionDocument,
  PriorAuthorizationDocument,
  type PriorAuthorizationEvent,
  PriorAuthorizationEventDocument,
  SubmitPriorAuthorizationDocument,
  TransitionDocument,
} from '../generated/graphql.js';
import { websocketSubscription, workflowTask } from '../support/fixtures.js';
import { errorCodes, graphql } from '../support/graphql.js';
import { outcomeCode, request } from '../support/http.js';
import { subscriber } from '../support/live.js';
import { paPrescription, priorAuthorizationRulesFile } from '../support/prior-authorization.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Prior authorization (CONTRACT §9, issue #17) through both doors: the payer's workflow on the
 * engine, its link to the prescription, its personas, its appeal window.
 */

const PA_CODE = 'urn:rxgate:task-code|prior-authorization';
const STATE_SYSTEM = 'urn:rxgate:prior-authorization-state';

let t: TestApp;
let ehr: string;
let pharmacy: string;
let payer: string;
let admin: string;

beforeAll(async () => {
  t = await startTestApp({ env: { RULES_FILE: priorAuthorizationRulesFile(), PA_APPEAL_SECONDS: '3' } });
  [ehr, pharmacy, payer, admin] = await Promise.all([
    t.token('tenant-a', 'ehr-backend'),
    t.token('tenant-a', 'pharmacy-backend'),
    t.token('tenant-a', 'payer-backend'),
    t.token('tenant-a', 'platform-admin'),
  ]);
});
afterAll(async () => t?.close());

const fhir = (p: string) => `${t.url}/fhir/${p}`;

async function createPrescription(priority?: fhir4.MedicationRequest['priority']): Promise<string> {
  const created = await request(fhir('MedicationRequest'), { token: ehr, body: paPrescription(priority) });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id;
}

/** Approves over FHIR; answers the id of the workflow Task that did it. */
async function approve(id: string): Promise<string> {
  const approved = await request(fhir('Task'), { token: ehr, body: workflowTask(id, 'approve', 'completed') });
  expect(approved.status, JSON.stringify(approved.body)).toBe(201);
  return approved.body.id;
}

/** The PA Task of a prescription, found by search (code + focus). */
async function paTaskOf(prescriptionId: string): Promise<{ body: any; etag: string }> {
  const found = await request(fhir(`Task?code=${encodeURIComponent(PA_CODE)}&focus=MedicationRequest/${prescriptionId}`), { token: payer });
  expect(found.status).toBe(200);
  expect(found.body.entry).toHaveLength(1);
  const id = found.body.entry[0].resource.id;
  const read = await request(fhir(`Task/${id}`), { token: payer });
  return { body: read.body, etag: read.headers.get('etag')! };
}

/** A FHIR PATCH of the PA's businessStatus (CONTRACT §9). */
const patchState = (id: string, state: string, token: string, etag: string, reason?: string) =>
  request(fhir(`Task/${id}`), {
    method: 'PATCH',
    token,
    headers: { 'if-match': etag, 'content-type': 'application/json-patch+json' },
    body: [
      { op: 'replace', path: '/businessStatus', value: { coding: [{ system: STATE_SYSTEM, code: state }], text: state } },
      ...(reason ? [{ op: 'add', path: '/statusReason', value: { text: reason } }] : []),
    ],
  });

const process = (id: string) => request(fhir('Task'), { token: pharmacy, body: workflowTask(id, 'fulfill', 'in-progress') });

const paEvent = (id: string, event: PriorAuthorizationEvent, token: string, ifMatch?: string, reason?: string) =>
  graphql(t.url, PriorAuthorizationEventDocument, { id, event, ifMatch, reason }, token);

describe('over FHIR: submitted → in-review → pended → in-review → approved, then the pharmacy processes', () => {
  it('approving the prescription submits its PA, process waits for the approval, PATCHes of businessStatus move it', async () => {
    const id = await createPrescription();
    await approve(id);
    let pa = await paTaskOf(id);
    expect(pa.body).toMatchObject({
      resourceType: 'Task',
      code: { coding: [{ system: 'urn:rxgate:task-code', code: 'prior-authorization' }] },
      businessStatus: { coding: [{ system: STATE_SYSTEM, code: 'submitted' }] },
      priority: 'routine',
      focus: { reference: `MedicationRequest/${id}` },
    });
    // Standard urgency: due PA_STANDARD_SECONDS (7 days) after submission.
    expect(Date.parse(pa.body.restriction.period.end) - Date.parse(pa.body.authoredOn)).toBe(604_800_000);

    const early = await process(id);
    expect([early.status, outcomeCode(early.body)]).toEqual([409, 'PRIOR_AUTHORIZATION_REQUIRED']);

    const steps: Array<[string, string]> = [
      ['in-review', payer],
      ['pended', payer],
      ['in-review', ehr],
      ['approved', payer],
    ];
    for (const [state, token] of steps) {
      const moved = await patchState(pa.body.id, state, token, pa.etag, `to ${state}`);
      expect(moved.status, JSON.stringify(moved.body)).toBe(200);
      expect(moved.body.businessStatus.coding[0].code).toBe(state);
      pa = { body: moved.body, etag: moved.headers.get('etag')! };
    }
    expect(pa.etag).toBe('W/"5"');
    const byState = await request(fhir(`Task?business-status=approved&focus=MedicationRequest/${id}`), { token: payer });
    expect(byState.body.entry.map((e: any) => e.resource.id)).toEqual([pa.body.id]);

    const processed = await process(id);
    expect(processed.status, JSON.stringify(processed.body)).toBe(201);

    const history = await graphql(t.url, PriorAuthorizationDocument, { id: pa.body.id }, ehr);
    expect(history.data?.priorAuthorization?.transitions.map((t) => [t.event, t.from, t.to, t.actor])).toEqual([
      ['submit', null, 'submitted', 'system'],
      ['review', 'submitted', 'in-review', 'payer-backend-user'],
      ['pend', 'in-review', 'pended', 'payer-backend-user'],
      ['provide-info', 'pended', 'in-review', 'ehr-backend-user'],
      ['approve', 'in-review', 'approved', 'payer-backend-user'],
    ]);
  });

  it('a PATCH that changes anything but businessStatus, or names a state no event reaches, is INVALID_TRANSITION; without If-Match 428', async () => {
    const id = await createPrescription();
    const approveTask = await approve(id);
    const pa = await paTaskOf(id);
    // A Task that moved the prescription is written once: not a PA, not patchable.
    const workflowPatch = await request(fhir(`Task/${approveTask}`), {
      method: 'PATCH',
      token: ehr,
      headers: { 'if-match': 'W/"1"', 'content-type': 'application/json-patch+json' },
      body: [{ op: 'replace', path: '/status', value: 'rejected' }],
    });
    expect([workflowPatch.status, outcomeCode(workflowPatch.body)]).toEqual([405, 'METHOD_NOT_ALLOWED']);
    const other = await request(fhir(`Task/${pa.body.id}`), {
      method: 'PATCH',
      token: payer,
      headers: { 'if-match': pa.etag, 'content-type': 'application/json-patch+json' },
      body: [{ op: 'replace', path: '/priority', value: 'stat' }],
    });
    expect([other.status, outcomeCode(other.body)]).toEqual([409, 'INVALID_TRANSITION']);
    const skip = await patchState(pa.body.id, 'approved', payer, pa.etag);
    expect([skip.status, outcomeCode(skip.body)]).toEqual([409, 'INVALID_TRANSITION']);
    const unconditional = await request(fhir(`Task/${pa.body.id}`), {
      method: 'PATCH',
      token: payer,
      headers: { 'content-type': 'application/json-patch+json' },
      body: [{ op: 'replace', path: '/businessStatus/coding/0/code', value: 'in-review' }],
    });
    expect([unconditional.status, outcomeCode(unconditional.body)]).toEqual([428, 'PRECONDITION_REQUIRED']);
    expect((await paTaskOf(id)).etag).toBe('W/"1"');
  });

  it('the CapabilityStatement offers PATCH on Task and the business-status search', async () => {
    const metadata = await request(fhir('metadata'));
    const task = metadata.body.rest[0].resource.find((r: any) => r.type === 'Task');
    expect(task.interaction.map((i: any) => i.code)).toContain('patch');
    expect(task.searchParam.map((p: any) => p.name)).toEqual(expect.arrayContaining(['code', 'focus', 'business-status']));
  });

  it('a websocket Subscription on Task?code=… sees the PA change', async () => {
    const { default: WebSocket } = await import('ws');
    const id = await createPrescription();
    const created = await request(fhir('Subscription'), {
      token: ehr,
      body: websocketSubscription(`Task?code=${PA_CODE}&focus=MedicationRequest/${id}`, 'PA watch'),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const socket = new WebSocket(`${t.url.replace('http', 'ws')}/fhir/websocket`, { headers: { authorization: `Bearer ${ehr}` } });
    const messages: string[] = [];
    socket.on('message', (data) => messages.push(String(data)));
    await new Promise((resolve, reject) => (socket.once('open', resolve), socket.once('error', reject)));
    socket.send(`bind ${created.body.id}`);
    await expect.poll(() => messages.includes(`bound ${created.body.id}`), { timeout: 10_000 }).toBe(true);
    const pings = () => messages.filter((m) => m === `ping ${created.body.id}`).length;
    await approve(id);
    await expect.poll(pings, { timeout: 15_000 }).toBe(1);
    const pa = await paTaskOf(id);
    expect((await patchState(pa.body.id, 'in-review', payer, pa.etag)).status).toBe(200);
    await expect.poll(pings, { timeout: 15_000 }).toBe(2);
    socket.close();
  });
});

describe('over GraphQL', () => {
  it('deny → appeal → review → approved, then the pharmacy processes; MedicationRequest.priorAuthorization follows', async () => {
    const id = await createPrescription('stat');
    const submitted = await graphql(t.url, SubmitPriorAuthorizationDocument, { prescriptionId: id, ifMatch: 'W/"1"' }, ehr);
    expect(submitted.errors).toBeUndefined();
    const pa = submitted.data!.submitPriorAuthorization;
    expect(pa).toMatchObject({ state: 'SUBMITTED', urgency: 'URGENT', etag: 'W/"1"', prescription: { id, workflowStatus: 'REQUESTED' } });
    expect(Date.parse(pa.decisionDueAt) - Date.parse(pa.submittedAt)).toBe(259_200_000);
    expect(pa.workflow).toMatchObject({ definition: 'prior-authorization', version: 1, state: 'submitted', timers: [{ name: 'decisionDeadline' }] });
    // Approving the prescription does not submit a second one.
    await approve(id);
    const again = await graphql(t.url, SubmitPriorAuthorizationDocument, { prescriptionId: id }, ehr);
    expect(errorCodes(again)).toEqual(['INVALID_TRANSITION']);

    const steps: Array<[PriorAuthorizationEvent, string, string]> = [
      ['REVIEW', payer, 'IN_REVIEW'],
      ['DENY', payer, 'DENIED'],
      ['APPEAL', ehr, 'APPEALED'],
      ['REVIEW', payer, 'IN_REVIEW'],
      ['APPROVE', payer, 'APPROVED'],
    ];
    let etag = pa.etag;
    for (const [event, token, state] of steps) {
      const before = await graphql(t.url, TransitionDocument, { id, event: 'PROCESS' }, pharmacy);
      expect(errorCodes(before)).toEqual(['PRIOR_AUTHORIZATION_REQUIRED']);
      const moved = await paEvent(pa.id, event, token, etag, `${event} by GraphQL`);
      expect(moved.errors, JSON.stringify(moved.errors)).toBeUndefined();
      expect(moved.data!.priorAuthorizationEvent.state).toBe(state);
      etag = moved.data!.priorAuthorizationEvent.etag;
    }
    const linked = await graphql(t.url, PrescriptionPriorAuthorizationDocument, { id }, pharmacy);
    expect(linked.data?.medicationRequest?.priorAuthorization).toMatchObject({ id: pa.id, state: 'APPROVED', workflow: { timers: [] } });
    const processed = await graphql(t.url, TransitionDocument, { id, event: 'PROCESS' }, pharmacy);
    expect(processed.errors).toBeUndefined();
    expect(processed.data!.transitionPrescription.workflowStatus).toBe('PROCESSING');
  });

  it('deny, and the appeal window passes: the gateway closes it (actor system), and it stays closed', async () => {
    const id = await createPrescription();
    const live = subscriber(t.url, ehr, { filter: { medicationRequest: id, types: ['eprescribing.prior_authorization.status_changed.v1'] } });
    await live.ready;
    await approve(id);
    const pa = await paTaskOf(id);
    expect((await paEvent(pa.body.id, 'REVIEW', payer)).errors).toBeUndefined();
    expect((await paEvent(pa.body.id, 'DENY', payer, undefined, 'not covered')).errors).toBeUndefined();
    await expect.poll(() => live.received.map((e) => e.event), { timeout: 30_000, interval: 100 }).toEqual(['submit', 'review', 'deny', 'close']);
    await live.stop();
    expect(live.received.every((e) => e.task?.id === pa.body.id && e.medicationRequest?.id === id)).toBe(true);
    const read = await graphql(t.url, PriorAuthorizationDocument, { id: pa.body.id }, payer);
    expect(read.data?.priorAuthorization).toMatchObject({ state: 'CLOSED' });
    expect(read.data!.priorAuthorization!.transitions.at(-1)).toMatchObject({ event: 'close', from: 'denied', to: 'closed', actor: 'system' });
    const late = await paEvent(pa.body.id, 'APPEAL', ehr);
    expect(errorCodes(late)).toEqual(['INVALID_TRANSITION']);
    const processed = await process(id);
    expect([processed.status, outcomeCode(processed.body)]).toEqual([409, 'PRIOR_AUTHORIZATION_REQUIRED']);
  });

  it('workflowDefinitions lists the PA definition with its Mermaid diagram', async () => {
    const answer = await graphql(t.url, PriorAuthorizationDefinitionDocument, {}, payer);
    const pa = answer.data!.workflowDefinitions.find((d) => d.name === 'prior-authorization')!;
    expect(pa.states.map((s) => s.name).sort()).toEqual(['appealed', 'approved', 'closed', 'denied', 'in-review', 'pended', 'submitted', 'withdrawn']);
    expect(
      pa.states
        .filter((s) => s.final)
        .map((s) => s.name)
        .sort(),
    ).toEqual(['approved', 'closed', 'withdrawn']);
    expect(pa.timers).toEqual(['decisionDeadline', 'appealWindow']);
    expect(pa.mermaid).toContain('denied --> closed: close (system)');
    expect(pa.mermaid).toContain('[*] --> submitted: submit');
  });
});

// ── Every illegal move, and every persona (CONTRACT §9) ───────────────────────────────────────

type PaState = 'submitted' | 'in-review' | 'pended' | 'denied' | 'appealed' | 'approved' | 'withdrawn';
/** Events from a fresh PA to each state, with who sends them. */
const PATH: Record<PaState, PriorAuthorizationEvent[]> = {
  submitted: [],
  'in-review': ['REVIEW'],
  pended: ['REVIEW', 'PEND'],
  denied: ['REVIEW', 'DENY'],
  appealed: ['REVIEW', 'DENY', 'APPEAL'],
  approved: ['REVIEW', 'APPROVE'],
  withdrawn: ['WITHDRAW'],
};
/** CONTRACT §9's table, written out by hand. */
const SENDER: Record<PriorAuthorizationEvent, 'ehr' | 'payer'> = {
  REVIEW: 'payer',
  APPROVE: 'payer',
  DENY: 'payer',
  PEND: 'payer',
  PROVIDE_INFO: 'ehr',
  APPEAL: 'ehr',
  WITHDRAW: 'ehr',
};
const LEGAL: Record<PaState, PriorAuthorizationEvent[]> = {
  submitted: ['REVIEW', 'WITHDRAW'],
  'in-review': ['APPROVE', 'DENY', 'PEND', 'WITHDRAW'],
  pended: ['PROVIDE_INFO', 'WITHDRAW'],
  denied: ['APPEAL', 'WITHDRAW'],
  appealed: ['REVIEW', 'WITHDRAW'],
  approved: [],
  withdrawn: [],
};
const tokenOf = (who: 'ehr' | 'payer') => (who === 'ehr' ? ehr : payer);

async function paIn(state: PaState): Promise<{ id: string; prescriptionId: string }> {
  const prescriptionId = await createPrescription();
  const submitted = await graphql(t.url, SubmitPriorAuthorizationDocument, { prescriptionId }, ehr);
  const id = submitted.data!.submitPriorAuthorization.id;
  for (const event of PATH[state]) {
    const moved = await paEvent(id, event, tokenOf(SENDER[event]));
    if (moved.errors) throw new Error(`${event}: ${JSON.stringify(moved.errors)}`);
  }
  return { id, prescriptionId };
}

describe('every illegal move is INVALID_TRANSITION and changes nothing', () => {
  const cases = (Object.keys(LEGAL) as PaState[]).flatMap((state) =>
    (Object.keys(SENDER) as PriorAuthorizationEvent[]).filter((e) => !LEGAL[state].includes(e)).map((event) => [state, event] as const),
  );
  it.each(cases)('%s + %s', async (state, event) => {
    const { id } = await paIn(state);
    const before = await graphql(t.url, PriorAuthorizationDocument, { id }, payer);
    const answer = await paEvent(id, event, tokenOf(SENDER[event]));
    expect(errorCodes(answer)).toEqual(['INVALID_TRANSITION']);
    const after = await graphql(t.url, PriorAuthorizationDocument, { id }, payer);
    expect(after.data?.priorAuthorization?.etag).toBe(before.data?.priorAuthorization?.etag);
  });
});

describe('each persona only where CONTRACT §9 allows', () => {
  const PERSONAS = ['ehr-backend', 'pharmacy-backend', 'platform-admin', 'payer-backend'] as const;
  const tokenFor = (persona: (typeof PERSONAS)[number]) =>
    ({ 'ehr-backend': ehr, 'pharmacy-backend': pharmacy, 'platform-admin': admin, 'payer-backend': payer })[persona];
  const fromState: Record<PriorAuthorizationEvent, PaState> = {
    REVIEW: 'submitted',
    APPROVE: 'in-review',
    DENY: 'in-review',
    PEND: 'in-review',
    PROVIDE_INFO: 'pended',
    APPEAL: 'denied',
    WITHDRAW: 'submitted',
  };
  const cells = (Object.keys(SENDER) as PriorAuthorizationEvent[]).flatMap((event) =>
    PERSONAS.map((persona) => [event, persona, persona === `${SENDER[event]}-backend`] as const),
  );

  it.each(cells)('GraphQL %s by %s → allowed: %s', async (event, persona, allowed) => {
    const { id } = await paIn(fromState[event]);
    const answer = await paEvent(id, event, tokenFor(persona));
    expect(errorCodes(answer)).toEqual(allowed ? [] : ['FORBIDDEN_WRITE_PERSONA']);
  });

  it.each(PERSONAS.map((p) => [p, p === 'ehr-backend'] as const))('submitPriorAuthorization by %s → allowed: %s', async (persona, allowed) => {
    const prescriptionId = await createPrescription();
    const answer = await graphql(t.url, SubmitPriorAuthorizationDocument, { prescriptionId }, tokenFor(persona));
    expect(errorCodes(answer)).toEqual(allowed ? [] : ['FORBIDDEN_WRITE_PERSONA']);
  });

  it.each(PERSONAS.map((p) => [p, p === 'payer-backend'] as const))('FHIR PATCH submitted → in-review by %s → allowed: %s', async (persona, allowed) => {
    const { prescriptionId } = await paIn('submitted');
    const pa = await paTaskOf(prescriptionId);
    const answer = await patchState(pa.body.id, 'in-review', tokenFor(persona), pa.etag);
    if (allowed) expect(answer.status).toBe(200);
    else expect([answer.status, outcomeCode(answer.body)]).toEqual([403, 'FORBIDDEN_WRITE_PERSONA']);
  });

  it('the payer reads PA Tasks and writes nothing else', async () => {
    const { id, prescriptionId } = await paIn('submitted');
    expect((await request(fhir(`Task/${id}`), { token: payer })).status).toBe(200);
    const created = await request(fhir('MedicationRequest'), { token: payer, body: paPrescription() });
    expect([created.status, outcomeCode(created.body)]).toEqual([403, 'FORBIDDEN_WRITE_PERSONA']);
    const task = await request(fhir('Task'), { token: payer, body: workflowTask(prescriptionId, 'approve', 'completed') });
    expect([task.status, outcomeCode(task.body)]).toEqual([403, 'FORBIDDEN_WRITE_PERSONA']);
    const cancel = await graphql(t.url, TransitionDocument, { id: prescriptionId, event: 'CANCEL' }, payer);
    expect(errorCodes(cancel)).toEqual(['FORBIDDEN_WRITE_PERSONA']);
  });
});

describe('cancelling the prescription withdraws its PA (the link compensation)', () => {
  it("exactly once, by the gateway (actor system), recorded as the prescription's compensation", async () => {
    const id = await createPrescription();
    await approve(id);
    const pa = await paTaskOf(id);
    const cancelled = await graphql(t.url, TransitionDocument, { id, event: 'CANCEL', reason: 'patient moved' }, ehr);
    expect(cancelled.errors).toBeUndefined();
    await expect
      .poll(async () => (await graphql(t.url, PriorAuthorizationDocument, { id: pa.body.id }, payer)).data?.priorAuthorization?.state, {
        timeout: 20_000,
        interval: 100,
      })
      .toBe('WITHDRAWN');
    const rows = await t.sql<{ event: string; actor: string }>(
      `SELECT transition->>'event' AS event, transition->>'actor' AS actor FROM task_history WHERE id = $1 ORDER BY version`,
      [pa.body.id],
    );
    expect(rows).toEqual([
      { event: 'submit', actor: 'system' },
      { event: 'withdraw', actor: 'system' },
    ]);
    await expect
      .poll(async () => (await t.sql(`SELECT 1 FROM action_runs WHERE handler = 'withdrawPriorAuthorization' AND instance_id = $1`, [id])).length, {
        timeout: 10_000,
      })
      .toBe(1);
  });

  it('the expiry of the prescription withdraws its open PA the same way', async () => {
    const body = paPrescription();
    body.dispenseRequest = { ...body.dispenseRequest, validityPeriod: { end: new Date(Date.now() + 8_000).toISOString() } };
    const created = await request(fhir('MedicationRequest'), { token: ehr, body });
    expect(created.status).toBe(201);
    await approve(created.body.id);
    const pa = await paTaskOf(created.body.id);
    // The 8 s were for approving before the end; with the PA open, the expiry is brought due rather than waited out.
    await t.sql(`UPDATE workflow_timers SET due_at = now() WHERE instance_id = $1 AND name = 'expiry' AND settled_at IS NULL`, [created.body.id]);
    await expect
      .poll(async () => (await graphql(t.url, PriorAuthorizationDocument, { id: pa.body.id }, payer)).data?.priorAuthorization?.transitions.at(-1), {
        timeout: 30_000,
        interval: 200,
      })
      .toMatchObject({
        event: 'withdraw',
        to: 'withdrawn',
        actor: 'system',
        reason: 'The prescription was expired (expire).',
      });
  });
});
