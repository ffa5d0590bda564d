import { DomainError, RATE_COST, type RateLimitBudget, type RequestContext } from '../../domain/index.js';
import type { UseCaseDeps } from '../deps.js';

export type RequestKind = keyof typeof RATE_COST;

/**
 * Admits a request against the budget of its tenant and persona (CONTRACT §2), shared by FHIR and
 * GraphQL. Answers the budget left (undefined when rate limiting is off); throws
 * `RATE_LIMIT_EXCEEDED` with the budget and when to retry when the bucket cannot pay the request's cost.
 */
export async function admitRequest(deps: UseCaseDeps, ctx: RequestContext, kind: RequestKind): Promise<RateLimitBudget | undefined> {
  if (!deps.rateLimits) return undefined;
  const result = await deps.rateLimits.limiter.take(`${ctx.tenantId}:${ctx.actor.persona}`, RATE_COST[kind]);
  const budget = { limit: deps.rateLimits.burst, remaining: Math.max(0, result.remaining), resetSeconds: result.resetSeconds };
  if (!result.allowed) {
    deps.rateLimits.onRejected?.(ctx.tenantId);
    throw new DomainError(
      'RATE_LIMIT_EXCEEDED',
      `Too many requests for tenant '${ctx.tenantId}' as ${ctx.actor.persona}; retry in ${result.retryAfterSeconds} s.`,
      {
        rateLimit: budget,
        retryAfterSeconds: result.retryAfterSeconds,
      },
    );
  }
  return budget;
}
