import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { MedicationDispenseRecord } from '#domain/index.js';

/** `medication_dispense_history` (Workflow): every version of a dispense. */
@Entity({ name: 'medication_dispense_history' })
export class MedicationDispenseHistoryEntity {
  @PrimaryColumn({ type: 'text', name: 'tenant_id' }) tenantId!: string;
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @PrimaryColumn({ type: 'integer' }) version!: number;
  @Column({ type: 'timestamptz', name: 'last_updated' }) lastUpdated!: Date;
  @Column({ type: 'jsonb' }) resource!: MedicationDispenseRecord['resource'];
}
