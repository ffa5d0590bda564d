import { Column, Entity, PrimaryColumn } from 'typeorm';

/** `bus_consumers` (EmbeddedBus): the acknowledged position of each durable consumer of the embedded bus. */
@Entity({ name: 'bus_consumers' })
export class BusConsumerEntity {
  @PrimaryColumn({ type: 'text' }) name!: string;
  @Column({ type: 'bigint', name: 'acked_seq' }) ackedSeq!: string;
  @Column({ type: 'timestamptz', name: 'updated_at', default: () => 'now()' }) updatedAt!: Date;
}
