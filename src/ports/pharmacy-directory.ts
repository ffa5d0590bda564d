/** Port of the pharmacy directory (shared by all tenants, read-only through the API). */
import type { SearchPage } from './storage.js';

/** A pharmacy of the directory. */
export interface Pharmacy {
  /** The Organization id prescriptions name it by. */
  id: string;
  /** `Organization.name`. */
  name: string;
  /** The FHIR Organization as the directory keeps it. */
  resource: fhir4.Organization;
}

/** Decides whether a prescription can be routed to a pharmacy (CONTRACT §4: it must be in the directory). */
export interface PharmacyRouter {
  /** The directory pharmacy for this Organization id, or `undefined` when there is none. */
  resolve(organizationId: string): Promise<Pharmacy | undefined>;
}

/** Filters and page of a directory search (`Organization?name=…&type=…`). */
export interface PharmacyQuery {
  /** Text the name contains, case-insensitive and literal. */
  name?: string;
  /** A token search term (see `tokenQueryTerm`) on `Organization.type`. */
  typeTerm?: string;
  /** Pharmacies the page holds. */
  limit: number;
  /** Keyset position: the last row's lower-cased name and id. */
  after?: { name: string; id: string };
  /** Count every match too (`SearchPage.total`). */
  withTotal: boolean;
}

/** The pharmacy directory, shared by every tenant (read-only through the API). */
export interface PharmacyDirectory {
  /** Answers the pharmacies found, in no particular order; unknown ids are left out. */
  findByIds(ids: readonly string[]): Promise<Pharmacy[]>;
  /** Name contains `name` (case-insensitive) and/or type matches `typeTerm` (token term), ordered by name then id. */
  search(query: PharmacyQuery): Promise<SearchPage<Pharmacy, { name: string; id: string }>>;
}
