import { DomainError } from '../domain/index.js';

/** FHIR R4 http.html#concurrency: the version travels as a weak ETag, W/"3". */
export const etagOf = (versionId: number): string => `W/"${versionId}"`;

/** Reads an If-Match value (`W/"3"`, `"3"` or `3`) as a version number. */
export function parseIfMatch(value: string): number {
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(value);
  if (!match) throw new DomainError('BAD_REQUEST', `If-Match '${value.slice(0, 40)}' is not a version ETag; send W/"<versionId>".`);
  return Number(match[1]);
}
