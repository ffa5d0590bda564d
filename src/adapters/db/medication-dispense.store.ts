import type { EntityManager } from 'typeorm';
import { parseReference, type MedicationDispenseRecord } from '../../domain/index.js';
import type { MedicationDispenseStore } from '../../ports/index.js';
import { MedicationDispenseEntity, MedicationDispenseHistoryEntity } from './entities/index.js';
import { dateCondition, NamedParams, seqPage } from './seq-page.js';

const toRecord = (row: Pick<MedicationDispenseEntity, 'id' | 'tenantId' | 'version' | 'prescriptionId' | 'lastUpdated' | 'resource'>): MedicationDispenseRecord => ({
  id: row.id,
  tenantId: row.tenantId,
  versionId: row.version,
  prescriptionId: row.prescriptionId,
  lastUpdated: row.lastUpdated,
  resource: row.resource,
});

/** Search columns of a dispense, derived from the resource in one place. */
function rowOf(record: MedicationDispenseRecord): Omit<MedicationDispenseEntity, 'seq'> {
  const r = record.resource;
  return {
    tenantId: record.tenantId,
    id: record.id,
    version: record.versionId,
    status: r.status,
    prescriptionId: record.prescriptionId,
    patientId: parseReference(r.subject?.reference, 'Patient') ?? '',
    pharmacyId: parseReference(r.performer?.[0]?.actor?.reference, 'Organization') ?? null,
    whenHandedOver: r.whenHandedOver ? new Date(r.whenHandedOver) : null,
    lastUpdated: record.lastUpdated,
    resource: r,
  };
}

/** Dispenses of one tenant; each write also stores its version in the history table. */
export function createMedicationDispenseStore(manager: EntityManager, tenantId: string): MedicationDispenseStore {
  const dispenses = manager.getRepository(MedicationDispenseEntity);
  const appendHistory = (record: MedicationDispenseRecord) =>
    manager
      .createQueryBuilder()
      .insert()
      .into(MedicationDispenseHistoryEntity)
      .values({ tenantId, id: record.id, version: record.versionId, lastUpdated: record.lastUpdated, resource: record.resource })
      .execute();
  /** Versions with the prescription of the dispense (kept on the current row only). */
  const versions = (id: string) =>
    manager
      .createQueryBuilder(MedicationDispenseHistoryEntity, 'h')
      .innerJoin(MedicationDispenseEntity, 'd', 'd.tenantId = h.tenantId AND d.id = h.id')
      .addSelect('d.prescriptionId', 'prescription_id')
      .where('h.tenantId = :tenantId AND h.id = :id', { tenantId, id });
  const withPrescription = ({ entities, raw }: { entities: MedicationDispenseHistoryEntity[]; raw: Array<{ prescription_id: string }> }) =>
    entities.map((h, i) => toRecord({ ...h, prescriptionId: raw[i].prescription_id }));
  return {
    async insert(record) {
      await dispenses.createQueryBuilder().insert().values(rowOf(record)).updateEntity(false).execute();
      await appendHistory(record);
    },

    async findById(id) {
      const row = await dispenses.findOneBy({ tenantId, id });
      return row ? toRecord(row) : undefined;
    },

    async updateIfVersion(record, expectedVersion) {
      const { tenantId: _tenant, id, ...changes } = rowOf(record);
      const result = await dispenses.createQueryBuilder().update().set(changes).where({ tenantId, id, version: expectedVersion }).execute();
      if (result.affected !== 1) return false;
      await appendHistory(record);
      return true;
    },

    async version(id, versionId) {
      const [record] = withPrescription(await versions(id).andWhere('h.version = :versionId', { versionId }).getRawAndEntities());
      return record;
    },

    async history(id) {
      return withPrescription(await versions(id).orderBy('h.version', 'DESC').getRawAndEntities());
    },

    async search(query) {
      const filtered = dispenses.createQueryBuilder('d').where('d.tenantId = :tenantId', { tenantId });
      if (query.ids) filtered.andWhere('d.id = ANY(CAST(:ids AS uuid[]))', { ids: query.ids });
      if (query.prescriptionIds) filtered.andWhere('d.prescriptionId = ANY(CAST(:prescriptionIds AS uuid[]))', { prescriptionIds: query.prescriptionIds });
      if (query.patientId !== undefined) filtered.andWhere('d.patientId = :patientId', { patientId: query.patientId });
      if (query.pharmacyId !== undefined) filtered.andWhere('d.pharmacyId = :pharmacyId', { pharmacyId: query.pharmacyId });
      if (query.statuses) filtered.andWhere('d.status = ANY(CAST(:statuses AS text[]))', { statuses: query.statuses });
      const dates = new NamedParams();
      for (const bound of query.whenHandedOver ?? []) filtered.andWhere(dateCondition('d.whenHandedOver', bound, dates), dates.values);
      return seqPage(filtered, query, toRecord);
    },
  };
}
