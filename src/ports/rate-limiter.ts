/** Port of rate limiting. */
import type { TakeResult } from '../domain/index.js';

/** Token buckets, keyed by tenant and persona. Shared across instances when the adapter is. */
export interface RateLimiter {
  take(key: string, cost: number): Promise<TakeResult>;
}
