import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'idempotency_keys' })
export class IdempotencyKeyEntity {
  @PrimaryColumn({ type: 'text', name: 'tenant_id' }) tenantId!: string;
  @PrimaryColumn({ type: 'text' }) key!: string;
  @Column({ type: 'text' }) operation!: string;
  @Column({ type: 'text', name: 'request_hash' }) requestHash!: string;
  @Column({ type: 'text', name: 'resource_type' }) resourceType!: string;
  @Column({ type: 'text', name: 'resource_id' }) resourceId!: string;
  @Column({ type: 'integer' }) version!: number;
  @Column({ type: 'integer', name: 'status_code' }) statusCode!: number;
  @Column({ type: 'timestamptz', name: 'created_at', insert: false, update: false }) createdAt!: Date;
  @Column({ type: 'timestamptz', name: 'expires_at' }) expiresAt!: Date;
}
