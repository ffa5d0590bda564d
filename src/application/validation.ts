import { DomainError, type Issue, oversizedStrings, validationFailure } from '../domain/index.js';
import { TerminologyUnavailableError } from '../ports/index.js';
import type { UseCaseDeps } from './deps.js';

/** Tag on a resource accepted while the terminology server could not be asked (TERMINOLOGY_DEFER). */
export const TERMINOLOGY_DEFERRED_TAG: fhir4.Coding = {
  system: 'urn:rxgate:validation',
  code: 'terminology-deferred',
  display: 'Codes not yet validated: the terminology server was unavailable',
};

/**
 * The gateway's rules and the FHIR R4 structure, together: every problem at once, each with its
 * FHIRPath, the gateway's own wording first where both speak of the same element. Content over the
 * string bounds of `domain/input-limits` is refused before either looks at it.
 */
export function assertValid<T>(deps: UseCaseDeps, resourceType: string, input: unknown, rules: (input: unknown) => Issue[]): T {
  // Oversized strings first, and alone: the other checks would only describe them again, at length.
  const oversized = oversizedStrings(resourceType, input);
  if (oversized.length > 0) throw validationFailure(oversized);
  const issues = rules(input);
  const covered = new Set(issues.map((i) => i.expression));
  // A body that is not even an object of this type has said all it can.
  if (!(issues.length > 0 && (issues[0].expression === resourceType || issues[0].expression === `${resourceType}.resourceType`))) {
    for (const issue of deps.igValidator.validate(resourceType, input)) if (!covered.has(issue.expression)) issues.push(issue);
  }
  if (issues.length > 0) throw validationFailure(issues);
  return input as T;
}

/**
 * Checks every coding of a medication with the terminology port. Unknown codes are a 422; a
 * terminology server that cannot answer is 503 `VALIDATOR_UNAVAILABLE`, unless deferral is
 * configured, in which case the caller tags the resource (answers `deferred`).
 */
export async function checkCodes(deps: UseCaseDeps, concept: fhir4.CodeableConcept | undefined, path: string): Promise<{ deferred: boolean }> {
  const issues: Issue[] = [];
  let deferred = false;
  for (const [index, coding] of (concept?.coding ?? []).entries()) {
    if (!coding.system || !coding.code) continue;
    try {
      const answer = await deps.terminology.check(coding.system, coding.code);
      if (answer && !answer.valid) issues.push({ expression: `${path}.coding[${index}].code`, diagnostics: answer.message });
    } catch (error) {
      if (!(error instanceof TerminologyUnavailableError)) throw error;
      if (!deps.terminologyDefer)
        throw new DomainError('VALIDATOR_UNAVAILABLE', 'The terminology server is unavailable, so the medication codes cannot be checked; retry later.', {
          cause: error,
        });
      deferred = true;
    }
  }
  if (issues.length > 0) throw validationFailure(issues);
  return { deferred };
}

/** Adds the deferral tag to a resource's meta. */
export function tagDeferred<R extends { meta?: fhir4.Meta }>(resource: R): R {
  const tags = (resource.meta?.tag ?? []).filter((t) => !(t.system === TERMINOLOGY_DEFERRED_TAG.system && t.code === TERMINOLOGY_DEFERRED_TAG.code));
  return { ...resource, meta: { ...resource.meta, tag: [...tags, TERMINOLOGY_DEFERRED_TAG] } };
}
