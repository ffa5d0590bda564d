import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * `bus_messages` (EmbeddedBus, TraceContext): the embedded runtime's event stream. `seq` comes from
 * the sequence `bus_messages_seq` (taken under the publish lock), which TypeORM does not model.
 */
@Entity({ name: 'bus_messages' })
@Index('bus_messages_msg_id', ['msgId'], { unique: true })
@Index('bus_messages_published_at', ['publishedAt'])
export class BusMessageEntity {
  @PrimaryColumn({ type: 'bigint' }) seq!: string;
  @Column({ type: 'text' }) subject!: string;
  @Column({ type: 'text', name: 'msg_id' }) msgId!: string;
  @Column({ type: 'bytea' }) data!: Buffer;
  @Column({ type: 'timestamptz', name: 'published_at', default: () => 'now()' }) publishedAt!: Date;
  @Column({ type: 'jsonb', nullable: true }) headers!: Record<string, string> | null;
}
