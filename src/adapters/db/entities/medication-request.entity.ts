import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import type { MedicationRequestResource } from '#domain/index.js';
import { TenantEntity } from './tenant.entity.js';

/** `medication_requests` (InitialSchema): search columns derived from the resource by one mapper. */
@Entity({ name: 'medication_requests' })
@Index('medication_requests_seq', ['seq'], { unique: true })
@Index('medication_requests_tenant_seq', ['tenantId', 'seq'])
@Index('medication_requests_patient', ['tenantId', 'patientId', 'seq'])
@Index('medication_requests_pharmacy', ['tenantId', 'pharmacyId', 'seq'])
@Index('medication_requests_workflow', ['tenantId', 'workflowStatus', 'seq'])
@Index('medication_requests_authored', ['tenantId', 'authoredOn', 'seq'])
@Index('medication_requests_updated', ['tenantId', 'lastUpdated', 'seq'])
// GIN indexes in the migration (TypeORM models no index method; its diff compares the columns).
@Index('medication_requests_identifiers', ['identifiers'])
@Index('medication_requests_codes', ['codes'])
export class MedicationRequestEntity {
  @Column({ type: 'bigint', generated: 'identity', generatedIdentity: 'ALWAYS', insert: false, update: false }) seq!: string;
  @PrimaryColumn({ type: 'text', name: 'tenant_id' })
  @ForeignKey(() => TenantEntity, { name: 'medication_requests_tenant_id_fkey' })
  tenantId!: string;
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ type: 'integer' }) version!: number;
  @Column({ type: 'text', name: 'workflow_status' }) workflowStatus!: string;
  @Column({ type: 'text' }) status!: string;
  @Column({ type: 'text', name: 'patient_id' }) patientId!: string;
  @Column({ type: 'text', name: 'pharmacy_id', nullable: true }) pharmacyId!: string | null;
  @Column({ type: 'text', nullable: true }) requester!: string | null;
  @Column({ type: 'timestamptz', name: 'authored_on', nullable: true }) authoredOn!: Date | null;
  @Column({ type: 'text', array: true, default: '{}' }) identifiers!: string[];
  @Column({ type: 'text', array: true, default: '{}' }) codes!: string[];
  @Column({ type: 'timestamptz', name: 'last_updated' }) lastUpdated!: Date;
  @Column({ type: 'jsonb' }) resource!: MedicationRequestResource;
  /** The prescription workflow version it started under (WorkflowEngine). */
  @Column({ type: 'integer', name: 'workflow_version' }) workflowVersion!: number;
}
