/** Ports of workflow actions: the outside systems told of transitions, and the ledger of what ran. */
import type { EventEnvelope } from '../domain/index.js';

/** What an outside system is told about a transition. */
export interface IntegrationNotice {
  eventId: string;
  tenantId: string;
  medicationRequestId: string;
  patientId: string | null;
  pharmacyId: string | null;
  event: string;
  from: string | null;
  to: string;
  reason: string | null;
  occurredAt: string;
  correlationId: string;
  prescription: Record<string, unknown>;
}

/** Tells the insurer a prescription was approved. Throws when the message could not be handed over. */
export interface InsuranceNotifier {
  approvalGranted(notice: IntegrationNotice): Promise<void>;
  /** Withdraws an earlier approval notice (the compensation of `notifyInsurance`). */
  approvalReversed(notice: IntegrationNotice): Promise<void>;
}

/** Routes an approved prescription to its pharmacy for processing. */
export interface PharmacyGateway {
  sendPrescription(notice: IntegrationNotice): Promise<void>;
  /** Tells the pharmacy to drop a prescription it was sent (the compensation of `sendToPharmacy`). */
  cancelPrescription(notice: IntegrationNotice): Promise<void>;
}

export interface PatientNotifier {
  prescriptionDispensed(notice: IntegrationNotice): Promise<void>;
  prescriptionCompleted(notice: IntegrationNotice): Promise<void>;
}

export interface SupportAlerter {
  prescriptionFailed(notice: IntegrationNotice): Promise<void>;
  /** A deadline passed (service level, decision deadline): `notice.event` names what was breached. */
  alert(notice: IntegrationNotice): Promise<void>;
}

export interface Integrations {
  insurance: InsuranceNotifier;
  pharmacy: PharmacyGateway;
  patient: PatientNotifier;
  support: SupportAlerter;
}

export interface DeadLetter {
  id: string;
  tenantId: string;
  handler: string;
  eventId: string;
  eventType: string;
  envelope: EventEnvelope;
  error: string;
  attempts: number;
  createdAt: Date;
  resolvedAt: Date | null;
}

export interface DeadLetterFilter {
  handler?: string;
  eventType?: string;
  includeResolved?: boolean;
  limit: number;
}

/** One action's run for an instance, as the ledger knows it. */
export interface ActionRun {
  handler: string;
  status: 'done' | 'dead-lettered';
  attempts: number;
  lastError: string | null;
}

/** Bookkeeping of workflow actions: which ran, and which gave up (dead letters). */
export interface ActionLedger {
  isDone(handler: string, eventId: string): Promise<boolean>;
  /** `instanceId`: the workflow instance the action acted for (its compensations are found by it). */
  markDone(entry: { handler: string; eventId: string; tenantId: string; attempts: number; instanceId?: string }): Promise<void>;
  /** Names of the actions completed for an instance, oldest first. */
  completedFor(tenantId: string, instanceId: string): Promise<string[]>;
  /** What each action of these instances did, by instance (inspection): done runs and dead letters, oldest first. */
  runsFor(tenantId: string, instanceIds: readonly string[]): Promise<Map<string, ActionRun[]>>;
  /** Records (or refreshes) the dead letter of `handler` for this event; answers it. */
  deadLetter(entry: Omit<DeadLetter, 'id' | 'createdAt' | 'resolvedAt'> & { id: string }): Promise<DeadLetter>;
  listDeadLetters(tenantId: string, filter: DeadLetterFilter): Promise<DeadLetter[]>;
  findDeadLetter(tenantId: string, id: string): Promise<DeadLetter | undefined>;
  /** Marks it resolved and the action done, together. */
  resolve(deadLetter: DeadLetter, attempts: number): Promise<void>;
  recordFailedReplay(deadLetter: DeadLetter, error: string): Promise<DeadLetter>;
}
