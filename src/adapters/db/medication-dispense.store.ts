import type { EntityManager } from 'typeorm';
import { type MedicationDispenseRecord, parseReference, performerReferencesOf } from '../../domain/index.js';
import type { MedicationDispenseStore } from '../../ports/index.js';
import { MedicationDispenseEntity, MedicationDispenseHistoryEntity } from './entities/index.js';
import { dateCondition, Params, seqPage } from './seq-page.js';

/** The columns a record is made of. */
const RECORD_COLUMNS = ['id', 'tenantId', 'version', 'prescriptionId', 'lastUpdated', 'resource'] as const;
const toRecord = (row: Pick<MedicationDispenseEntity, (typeof RECORD_COLUMNS)[number]>): MedicationDispenseRecord => ({
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
    performerRefs: performerReferencesOf(r),
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

    async fillSummary(prescriptionId) {
      const rows: Array<{ n: number; last: Date | null }> = await manager.query(
        'SELECT count(*)::int AS n, max(when_handed_over) AS last FROM medication_dispenses WHERE tenant_id = $1 AND prescription_id = $2',
        [tenantId, prescriptionId],
      );
      return { count: rows[0].n, lastHandedOver: rows[0].last };
    },

    async history(id) {
      return withPrescription(await versions(id).orderBy('h.version', 'DESC').getRawAndEntities());
    },

    async search(query) {
      const params = new Params();
      const where = [`tenant_id = ${params.bind(tenantId)}`];
      if (query.ids) where.push(`id = ANY(${params.bind(query.ids)}::uuid[])`);
      if (query.prescriptionIds) where.push(`prescription_id = ANY(${params.bind(query.prescriptionIds)}::uuid[])`);
      if (query.patientId !== undefined) where.push(`patient_id = ${params.bind(query.patientId)}`);
      if (query.pharmacyId !== undefined) where.push(`pharmacy_id = ${params.bind(query.pharmacyId)}`);
      if (query.performers) where.push(`performer_refs && ${params.bind(query.performers)}::text[]`);
      if (query.statuses) where.push(`status = ANY(${params.bind(query.statuses)}::text[])`);
      for (const bound of query.whenHandedOver ?? []) where.push(dateCondition('when_handed_over', bound, params));
      return seqPage(manager, { entity: MedicationDispenseEntity, select: RECORD_COLUMNS, where, params }, query, toRecord);
    },
  };
}
