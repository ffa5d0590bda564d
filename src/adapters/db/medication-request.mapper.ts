import { type MedicationRequestRecord, searchTermsOf, type TransitionRecord, type WorkflowState } from '../../domain/index.js';
import type { MedicationRequestEntity, MedicationRequestHistoryEntity } from './entities/index.js';

/** A `medication_requests` / `medication_request_history` row as the driver returns it. */
export interface MedicationRequestRow {
  id: string;
  tenant_id: string;
  version: number;
  workflow_status: string;
  workflow_version: number;
  last_updated: Date;
  resource: MedicationRequestRecord['resource'];
}

export function rowToRecord(row: MedicationRequestRow): MedicationRequestRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    versionId: row.version,
    workflowStatus: row.workflow_status as WorkflowState,
    workflowVersion: row.workflow_version,
    lastUpdated: row.last_updated,
    resource: row.resource,
  };
}

/** A record as its `medication_requests` row: the search columns derived from the resource in one place. */
export function rowOf(record: MedicationRequestRecord): Omit<MedicationRequestEntity, 'seq'> {
  const terms = searchTermsOf(record.resource);
  return {
    tenantId: record.tenantId,
    id: record.id,
    version: record.versionId,
    workflowStatus: record.workflowStatus,
    status: record.resource.status,
    patientId: terms.patientId,
    pharmacyId: terms.pharmacyId,
    requester: terms.requester,
    authoredOn: terms.authoredOn,
    identifiers: terms.identifiers,
    codes: terms.codes,
    lastUpdated: record.lastUpdated,
    resource: record.resource,
    workflowVersion: record.workflowVersion,
  };
}

/** A history row (as an entity) as the record of that version. */
export const historyToRecord = (row: MedicationRequestHistoryEntity): MedicationRequestRecord => ({
  id: row.id,
  tenantId: row.tenantId,
  versionId: row.version,
  workflowStatus: row.workflowStatus as WorkflowState,
  workflowVersion: row.workflowVersion,
  lastUpdated: row.lastUpdated,
  resource: row.resource,
});

export type StoredTransition = Omit<TransitionRecord, 'at'> & { at: string };

export const transitionToJson = (t: TransitionRecord): StoredTransition => ({ ...t, at: t.at.toISOString() });
export const transitionFromJson = (t: StoredTransition): TransitionRecord => ({ ...t, at: new Date(t.at) });
