import { searchTermsOf, type MedicationRequestRecord, type TransitionRecord, type WorkflowState } from '../../domain/index.js';

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

/** Column values of a record, in the order of `MEDICATION_REQUEST_COLUMNS`. */
export function recordToParams(record: MedicationRequestRecord): unknown[] {
  const terms = searchTermsOf(record.resource);
  return [
    record.tenantId,
    record.id,
    record.versionId,
    record.workflowStatus,
    record.resource.status,
    terms.patientId,
    terms.pharmacyId,
    terms.requester,
    terms.authoredOn,
    terms.identifiers,
    terms.codes,
    record.lastUpdated,
    record.resource,
    record.workflowVersion,
  ];
}

export const MEDICATION_REQUEST_COLUMNS =
  'tenant_id, id, version, workflow_status, status, patient_id, pharmacy_id, requester, authored_on, identifiers, codes, last_updated, resource, workflow_version';

export type StoredTransition = Omit<TransitionRecord, 'at'> & { at: string };

export const transitionToJson = (t: TransitionRecord): StoredTransition => ({ ...t, at: t.at.toISOString() });
export const transitionFromJson = (t: StoredTransition): TransitionRecord => ({ ...t, at: new Date(t.at) });
