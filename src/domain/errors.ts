/**
 * The one error vocabulary of rxgate (CONTRACT §2). Every failure a caller can act on is a
 * `DomainError` with one of these codes; each transport maps the code exactly once
 * (FHIR → OperationOutcome + HTTP status, GraphQL → `extensions.code`, websocket → close code).
 */
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN_WRITE_PERSONA',
  'EPCS_TWO_FACTOR_REQUIRED',
  'MODULE_NOT_LICENSED',
  'TENANT_ISOLATION_VIOLATION',
  'BAD_REQUEST',
  'QUERY_TOO_COMPLEX',
  'PROFILE_VALIDATION_FAILURE',
  'PRESCRIBING_RULE_VIOLATION',
  'PRESCRIPTION_NOT_FOUND',
  'PHARMACY_NOT_FOUND',
  'NOT_FOUND',
  'INVALID_TRANSITION',
  'UPDATE_NOT_ALLOWED',
  'MULTIPLE_MATCHES',
  'METHOD_NOT_ALLOWED',
  'CURSOR_EXPIRED',
  'IDEMPOTENCY_KEY_CONFLICT',
  'IDEMPOTENCY_KEY_IN_FLIGHT',
  'PRECONDITION_REQUIRED',
  'PRECONDITION_FAILED',
  'VALIDATOR_UNAVAILABLE',
  'RATE_LIMIT_EXCEEDED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'NOT_ACCEPTABLE',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** HTTP status of each code. The FHIR facade answers with it; GraphQL uses it for 401/400 only. */
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
  UPDATE_NOT_ALLOWED: 409,
  MULTIPLE_MATCHES: 412,
  METHOD_NOT_ALLOWED: 405,
  CURSOR_EXPIRED: 410,
  IDEMPOTENCY_KEY_CONFLICT: 409,
  IDEMPOTENCY_KEY_IN_FLIGHT: 409,
  PRECONDITION_REQUIRED: 428,
  PRECONDITION_FAILED: 412,
  VALIDATOR_UNAVAILABLE: 503,
  RATE_LIMIT_EXCEEDED: 429,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_ACCEPTABLE: 406,
  INTERNAL: 500,
};

/** One problem with one element of the input, located by a FHIRPath expression. */
export interface Issue {
  /** FHIRPath of the offending element, e.g. `MedicationRequest.subject.reference`. */
  expression?: string;
  diagnostics: string;
  /** The prescribing rule violated (CONTRACT §8: `details.coding` with system `urn:rxgate:rule`). */
  rule?: string;
}

export interface DomainErrorOptions {
  /** Problems in detail; validation errors carry one per problem. */
  issues?: Issue[];
  /** The current state of the resource, for `PRECONDITION_FAILED` (FHIR puts it in `contained`). */
  current?: unknown;
  /** Headers the transport should add (e.g. the current ETag). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * Longest message a `DomainError` carries. Messages may quote what the caller sent (an id, a
 * parameter); however much was sent, the answer stays short.
 */
export const MAX_ERROR_MESSAGE_LENGTH = 1_000;

/**
 * An error the caller caused or can act on. The message is safe to show to the caller: it says
 * what was wrong and what to do. Anything that is not a `DomainError` is `INTERNAL` and masked.
 */
export class DomainError extends Error {
  readonly issues: Issue[];
  readonly current?: unknown;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    const bounded = message.length > MAX_ERROR_MESSAGE_LENGTH ? `${message.slice(0, MAX_ERROR_MESSAGE_LENGTH)}…` : message;
    super(bounded, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DomainError';
    this.issues = options.issues ?? [];
    this.current = options.current;
    this.headers = options.headers ?? {};
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
}

export const isDomainError = (error: unknown): error is DomainError => error instanceof DomainError;

/** `PROFILE_VALIDATION_FAILURE` carrying every problem found, not just the first. */
export function validationFailure(issues: Issue[]): DomainError {
  const summary =
    issues.length === 1
      ? issues[0].diagnostics
      : `${issues.length} problems: ${issues.map((i) => i.diagnostics).join('; ')}`;
  return new DomainError('PROFILE_VALIDATION_FAILURE', `The resource is not valid. ${summary}`, { issues });
}
