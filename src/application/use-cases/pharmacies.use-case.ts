import { DomainError } from '../../domain/index.js';
import type { Pharmacy } from '../../ports/index.js';
import type { UseCaseDeps } from '../deps.js';
import { MAX_PAGE_SIZE, type Page } from './read-medication-requests.use-case.js';

/** The directory is shared: any authenticated caller of a licensed tenant reads it. */
export async function getPharmaciesByIds(deps: UseCaseDeps, ids: readonly string[]): Promise<Array<Pharmacy | undefined>> {
  const found = await deps.pharmacies.findByIds(ids);
  const byId = new Map(found.map((p) => [p.id, p]));
  return ids.map((id) => byId.get(id));
}

export interface PharmacySearch {
  name?: string;
  typeTerm?: string;
  limit: number;
  cursor?: string;
  withTotal: boolean;
}

const encode = (position: { name: string; id: string }) => Buffer.from(JSON.stringify(['org', position.name, position.id])).toString('base64url');

function decode(cursor: string): { name: string; id: string } {
  try {
    const [kind, name, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (kind === 'org' && typeof name === 'string' && typeof id === 'string') return { name, id };
  } catch {
    // fall through
  }
  throw new DomainError('BAD_REQUEST', 'The paging cursor is not valid for this search; start again from the first page.');
}

/** Pharmacies by name (contains, case-insensitive) and type, ordered by name, in pages. */
export async function searchPharmacies(deps: UseCaseDeps, query: PharmacySearch): Promise<Page<Pharmacy>> {
  const page = await deps.pharmacies.search({
    name: query.name,
    typeTerm: query.typeTerm,
    limit: Math.min(Math.max(query.limit, 0), MAX_PAGE_SIZE),
    after: query.cursor === undefined ? undefined : decode(query.cursor),
    withTotal: query.withTotal,
  });
  const items = page.items.map(({ record, position }) => ({ record, cursor: encode(position) }));
  return {
    items,
    ...(page.hasMore && items.length > 0 ? { nextCursor: items[items.length - 1].cursor } : {}),
    ...(page.total !== undefined ? { total: page.total } : {}),
  };
}
