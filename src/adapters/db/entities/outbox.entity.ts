import { Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';
import type { EventEnvelope } from '#domain/index.js';

/** `outbox` (InitialSchema, LiveEvents, TraceContext): events written with the change that caused them. */
@Entity({ name: 'outbox' })
@Unique('outbox_event_id_key', ['eventId'])
@Index('outbox_unpublished', ['seq'], { where: 'published_at IS NULL' })
@Index('outbox_published', ['publishedAt'], { where: 'published_at IS NOT NULL' })
export class OutboxEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' }) seq!: string;
  @Column({ type: 'uuid', name: 'event_id' }) eventId!: string;
  @Column({ type: 'text', name: 'tenant_id' }) tenantId!: string;
  @Column({ type: 'text', name: 'event_type' }) eventType!: string;
  @Column({ type: 'text' }) subject!: string;
  @Column({ type: 'jsonb' }) envelope!: EventEnvelope;
  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()', insert: false, update: false }) createdAt!: Date;
  @Column({ type: 'timestamptz', name: 'published_at', nullable: true }) publishedAt!: Date | null;
  /** Position in the published stream, assigned by the relay in publish order; null until published. */
  @Column({ type: 'bigint', nullable: true }) sequence!: string | null;
  /** W3C `traceparent` of the writing transaction's span; null when tracing is off. */
  @Column({ type: 'text', nullable: true }) traceparent!: string | null;
}
