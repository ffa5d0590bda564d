/** Small FHIR R4 helpers shared by the resource rules. Types come from `@types/fhir`. */
export type FhirResource = fhir4.Resource & Record<string, unknown>;

export const RXNORM_SYSTEM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
export const ATC_SYSTEM = 'http://www.whocc.no/atc';
export const WORKFLOW_STATUS_EXTENSION = 'urn:rxgate:extension:workflow-status';
export const ERROR_CODE_SYSTEM = 'urn:rxgate:error-code';

/** FHIR `id` datatype: 1–64 of [A-Za-z0-9-.]. */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** FHIR `dateTime` (R4 datatypes.html#dateTime): year, year-month, date, or full instant with zone. */
export const FHIR_DATE_TIME =
  /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/;

export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Parses `Type/id` (a relative literal reference); `undefined` when it is not one. */
export function parseReference(reference: unknown, type: string): string | undefined {
  if (typeof reference !== 'string') return undefined;
  const slash = reference.indexOf('/');
  if (slash < 0 || reference.slice(0, slash) !== type) return undefined;
  const id = reference.slice(slash + 1);
  return FHIR_ID.test(id) ? id : undefined;
}

/** Accepts a bare id (`p1`) or a reference (`Patient/p1`) and answers the bare id. */
export function bareId(value: string, type: string): string {
  return value.startsWith(`${type}/`) ? value.slice(type.length + 1) : value;
}

/**
 * Lower bound of a FHIR dateTime as a JS Date (a partial date means its first instant, UTC).
 * Used for search columns; the resource keeps the value as sent.
 */
export function dateTimeLowerBound(value: string): Date {
  if (/^\d{4}$/.test(value)) return new Date(`${value}-01-01T00:00:00Z`);
  if (/^\d{4}-\d{2}$/.test(value)) return new Date(`${value}-01T00:00:00Z`);
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return new Date(`${value}T00:00:00Z`);
  return new Date(value);
}
