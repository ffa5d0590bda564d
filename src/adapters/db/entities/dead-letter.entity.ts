import { Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';
import type { EventEnvelope } from '#domain/index.js';

/** `dead_letters` (Workflow): events a workflow action gave up on, until replayed. */
@Entity({ name: 'dead_letters' })
@Unique('dead_letters_handler_event_id_key', ['handler', 'eventId'])
@Index('dead_letters_open', ['tenantId', 'createdAt'], { where: 'resolved_at IS NULL' })
export class DeadLetterEntity {
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ type: 'text', name: 'tenant_id' }) tenantId!: string;
  @Column({ type: 'text' }) handler!: string;
  @Column({ type: 'uuid', name: 'event_id' }) eventId!: string;
  @Column({ type: 'text', name: 'event_type' }) eventType!: string;
  @Column({ type: 'jsonb' }) envelope!: EventEnvelope;
  @Column({ type: 'text' }) error!: string;
  @Column({ type: 'integer' }) attempts!: number;
  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()', insert: false, update: false }) createdAt!: Date;
  @Column({ type: 'timestamptz', name: 'resolved_at', nullable: true }) resolvedAt!: Date | null;
}
