import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

/** `relay_state` (LiveEvents): one row, the last sequence number the outbox relay assigned. */
@Entity({ name: 'relay_state' })
@Check('relay_state_id_check', 'id = 1')
export class RelayStateEntity {
  @PrimaryColumn({ type: 'integer' }) id!: number;
  @Column({ type: 'bigint', name: 'last_sequence' }) lastSequence!: string;
}
