import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** `idempotency_keys` (InitialSchema). */
@Entity({ name: 'idempotency_keys' })
@Index('idempotency_keys_expiry', ['expiresAt'])
export class IdempotencyKeyEntity {
  @PrimaryColumn({ type: 'text', name: 'tenant_id' }) tenantId!: string;
  @PrimaryColumn({ type: 'text' }) key!: string;
  @Column({ type: 'text' }) operation!: string;
  @Column({ type: 'text', name: 'request_hash' }) requestHash!: string;
  @Column({ type: 'text', name: 'resource_type' }) resourceType!: string;
  @Column({ type: 'text', name: 'resource_id' }) resourceId!: string;
  @Column({ type: 'integer' }) version!: number;
  @Column({ type: 'integer', name: 'status_code' }) statusCode!: number;
  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()', insert: false, update: false }) createdAt!: Date;
  @Column({ type: 'timestamptz', name: 'expires_at' }) expiresAt!: Date;
}
