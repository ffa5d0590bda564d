import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** `audit_events` (TenantSecurity): the append-only audit trail. */
@Entity({ name: 'audit_events' })
@Index('audit_events_tenant', ['tenantId', 'recorded', 'id'])
@Index('audit_events_entity', ['tenantId', 'entityId', 'recorded'])
@Index('audit_events_actor', ['tenantId', 'actor', 'recorded'])
export class AuditEventEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' }) id!: string;
  @Column({ type: 'timestamptz' }) recorded!: Date;
  @Column({ type: 'text', name: 'tenant_id' }) tenantId!: string;
  @Column({ type: 'text' }) actor!: string;
  @Column({ type: 'text' }) persona!: string;
  @Column({ type: 'text' }) action!: string;
  @Column({ type: 'text' }) interaction!: string;
  @Column({ type: 'text', name: 'entity_type', nullable: true }) entityType!: string | null;
  @Column({ type: 'text', name: 'entity_id', nullable: true }) entityId!: string | null;
  @Column({ type: 'text' }) outcome!: string;
  @Column({ type: 'text', name: 'outcome_code', nullable: true }) outcomeCode!: string | null;
  @Column({ type: 'text', name: 'correlation_id' }) correlationId!: string;
  @Column({ type: 'text', nullable: true }) detail!: string | null;
}
