import { DomainError } from '../domain/index.js';
import { etagOf, parseIfMatch } from './etag.js';

/**
 * The If-Match check and the optimistic write, once for every resource and workflow (CONTRACT §4:
 * FHIR R4 http.html#concurrency). A versioned write is `UPDATE … WHERE version = $n` in the store;
 * these helpers decide what a mismatch means.
 */

interface Versioned {
  versionId: number;
  resource: unknown;
}

/** 412 carrying the current resource, so the caller can merge and retry without another read. */
export function stale(current: Versioned, what = 'the current version'): DomainError {
  return new DomainError('PRECONDITION_FAILED', `If-Match is stale: ${what} is ${etagOf(current.versionId)}; re-read and retry.`, {
    current: current.resource,
    currentVersionId: current.versionId,
  });
}

/**
 * Checks `ifMatch` against `current`. `required`: an update without it is 428 (CONTRACT §4); a
 * conditional transition without it is simply unconditional.
 */
export function checkIfMatch(ifMatch: string | undefined, current: Versioned, options: { required: boolean; what?: string }): void {
  if (ifMatch === undefined || ifMatch.trim() === '') {
    if (options.required) throw new DomainError('PRECONDITION_REQUIRED', `Updates need If-Match with the current version (now ${etagOf(current.versionId)}).`);
    return;
  }
  if (parseIfMatch(ifMatch) !== current.versionId) throw stale(current, options.what);
}

/**
 * Runs a load → check → conditional write until the write lands. `attempt` answers `undefined`
 * when another writer got there first (nothing was written); it is run again against the new
 * version, unless the caller pinned a version with If-Match — then the check inside `attempt`
 * answers 412 on the next round: never two winners, never a lost update.
 */
export async function retryOnConflict<T>(attempt: () => Promise<T | undefined>, maxAttempts = 10): Promise<T> {
  for (let n = 1; ; n++) {
    const result = await attempt();
    if (result !== undefined) return result;
    if (n >= maxAttempts) throw new DomainError('PRECONDITION_FAILED', 'The resource keeps changing under this request; re-read and retry.');
  }
}
