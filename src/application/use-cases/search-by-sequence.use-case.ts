import { assertSearchCriteria, type MedicationDispenseRecord, type RequestContext, type TaskRecord } from '../../domain/index.js';
import type { MedicationDispenseQuery, SeqPage, SeqPageQuery, TaskQuery, TransactionScope } from '../../ports/index.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import type { UseCaseDeps } from '../deps.js';
import { isStoredId, MAX_PAGE_SIZE, type Page } from './read-medication-requests.use-case.js';

export type DispenseCriteria = Omit<MedicationDispenseQuery, keyof SeqPageQuery>;
export type TaskCriteria = Omit<TaskQuery, keyof SeqPageQuery>;

export interface SeqPageRequest {
  limit: number;
  cursor?: string;
  withTotal: boolean;
}

/** Ids that cannot be stored ids match nothing (they must not reach a `uuid` column as a cast error). */
function onlyStoredIds<C extends { ids?: string[]; prescriptionIds?: string[]; focusIds?: string[] }>(criteria: C): C | undefined {
  const clean = { ...criteria };
  for (const key of ['ids', 'prescriptionIds', 'focusIds'] as const) {
    const list = clean[key];
    if (list) {
      const kept = list.filter(isStoredId);
      if (kept.length === 0) return undefined;
      clean[key] = kept;
    }
  }
  return clean;
}

async function pageBySequence<T, C extends object>(
  deps: UseCaseDeps,
  ctx: RequestContext,
  criteria: C,
  request: SeqPageRequest,
  search: (scope: TransactionScope, query: C & SeqPageQuery) => Promise<SeqPage<T>>,
): Promise<Page<T>> {
  assertSearchCriteria(criteria);
  const afterSeq = request.cursor === undefined ? undefined : decodeCursor(request.cursor, { sort: 'seq', descending: false }).seq;
  const clean = onlyStoredIds(criteria as C & { ids?: string[] });
  if (!clean) return { items: [], ...(request.withTotal ? { total: 0 } : {}) };
  const limit = Math.min(Math.max(request.limit, 0), MAX_PAGE_SIZE);
  const page = await deps.uow.read(ctx.tenantId, (scope) => search(scope, { ...clean, limit, afterSeq, withTotal: request.withTotal }));
  const items = page.items.map(({ record, seq }) => ({ record, cursor: encodeCursor({ sort: 'seq', descending: false, value: null, seq }) }));
  return {
    items,
    ...(page.hasMore && items.length > 0 ? { nextCursor: items[items.length - 1].cursor } : {}),
    ...(page.total !== undefined ? { total: page.total } : {}),
  };
}

export const searchMedicationDispenses = (
  deps: UseCaseDeps,
  ctx: RequestContext,
  criteria: DispenseCriteria,
  request: SeqPageRequest,
): Promise<Page<MedicationDispenseRecord>> => pageBySequence(deps, ctx, criteria, request, (scope, query) => scope.dispenses.search(query));

export const searchTasks = (deps: UseCaseDeps, ctx: RequestContext, criteria: TaskCriteria, request: SeqPageRequest): Promise<Page<TaskRecord>> =>
  pageBySequence(deps, ctx, criteria, request, (scope, query) => scope.tasks.search(query));

/** Batch load for DataLoaders: the dispenses of each prescription, oldest first. */
export async function dispensesOfPrescriptions(
  deps: UseCaseDeps,
  ctx: RequestContext,
  prescriptionIds: readonly string[],
): Promise<MedicationDispenseRecord[][]> {
  const ids = prescriptionIds.filter(isStoredId);
  const byPrescription = new Map<string, MedicationDispenseRecord[]>(prescriptionIds.map((id) => [id, []]));
  if (ids.length > 0) {
    const page = await deps.uow.read(ctx.tenantId, (scope) => scope.dispenses.search({ prescriptionIds: ids, limit: 10_000, withTotal: false }));
    for (const { record } of page.items) byPrescription.get(record.prescriptionId)?.push(record);
  }
  return prescriptionIds.map((id) => byPrescription.get(id) ?? []);
}

/** Batch load for DataLoaders and `_entities`: dispenses by id, `undefined` where not visible. */
export async function getMedicationDispensesByIds(
  deps: UseCaseDeps,
  ctx: RequestContext,
  ids: readonly string[],
): Promise<Array<MedicationDispenseRecord | undefined>> {
  const valid = ids.filter(isStoredId);
  const page =
    valid.length === 0
      ? { items: [] }
      : await deps.uow.read(ctx.tenantId, (scope) => scope.dispenses.search({ ids: valid, limit: valid.length, withTotal: false }));
  const byId = new Map(page.items.map(({ record }) => [record.id, record]));
  return ids.map((id) => byId.get(id));
}
