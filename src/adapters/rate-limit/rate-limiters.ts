import type { DataSource } from 'typeorm';
import { type BucketPolicy, type BucketState, takeFromBucket, type TakeResult } from '../../domain/index.js';
import type { RateLimiter } from '../../ports/index.js';

/** Buckets in this process: right for one instance (each instance has its own budget). */
export function createMemoryRateLimiter(policy: BucketPolicy, now: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, BucketState>();
  return {
    async take(key, cost) {
      const { state, result } = takeFromBucket(buckets.get(key), cost, now(), policy);
      buckets.set(key, state);
      if (buckets.size > 100_000) for (const [k, b] of buckets) if (b.tokens >= policy.burst) buckets.delete(k); // a full bucket carries no state
      return result;
    },
  };
}

/**
 * Buckets in PostgreSQL (an UNLOGGED table), shared by every instance so that N instances do not
 * multiply the limit. One statement locks the bucket, refills it by the time elapsed, and takes the
 * cost if there is enough. Two first-ever requests for one key may race and both start from a full
 * bucket; after that the row lock serialises them.
 */
export function createSharedRateLimiter(dataSource: DataSource, policy: BucketPolicy): RateLimiter {
  return {
    async take(key, cost): Promise<TakeResult> {
      const [row] = (await dataSource.query(
        `WITH current AS (
           SELECT tokens, at FROM rate_buckets WHERE key = $1 FOR UPDATE
         ), refilled AS (
           SELECT LEAST($2::float8, COALESCE((SELECT tokens + EXTRACT(EPOCH FROM clock_timestamp() - at) * $3::float8 FROM current), $2::float8)) AS tokens
         ), written AS (
           INSERT INTO rate_buckets (key, tokens, at)
           SELECT $1, CASE WHEN tokens >= $4::float8 THEN tokens - $4::float8 ELSE tokens END, clock_timestamp() FROM refilled
           ON CONFLICT (key) DO UPDATE SET tokens = EXCLUDED.tokens, at = EXCLUDED.at
           RETURNING tokens
         )
         SELECT (SELECT tokens FROM refilled) AS available, (SELECT tokens FROM written) AS left_after`,
        [key, policy.burst, policy.perSecond, cost],
      )) as Array<{ available: number; left_after: number }>;
      const available = Number(row.available);
      const left = Number(row.left_after);
      const allowed = available >= cost;
      return {
        allowed,
        remaining: Math.floor(left),
        resetSeconds: Math.ceil((policy.burst - left) / policy.perSecond),
        retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((cost - available) / policy.perSecond)),
      };
    },
  };
}
