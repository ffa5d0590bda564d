import type { EntityManager } from 'typeorm';
import { parseReference, performerReferencesOf, type MedicationDispenseRecord } from '../../domain/index.js';
import type { MedicationDispenseStore } from '../../ports/index.js';
import { dateCondition, Params, seqPage } from './seq-page.js';

interface Row {
  id: string;
  tenant_id: string;
  version: number;
  prescription_id: string;
  last_updated: Date;
  resource: MedicationDispenseRecord['resource'];
}

const SELECT = 'SELECT id, tenant_id, version, prescription_id, last_updated, resource';
const toRecord = (row: Row): MedicationDispenseRecord => ({
  id: row.id,
  tenantId: row.tenant_id,
  versionId: row.version,
  prescriptionId: row.prescription_id,
  lastUpdated: row.last_updated,
  resource: row.resource,
});

/** Search columns of a dispense, derived from the resource in one place. */
function columns(record: MedicationDispenseRecord): unknown[] {
  const r = record.resource;
  return [
    record.tenantId,
    record.id,
    record.versionId,
    r.status,
    record.prescriptionId,
    parseReference(r.subject?.reference, 'Patient') ?? '',
    parseReference(r.performer?.[0]?.actor?.reference, 'Organization') ?? null,
    performerReferencesOf(r),
    r.whenHandedOver ? new Date(r.whenHandedOver) : null,
    record.lastUpdated,
    r,
  ];
}

/** Dispenses of one tenant; each write also stores its version in the history table. */
export function createMedicationDispenseStore(manager: EntityManager, tenantId: string): MedicationDispenseStore {
  const appendHistory = (record: MedicationDispenseRecord) =>
    manager.query('INSERT INTO medication_dispense_history (tenant_id, id, version, last_updated, resource) VALUES ($1, $2, $3, $4, $5)', [
      tenantId,
      record.id,
      record.versionId,
      record.lastUpdated,
      record.resource,
    ]);
  return {
    async insert(record) {
      await manager.query(
        `INSERT INTO medication_dispenses (tenant_id, id, version, status, prescription_id, patient_id, pharmacy_id, performer_refs, when_handed_over, last_updated, resource)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        columns(record),
      );
      await appendHistory(record);
    },

    async findById(id) {
      const rows: Row[] = await manager.query(`${SELECT} FROM medication_dispenses WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
      return rows[0] && toRecord(rows[0]);
    },

    async updateIfVersion(record, expectedVersion) {
      const result: [unknown[], number] = await manager.query(
        `UPDATE medication_dispenses SET version = $3, status = $4, prescription_id = $5, patient_id = $6, pharmacy_id = $7, performer_refs = $8,
           when_handed_over = $9, last_updated = $10, resource = $11 WHERE tenant_id = $1 AND id = $2 AND version = $12`,
        [...columns(record), expectedVersion],
      );
      if (result[1] !== 1) return false;
      await appendHistory(record);
      return true;
    },

    async version(id, versionId) {
      const rows: Row[] = await manager.query(
        `SELECT h.id, h.tenant_id, h.version, d.prescription_id, h.last_updated, h.resource FROM medication_dispense_history h
         JOIN medication_dispenses d ON d.tenant_id = h.tenant_id AND d.id = h.id WHERE h.tenant_id = $1 AND h.id = $2 AND h.version = $3`,
        [tenantId, id, versionId],
      );
      return rows[0] && toRecord(rows[0]);
    },

    async fillSummary(prescriptionId) {
      const rows: Array<{ n: number; last: Date | null }> = await manager.query(
        'SELECT count(*)::int AS n, max(when_handed_over) AS last FROM medication_dispenses WHERE tenant_id = $1 AND prescription_id = $2',
        [tenantId, prescriptionId],
      );
      return { count: rows[0].n, lastHandedOver: rows[0].last };
    },

    async history(id) {
      const rows: Row[] = await manager.query(
        `SELECT h.id, h.tenant_id, h.version, d.prescription_id, h.last_updated, h.resource FROM medication_dispense_history h
         JOIN medication_dispenses d ON d.tenant_id = h.tenant_id AND d.id = h.id WHERE h.tenant_id = $1 AND h.id = $2 ORDER BY h.version DESC`,
        [tenantId, id],
      );
      return rows.map(toRecord);
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
      return seqPage<Row, MedicationDispenseRecord>(manager, { select: SELECT, table: 'medication_dispenses', where, params }, query, toRecord);
    },
  };
}
