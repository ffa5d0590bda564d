/** Ports of workflow actions: the outside systems told of transitions, and the ledger of what ran. */
import type { EventEnvelope } from '../domain/index.js';

/** What an outside system is told about a transition. */
export interface IntegrationNotice {
  /** The event the action runs on; with the action, it identifies the notice (a repeat carries the same). */
  eventId: string;
  /** The tenant of the prescription. */
  tenantId: string;
  /** Id of the prescription. */
  medicationRequestId: string;
  /** Id of its patient. */
  patientId: string | null;
  /** Id of its pharmacy (Organization). */
  pharmacyId: string | null;
  /** The workflow event of the transition, or what a timer emitted (e.g. `sla_breached`). */
  event: string;
  /** State before the transition; `null` for a create or an emitted event. */
  from: string | null;
  /** State after the transition (for an emitted event, the state it was emitted in). */
  to: string;
  /** The reason given with the transition. */
  reason: string | null;
  /** When the event happened (ISO 8601). */
  occurredAt: string;
  /** Correlation id of the request that caused the transition. */
  correlationId: string;
  /** The instance's resource after the transition (FHIR R4 JSON): the MedicationRequest, or a prior authorization's Task. */
  prescription: Record<string, unknown>;
}

/** Tells the insurer a prescription was approved. Throws when the message could not be handed over. */
export interface InsuranceNotifier {
  /** The prescription was approved (action `notifyInsurance`). */
  approvalGranted(notice: IntegrationNotice): Promise<void>;
  /** Withdraws an earlier approval notice (the compensation of `notifyInsurance`). */
  approvalReversed(notice: IntegrationNotice): Promise<void>;
}

/** Routes an approved prescription to its pharmacy for processing. */
export interface PharmacyGateway {
  /** Sends the prescription to its pharmacy (action `sendToPharmacy`). */
  sendPrescription(notice: IntegrationNotice): Promise<void>;
  /** Tells the pharmacy to drop a prescription it was sent (the compensation of `sendToPharmacy`). */
  cancelPrescription(notice: IntegrationNotice): Promise<void>;
}

/** Tells the patient how the prescription is going. Throws when the message could not be handed over. */
export interface PatientNotifier {
  /** A fill was dispensed (action `notifyPatientDispensed`). */
  prescriptionDispensed(notice: IntegrationNotice): Promise<void>;
  /** The prescription is completed (action `notifyPatientCompleted`). */
  prescriptionCompleted(notice: IntegrationNotice): Promise<void>;
}

/** Pages support. Throws when the message could not be handed over. */
export interface SupportAlerter {
  /** The prescription failed at the pharmacy (action `alertSupport` on `fail`). */
  prescriptionFailed(notice: IntegrationNotice): Promise<void>;
  /** A deadline passed (service level, decision deadline): `notice.event` names what was breached. */
  alert(notice: IntegrationNotice): Promise<void>;
}

/** The outside systems workflow actions talk to (CONTRACT §6), one port each. */
export interface Integrations {
  /** The insurer. */
  insurance: InsuranceNotifier;
  /** The pharmacies. */
  pharmacy: PharmacyGateway;
  /** The patient. */
  patient: PatientNotifier;
  /** The support team. */
  support: SupportAlerter;
}

/** A workflow action that still failed after its last attempt (CONTRACT §6), kept for a platform-admin to replay. */
export interface DeadLetter {
  /** Its id (what `replayDeadLetter` takes). */
  id: string;
  /** The tenant of the event. */
  tenantId: string;
  /** The action that failed, e.g. `notifyInsurance`. */
  handler: string;
  /** The event it ran on. */
  eventId: string;
  /** The event's versioned type. */
  eventType: string;
  /** The whole event, for the replay. */
  envelope: EventEnvelope;
  /** The last error. */
  error: string;
  /** How many times it was tried, replays included. */
  attempts: number;
  /** When the action was first given up on. */
  createdAt: Date;
  /** When a replay succeeded; `null` while open. */
  resolvedAt: Date | null;
}

/** Which dead letters to list; oldest first. */
export interface DeadLetterFilter {
  /** Only this action's. */
  handler?: string;
  /** Only those of this event type. */
  eventType?: string;
  /** Resolved ones too (default: open ones only). */
  includeResolved?: boolean;
  /** Most dead letters answered. */
  limit: number;
}

/** One action's run for an instance, as the ledger knows it. */
export interface ActionRun {
  /** The action, e.g. `sendToPharmacy`. */
  handler: string;
  /** `done`, or given up on and waiting in the dead letters. */
  status: 'done' | 'dead-lettered';
  /** Attempts it took (or made, before it gave up). */
  attempts: number;
  /** The last error of a dead-lettered run; `null` for a done one. */
  lastError: string | null;
}

/** Bookkeeping of workflow actions: which ran, and which gave up (dead letters). */
export interface ActionLedger {
  /** Whether `handler` already completed for this event (an action runs once per event). */
  isDone(handler: string, eventId: string): Promise<boolean>;
  /** `instanceId`: the workflow instance the action acted for (its compensations are found by it). */
  markDone(entry: { handler: string; eventId: string; tenantId: string; attempts: number; instanceId?: string }): Promise<void>;
  /** Names of the actions completed for an instance, oldest first. */
  completedFor(tenantId: string, instanceId: string): Promise<string[]>;
  /** What each action of these instances did, by instance (inspection): done runs and dead letters, oldest first. */
  runsFor(tenantId: string, instanceIds: readonly string[]): Promise<Map<string, ActionRun[]>>;
  /** Records (or refreshes) the dead letter of `handler` for this event; answers it. */
  deadLetter(entry: Omit<DeadLetter, 'id' | 'createdAt' | 'resolvedAt'> & { id: string }): Promise<DeadLetter>;
  /** The tenant's dead letters matching `filter`, oldest first. */
  listDeadLetters(tenantId: string, filter: DeadLetterFilter): Promise<DeadLetter[]>;
  /** The tenant's dead letter with this id, or `undefined`. */
  findDeadLetter(tenantId: string, id: string): Promise<DeadLetter | undefined>;
  /** Marks it resolved and the action done, together. */
  resolve(deadLetter: DeadLetter, attempts: number): Promise<void>;
  /** A replay failed too: keeps it open with this error and one more attempt; answers it. */
  recordFailedReplay(deadLetter: DeadLetter, error: string): Promise<DeadLetter>;
}
