import { Check, Column, Entity, PrimaryColumn } from 'typeorm';
import type { Issue } from '#domain/index.js';

/** `bus_commands` (BusCommands): the first outcome of each command id received over the bus (CONTRACT §11). */
@Entity({ name: 'bus_commands' })
@Check('bus_commands_outcome_check', "outcome IN ('accepted', 'rejected')")
@Check('bus_commands_check', "outcome = 'rejected' OR (reference IS NOT NULL AND version IS NOT NULL)")
@Check('bus_commands_check1', "outcome = 'accepted' OR (error_code IS NOT NULL AND message IS NOT NULL)")
export class BusCommandEntity {
  @PrimaryColumn({ type: 'text', name: 'tenant_id' }) tenantId!: string;
  @PrimaryColumn({ type: 'text', name: 'command_id' }) commandId!: string;
  @Column({ type: 'text' }) command!: string;
  @Column({ type: 'text' }) outcome!: 'accepted' | 'rejected';
  @Column({ type: 'text', nullable: true }) reference!: string | null;
  @Column({ type: 'integer', nullable: true }) version!: number | null;
  @Column({ type: 'text', name: 'error_code', nullable: true }) errorCode!: string | null;
  @Column({ type: 'text', nullable: true }) message!: string | null;
  @Column({ type: 'jsonb', nullable: true }) issues!: Issue[] | null;
  @Column({ type: 'timestamptz', name: 'recorded_at', default: () => 'now()' }) recordedAt!: Date;
}
