import { etagOf } from '../../application/index.js';
import type { DomainError, ErrorCode, RateLimitBudget } from '../../domain/index.js';

/**
 * How an error looks on HTTP (CONTRACT §2): the status of each code. The FHIR facade and the root
 * routes answer with it; GraphQL over HTTP only for what fails before the operation runs.
 */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN_WRITE_PERSONA: 403,
  EPCS_TWO_FACTOR_REQUIRED: 403,
  MODULE_NOT_LICENSED: 403,
  TENANT_ISOLATION_VIOLATION: 403,
  BAD_REQUEST: 400,
  QUERY_TOO_COMPLEX: 400,
  PROFILE_VALIDATION_FAILURE: 422,
  PRESCRIBING_RULE_VIOLATION: 422,
  PRESCRIPTION_NOT_FOUND: 422,
  PHARMACY_NOT_FOUND: 422,
  NOT_FOUND: 404,
  INVALID_TRANSITION: 409,
  REFILL_TOO_EARLY: 409,
  PRIOR_AUTHORIZATION_REQUIRED: 409,
  UPDATE_NOT_ALLOWED: 409,
  MULTIPLE_MATCHES: 412,
  METHOD_NOT_ALLOWED: 405,
  CURSOR_EXPIRED: 410,
  IDEMPOTENCY_KEY_CONFLICT: 409,
  IDEMPOTENCY_KEY_IN_FLIGHT: 409,
  PRECONDITION_REQUIRED: 428,
  PRECONDITION_FAILED: 412,
  VALIDATOR_UNAVAILABLE: 503,
  /** The database or the event bus is away for the moment (a restart, a failover); carries `Retry-After`. */
  SERVICE_UNAVAILABLE: 503,
  RATE_LIMIT_EXCEEDED: 429,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_ACCEPTABLE: 406,
  INTERNAL: 500,
};

/** The HTTP status an error is answered with. */
export const httpStatusOf = (error: DomainError): number => HTTP_STATUS[error.code];

/** The `RateLimit-*` headers of a budget (none when rate limiting is off). */
export function rateLimitHeaders(budget: RateLimitBudget | undefined): Record<string, string> {
  if (!budget) return {};
  return {
    'RateLimit-Limit': String(budget.limit),
    'RateLimit-Remaining': String(budget.remaining),
    'RateLimit-Reset': String(budget.resetSeconds),
  };
}

/**
 * The headers an error carries on HTTP, from the facts it holds: the spent budget and
 * `Retry-After` (RFC 9110 §10.2.3) of a 429 or 503, and the current version of a stale If-Match
 * as its ETag (FHIR R4 http.html#concurrency).
 */
export function errorHeaders(error: DomainError): Record<string, string> {
  return {
    ...rateLimitHeaders(error.rateLimit),
    ...(error.retryAfterSeconds !== undefined && { 'Retry-After': String(error.retryAfterSeconds) }),
    ...(error.currentVersionId !== undefined && { ETag: etagOf(error.currentVersionId) }),
  };
}
