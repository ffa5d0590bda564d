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
  @Column({ type: 'timestamptz', name: 'created_at', insert: false, update: false }) createdAt!: Date;
  @Column({ type: 'timestamptz', name: 'published_at', nullable: true }) publishedAt!: Date | null;
}
