import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import type { MedicationDispenseRecord } from '#domain/index.js';
import { TenantEntity } from './tenant.entity.js';

/** `medication_dispenses` (Workflow). */
@Entity({ name: 'medication_dispenses' })
@Index('medication_dispenses_seq', ['seq'], { unique: true })
@Index('medication_dispenses_prescription', ['tenantId', 'prescriptionId', 'seq'])
@Index('medication_dispenses_patient', ['tenantId', 'patientId', 'seq'])
@Index('medication_dispenses_pharmacy', ['tenantId', 'pharmacyId', 'seq'])
// GIN index in the migration (DispensePerformers).
@Index('medication_dispenses_performer', ['performerRefs'])
export class MedicationDispenseEntity {
  @Column({ type: 'bigint', generated: 'identity', generatedIdentity: 'ALWAYS', insert: false, update: false }) seq!: string;
  @PrimaryColumn({ type: 'text', name: 'tenant_id' })
  @ForeignKey(() => TenantEntity, { name: 'medication_dispenses_tenant_id_fkey' })
  tenantId!: string;
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ type: 'integer' }) version!: number;
  @Column({ type: 'text' }) status!: string;
  @Column({ type: 'uuid', name: 'prescription_id' }) prescriptionId!: string;
  @Column({ type: 'text', name: 'patient_id' }) patientId!: string;
  @Column({ type: 'text', name: 'pharmacy_id', nullable: true }) pharmacyId!: string | null;
  /** Every `performer.actor` reference, typed (`Practitioner/p1`): the `performer` search (DispensePerformers). */
  @Column({ type: 'text', name: 'performer_refs', array: true, default: '{}' }) performerRefs!: string[];
  @Column({ type: 'timestamptz', name: 'when_handed_over', nullable: true }) whenHandedOver!: Date | null;
  @Column({ type: 'timestamptz', name: 'last_updated' }) lastUpdated!: Date;
  @Column({ type: 'jsonb' }) resource!: MedicationDispenseRecord['resource'];
}
