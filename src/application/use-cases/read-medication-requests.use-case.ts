import {
  assertSearchCriteria,
  DomainError,
  FHIR_ID,
  MAX_SEARCH_VALUE_LENGTH,
  type MedicationRequestRecord,
  type RequestContext,
  type TransitionRecord,
} from '../../domain/index.js';
import type { HistoryPosition, MedicationRequestQuery, SearchPosition, SortKey } from '../../ports/index.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import type { UseCaseDeps } from '../deps.js';
import { isStoredId } from '../stored-id.js';
import { notFound, withCurrentFills } from '../workflow.js';

// Re-exported: the use-cases have long imported it from here.
export { isStoredId };

export async function getMedicationRequest(deps: UseCaseDeps, ctx: RequestContext, id: string): Promise<MedicationRequestRecord> {
  const record = isStoredId(id)
    ? await deps.uow.read(ctx.tenantId, async (scope) => {
        const { records, fills } = await scope.medicationRequests.findByIdsWithFills([id]);
        return withCurrentFills(records, fills)[0];
      })
    : undefined;
  if (!record) throw notFound(id);
  return record;
}

/** Batch load for DataLoaders: answers in the order of `ids`, `undefined` where not visible. */
export async function getMedicationRequestsByIds(
  deps: UseCaseDeps,
  ctx: RequestContext,
  ids: readonly string[],
): Promise<Array<MedicationRequestRecord | undefined>> {
  const valid = ids.filter(isStoredId);
  const records = await deps.uow.read(ctx.tenantId, async (scope) => {
    const found = await scope.medicationRequests.findByIdsWithFills(valid);
    return withCurrentFills(found.records, found.fills);
  });
  const byId = new Map(records.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id));
}

export async function getMedicationRequestVersion(deps: UseCaseDeps, ctx: RequestContext, id: string, versionId: number): Promise<MedicationRequestRecord> {
  const record = isStoredId(id) ? await deps.uow.read(ctx.tenantId, (scope) => scope.history.version(id, versionId)) : undefined;
  if (!record) throw new DomainError('NOT_FOUND', `MedicationRequest/${id} has no version ${versionId}.`);
  return record;
}

/** Every version of a prescription, newest first (FHIR instance `_history`). */
export async function medicationRequestHistory(deps: UseCaseDeps, ctx: RequestContext, id: string): Promise<MedicationRequestRecord[]> {
  const versions = isStoredId(id) ? await deps.uow.read(ctx.tenantId, (scope) => scope.history.list(id)) : [];
  if (versions.length === 0) throw notFound(id);
  return versions;
}

const encodeHistory = (p: HistoryPosition) => Buffer.from(JSON.stringify(['hist', p.lastUpdated, p.id, p.version])).toString('base64url');

const invalidHistoryCursor = () => new DomainError('BAD_REQUEST', 'The paging cursor is not valid for this history; start again from the first page.');

function decodeHistory(cursor: string): HistoryPosition {
  if (cursor.length > MAX_SEARCH_VALUE_LENGTH) throw invalidHistoryCursor(); // cursors this server hands out are short
  try {
    const [kind, lastUpdated, id, version] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (
      kind === 'hist' &&
      typeof lastUpdated === 'string' &&
      !Number.isNaN(Date.parse(lastUpdated)) &&
      typeof id === 'string' &&
      isStoredId(id) &&
      Number.isInteger(version)
    ) {
      return { lastUpdated, id, version: version as number };
    }
  } catch {
    // fall through
  }
  throw invalidHistoryCursor();
}

/** Every version of every prescription of the tenant, newest first (FHIR type-level `_history`). */
export async function medicationRequestTypeHistory(
  deps: UseCaseDeps,
  ctx: RequestContext,
  query: { since?: Date; limit: number; cursor?: string; withTotal: boolean },
): Promise<Page<MedicationRequestRecord>> {
  const before = query.cursor === undefined ? undefined : decodeHistory(query.cursor);
  const limit = Math.min(Math.max(query.limit, 0), MAX_PAGE_SIZE);
  const page = await deps.uow.read(ctx.tenantId, (scope) => scope.history.listAll({ since: query.since, before, limit, withTotal: query.withTotal }));
  const items = page.items.map(({ record, position }) => ({ record, cursor: encodeHistory(position) }));
  return {
    items,
    ...(page.hasMore && items.length > 0 ? { nextCursor: items[items.length - 1].cursor } : {}),
    ...(page.total !== undefined ? { total: page.total } : {}),
  };
}

export async function transitionsOf(deps: UseCaseDeps, ctx: RequestContext, ids: readonly string[]): Promise<TransitionRecord[][]> {
  const byId = await deps.uow.read(ctx.tenantId, (scope) => scope.history.transitionsOf(ids.filter(isStoredId)));
  return ids.map((id) => byId.get(id) ?? []);
}

/** Search criteria common to FHIR search parameters and the GraphQL filter. */
export type MedicationRequestCriteria = Omit<MedicationRequestQuery, 'sort' | 'descending' | 'after' | 'limit' | 'withTotal'>;

export interface PageRequest {
  limit: number;
  /** Opaque cursor from an earlier page's `next`. */
  cursor?: string;
  sort?: SortKey;
  descending?: boolean;
  withTotal: boolean;
}

export interface Page<T> {
  items: Array<{ record: T; cursor: string }>;
  nextCursor?: string;
  total?: number;
}

/** Largest page either transport serves (FHIR caps `_count` here, CONTRACT §4). */
export const MAX_PAGE_SIZE = 200;

export async function searchMedicationRequests(
  deps: UseCaseDeps,
  ctx: RequestContext,
  criteria: MedicationRequestCriteria,
  page: PageRequest,
): Promise<Page<MedicationRequestRecord>> {
  assertSearchCriteria(criteria);
  const sort = page.sort ?? 'seq';
  const descending = page.descending ?? false;
  const after: SearchPosition | undefined = page.cursor === undefined ? undefined : decodeCursor(page.cursor, { sort, descending });
  const limit = Math.min(Math.max(page.limit, 0), MAX_PAGE_SIZE);
  const ids = criteria.ids?.filter((id) => FHIR_ID.test(id) && isStoredId(id));
  if (criteria.ids && ids!.length === 0) return { items: [], ...(page.withTotal ? { total: 0 } : {}) };

  const result = await deps.uow.read(ctx.tenantId, async (scope) => {
    const found = await scope.medicationRequests.search({
      ...criteria,
      ...(ids ? { ids } : {}),
      sort,
      descending,
      after,
      limit,
      withTotal: page.withTotal,
      withFills: true,
    });
    const current = withCurrentFills(
      found.items.map((item) => item.record),
      found.fills!,
    );
    return { ...found, items: found.items.map((item, i) => ({ ...item, record: current[i] })) };
  });
  const items = result.items.map(({ record, position }) => ({ record, cursor: encodeCursor(position) }));
  return {
    items,
    ...(result.hasMore && items.length > 0 ? { nextCursor: items[items.length - 1].cursor } : {}),
    ...(result.total !== undefined ? { total: result.total } : {}),
  };
}
