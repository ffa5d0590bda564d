import { parseDateParam } from '../../application/date-bounds.js';
import type { MedicationRequestCriteria } from '../../application/index.js';
import { etagOf } from '../../application/index.js';
import { bareId, type MedicationRequestRecord, type MedicationRequestResource, pharmacyIdOf, type WorkflowState } from '../../domain/index.js';
import type { Pharmacy } from '../../ports/index.js';
import type { MedicationRequestFilter, MedicationRequestInput } from './types/medication-request.input.js';
import { MedicationRequestType } from './types/medication-request.type.js';
import type { PharmacyType } from './types/pharmacy.type.js';

/** GraphQL input → the FHIR resource the use-cases validate and store (one rule set for both doors). */
export function inputToResource(input: MedicationRequestInput): MedicationRequestResource {
  const resource: MedicationRequestResource = {
    resourceType: 'MedicationRequest',
    status: 'draft',
    intent: 'order',
    subject: { ...input.subject },
    medicationCodeableConcept: {
      ...(input.medication.text !== undefined ? { text: input.medication.text } : {}),
      coding: input.medication.coding.map((c) => ({ ...c })),
    },
    dispenseRequest: {
      performer: { ...input.dispenseRequest.performer },
      ...(input.dispenseRequest.quantity ? { quantity: { ...input.dispenseRequest.quantity } } : {}),
      ...(input.dispenseRequest.numberOfRepeatsAllowed !== undefined ? { numberOfRepeatsAllowed: input.dispenseRequest.numberOfRepeatsAllowed } : {}),
      ...(input.dispenseRequest.validityPeriod ? { validityPeriod: { ...input.dispenseRequest.validityPeriod } } : {}),
    },
  };
  if (input.requester) resource.requester = { ...input.requester };
  if (input.authoredOn !== undefined) resource.authoredOn = input.authoredOn;
  if (input.dosageInstruction) resource.dosageInstruction = input.dosageInstruction.map((d) => ({ text: d.text }));
  if (input.identifier) resource.identifier = input.identifier.map((i) => ({ ...i }));
  if (input.note) resource.note = input.note.map((text) => ({ text }));
  return stripUndefined(resource);
}

/** type-graphql builds inputs as class instances with undefined fields; the store wants plain JSON. */
const stripUndefined = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export function recordToGraphql(record: Omit<MedicationRequestRecord, 'workflowVersion'>): MedicationRequestType {
  const r = record.resource;
  const d = r.dispenseRequest;
  // An instance, not a plain object: type-graphql copies a plain parent into a new instance for every
  // field resolver it runs on it (pharmacy, dispenses and transitions: three per item of a page).
  return Object.assign(new MedicationRequestType(), {
    id: record.id,
    versionId: String(record.versionId),
    etag: etagOf(record.versionId),
    lastUpdated: record.lastUpdated,
    status: r.status,
    workflowStatus: record.workflowStatus,
    intent: r.intent,
    medication: { text: r.medicationCodeableConcept?.text ?? null, coding: r.medicationCodeableConcept?.coding ?? [] },
    subject: r.subject,
    requester: r.requester ?? null,
    authoredOn: r.authoredOn ?? null,
    dosageInstruction: (r.dosageInstruction ?? []).map((x) => ({ text: x.text ?? null })),
    dispenseRequest: d
      ? {
          quantity: d.quantity ?? null,
          numberOfRepeatsAllowed: d.numberOfRepeatsAllowed ?? null,
          validityPeriod: d.validityPeriod ?? null,
          performer: d.performer ?? null,
        }
      : null,
    resource: r as unknown as Record<string, unknown>,
    pharmacyId: pharmacyIdOf(r) ?? null,
  });
}

export function pharmacyToGraphql(pharmacy: Pharmacy): PharmacyType {
  const address = pharmacy.resource.address?.[0];
  return {
    id: pharmacy.id,
    name: pharmacy.name,
    address: address
      ? { line: address.line ?? [], city: address.city ?? null, postalCode: address.postalCode ?? null, country: address.country ?? null }
      : null,
    resource: pharmacy.resource as unknown as Record<string, unknown>,
  };
}

export function filterToCriteria(filter: MedicationRequestFilter | undefined): MedicationRequestCriteria {
  if (!filter) return {};
  const criteria: MedicationRequestCriteria = {};
  if (filter.patient) criteria.patientId = bareId(filter.patient, 'Patient');
  if (filter.pharmacy) criteria.pharmacyId = bareId(filter.pharmacy, 'Organization');
  if (filter.status) criteria.statuses = [filter.status];
  if (filter.workflowStatus) criteria.workflowStatuses = [filter.workflowStatus as WorkflowState];
  const authored = [
    ...(filter.authoredFrom ? [parseDateParam('authoredFrom', `ge${filter.authoredFrom}`)] : []),
    ...(filter.authoredTo ? [parseDateParam('authoredTo', `le${filter.authoredTo}`)] : []),
  ];
  if (authored.length > 0) criteria.authoredOn = authored;
  return criteria;
}
