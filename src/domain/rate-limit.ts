/** Costs of CONTRACT §2: FHIR and GraphQL draw on one budget per tenant and persona. */
export const RATE_COST = { read: 1, search: 2, write: 5 } as const;
export type RateCost = (typeof RATE_COST)[keyof typeof RATE_COST];

export interface BucketPolicy {
  /** Units the bucket holds (the burst). */
  burst: number;
  /** Units refilled per second. */
  perSecond: number;
}

export interface BucketState {
  tokens: number;
  /** Milliseconds since the epoch of the last refill. */
  at: number;
}

export interface TakeResult {
  allowed: boolean;
  /** Units left after this request. */
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** Seconds until `cost` units are available (0 when allowed). */
  retryAfterSeconds: number;
}

/** Token bucket arithmetic, pure: refill since `state.at`, then take `cost` if there is enough. */
export function takeFromBucket(state: BucketState | undefined, cost: number, now: number, policy: BucketPolicy): { state: BucketState; result: TakeResult } {
  const previous = state ?? { tokens: policy.burst, at: now };
  const tokens = Math.min(policy.burst, previous.tokens + ((now - previous.at) / 1000) * policy.perSecond);
  const allowed = tokens >= cost;
  const left = allowed ? tokens - cost : tokens;
  return {
    state: { tokens: left, at: now },
    result: {
      allowed,
      remaining: Math.floor(left),
      resetSeconds: Math.ceil((policy.burst - left) / policy.perSecond),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((cost - tokens) / policy.perSecond)),
    },
  };
}
