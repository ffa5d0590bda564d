import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Rate-limit buckets shared by instances. UNLOGGED: after a crash the buckets simply start full. */
export class RateLimits1763700000004 implements MigrationInterface {
  name = 'RateLimits1763700000004';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE UNLOGGED TABLE rate_buckets (key text PRIMARY KEY, tokens double precision NOT NULL, at timestamptz NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS rate_buckets`);
  }
}
