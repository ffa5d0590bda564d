import { assertPersonaMay, assertPersonaWritesResource, deniedEntry, DomainError, type RequestContext, type WriteAction } from '../../domain/index.js';
import type { UseCaseDeps } from '../deps.js';

/**
 * The persona check on its own, for a transport that must refuse before it reads the body
 * (CONTRACT §2: persona before request shape, and before whether the interaction exists): the
 * route's action, or — for a write whose route names none — writing the resource type at all.
 * The refusal is audited like any other.
 */
export function authorizeWrite(deps: UseCaseDeps, ctx: RequestContext, write: WriteAction | { resourceType: string }): void {
  try {
    if (typeof write === 'string') assertPersonaMay(ctx, write);
    else assertPersonaWritesResource(ctx, write.resourceType);
  } catch (error) {
    if (error instanceof DomainError) deps.audit.recordLater([deniedEntry(ctx, error.code, typeof write === 'string' ? write : `${write.resourceType}.write`)]);
    throw error;
  }
}
