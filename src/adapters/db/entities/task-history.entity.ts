import { Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';
import type { PriorAuthorizationTransition } from '../../../domain/index.js';
import { TenantEntity } from './tenant.entity.js';

/** `task_history` (PriorAuthorization): every version of a Task that moves (a PA), with the transition that made it. */
@Entity({ name: 'task_history' })
export class TaskHistoryEntity {
  @PrimaryColumn({ type: 'text', name: 'tenant_id' })
  @ForeignKey(() => TenantEntity, { name: 'task_history_tenant_id_fkey' })
  tenantId!: string;
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @PrimaryColumn({ type: 'integer' }) version!: number;
  @Column({ type: 'text', name: 'business_status' }) businessStatus!: string;
  @Column({ type: 'integer', name: 'workflow_version' }) workflowVersion!: number;
  @Column({ type: 'timestamptz', name: 'last_updated' }) lastUpdated!: Date;
  @Column({ type: 'jsonb' }) resource!: fhir4.Task;
  @Column({ type: 'jsonb' }) transition!: Omit<PriorAuthorizationTransition, 'at'> & { at: string };
}
