/** Port of the pharmacy directory (shared by all tenants, read-only through the API). */
import type { SearchPage } from './storage.js';

export interface Pharmacy {
  id: string;
  name: string;
  resource: fhir4.Organization;
}

/** Decides whether a prescription can be routed to a pharmacy (CONTRACT §4: it must be in the directory). */
export interface PharmacyRouter {
  /** The directory pharmacy for this Organization id, or `undefined` when there is none. */
  resolve(organizationId: string): Promise<Pharmacy | undefined>;
}

export interface PharmacyQuery {
  name?: string;
  /** A token search term (see `tokenQueryTerm`) on `Organization.type`. */
  typeTerm?: string;
  limit: number;
  /** Keyset position: the last row's lower-cased name and id. */
  after?: { name: string; id: string };
  withTotal: boolean;
}

export interface PharmacyDirectory {
  /** Answers the pharmacies found, in no particular order; unknown ids are left out. */
  findByIds(ids: readonly string[]): Promise<Pharmacy[]>;
  /** Name contains `name` (case-insensitive) and/or type matches `typeTerm` (token term), ordered by name then id. */
  search(query: PharmacyQuery): Promise<SearchPage<Pharmacy, { name: string; id: string }>>;
}
