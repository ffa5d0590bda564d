import { assertPersonaMay, assertSearchCriteria, type AuditRecord, type RequestContext } from '../../domain/index.js';
import type { AuditCriteria } from '../../ports/index.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import type { UseCaseDeps } from '../deps.js';
import { MAX_PAGE_SIZE, type Page } from './read-medication-requests.use-case.js';

export type AuditSearch = Omit<AuditCriteria, 'before' | 'limit'>;

/**
 * The tenant's audit trail, newest first, for a platform-admin. What is still queued (reads and
 * refusals are written in batches) is flushed first, so an entry is searchable once its request has
 * been answered.
 */
export async function searchAuditEvents(
  deps: UseCaseDeps,
  ctx: RequestContext,
  criteria: AuditSearch,
  request: { limit: number; cursor?: string },
): Promise<Page<AuditRecord>> {
  assertPersonaMay(ctx, 'audit.read');
  assertSearchCriteria(criteria);
  const position = request.cursor === undefined ? undefined : decodeCursor(request.cursor, { sort: 'lastUpdated', descending: true });
  const before = position && { recorded: new Date(position.value!), id: position.seq };
  const limit = Math.min(Math.max(request.limit, 0), MAX_PAGE_SIZE);
  await deps.audit.flush();
  const rows = await deps.uow.read(ctx.tenantId, (scope) => scope.audit.search({ ...criteria, before, limit }));
  const items = rows
    .slice(0, limit)
    .map((record) => ({ record, cursor: encodeCursor({ sort: 'lastUpdated', descending: true, value: record.recorded.toISOString(), seq: record.id }) }));
  return { items, ...(rows.length > limit && items.length > 0 ? { nextCursor: items[items.length - 1].cursor } : {}) };
}
