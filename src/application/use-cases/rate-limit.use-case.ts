import { DomainError, RATE_COST, type RequestContext } from '../../domain/index.js';
import type { UseCaseDeps } from '../deps.js';

export type RequestKind = keyof typeof RATE_COST;

/**
 * Admits a request against the budget of its tenant and persona (CONTRACT §2), shared by FHIR and
 * GraphQL. Answers the `RateLimit-*` headers for the response; throws `RATE_LIMIT_EXCEEDED` with
 * `Retry-After` when the bucket cannot pay the request's cost.
 */
export async function admitRequest(deps: UseCaseDeps, ctx: RequestContext, kind: RequestKind): Promise<Record<string, string>> {
  if (!deps.rateLimits) return {};
  const result = await deps.rateLimits.limiter.take(`${ctx.tenantId}:${ctx.actor.persona}`, RATE_COST[kind]);
  const headers = {
    'RateLimit-Limit': String(deps.rateLimits.burst),
    'RateLimit-Remaining': String(Math.max(0, result.remaining)),
    'RateLimit-Reset': String(result.resetSeconds),
  };
  if (!result.allowed) {
    deps.rateLimits.onRejected?.(ctx.tenantId);
    throw new DomainError('RATE_LIMIT_EXCEEDED', `Too many requests for tenant '${ctx.tenantId}' as ${ctx.actor.persona}; retry in ${result.retryAfterSeconds} s.`, {
      headers: { ...headers, 'Retry-After': String(result.retryAfterSeconds) },
    });
  }
  return headers;
}
