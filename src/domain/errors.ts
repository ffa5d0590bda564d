/**
 * The one error vocabulary of rxgate (CONTRACT §2). Every failure a caller can act on is a
 * `DomainError` with one of these codes and the facts a caller can act on; each transport maps the
 * code exactly once (HTTP → status and headers in `transport/http/error-status.ts`, FHIR →
 * OperationOutcome, GraphQL → `extensions.code`, websocket → close code). When each is raised:
 * {@link ERROR_MEANINGS}, one sentence a code, which the reference docs print.
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
  'REFILL_TOO_EARLY',
  'PRIOR_AUTHORIZATION_REQUIRED',
  'UPDATE_NOT_ALLOWED',
  'MULTIPLE_MATCHES',
  'METHOD_NOT_ALLOWED',
  'CURSOR_EXPIRED',
  'IDEMPOTENCY_KEY_CONFLICT',
  'IDEMPOTENCY_KEY_IN_FLIGHT',
  'PRECONDITION_REQUIRED',
  'PRECONDITION_FAILED',
  'VALIDATOR_UNAVAILABLE',
  'SERVICE_UNAVAILABLE',
  'RATE_LIMIT_EXCEEDED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'NOT_ACCEPTABLE',
  'INTERNAL',
] as const;

/** One code of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Codes that are the gateway's own failure rather than the caller's (a dependency away, the
 * unexpected): traces record them as failures, transports show them as such (HTTP 5xx).
 */
const SERVER_FAULTS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['VALIDATOR_UNAVAILABLE', 'SERVICE_UNAVAILABLE', 'INTERNAL']);

/** Whether `code` is the gateway's failure (see {@link SERVER_FAULTS}); unknown codes count as such. */
export const isServerFault = (code: string): boolean => !(ERROR_CODES as readonly string[]).includes(code) || SERVER_FAULTS.has(code as ErrorCode);

/** A tenant and persona's request budget as it stands after a request (CONTRACT §2). */
export interface RateLimitBudget {
  /** Units the bucket holds when full. */
  limit: number;
  /** Units left. */
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
}

/** What each code means to a caller, in a sentence (CONTRACT §2); the reference docs print it. */
export const ERROR_MEANINGS: Readonly<Record<ErrorCode, string>> = {
  UNAUTHENTICATED: 'No token, or a bad one: signature, expiry, a missing claim, an unknown persona or a malformed tenant.',
  FORBIDDEN_WRITE_PERSONA: "The token's persona may not do this (e.g. an EHR writing a MedicationDispense).",
  MODULE_NOT_LICENSED: 'The tenant does not license the e-prescribing module.',
  TENANT_ISOLATION_VIOLATION: "The request names a tenant other than the token's (`X-Tenant-Id`).",
  BAD_REQUEST:
    'The request is malformed: bad JSON, an unknown search parameter, a bad parameter value, header (If-Match, Idempotency-Key) or paging cursor, or a JSON Patch that does not apply.',
  QUERY_TOO_COMPLEX: 'A GraphQL document over the depth, alias, cost, token or batch bounds.',
  PROFILE_VALIDATION_FAILURE: 'The resource fails validation (structure, required elements, codes); one issue per problem.',
  PRESCRIPTION_NOT_FOUND: 'A Task or MedicationDispense links a prescription that does not exist for this tenant.',
  PHARMACY_NOT_FOUND: 'The prescription names a pharmacy that is not in the directory.',
  NOT_FOUND: "No such resource for this tenant (another tenant's resources are invisible).",
  PRESCRIBING_RULE_VIOLATION:
    'The prescription breaks a prescribing rule (CONTRACT §8): one issue per rule, its id in `details.coding` (system `urn:rxgate:rule`).',
  EPCS_TWO_FACTOR_REQUIRED:
    'Approving a controlled (Schedule II–V) prescription needs a token whose `amr` shows two authentication factors (21 CFR 1311.115); nothing changed.',
  INVALID_TRANSITION:
    'The workflow event is not allowed from the current state, or a change asks for a move no event makes (a PATCH of `status` to anything but `cancelled`, a second open prior authorization); nothing is changed.',
  REFILL_TOO_EARLY:
    'The next fill is asked for before the last hand-over plus the dispense interval; the diagnostics (and GraphQL `extensions.earliest`) name the earliest date.',
  PRIOR_AUTHORIZATION_REQUIRED: "The prescription needs the payer's prior authorization (CONTRACT §9) and its PA is not `approved` yet; nothing changed.",
  UPDATE_NOT_ALLOWED: 'A content update of a prescription that is past `approved`.',
  MULTIPLE_MATCHES: 'A conditional create (If-None-Exist) matches more than one resource.',
  METHOD_NOT_ALLOWED:
    'The interaction is not offered on this resource (e.g. writing the pharmacy directory, or patching a workflow Task, which is written once).',
  CURSOR_EXPIRED: 'The event cursor is older than what the bus still keeps.',
  IDEMPOTENCY_KEY_CONFLICT: 'The Idempotency-Key was used before with a different payload.',
  IDEMPOTENCY_KEY_IN_FLIGHT: 'The first request with this Idempotency-Key is still running.',
  PRECONDITION_REQUIRED: 'An update or patch without If-Match.',
  PRECONDITION_FAILED:
    'A stale If-Match (the current resource is in `OperationOutcome.contained[0]`, its ETag in the header), or a write that kept losing to concurrent ones; re-read and retry.',
  VALIDATOR_UNAVAILABLE: 'A validation dependency (the terminology server) does not answer.',
  RATE_LIMIT_EXCEEDED: "The tenant and persona's rate limit is spent; `Retry-After` says when to come back.",
  PAYLOAD_TOO_LARGE: 'The body is larger than `BODY_LIMIT_BYTES`.',
  UNSUPPORTED_MEDIA_TYPE: "The body's media type is not one the endpoint reads.",
  NOT_ACCEPTABLE: '`Accept` or `_format` asks only for formats not offered (the FHIR facade speaks `application/fhir+json`).',
  SERVICE_UNAVAILABLE: 'The database or the event bus is away for the moment (a restart, a failover); retry after `Retry-After` seconds.',
  INTERNAL: 'Anything unexpected; masked, with a correlation id to quote.',
};

