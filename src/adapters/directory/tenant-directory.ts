import type { DataSource } from 'typeorm';
import type { Tenant, TenantDirectory } from '../../ports/index.js';
import { TenantEntity } from '../db/entities/index.js';
import { TtlCache } from './ttl-cache.js';

/**
 * Tenants from the database, cached briefly: every request needs its tenant's licence, and a
 * licence change taking up to `ttlMs` to apply is acceptable. Unknown tenants are cached too.
 */
export function createTenantDirectory(dataSource: DataSource, ttlMs = 30_000): TenantDirectory {
  const cache = new TtlCache<Tenant | null>(ttlMs);
  const repository = dataSource.getRepository(TenantEntity);
  return {
    async find(id) {
      const cached = cache.get(id);
      if (cached !== undefined) return cached ?? undefined;
      const row = await repository.findOneBy({ id });
      const tenant = row ? { id: row.id, name: row.name, modules: row.modules } : null;
      cache.set(id, tenant);
      return tenant ?? undefined;
    },
  };
}
