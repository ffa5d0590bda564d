import { Column, Entity, PrimaryColumn } from 'typeorm';

/** `rate_buckets` (RateLimits): token buckets shared by instances. UNLOGGED in the migration (TypeORM does not model it). */
@Entity({ name: 'rate_buckets' })
export class RateBucketEntity {
  @PrimaryColumn({ type: 'text' }) key!: string;
  @Column({ type: 'double precision' }) tokens!: number;
  @Column({ type: 'timestamptz' }) at!: Date;
}
