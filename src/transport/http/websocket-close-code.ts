import { type ErrorCode, isDomainError } from '../../domain/index.js';

/**
 * Every code rxgate ends a websocket with, on `/graphql` (graphql-ws) and `/fhir/websocket` alike
 * (CONTRACT §2). RFC 6455 §7.4 codes where one fits; 4000–4999 (private use) follow graphql-ws's own
 * `CloseCode`, whose client treats 4401 as final and retries 4403 and 1013.
 */
export enum CloseCode {
  /** The server is shutting down (RFC 6455 §7.4.1); reconnect to another instance. */
  GoingAway = 1001,
  /** An unexpected condition on the server (RFC 6455 §7.4.1); the cause is logged, never sent. */
  InternalError = 1011,
  /** A dependency (database, bus, validator) is down for the moment; reconnect later (IANA: Try Again Later). */
  TryAgainLater = 1013,
  /** The connection asked for something malformed. */
  BadRequest = 4400,
  /** No or bad token (graphql-ws `Unauthorized`). */
  Unauthorized = 4401,
  /** A valid token refused at the tenant wall or by its persona (graphql-ws `Forbidden`). */
  Forbidden = 4403,
  /** A live subscriber that could not keep up was cut off; it may resume with its last cursor. */
  SubscriberTooSlow = 4420,
}

// Exhaustive on purpose: a new error code must decide how it ends a websocket.
const CLOSE_CODE_OF: Readonly<Record<ErrorCode, CloseCode>> = {
  UNAUTHENTICATED: CloseCode.Unauthorized,
  FORBIDDEN_WRITE_PERSONA: CloseCode.Forbidden,
  EPCS_TWO_FACTOR_REQUIRED: CloseCode.Forbidden,
  MODULE_NOT_LICENSED: CloseCode.Forbidden,
  TENANT_ISOLATION_VIOLATION: CloseCode.Forbidden,
  BAD_REQUEST: CloseCode.BadRequest,
  QUERY_TOO_COMPLEX: CloseCode.BadRequest,
  PROFILE_VALIDATION_FAILURE: CloseCode.BadRequest,
  PRESCRIBING_RULE_VIOLATION: CloseCode.BadRequest,
  PRESCRIPTION_NOT_FOUND: CloseCode.BadRequest,
  PHARMACY_NOT_FOUND: CloseCode.BadRequest,
  NOT_FOUND: CloseCode.BadRequest,
  INVALID_TRANSITION: CloseCode.BadRequest,
  REFILL_TOO_EARLY: CloseCode.BadRequest,
  PRIOR_AUTHORIZATION_REQUIRED: CloseCode.BadRequest,
  UPDATE_NOT_ALLOWED: CloseCode.BadRequest,
  MULTIPLE_MATCHES: CloseCode.BadRequest,
  METHOD_NOT_ALLOWED: CloseCode.BadRequest,
  CURSOR_EXPIRED: CloseCode.BadRequest,
  IDEMPOTENCY_KEY_CONFLICT: CloseCode.BadRequest,
  IDEMPOTENCY_KEY_IN_FLIGHT: CloseCode.BadRequest,
  PRECONDITION_REQUIRED: CloseCode.BadRequest,
  PRECONDITION_FAILED: CloseCode.BadRequest,
  PAYLOAD_TOO_LARGE: CloseCode.BadRequest,
  UNSUPPORTED_MEDIA_TYPE: CloseCode.BadRequest,
  NOT_ACCEPTABLE: CloseCode.BadRequest,
  VALIDATOR_UNAVAILABLE: CloseCode.TryAgainLater,
  RATE_LIMIT_EXCEEDED: CloseCode.TryAgainLater,
  // The database or the bus is away for the moment (a restart, a failover): come back shortly.
  SERVICE_UNAVAILABLE: CloseCode.TryAgainLater,
  INTERNAL: CloseCode.InternalError,
};

/**
 * The one mapping of an error to how a websocket is closed: the close code, and a reason that is
 * the contract code (never the message of an unknown error). Anything not a `DomainError` is internal.
 */
export function closeFor(error: unknown): { code: CloseCode; reason: ErrorCode } {
  const code: ErrorCode = isDomainError(error) ? error.code : 'INTERNAL';
  return { code: CLOSE_CODE_OF[code], reason: code };
}
