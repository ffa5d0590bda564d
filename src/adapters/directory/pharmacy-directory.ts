import type { DataSource } from 'typeorm';
import type { Pharmacy, PharmacyDirectory, PharmacyRouter } from '../../ports/index.js';
import { OrganizationEntity } from '../db/entities/index.js';
import { Params } from '../db/seq-page.js';
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
      const params = new Params();
      const where: string[] = [];
      // strpos, not LIKE: the user's text is matched literally, % and _ included.
      if (query.name) where.push(`strpos(lower(name), lower(${params.bind(query.name)})) > 0`);
      if (query.typeTerm) where.push(`type_codes @> ARRAY[${params.bind(query.typeTerm)}::text]`);
      const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
      const filterValues = [...params.values];
      const keyset = query.after ? `${where.length > 0 ? 'AND' : 'WHERE'} (lower(name), id) > (${params.bind(query.after.name)}, ${params.bind(query.after.id)})` : '';
      const [rows, count] = await Promise.all([
        dataSource.query(`SELECT id, name, resource FROM organizations ${filter} ${keyset} ORDER BY lower(name), id LIMIT ${params.bind(query.limit + 1)}`, params.values) as Promise<Array<{ id: string; name: string; resource: fhir4.Organization }>>,
        query.withTotal ? (dataSource.query(`SELECT count(*)::int AS total FROM organizations ${filter}`, filterValues) as Promise<Array<{ total: number }>>) : undefined,
      ]);
      return {
        items: rows.slice(0, query.limit).map((row) => ({ record: { id: row.id, name: row.name, resource: row.resource }, position: { name: row.name.toLowerCase(), id: row.id } })),
        hasMore: rows.length > query.limit,
        ...(count ? { total: count[0].total } : {}),
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
