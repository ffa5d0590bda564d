import type { DispenseCriteria } from '../../application/index.js';
import { etagOf } from '../../application/index.js';
import { bareId, type MedicationDispenseRecord, type MedicationDispenseResource, parseReference } from '../../domain/index.js';
import type { MedicationDispenseFilter, MedicationDispenseInput, MedicationDispenseType } from './types/medication-dispense.type.js';

/** GraphQL input → the FHIR dispense the use-case validates; missing medication and quantity come from the prescription. */
export function dispenseInputToResource(input: MedicationDispenseInput): MedicationDispenseResource {
  const resource: MedicationDispenseResource = {
    resourceType: 'MedicationDispense',
    status: (input.status ?? 'completed') as MedicationDispenseResource['status'],
    authorizingPrescription: [{ reference: `MedicationRequest/${bareId(input.prescriptionId, 'MedicationRequest')}` }],
  };
  if (input.medication)
    resource.medicationCodeableConcept = {
      ...(input.medication.text !== undefined ? { text: input.medication.text } : {}),
      coding: input.medication.coding.map((c) => ({ ...c })),
    };
  if (input.quantity) resource.quantity = { ...input.quantity };
  if (input.whenPrepared !== undefined) resource.whenPrepared = input.whenPrepared;
  if (input.whenHandedOver !== undefined) resource.whenHandedOver = input.whenHandedOver;
  if (input.note !== undefined) resource.note = [{ text: input.note }];
  return JSON.parse(JSON.stringify(resource)) as MedicationDispenseResource;
}

export function dispenseToGraphql(record: MedicationDispenseRecord): MedicationDispenseType {
  const r = record.resource;
  return {
    id: record.id,
    versionId: String(record.versionId),
    etag: etagOf(record.versionId),
    lastUpdated: record.lastUpdated,
    status: r.status,
    medication: r.medicationCodeableConcept ? { text: r.medicationCodeableConcept.text ?? null, coding: r.medicationCodeableConcept.coding ?? [] } : null,
    quantity: r.quantity ?? null,
    whenPrepared: r.whenPrepared ?? null,
    whenHandedOver: r.whenHandedOver ?? null,
    resource: r as unknown as Record<string, unknown>,
    prescriptionId: record.prescriptionId,
    pharmacyId: parseReference(r.performer?.[0]?.actor?.reference, 'Organization') ?? null,
  };
}

export function dispenseFilterToCriteria(filter: MedicationDispenseFilter | undefined): DispenseCriteria {
  if (!filter) return {};
  return {
    ...(filter.prescription ? { prescriptionIds: [bareId(filter.prescription, 'MedicationRequest')] } : {}),
    ...(filter.patient ? { patientId: bareId(filter.patient, 'Patient') } : {}),
    ...(filter.pharmacy ? { pharmacyId: bareId(filter.pharmacy, 'Organization') } : {}),
    ...(filter.status ? { statuses: [filter.status] } : {}),
  };
}