/** One problem with one element of the input, located by a FHIRPath expression. */
export interface Issue {
  /** FHIRPath of the offending element, e.g. `MedicationRequest.subject.reference`. */
  expression?: string;
  diagnostics: string;
  /** The prescribing rule violated (CONTRACT §8: `details.coding` with system `urn:rxgate:rule`). */
  rule?: string;
}

/** What a {@link DomainError} carries besides its code and message; each fact is for the codes it names. */
export interface DomainErrorOptions {
  /** Problems in detail; validation errors carry one per problem. */
  issues?: Issue[];
  /** The current state of the resource, for `PRECONDITION_FAILED` (FHIR puts it in `contained`). */
  current?: unknown;
  /** The version of `current`, for `PRECONDITION_FAILED` (HTTP shows it as the ETag). */
  currentVersionId?: number;
  /** Seconds after which trying again may succeed (`RATE_LIMIT_EXCEEDED`, `SERVICE_UNAVAILABLE`; HTTP: `Retry-After`). */
  retryAfterSeconds?: number;
  /** The spent budget, for `RATE_LIMIT_EXCEEDED` (HTTP: the `RateLimit-*` headers). */
  rateLimit?: RateLimitBudget;
  /** Facts a client can act on, machine-readable (GraphQL `extensions`), e.g. `earliest` of `REFILL_TOO_EARLY`. */
  details?: Record<string, string>;
  /** The underlying error (`Error.cause`): for the logs, never sent to the caller. */
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
  readonly currentVersionId?: number;
  readonly retryAfterSeconds?: number;
  readonly rateLimit?: RateLimitBudget;
  readonly details: Record<string, string>;

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
    this.currentVersionId = options.currentVersionId;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.rateLimit = options.rateLimit;
    this.details = options.details ?? {};
  }
}

/** Whether `error` is a {@link DomainError} (anything else is answered as `INTERNAL`). */
export const isDomainError = (error: unknown): error is DomainError => error instanceof DomainError;

/** `PROFILE_VALIDATION_FAILURE` carrying every problem found, not just the first. */
export function validationFailure(issues: Issue[]): DomainError {
  const summary = issues.length === 1 ? issues[0].diagnostics : `${issues.length} problems: ${issues.map((i) => i.diagnostics).join('; ')}`;
  return new DomainError('PROFILE_VALIDATION_FAILURE', `The resource is not valid. ${summary}`, { issues });
}
