import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { EventEnvelope } from '../../../domain/index.js';

@Entity({ name: 'outbox' })
export class OutboxEntity {
  @PrimaryColumn({ type: 'bigint', insert: false, update: false }) seq!: string;
  @Column({ type: 'uuid', name: 'event_id' }) eventId!: string;
  @Column({ type: 'text', name: 'tenant_id' }) tenantId!: string;
  @Column({ type: 'text', name: 'event_type' }) eventType!: string;
  @Column({ type: 'text' }) subject!: string;
  @Column({ type: 'jsonb' }) envelope!: EventEnvelope;
  /** W3C `traceparent` of the writing transaction's span; null when tracing is off. */
  @Column({ type: 'text', nullable: true }) traceparent!: string | null;
  @Column({ type: 'timestamptz', name: 'created_at', insert: false, update: false }) createdAt!: Date;
  @Column({ type: 'timestamptz', name: 'published_at', nullable: true }) publishedAt!: Date | null;
}
