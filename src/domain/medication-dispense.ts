import type { Issue } from './errors.js';
import { FHIR_DATE_TIME, isObject, parseReference } from './fhir.js';

export type MedicationDispenseResource = fhir4.MedicationDispense;

/** CONTRACT §3: a dispense is `in-progress` or `completed`; its status is stored as sent. */
export const DISPENSE_STATUSES = ['in-progress', 'completed'] as const;

export interface MedicationDispenseRecord {
  id: string;
  tenantId: string;
  versionId: number;
  lastUpdated: Date;
  prescriptionId: string;
  resource: MedicationDispenseResource;
}

/**
 * Structure and gateway rules of a MedicationDispense, every problem with its FHIRPath. Whether
 * the prescription exists (and may be dispensed) is the use-case's question.
 */
export function validateMedicationDispense(input: unknown): Issue[] {
  const issues: Issue[] = [];
  const problem = (expression: string, diagnostics: string) => issues.push({ expression, diagnostics });
  if (!isObject(input)) return [{ expression: 'MedicationDispense', diagnostics: 'The body must be a JSON object holding a MedicationDispense.' }];
  const d = input;
  const at = (p: string) => `MedicationDispense.${p}`;
  if (d.resourceType !== 'MedicationDispense') problem(at('resourceType'), "resourceType must be 'MedicationDispense'.");
  if (typeof d.status !== 'string' || !(DISPENSE_STATUSES as readonly string[]).includes(d.status))
    problem(at('status'), `status is required and must be one of ${DISPENSE_STATUSES.join(', ')}.`);
  const prescriptions = d.authorizingPrescription;
  if (
    !Array.isArray(prescriptions) ||
    prescriptions.length === 0 ||
    !isObject(prescriptions[0]) ||
    !parseReference(prescriptions[0].reference, 'MedicationRequest')
  ) {
    problem(at('authorizingPrescription[0].reference'), "authorizingPrescription[0].reference is required: 'MedicationRequest/{id}'.");
  }
  if (!isObject(d.medicationCodeableConcept) || !Array.isArray(d.medicationCodeableConcept.coding) || d.medicationCodeableConcept.coding.length === 0) {
    problem(at('medicationCodeableConcept'), 'medicationCodeableConcept is required (FHIR MedicationDispense.medication[x] is 1..1).');
  }
  if (d.quantity !== undefined) {
    const value = isObject(d.quantity) ? d.quantity.value : undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) problem(at('quantity.value'), 'quantity.value must be a positive number.');
  }
  for (const field of ['whenPrepared', 'whenHandedOver'] as const) {
    const v = d[field];
    if (v !== undefined && !(typeof v === 'string' && FHIR_DATE_TIME.test(v))) problem(at(field), `${field} must be a FHIR dateTime.`);
  }
  if (d.subject !== undefined && !(isObject(d.subject) && parseReference(d.subject.reference, 'Patient')))
    problem(at('subject.reference'), "subject.reference must be 'Patient/{id}'.");
  if (d.note !== undefined && (!Array.isArray(d.note) || d.note.some((n) => !isObject(n) || typeof n.text !== 'string')))
    problem(at('note'), 'note must be a list of { text }.');
  return issues;
}

/** What `MedicationDispense.performer.actor` may reference (FHIR R4 medicationdispense.html), so what the `performer` search matches. */
export const PERFORMER_TYPES = ['Practitioner', 'PractitionerRole', 'Organization', 'Patient', 'Device', 'RelatedPerson'] as const;

/** Every performer of a dispense as `Type/id`, those of an allowed type with a valid id; the `performer` search matches these. */
export function performerReferencesOf(resource: MedicationDispenseResource): string[] {
  const performers = Array.isArray(resource.performer) ? resource.performer : [];
  const references = performers.map((p) => (isObject(p) && isObject(p.actor) ? p.actor.reference : undefined));
  return [...new Set(references.filter((r): r is string => PERFORMER_TYPES.some((type) => parseReference(r, type) !== undefined)))];
}

export const prescriptionIdOf = (resource: MedicationDispenseResource): string =>
  parseReference(resource.authorizingPrescription?.[0]?.reference, 'MedicationRequest')!;

/** The dispense as stored: server id and meta, the prescription's patient and pharmacy filled in. */
export function materializeMedicationDispense(
  input: MedicationDispenseResource,
  m: {
    id: string;
    versionId: number;
    lastUpdated: Date;
    patientReference: string;
    pharmacyReference?: string;
    /** Set by the server (CONTRACT §7: FF, then RF); kept as stored on later versions. */ type?: fhir4.CodeableConcept;
  },
): MedicationDispenseResource {
  const { resourceType: _t, id: _i, meta, ...rest } = input;
  const { versionId: _v, lastUpdated: _l, ...clientMeta } = meta ?? {};
  return {
    resourceType: 'MedicationDispense',
    id: m.id,
    meta: { ...clientMeta, versionId: String(m.versionId), lastUpdated: m.lastUpdated.toISOString() },
    ...rest,
    subject: rest.subject ?? { reference: m.patientReference },
    ...(rest.performer === undefined && m.pharmacyReference ? { performer: [{ actor: { reference: m.pharmacyReference } }] } : {}),
    ...(m.type ? { type: m.type } : {}),
  };
}
