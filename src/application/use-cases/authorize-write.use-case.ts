import { assertPersonaMay, deniedEntry, DomainError, type RequestContext, type WriteAction } from '../../domain/index.js';
import type { UseCaseDeps } from '../deps.js';

/**
 * The persona check on its own, for a transport that must refuse before it reads the body
 * (CONTRACT §2: persona before request shape). The refusal is audited like any other.
 */
export function authorizeWrite(deps: UseCaseDeps, ctx: RequestContext, action: WriteAction): void {
  try {
    assertPersonaMay(ctx, action);
  } catch (error) {
    if (error instanceof DomainError) deps.audit.recordLater([deniedEntry(ctx, error.code, action)]);
    throw error;
  }
}
