import { DomainError, type Issue, validationFailure } from './errors.js';

/**
 * Bounds on every string a client can send (issue #7, item 5), in one place for both transports.
 * FHIR R4 lets a string element run to 1 MB (datatypes.html#string); a prescription's longest free
 * text — a note, a dosage instruction, a narrative `text.div` — is far shorter, and every stored
 * string is copied again into history rows, events and audit records. Over a bound, resource content
 * is 422 `PROFILE_VALIDATION_FAILURE` (one issue per element, with its FHIRPath); a search
 * parameter, filter or cursor is 400 `BAD_REQUEST` (CONTRACT §2).
 */

/** Longest string element of a resource (note, identifier, display, narrative, reason…). */
export const MAX_STRING_LENGTH = 10_000;

/** Longest element name in a resource: FHIR R4's longest are under 40 characters. */
export const MAX_ELEMENT_NAME_LENGTH = 128;

/** Longest search parameter name or value, list filter value, event filter value or paging cursor. */
export const MAX_SEARCH_VALUE_LENGTH = 1_024;

/** Longest prefix of a client's value an error message quotes back. */
export const MAX_QUOTED_LENGTH = 64;

/** Problems after which a size check stops looking: the caller has enough to act on. */
const MAX_SIZE_ISSUES = 20;

/** A client's value as an error message may quote it: at most {@link MAX_QUOTED_LENGTH} characters. */
export const quoted = (value: string): string => (value.length <= MAX_QUOTED_LENGTH ? value : `${value.slice(0, MAX_QUOTED_LENGTH)}…`);

/**
 * Every string of `value` longer than {@link MAX_STRING_LENGTH}, and every element name longer than
 * {@link MAX_ELEMENT_NAME_LENGTH}, as issues located by FHIRPath under `root` (e.g.
 * `MedicationRequest.note[0].text`). Empty when the content is within bounds. The issues never
 * quote the oversized value, so the answer stays small.
 */
export function oversizedStrings(root: string, value: unknown): Issue[] {
  const issues: Issue[] = [];
  const walk = (node: unknown, path: string): void => {
    if (issues.length >= MAX_SIZE_ISSUES) return;
    if (typeof node === 'string') {
      if (node.length > MAX_STRING_LENGTH)
        issues.push({ expression: path, diagnostics: `${path} is ${node.length} characters long; at most ${MAX_STRING_LENGTH} are accepted.` });
    } else if (Array.isArray(node)) {
      node.forEach((item, index) => walk(item, `${path}[${index}]`));
    } else if (typeof node === 'object' && node !== null) {
      for (const [key, child] of Object.entries(node)) {
        if (key.length > MAX_ELEMENT_NAME_LENGTH) {
          issues.push({
            expression: path,
            diagnostics: `${path} has an element name of ${key.length} characters ('${quoted(key)}'); FHIR element names are at most ${MAX_ELEMENT_NAME_LENGTH}.`,
          });
        } else walk(child, `${path}.${key}`);
      }
    }
  };
  walk(value, root);
  return issues;
}

/** Throws 422 `PROFILE_VALIDATION_FAILURE` naming `expression` when a text (e.g. a transition reason) is over {@link MAX_STRING_LENGTH}. */
export function assertTextWithinBounds(text: string | null | undefined, expression: string): void {
  if (typeof text === 'string' && text.length > MAX_STRING_LENGTH) throw validationFailure(oversizedStrings(expression, text));
}

/** Throws 400 `BAD_REQUEST` when a search parameter's name or one of its values is over {@link MAX_SEARCH_VALUE_LENGTH}. */
export function assertSearchParameter(name: string, values: readonly string[]): void {
  if (name.length > MAX_SEARCH_VALUE_LENGTH)
    throw new DomainError(
      'BAD_REQUEST',
      `A search parameter name of ${name.length} characters ('${quoted(name)}') is not one this server knows; names are short.`,
    );
  for (const value of values) {
    if (value.length > MAX_SEARCH_VALUE_LENGTH) {
      throw new DomainError('BAD_REQUEST', `Parameter '${quoted(name)}' is ${value.length} characters long; at most ${MAX_SEARCH_VALUE_LENGTH} are accepted.`);
    }
  }
}

/** A criterion as the caller sent it: token terms (`tokenQueryTerm`) add a wildcard it did not send. */
const asSent = (value: string): string => (value.startsWith('*|') ? value.slice(2) : value.endsWith('|*') ? value.slice(0, -1) : value);

/**
 * {@link assertSearchParameter} over search criteria, whichever transport built them (FHIR search
 * parameters, GraphQL filters): every string, in lists and nested objects too.
 */
export function assertSearchCriteria(criteria: object): void {
  const walk = (node: unknown, name: string): void => {
    if (typeof node === 'string') assertSearchParameter(name, [asSent(node)]);
    else if (Array.isArray(node)) node.forEach((item) => walk(item, name));
    else if (typeof node === 'object' && node !== null && !(node instanceof Date)) for (const [key, child] of Object.entries(node)) walk(child, key);
  };
  walk(criteria, 'criteria');
}
