import { Column, Entity, PrimaryColumn } from 'typeorm';

/** `tenants` (InitialSchema). */
@Entity({ name: 'tenants' })
export class TenantEntity {
  @PrimaryColumn({ type: 'text' }) id!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text', array: true, default: '{}' }) modules!: string[];
  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()', insert: false, update: false }) createdAt!: Date;
}
