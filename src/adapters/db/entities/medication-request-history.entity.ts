import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { MedicationRequestResource, TransitionRecord } from '#domain/index.js';

/** `medication_request_history` (InitialSchema): every version of a prescription. */
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
  /** The instance's workflow version, kept with each version so a version reads whole (WorkflowEngine). */
  @Column({ type: 'integer', name: 'workflow_version' }) workflowVersion!: number;
}
