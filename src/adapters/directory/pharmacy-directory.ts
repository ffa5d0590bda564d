import type { DataSource } from 'typeorm';
import type { Pharmacy, PharmacyDirectory, PharmacyRouter } from '../../ports/index.js';
import { OrganizationEntity } from '../db/entities/index.js';
import { TtlCache } from './ttl-cache.js';

const toPharmacy = (row: OrganizationEntity): Pharmacy => ({ id: row.id, name: row.name, resource: row.resource });

/** The shared pharmacy directory (Organization rows), with a short cache for lookups by id. */
export function createPharmacyDirectory(dataSource: DataSource, ttlMs = 60_000): PharmacyDirectory {
  const cache = new TtlCache<Pharmacy | null>(ttlMs);
  const repository = dataSource.getRepository(OrganizationEntity);
  return {
    async findByIds(ids) {
      const found: Pharmacy[] = [];
      const missing: string[] = [];
      for (const id of new Set(ids)) {
        const cached = cache.get(id);
        if (cached === undefined) missing.push(id);
        else if (cached) found.push(cached);
      }
      if (missing.length > 0) {
        const rows = await repository.createQueryBuilder('o').where('o.id = ANY(:ids)', { ids: missing }).getMany();
        const byId = new Map(rows.map((row) => [row.id, toPharmacy(row)]));
        for (const id of missing) {
          const pharmacy = byId.get(id);
          cache.set(id, pharmacy ?? null);
          if (pharmacy) found.push(pharmacy);
        }
      }
      return found;
    },

    async search({ name, limit }) {
      const query = repository.createQueryBuilder('o').orderBy('lower(o.name)').addOrderBy('o.id').limit(limit);
      // strpos, not LIKE: the user's text is matched literally, % and _ included.
      if (name) query.where('strpos(lower(o.name), lower(:name)) > 0', { name });
      return (await query.getMany()).map(toPharmacy);
    },
  };
}

/** Routing by the directory: a prescription may name any pharmacy the directory holds. */
export function createDirectoryRouter(directory: PharmacyDirectory): PharmacyRouter {
  return {
    async resolve(organizationId) {
      return (await directory.findByIds([organizationId]))[0];
    },
  };
}
