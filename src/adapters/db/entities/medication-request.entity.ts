import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { MedicationRequestResource, TransitionRecord } from '../../../domain/index.js';

@Entity({ name: 'medication_requests' })
export class MedicationRequestEntity {
  @Column({ type: 'bigint', insert: false, update: false }) seq!: string;
  @PrimaryColumn({ type: 'text', name: 'tenant_id' }) tenantId!: string;
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ type: 'integer' }) version!: number;
  @Column({ type: 'text', name: 'workflow_status' }) workflowStatus!: string;
  @Column({ type: 'text' }) status!: string;
  @Column({ type: 'text', name: 'patient_id' }) patientId!: string;
  @Column({ type: 'text', name: 'pharmacy_id', nullable: true }) pharmacyId!: string | null;
  @Column({ type: 'text', nullable: true }) requester!: string | null;
  @Column({ type: 'timestamptz', name: 'authored_on', nullable: true }) authoredOn!: Date | null;
  @Column({ type: 'text', array: true }) identifiers!: string[];
  @Column({ type: 'text', array: true }) codes!: string[];
  @Column({ type: 'timestamptz', name: 'last_updated' }) lastUpdated!: Date;
  @Column({ type: 'jsonb' }) resource!: MedicationRequestResource;
}

@Entity({ name: 'medication_request_history' })
export class MedicationRequestHistoryEntity {
  @PrimaryColumn({ type: 'text', name: 'tenant_id' }) tenantId!: string;
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @PrimaryColumn({ type: 'integer' }) version!: number;
  @Column({ type: 'text', name: 'workflow_status' }) workflowStatus!: string;
  @Column({ type: 'timestamptz', name: 'last_updated' }) lastUpdated!: Date;
  @Column({ type: 'jsonb' }) resource!: MedicationRequestResource;
  /** The transition that produced this version; null for a content update. */
  @Column({ type: 'jsonb', nullable: true }) transition!: (Omit<TransitionRecord, 'at'> & { at: string }) | null;
}
