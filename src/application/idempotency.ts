import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import { DomainError } from '../domain/index.js';
import type { IdempotencyRecord, TransactionScope } from '../ports/index.js';

// The package is CommonJS (`module.exports = fn`); its typings describe an ES default export.
export const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

/** SHA-256 of the canonical JSON (RFC 8785) of the operation and its payload (CONTRACT §4). */
export function requestHash(operation: string, payload: unknown): string {
  return createHash('sha256')
    .update(canonicalize({ operation, payload }) ?? '')
    .digest('hex');
}

/**
 * Claims an Idempotency-Key inside the request's transaction and answers the earlier outcome, if
 * any. Throws `IDEMPOTENCY_KEY_IN_FLIGHT` while another request holds the key and
 * `IDEMPOTENCY_KEY_CONFLICT` when the key was used for a different payload.
 */
export async function priorOutcome(scope: TransactionScope, key: string, hash: string): Promise<IdempotencyRecord | undefined> {
  const claim = await scope.idempotency.claim(key);
  if (!claim.claimed) {
    throw new DomainError('IDEMPOTENCY_KEY_IN_FLIGHT', 'A request with this Idempotency-Key is still running; retry once it has finished.');
  }
  const { prior } = claim;
  if (prior && prior.requestHash !== hash) {
    throw new DomainError('IDEMPOTENCY_KEY_CONFLICT', 'This Idempotency-Key was already used with a different payload; use a new key for a new request.');
  }
  return prior;
}

export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

export function assertIdempotencyKey(key: string): void {
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new DomainError('BAD_REQUEST', 'Idempotency-Key must be 1-128 characters of A-Z a-z 0-9 _ . : - (a UUID is recommended).');
  }
}

/** An idempotent POST: its operation name, the key the caller sent (if any) and the validated payload. */
export interface IdempotentRequest {
  operation: string;
  key: string | undefined;
  payload: unknown;
}

/** What a POST use-case hands to {@link idempotently}: how to answer a replay, and how to run it for real. */
export interface IdempotentWork<T> {
  /** The earlier outcome rebuilt from its record; `undefined` when it can no longer be (then the request runs again). */
  replay(prior: IdempotencyRecord): Promise<T | undefined>;
  /** Runs the request; answers its result and what to remember of it. */
  run(): Promise<{ result: T; saved: Pick<IdempotencyRecord, 'resourceType' | 'resourceId' | 'versionId' | 'statusCode'> | undefined }>;
}

/**
 * The one idempotency routine of every POST (CONTRACT §4: key → fingerprint → claim → replay or
 * run → save), inside the caller's transaction so the record commits with the write it describes.
 * Without a key it just runs.
 */
export async function idempotently<T>(scope: TransactionScope, request: IdempotentRequest, ttlSeconds: number, work: IdempotentWork<T>): Promise<T> {
  if (request.key === undefined) return (await work.run()).result;
  const hash = requestHash(request.operation, request.payload);
  const prior = await priorOutcome(scope, request.key, hash);
  if (prior) {
    const replayed = await work.replay(prior);
    if (replayed !== undefined) return replayed;
  }
  const { result, saved } = await work.run();
  if (saved) await scope.idempotency.save({ key: request.key, operation: request.operation, requestHash: hash, ...saved }, ttlSeconds);
  return result;
}
