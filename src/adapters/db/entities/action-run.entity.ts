import { Column, Entity, PrimaryColumn } from 'typeorm';

/** `action_runs` (Workflow): a workflow action that completed for an event (it runs once per event). */
@Entity({ name: 'action_runs' })
export class ActionRunEntity {
  @PrimaryColumn({ type: 'text' }) handler!: string;
  @PrimaryColumn({ type: 'uuid', name: 'event_id' }) eventId!: string;
  @Column({ type: 'text', name: 'tenant_id' }) tenantId!: string;
  @Column({ type: 'integer' }) attempts!: number;
  @Column({ type: 'timestamptz', name: 'completed_at', default: () => 'now()', insert: false, update: false }) completedAt!: Date;
}
