import { Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';
import type { SubscriptionRecord } from '#domain/index.js';
import { TenantEntity } from './tenant.entity.js';

/** `subscriptions` (LiveEvents): FHIR Subscriptions with the cursor of the last event each delivered. */
@Entity({ name: 'subscriptions' })
export class SubscriptionEntity {
  @PrimaryColumn({ type: 'text', name: 'tenant_id' })
  @ForeignKey(() => TenantEntity, { name: 'subscriptions_tenant_id_fkey' })
  tenantId!: string;
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ type: 'integer' }) version!: number;
  @Column({ type: 'text' }) status!: SubscriptionRecord['status'];
  @Column({ type: 'text' }) criteria!: string;
  @Column({ type: 'text', nullable: true }) error!: string | null;
  @Column({ type: 'text', nullable: true }) cursor!: string | null;
  @Column({ type: 'timestamptz', name: 'last_updated' }) lastUpdated!: Date;
  @Column({ type: 'jsonb' }) resource!: SubscriptionRecord['resource'];
}
