import { defineWorkflow, type WorkflowDefinition } from '../workflow-engine.js';

/**
 * The prescription workflow (CONTRACT §3, §7, §10), as data. This file is the only place that names
 * its states, events, senders, FHIR statuses, Task codes, timers and actions: GraphQL enums, FHIR
 * status tables, Task mappings and the action registry are derived from it.
 */

/** Everything a guard or timer of the prescription workflow may read, computed in the transaction. */
export interface PrescriptionFacts {
  [key: string]: unknown;
  /** `1 + dispenseRequest.numberOfRepeatsAllowed`. */
  fillsAllowed: number;
  /** Dispenses stored for the prescription (a fill counts from its dispense). */
  fillsDispensed: number;
  /** `dispenseRequest.validityPeriod.end`, when given. */
  validUntil: Date | null;
  now: Date;
}

const fillsRemainAndValid = {
  name: 'fills remain and validity not ended',
  holds: (f: PrescriptionFacts) => f.fillsDispensed < f.fillsAllowed && (f.validUntil === null || f.now < f.validUntil),
};

const EHR = 'ehr-backend';
const PHARMACY = 'pharmacy-backend';
const task = (code: string, status: string) => ({ code, status });

const V1_STATES = {
  requested: { fhirStatus: 'draft', contentEditable: true },
  approved: { fhirStatus: 'active', contentEditable: true },
  rejected: { fhirStatus: 'cancelled', final: true },
  processing: { fhirStatus: 'active' },
  dispensed: { fhirStatus: 'active' },
  completed: { fhirStatus: 'completed', final: true },
  failed: { fhirStatus: 'stopped', final: true, compensating: true },
  cancelled: { fhirStatus: 'cancelled', final: true, compensating: true },
} as const;

/** Side effects of both versions (CONTRACT §6, §10): the pairs name their compensations. */
const ACTIONS = [
  { name: 'notifyInsurance', on: { event: 'approve' }, compensation: 'reverseInsuranceNotice' },
  { name: 'sendToPharmacy', on: { event: 'process' }, compensation: 'cancelAtPharmacy' },
  { name: 'notifyPatientDispensed', on: { event: 'dispense' } },
  { name: 'notifyPatientCompleted', on: { event: 'complete' } },
  { name: 'alertSupport', on: [{ event: 'fail' }, { emitted: 'sla_breached' }] },
] as const;

/** Version 1: the one-shot workflow of the first round (no refills, no timers). */
export const PRESCRIPTION_WORKFLOW_V1 = defineWorkflow<
  keyof typeof V1_STATES,
  'approve' | 'reject' | 'cancel' | 'process' | 'dispense' | 'complete' | 'fail',
  PrescriptionFacts
>({
  name: 'prescription',
  version: 1,
  description: 'A prescription from request to a single fill (CONTRACT §3).',
  states: V1_STATES,
  initial: 'requested',
  creation: { event: 'request', sender: EHR },
  transitions: [
    { event: 'approve', from: ['requested'], to: 'approved', sender: EHR, task: task('approve', 'completed') },
    { event: 'reject', from: ['requested'], to: 'rejected', sender: EHR, task: task('approve', 'rejected') },
    { event: 'cancel', from: ['requested', 'approved'], to: 'cancelled', sender: EHR, task: task('abort', 'completed') },
    { event: 'process', from: ['approved'], to: 'processing', sender: PHARMACY, task: task('fulfill', 'in-progress') },
    { event: 'dispense', from: ['processing'], to: 'dispensed', sender: PHARMACY },
    { event: 'complete', from: ['dispensed'], to: 'completed', sender: PHARMACY, task: task('fulfill', 'completed') },
    { event: 'fail', from: ['processing'], to: 'failed', sender: PHARMACY, task: task('fulfill', 'failed') },
  ],
  timers: [],
  actions: ACTIONS,
});

const V2_STATES = {
  ...V1_STATES,
  refillable: { fhirStatus: 'active' },
  expired: { fhirStatus: 'stopped', final: true, compensating: true },
} as const;

/** Version 2 (CONTRACT §7): refills between fills, expiry at the end of validity, the processing service level. */
export const PRESCRIPTION_WORKFLOW_V2 = defineWorkflow<
  keyof typeof V2_STATES,
  'approve' | 'reject' | 'cancel' | 'process' | 'dispense' | 'complete' | 'fail' | 'expire',
  PrescriptionFacts
>({
  name: 'prescription',
  version: 2,
  description: 'A prescription from request through every authorized fill, until completed, stopped or expired (CONTRACT §3, §7).',
  states: V2_STATES,
  initial: 'requested',
  creation: { event: 'request', sender: EHR },
  transitions: [
    { event: 'approve', from: ['requested'], to: 'approved', sender: EHR, task: task('approve', 'completed') },
    { event: 'reject', from: ['requested'], to: 'rejected', sender: EHR, task: task('approve', 'rejected') },
    { event: 'cancel', from: ['requested', 'approved', 'refillable'], to: 'cancelled', sender: EHR, task: task('abort', 'completed') },
    { event: 'process', from: ['approved', 'refillable'], to: 'processing', sender: PHARMACY, task: task('fulfill', 'in-progress') },
    { event: 'dispense', from: ['processing'], to: 'dispensed', sender: PHARMACY },
    { event: 'complete', from: ['dispensed'], to: 'refillable', sender: PHARMACY, guard: fillsRemainAndValid, task: task('fulfill', 'completed') },
    { event: 'complete', from: ['dispensed'], to: 'completed', sender: PHARMACY, task: task('fulfill', 'completed') },
    { event: 'fail', from: ['processing'], to: 'failed', sender: PHARMACY, task: task('fulfill', 'failed') },
    { event: 'expire', from: ['requested', 'approved', 'refillable'], to: 'expired', sender: 'system' },
  ],
  timers: [
    // A fill in progress at the deadline finishes: the timer is dropped on leaving these states and
    // armed again (same instant) on entering `refillable`, where `complete`'s guard already said no more fills.
    { name: 'expiry', armedIn: ['requested', 'approved', 'refillable'], due: ({ facts }) => facts.validUntil ?? undefined, fires: { event: 'expire' } },
    {
      name: 'processingServiceLevel',
      armedIn: ['approved'],
      due: ({ armedAt, settings }) => new Date(armedAt.getTime() + (settings.slaProcessingSeconds ?? 172_800) * 1000),
      fires: { emit: 'sla_breached' },
    },
  ],
  actions: ACTIONS,
});

/** Every version, oldest first; new prescriptions start under the last. */
export const PRESCRIPTION_WORKFLOWS = [PRESCRIPTION_WORKFLOW_V1, PRESCRIPTION_WORKFLOW_V2] as const satisfies readonly WorkflowDefinition[];
export const CURRENT_PRESCRIPTION_WORKFLOW = PRESCRIPTION_WORKFLOW_V2;

export type WorkflowState = keyof typeof V2_STATES;
export type WorkflowEvent = (typeof PRESCRIPTION_WORKFLOW_V2.transitions)[number]['event'];
/** `request` creates the prescription; it has no `from`. */
export type TransitionEvent = WorkflowEvent | 'request';
