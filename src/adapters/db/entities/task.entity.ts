import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import type { TaskRecord } from '#domain/index.js';
import { TenantEntity } from './tenant.entity.js';

/** `tasks` (Workflow): workflow Tasks, written once; prior authorizations (PriorAuthorization), which move. */
@Entity({ name: 'tasks' })
@Index('tasks_seq', ['seq'], { unique: true })
@Index('tasks_focus', ['tenantId', 'focusId', 'seq'])
@Index('tasks_live_prior_authorization', ['tenantId', 'focusId'], {
  unique: true,
  where: "workflow_name = 'prior-authorization' AND business_status NOT IN ('withdrawn', 'closed')",
})
@Index('tasks_business_status', ['tenantId', 'businessStatus', 'seq'], { where: 'business_status IS NOT NULL' })
export class TaskEntity {
  @Column({ type: 'bigint', generated: 'identity', generatedIdentity: 'ALWAYS', insert: false, update: false }) seq!: string;
  @PrimaryColumn({ type: 'text', name: 'tenant_id' })
  @ForeignKey(() => TenantEntity, { name: 'tasks_tenant_id_fkey' })
  tenantId!: string;
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ type: 'integer' }) version!: number;
  @Column({ type: 'text' }) status!: string;
  @Column({ type: 'text' }) code!: string;
  @Column({ type: 'uuid', name: 'focus_id' }) focusId!: string;
  @Column({ type: 'timestamptz', name: 'last_updated' }) lastUpdated!: Date;
  @Column({ type: 'jsonb' }) resource!: TaskRecord['resource'];
  /** The state of a Task that is a workflow instance itself (a PA); null for the Tasks that move a prescription. */
  @Column({ type: 'text', name: 'business_status', nullable: true }) businessStatus!: string | null;
  @Column({ type: 'text', name: 'workflow_name', nullable: true }) workflowName!: string | null;
  @Column({ type: 'integer', name: 'workflow_version', nullable: true }) workflowVersion!: number | null;
}
