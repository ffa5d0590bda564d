/** Port of rate limiting. */
import type { TakeResult } from '../domain/index.js';

/** Token buckets, keyed by tenant and persona. Shared across instances when the adapter is. */
export interface RateLimiter {
  /** Takes `cost` units from the bucket of `key` if it holds them; refused, it takes nothing. The result is the budget after. */
  take(key: string, cost: number): Promise<TakeResult>;
}
