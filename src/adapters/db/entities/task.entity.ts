import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import type { TaskRecord } from '#domain/index.js';
import { TenantEntity } from './tenant.entity.js';

/** `tasks` (Workflow): workflow Tasks, written once. */
@Entity({ name: 'tasks' })
@Index('tasks_seq', ['seq'], { unique: true })
@Index('tasks_focus', ['tenantId', 'focusId', 'seq'])
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
}
