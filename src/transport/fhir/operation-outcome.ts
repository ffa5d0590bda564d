import { DomainError, ERROR_CODE_SYSTEM, type ErrorCode, type Issue, RULE_CODE_SYSTEM } from '../../domain/index.js';
import { httpStatusOf } from '../http/error-status.js';

/** FHIR `OperationOutcome.issue.code` (R4 valueset-issue-type) for each rxgate code. */
const ISSUE_TYPE: Record<ErrorCode, string> = {
  UNAUTHENTICATED: 'login',
  FORBIDDEN_WRITE_PERSONA: 'forbidden',
  EPCS_TWO_FACTOR_REQUIRED: 'security',
  MODULE_NOT_LICENSED: 'forbidden',
  TENANT_ISOLATION_VIOLATION: 'forbidden',
  BAD_REQUEST: 'invalid',
  QUERY_TOO_COMPLEX: 'too-costly',
  PROFILE_VALIDATION_FAILURE: 'invalid',
  PRESCRIBING_RULE_VIOLATION: 'business-rule',
  PRESCRIPTION_NOT_FOUND: 'not-found',
  PHARMACY_NOT_FOUND: 'not-found',
  NOT_FOUND: 'not-found',
  INVALID_TRANSITION: 'business-rule',
  REFILL_TOO_EARLY: 'business-rule',
  PRIOR_AUTHORIZATION_REQUIRED: 'business-rule',
  UPDATE_NOT_ALLOWED: 'business-rule',
  MULTIPLE_MATCHES: 'multiple-matches',
  METHOD_NOT_ALLOWED: 'not-supported',
  CURSOR_EXPIRED: 'expired',
  IDEMPOTENCY_KEY_CONFLICT: 'conflict',
  IDEMPOTENCY_KEY_IN_FLIGHT: 'conflict',
  PRECONDITION_REQUIRED: 'required',
  PRECONDITION_FAILED: 'conflict',
  VALIDATOR_UNAVAILABLE: 'transient',
  SERVICE_UNAVAILABLE: 'transient',
  RATE_LIMIT_EXCEEDED: 'throttled',
  PAYLOAD_TOO_LARGE: 'too-long',
  UNSUPPORTED_MEDIA_TYPE: 'not-supported',
  NOT_ACCEPTABLE: 'not-supported',
  INTERNAL: 'exception',
};

/**
 * The one mapping of a `DomainError` to an OperationOutcome (CONTRACT §2): the code sits in
 * `issue[0].details.coding[0]`; each validation problem is an issue with its `expression`.
 */
export function toOperationOutcome(error: DomainError): fhir4.OperationOutcome {
  const coding = { system: ERROR_CODE_SYSTEM, code: error.code };
  const severity = httpStatusOf(error) >= 500 ? 'fatal' : 'error';
  const problems: Issue[] = error.issues.length > 0 ? error.issues : [{ diagnostics: error.message }];
  const outcome: fhir4.OperationOutcome = {
    resourceType: 'OperationOutcome',
    issue: problems.map((problem) => ({
      severity,
      code: ISSUE_TYPE[error.code] as fhir4.OperationOutcomeIssue['code'],
      // The error code first, then the rule a prescribing-rule issue is about (CONTRACT §8).
      details: { coding: problem.rule ? [coding, { system: RULE_CODE_SYSTEM, code: problem.rule }] : [coding], text: error.code },
      diagnostics: problem.diagnostics,
      ...(problem.expression ? { expression: [problem.expression] } : {}),
    })),
  };
  if (error.current !== undefined) outcome.contained = [error.current as fhir4.FhirResource];
  return outcome;
}

/** An informational OperationOutcome (for `Prefer: return=OperationOutcome`). */
export function informationOutcome(text: string): fhir4.OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: text }] };
}
