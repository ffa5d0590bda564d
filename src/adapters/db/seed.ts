import { readFile } from 'node:fs/promises';
import type { DataSource } from 'typeorm';
import { EPRESCRIBING_MODULE } from '../../domain/index.js';
import { OrganizationEntity, TenantEntity } from './entities/index.js';

/** Development tenants of CONTRACT §1. */
export const DEVELOPMENT_TENANTS = [
  { id: 'tenant-a', name: 'Tenant A', modules: [EPRESCRIBING_MODULE] },
  { id: 'tenant-b', name: 'Tenant B', modules: [EPRESCRIBING_MODULE] },
  { id: 'tenant-unlicensed', name: 'Tenant without a licence', modules: [] as string[] },
];

const typeCodesOf = (org: fhir4.Organization): string[] =>
  (org.type ?? []).flatMap((t) => (t.coding ?? []).flatMap((c) => (c.code ? [`${c.system ?? ''}|${c.code}`, `*|${c.code}`] : [])));

/**
 * Loads the development tenants and the pharmacy directory. Idempotent: existing rows are kept
 * as they are, so a restart never overwrites what an operator changed.
 */
export async function seedDevelopmentData(dataSource: DataSource, pharmaciesFile: string): Promise<{ tenants: number; pharmacies: number }> {
  const organizations = JSON.parse(await readFile(pharmaciesFile, 'utf8')) as fhir4.Organization[];
  return dataSource.transaction(async (manager) => {
    const tenants = await manager.createQueryBuilder().insert().into(TenantEntity).values(DEVELOPMENT_TENANTS).orIgnore().execute();
    const now = new Date();
    let pharmacies = 0;
    for (let i = 0; i < organizations.length; i += 500) {
      const rows = organizations.slice(i, i + 500).map((org) => ({
        id: org.id!,
        name: org.name ?? org.id!,
        typeCodes: typeCodesOf(org),
        version: 1,
        lastUpdated: now,
        resource: { ...org, meta: { versionId: '1', lastUpdated: now.toISOString() } },
      }));
      const result = await manager.createQueryBuilder().insert().into(OrganizationEntity).values(rows).orIgnore().execute();
      pharmacies += result.identifiers.filter(Boolean).length;
    }
    return { tenants: tenants.identifiers.filter(Boolean).length, pharmacies };
  });
}
