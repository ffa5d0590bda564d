import { defineWorkflow, type WorkflowDefinition } from '../workflow-engine.js';

/**
 * The prior-authorization workflow (CONTRACT §9, §10), as data: the payer's decision on a
 * prescription that needs one. This file is the only place that names its states, events, senders,
 * timers and actions; the GraphQL enums, the FHIR `businessStatus` codes, the bus commands and the
 * action registry are derived from it.
 */

/** What the PA workflow's timers read, computed in the transaction. */
export interface PriorAuthorizationFacts {
  [key: string]: unknown;
  /** When a decision is due (submission + PA_URGENT_SECONDS or PA_STANDARD_SECONDS). */
  decisionDueAt: Date;
}

const EHR = 'ehr-backend';
const PAYER = 'payer-backend';

const STATES = {
  submitted: {},
  'in-review': {},
  pended: {},
  denied: {},
  appealed: {},
  approved: { final: true },
  closed: { final: true },
  // Withdrawing ends the PA's own saga (CONTRACT §10); it declares no action to undo.
  withdrawn: { final: true, compensating: true },
} as const;

export type PriorAuthorizationState = keyof typeof STATES;

/** Open states: any of them may be withdrawn (CONTRACT §9). */
const OPEN = ['submitted', 'in-review', 'pended', 'denied', 'appealed'] as const;

/** Version 1: submission, review, decision, information asked, appeal, close and withdrawal. */
export const PRIOR_AUTHORIZATION_WORKFLOW_V1 = defineWorkflow<
  PriorAuthorizationState,
  'review' | 'approve' | 'deny' | 'pend' | 'provide-info' | 'appeal' | 'withdraw' | 'close',
  PriorAuthorizationFacts
>({
  name: 'prior-authorization',
  version: 1,
  description: "The payer's prior authorization of a prescription, from submission to a decision, an appeal or a withdrawal (CONTRACT §9).",
  states: STATES,
  initial: 'submitted',
  creation: { event: 'submit', sender: EHR },
  transitions: [
    { event: 'review', from: ['submitted', 'appealed'], to: 'in-review', sender: PAYER },
    { event: 'approve', from: ['in-review'], to: 'approved', sender: PAYER },
    { event: 'deny', from: ['in-review'], to: 'denied', sender: PAYER },
    { event: 'pend', from: ['in-review'], to: 'pended', sender: PAYER },
    { event: 'provide-info', from: ['pended'], to: 'in-review', sender: EHR },
    { event: 'appeal', from: ['denied'], to: 'appealed', sender: EHR },
    { event: 'withdraw', from: OPEN, to: 'withdrawn', sender: EHR },
    { event: 'close', from: ['denied'], to: 'closed', sender: 'system' },
  ],
  timers: [
    // Armed at submission and kept while undecided; a decision drops it. Re-entering review after an
    // appeal arms it again only if the original deadline still lies ahead (one breach per PA, never a new one).
    {
      name: 'decisionDeadline',
      armedIn: ['submitted', 'in-review', 'pended'],
      due: ({ facts, armedAt }) => (facts.decisionDueAt > armedAt ? facts.decisionDueAt : undefined),
      fires: { emit: 'deadline_breached' },
    },
    {
      name: 'appealWindow',
      armedIn: ['denied'],
      due: ({ armedAt, settings }) => new Date(armedAt.getTime() + (settings.paAppealSeconds ?? 2_592_000) * 1000),
      fires: { event: 'close' },
    },
  ],
  actions: [{ name: 'alertSupport', on: { emitted: 'deadline_breached' } }],
});

export const PRIOR_AUTHORIZATION_WORKFLOWS = [PRIOR_AUTHORIZATION_WORKFLOW_V1] as const satisfies readonly WorkflowDefinition[];
export const CURRENT_PRIOR_AUTHORIZATION_WORKFLOW = PRIOR_AUTHORIZATION_WORKFLOW_V1;

export type PriorAuthorizationEvent = (typeof PRIOR_AUTHORIZATION_WORKFLOW_V1.transitions)[number]['event'];
