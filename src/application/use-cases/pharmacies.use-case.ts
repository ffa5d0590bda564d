import type { Pharmacy } from '../../ports/index.js';
import type { UseCaseDeps } from '../deps.js';
import { MAX_PAGE_SIZE } from './read-medication-requests.use-case.js';

/** The directory is shared: any authenticated caller of a licensed tenant reads it. */
export async function getPharmaciesByIds(deps: UseCaseDeps, ids: readonly string[]): Promise<Array<Pharmacy | undefined>> {
  const found = await deps.pharmacies.findByIds(ids);
  const byId = new Map(found.map((p) => [p.id, p]));
  return ids.map((id) => byId.get(id));
}

export function searchPharmacies(deps: UseCaseDeps, query: { name?: string; limit: number }): Promise<Pharmacy[]> {
  return deps.pharmacies.search({ name: query.name, limit: Math.min(Math.max(query.limit, 0), MAX_PAGE_SIZE) });
}
