import { describe, expect, it } from 'vitest';
import {
  actionsFor,
  assertMove,
  assertSender,
  compensationsFor,
  decide,
  decisionDueAt,
  DomainError,
  legalEvents,
  linkCompensationsFor,
  PRIOR_AUTHORIZATION_NAMING,
  priorAuthorizationRule,
  timerChanges,
  toMermaid,
  urgencyOf,
  US_FEDERAL_RULE_SET,
  type WorkflowDefinition,
} from '../../src/domain/index.js';
import { PRESCRIPTION_WORKFLOW_V2 } from '../../src/domain/workflows/prescription.js';
import { PRIOR_AUTHORIZATION_WORKFLOW_V1 as PA } from '../../src/domain/workflows/prior-authorization.js';

/** The prior-authorization definition (CONTRACT §9) on the engine's pure half. */

const facts = { decisionDueAt: new Date('2026-12-10T00:00:00Z') };
const definition = PA as unknown as WorkflowDefinition;

describe('the prior-authorization definition', () => {
  it('moves as CONTRACT §9 says, and nothing else', () => {
    const moves: Record<string, Record<string, string>> = {
      submitted: { review: 'in-review', withdraw: 'withdrawn' },
      'in-review': { approve: 'approved', deny: 'denied', pend: 'pended', withdraw: 'withdrawn' },
      pended: { 'provide-info': 'in-review', withdraw: 'withdrawn' },
      denied: { appeal: 'appealed', close: 'closed', withdraw: 'withdrawn' },
      appealed: { review: 'in-review', withdraw: 'withdrawn' },
      approved: {},
      closed: {},
      withdrawn: {},
    };
    const events = ['review', 'approve', 'deny', 'pend', 'provide-info', 'appeal', 'withdraw', 'close'] as const;
    for (const [state, allowed] of Object.entries(moves)) {
      for (const event of events) {
        const rule = decide(PA, state as never, event, facts);
        expect(rule?.to, `${state} + ${event}`).toBe(allowed[event]);
      }
      expect(legalEvents(PA, state).sort()).toEqual(Object.keys(allowed).sort());
    }
  });

  it('refuses an illegal move with INVALID_TRANSITION naming the legal events', () => {
    expect(() => assertMove(PA, PRIOR_AUTHORIZATION_NAMING, 'submitted', 'approve', facts)).toThrow(DomainError);
    try {
      assertMove(PA, PRIOR_AUTHORIZATION_NAMING, 'approved', 'withdraw', facts);
    } catch (error) {
      expect((error as DomainError).code).toBe('INVALID_TRANSITION');
      expect((error as DomainError).message).toContain("'approved' is final");
    }
  });

  it("lets each event be sent by the persona of CONTRACT §9 only; close is the gateway's", () => {
    const sender = {
      review: 'payer-backend',
      approve: 'payer-backend',
      deny: 'payer-backend',
      pend: 'payer-backend',
      'provide-info': 'ehr-backend',
      appeal: 'ehr-backend',
      withdraw: 'ehr-backend',
    } as const;
    for (const [event, persona] of Object.entries(sender)) {
      expect(() => assertSender(definition, PRIOR_AUTHORIZATION_NAMING, persona, event)).not.toThrow();
      for (const other of ['ehr-backend', 'pharmacy-backend', 'platform-admin', 'payer-backend'] as const) {
        if (other !== persona) expect(() => assertSender(definition, PRIOR_AUTHORIZATION_NAMING, other, event), `${event} by ${other}`).toThrow(/may not/);
      }
    }
    expect(() => assertSender(definition, PRIOR_AUTHORIZATION_NAMING, 'ehr-backend', 'close')).toThrow(/only the gateway itself/);
  });

  it('arms the decision deadline at submission and keeps it while undecided; a denial arms the appeal window', () => {
    expect(timerChanges(PA, null, 'submitted')).toMatchObject({ arm: [{ name: 'decisionDeadline' }], drop: [] });
    expect(timerChanges(PA, 'submitted', 'in-review')).toEqual({ arm: [], drop: [] });
    expect(timerChanges(PA, 'in-review', 'pended')).toEqual({ arm: [], drop: [] });
    expect(timerChanges(PA, 'in-review', 'approved')).toEqual({ arm: [], drop: ['decisionDeadline'] });
    expect(timerChanges(PA, 'in-review', 'denied')).toMatchObject({ arm: [{ name: 'appealWindow' }], drop: ['decisionDeadline'] });
    expect(timerChanges(PA, 'denied', 'appealed')).toEqual({ arm: [], drop: ['appealWindow'] });
  });

  it('a deadline already past is not armed again (one breach per PA); the appeal window lasts PA_APPEAL_SECONDS', () => {
    const deadline = PA.timers.find((t) => t.name === 'decisionDeadline')!;
    expect(deadline.due({ facts, armedAt: new Date('2026-12-01T00:00:00Z'), settings: {} })).toEqual(facts.decisionDueAt);
    expect(deadline.due({ facts, armedAt: new Date('2026-12-11T00:00:00Z'), settings: {} })).toBeUndefined();
    const window = PA.timers.find((t) => t.name === 'appealWindow')!;
    expect(window.due({ facts, armedAt: new Date('2026-12-01T00:00:00Z'), settings: { paAppealSeconds: 60 } })).toEqual(new Date('2026-12-01T00:01:00Z'));
    expect(window.fires).toEqual({ event: 'close' });
    expect(deadline.fires).toEqual({ emit: 'deadline_breached' });
  });

  it('a breach alerts support; a move alerts nobody', () => {
    expect(actionsFor(definition, { emitted: 'deadline_breached' }).map((a) => a.name)).toEqual(['alertSupport']);
    expect(actionsFor(definition, { event: 'deny', from: 'in-review', to: 'denied' })).toEqual([]);
  });

  it("withdrawal is a compensating end of its own; the prescription's compensating ends withdraw the PA through the link", () => {
    expect(compensationsFor(definition, 'withdrawn', [])).toEqual([]);
    const prescription = PRESCRIPTION_WORKFLOW_V2 as unknown as WorkflowDefinition;
    for (const end of ['cancelled', 'expired', 'failed']) expect(linkCompensationsFor(prescription, end)).toEqual(['withdrawPriorAuthorization']);
    expect(linkCompensationsFor(prescription, 'completed')).toEqual([]);
    expect(linkCompensationsFor(definition, 'withdrawn')).toEqual([]);
  });

  it('draws as Mermaid with the system close and the final states', () => {
    const mermaid = toMermaid(definition);
    expect(mermaid).toContain('[*] --> submitted: submit');
    expect(mermaid).toContain('pended --> in_review: provide-info (ehr-backend)');
    expect(mermaid).toContain('denied --> closed: close (system)');
    for (const state of ['approved', 'closed', 'withdrawn']) expect(mermaid).toContain(`${state} --> [*]`);
  });
});

