import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** `action_runs` (Workflow): a workflow action that completed for an event (it runs once per event). */
@Entity({ name: 'action_runs' })
@Index('action_runs_instance', ['tenantId', 'instanceId', 'completedAt'], { where: 'instance_id IS NOT NULL' })
export class ActionRunEntity {
  @PrimaryColumn({ type: 'text' }) handler!: string;
  @PrimaryColumn({ type: 'uuid', name: 'event_id' }) eventId!: string;
  @Column({ type: 'text', name: 'tenant_id' }) tenantId!: string;
  @Column({ type: 'integer' }) attempts!: number;
  @Column({ type: 'timestamptz', name: 'completed_at', default: () => 'now()', insert: false, update: false }) completedAt!: Date;
  /** The workflow instance it acted for (WorkflowEngine): its compensations are found by it. */
  @Column({ type: 'uuid', name: 'instance_id', nullable: true }) instanceId!: string | null;
}
