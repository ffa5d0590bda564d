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

    async search(query) {
      const filtered = repository.createQueryBuilder('o');
      // strpos, not LIKE: the user's text is matched literally, % and _ included.
      if (query.name) filtered.andWhere('strpos(lower(o.name), lower(:name)) > 0', { name: query.name });
      if (query.typeTerm) filtered.andWhere('o.typeCodes @> ARRAY[CAST(:typeTerm AS text)]', { typeTerm: query.typeTerm });
      // Keyset on (lower(name), id): the migration's organizations_name_lower index.
      const page = filtered.clone();
      if (query.after) page.andWhere('(lower(o.name), o.id) > (:afterName, :afterId)', { afterName: query.after.name, afterId: query.after.id });
      page
        .orderBy('lower(o.name)', 'ASC')
        .addOrderBy('o.id', 'ASC')
        .limit(query.limit + 1);
      const [rows, count] = await Promise.all([
        page.getMany(),
        query.withTotal ? filtered.clone().select('count(*)::int', 'total').getRawOne<{ total: number }>() : undefined,
      ]);
      return {
        items: rows.slice(0, query.limit).map((row) => ({ record: toPharmacy(row), position: { name: row.name.toLowerCase(), id: row.id } })),
        hasMore: rows.length > query.limit,
        ...(count ? { total: count.total } : {}),
      };
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