describe('urgency, deadline and the rule (CONTRACT §8, §9)', () => {
  it('urgent for priority urgent, asap or stat; standard otherwise', () => {
    for (const priority of ['urgent', 'asap', 'stat'] as const) expect(urgencyOf({ priority })).toBe('urgent');
    expect(urgencyOf({ priority: 'routine' })).toBe('standard');
    expect(urgencyOf({})).toBe('standard');
  });

  it('the decision is due PA_URGENT_SECONDS or PA_STANDARD_SECONDS after submission (defaults 72 h, 7 days)', () => {
    const at = new Date('2026-12-01T00:00:00Z');
    expect(decisionDueAt(at, 'urgent', {})).toEqual(new Date('2026-12-04T00:00:00Z'));
    expect(decisionDueAt(at, 'standard', {})).toEqual(new Date('2026-12-08T00:00:00Z'));
    expect(decisionDueAt(at, 'urgent', { paUrgentSeconds: 5 })).toEqual(new Date('2026-12-01T00:00:05Z'));
  });

  it('a rule marks a medication by RxNorm code or schedule; the built-in rules mark none', () => {
    const epogen = { medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '205923' }] } };
    expect(priorAuthorizationRule([US_FEDERAL_RULE_SET], { resource: epogen, schedule: null })).toBeUndefined();
    const byCode = {
      id: 'pa',
      version: '1',
      rules: [{ id: 'pa.code', description: 'd', citation: 'c', rxnormCodes: ['205923'], requiresPriorAuthorization: true }],
    };
    expect(priorAuthorizationRule([US_FEDERAL_RULE_SET, byCode], { resource: epogen, schedule: null })?.id).toBe('pa.code');
    const bySchedule = {
      id: 'pa',
      version: '1',
      rules: [{ id: 'pa.cii', description: 'd', citation: 'c', schedules: ['CII' as const], requiresPriorAuthorization: true }],
    };
    expect(priorAuthorizationRule([bySchedule], { resource: epogen, schedule: 'CII' })?.id).toBe('pa.cii');
    expect(priorAuthorizationRule([bySchedule], { resource: epogen, schedule: null })).toBeUndefined();
  });
});
