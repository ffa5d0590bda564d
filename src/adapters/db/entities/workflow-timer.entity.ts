import { Check, Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { TenantEntity } from './tenant.entity.js';

/** `workflow_timers` (WorkflowEngine): a durable timer, armed and settled in the transactions of the changes it follows. */
@Entity({ name: 'workflow_timers' })
@Index('workflow_timers_due', ['dueAt'], { where: 'settled_at IS NULL' })
@Index('workflow_timers_instance', ['tenantId', 'instanceId'], { where: 'settled_at IS NULL' })
@Check('workflow_timers_outcome_check', "outcome IN ('fired', 'dropped')")
export class WorkflowTimerEntity {
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ type: 'text', name: 'tenant_id' })
  @ForeignKey(() => TenantEntity, { name: 'workflow_timers_tenant_id_fkey' })
  tenantId!: string;
  @Column({ type: 'text' }) workflow!: string;
  @Column({ type: 'uuid', name: 'instance_id' }) instanceId!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'timestamptz', name: 'due_at' }) dueAt!: Date;
  @Column({ type: 'timestamptz', name: 'armed_at', default: () => 'now()' }) armedAt!: Date;
  @Column({ type: 'timestamptz', name: 'settled_at', nullable: true }) settledAt!: Date | null;
  @Column({ type: 'text', nullable: true }) outcome!: 'fired' | 'dropped' | null;
}
