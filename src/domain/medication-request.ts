import type { Issue } from './errors.js';
import { ATC_SYSTEM, dateTimeLowerBound, FHIR_DATE_TIME, FHIR_ID, isObject, parseReference, RXNORM_SYSTEM, WORKFLOW_STATUS_EXTENSION } from './fhir.js';
import { type Fills, FILLS_EXTENSION, fillsExtension } from './fills.js';
import { MAX_STRING_LENGTH } from './input-limits.js';
import { FHIR_STATUS, type WorkflowState } from './workflow.js';

export type MedicationRequestResource = fhir4.MedicationRequest;

/** A stored prescription: the FHIR resource as served, plus the state the gateway owns. */
export interface MedicationRequestRecord {
  id: string;
  tenantId: string;
  versionId: number;
  lastUpdated: Date;
  workflowStatus: WorkflowState;
  /** The version of the prescription workflow it started under (CONTRACT §10). */
  workflowVersion: number;
  resource: MedicationRequestResource;
}

/** The columns the store indexes for search, derived from the resource in one place. */
export interface MedicationRequestSearchTerms {
  patientId: string;
  pharmacyId: string | null;
  requester: string | null;
  authoredOn: Date | null;
  identifiers: string[];
  codes: string[];
}

const MEDICATION_SYSTEMS = [RXNORM_SYSTEM, ATC_SYSTEM];
const KNOWN_STATUSES = ['active', 'on-hold', 'cancelled', 'completed', 'entered-in-error', 'stopped', 'draft', 'unknown'];

/**
 * Checks a MedicationRequest against FHIR R4 structure (for the elements the gateway reads) and the
 * gateway's rules of CONTRACT §4. Returns every problem, each with its FHIRPath; empty when valid.
 * Existence of the pharmacy is not checked here (that needs the directory).
 */
export function validateMedicationRequest(input: unknown): Issue[] {
  const issues: Issue[] = [];
  const problem = (expression: string, diagnostics: string) => issues.push({ expression, diagnostics });
  if (!isObject(input)) {
    problem('MedicationRequest', 'The body must be a JSON object holding a MedicationRequest.');
    return issues;
  }
  const r = input;
  const at = (path: string) => `MedicationRequest.${path}`;

  if (r.resourceType !== 'MedicationRequest') problem('MedicationRequest.resourceType', "resourceType must be 'MedicationRequest'.");
  if (r.id !== undefined && (typeof r.id !== 'string' || !FHIR_ID.test(r.id))) problem(at('id'), 'id must be a FHIR id (1-64 of A-Z a-z 0-9 - .).');
  if (r.status !== undefined && (typeof r.status !== 'string' || !KNOWN_STATUSES.includes(r.status)))
    problem(at('status'), `status must be one of ${KNOWN_STATUSES.join(', ')} (the gateway sets it from the workflow).`);
  if (r.intent !== 'order') problem(at('intent'), "intent is required and must be 'order'.");

  if (!isObject(r.subject)) problem(at('subject'), 'subject is required: a reference to Patient/{id}.');
  else if (!parseReference(r.subject.reference, 'Patient')) problem(at('subject.reference'), "subject.reference must be 'Patient/{id}'.");

  if (r.medicationReference !== undefined)
    problem(at('medicationReference'), 'medicationReference is not supported; send medicationCodeableConcept coded in RxNorm or ATC.');
  checkMedication(r.medicationCodeableConcept, at('medicationCodeableConcept'), problem);

  if (r.requester !== undefined) checkReference(r.requester, at('requester'), problem);
  if (r.authoredOn !== undefined && !(typeof r.authoredOn === 'string' && FHIR_DATE_TIME.test(r.authoredOn)))
    problem(at('authoredOn'), 'authoredOn must be a FHIR dateTime (e.g. 2026-11-21 or 2026-11-21T10:00:00Z).');

  checkArrayOf(r.identifier, at('identifier'), problem, (item, path) => {
    if (!isObject(item)) return problem(path, 'identifier entries must be objects.');
    if (item.system !== undefined && !isShortString(item.system)) problem(`${path}.system`, 'identifier.system must be a string (a URI).');
    if (!isShortString(item.value)) problem(`${path}.value`, 'identifier.value is required and must be a non-empty string.');
  });
  checkArrayOf(r.dosageInstruction, at('dosageInstruction'), problem, (item, path) => {
    if (!isObject(item)) return problem(path, 'dosageInstruction entries must be objects.');
    if (item.text !== undefined && !isShortString(item.text)) problem(`${path}.text`, 'dosageInstruction.text must be a string.');
  });
  checkArrayOf(r.note, at('note'), problem, (item, path) => {
    if (!isObject(item) || !isShortString(item.text)) problem(`${path}.text`, 'note.text is required and must be a string.');
  });

  checkDispenseRequest(r.dispenseRequest, at('dispenseRequest'), problem);
  return issues;
}

type Problem = (expression: string, diagnostics: string) => void;

const isShortString = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= MAX_STRING_LENGTH;

function checkArrayOf(value: unknown, path: string, problem: Problem, each: (item: unknown, path: string) => void): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) return problem(path, `${path.split('.').pop()} must be an array.`);
  value.forEach((item, index) => each(item, `${path}[${index}]`));
}

function checkReference(value: unknown, path: string, problem: Problem): void {
  if (!isObject(value)) return problem(path, 'must be a Reference object.');
  if (value.reference !== undefined && !isShortString(value.reference)) problem(`${path}.reference`, 'reference must be a string.');
  if (value.display !== undefined && !isShortString(value.display)) problem(`${path}.display`, 'display must be a string.');
}

function checkMedication(value: unknown, path: string, problem: Problem): void {
  if (!isObject(value)) return problem(path, 'medicationCodeableConcept is required, coded in RxNorm or ATC.');
  if (value.text !== undefined && !isShortString(value.text)) problem(`${path}.text`, 'text must be a string.');
  if (!Array.isArray(value.coding) || value.coding.length === 0) return problem(`${path}.coding`, 'at least one coding in RxNorm or ATC is required.');
  let recognised = false;
  value.coding.forEach((coding: unknown, index: number) => {
    const p = `${path}.coding[${index}]`;
    if (!isObject(coding)) return problem(p, 'coding entries must be objects.');
    if (!isShortString(coding.system)) problem(`${p}.system`, 'coding.system is required.');
    if (!isShortString(coding.code)) problem(`${p}.code`, 'coding.code is required.');
    if (coding.display !== undefined && !isShortString(coding.display)) problem(`${p}.display`, 'coding.display must be a string.');
    if (typeof coding.system === 'string' && MEDICATION_SYSTEMS.includes(coding.system)) recognised = true;
  });
  if (!recognised) problem(`${path}.coding`, `the medication must be coded in RxNorm (${RXNORM_SYSTEM}) or ATC (${ATC_SYSTEM}).`);
}

function checkDispenseRequest(value: unknown, path: string, problem: Problem): void {
  if (!isObject(value)) return problem(`${path}.performer`, 'dispenseRequest.performer is required: a reference to a directory pharmacy (Organization/{id}).');
  if (!isObject(value.performer))
    problem(`${path}.performer`, 'dispenseRequest.performer is required: a reference to a directory pharmacy (Organization/{id}).');
  else if (!parseReference(value.performer.reference, 'Organization'))
    problem(`${path}.performer.reference`, "performer.reference must be 'Organization/{id}'.");

  if (value.quantity !== undefined) {
    if (!isObject(value.quantity)) problem(`${path}.quantity`, 'quantity must be a Quantity object.');
    else {
      const amount = value.quantity.value;
      if (typeof amount !== 'number' || !Number.isFinite(amount) || amount <= 0) problem(`${path}.quantity.value`, 'quantity.value must be a positive number.');
      if (value.quantity.unit !== undefined && !isShortString(value.quantity.unit)) problem(`${path}.quantity.unit`, 'quantity.unit must be a string.');
    }
  }
  const repeats = value.numberOfRepeatsAllowed;
  if (repeats !== undefined && !(Number.isInteger(repeats) && (repeats as number) >= 0))
    problem(`${path}.numberOfRepeatsAllowed`, 'numberOfRepeatsAllowed must be an integer ≥ 0.');
  if (value.validityPeriod !== undefined) {
    if (!isObject(value.validityPeriod)) problem(`${path}.validityPeriod`, 'validityPeriod must be a Period object.');
    else
      for (const end of ['start', 'end'] as const) {
        const v = value.validityPeriod[end];
        if (v !== undefined && !(typeof v === 'string' && FHIR_DATE_TIME.test(v)))
          problem(`${path}.validityPeriod.${end}`, `validityPeriod.${end} must be a FHIR dateTime.`);
      }
  }
}

/** The directory pharmacy a (valid) request names. */
export function pharmacyIdOf(resource: MedicationRequestResource): string | undefined {
  return parseReference(resource.dispenseRequest?.performer?.reference, 'Organization');
}

/** Derives the indexed search columns; call only on a validated resource. */
export function searchTermsOf(resource: MedicationRequestResource): MedicationRequestSearchTerms {
  const identifiers = (resource.identifier ?? []).flatMap((i) => tokenTerms(i.system, i.value!));
  const codes = (resource.medicationCodeableConcept?.coding ?? []).flatMap((c) => tokenTerms(c.system, c.code!));
  return {
    patientId: parseReference(resource.subject.reference, 'Patient')!,
    pharmacyId: pharmacyIdOf(resource) ?? null,
    requester: resource.requester?.reference ?? null,
    authoredOn: resource.authoredOn ? dateTimeLowerBound(resource.authoredOn) : null,
    identifiers,
    codes,
  };
}

/**
 * FHIR token search (R4 search.html#token) matches `system|value`, `value` (any system),
 * `system|` (any value) and `|value` (no system). Each stored term answers one of those forms.
 */
export function tokenTerms(system: string | undefined, value: string): string[] {
  return system ? [`${system}|${value}`, `*|${value}`, `${system}|*`] : [`|${value}`, `*|${value}`];
}

/** The term to look up for a token search value, per the forms above. */
export function tokenQueryTerm(query: string): string {
  const bar = query.indexOf('|');
  if (bar < 0) return `*|${query}`;
  const system = query.slice(0, bar);
  const value = query.slice(bar + 1);
  if (system === '') return `|${value}`;
  return value === '' ? `${system}|*` : `${system}|${value}`;
}

export interface Materialize {
  id: string;
  versionId: number;
  lastUpdated: Date;
  workflowStatus: WorkflowState;
  statusReason?: string;
  /** The fills as the dispenses stored say (CONTRACT §7); shown in the `fills` extension. */
  fills?: Fills;
}

/** Extensions only the server writes: whatever a client sends under these URLs is replaced. */
const SERVER_EXTENSIONS = new Set([WORKFLOW_STATUS_EXTENSION, FILLS_EXTENSION]);

/**
 * The resource as the server stores and serves it: server-assigned id and meta, `status` derived
 * from the workflow (CONTRACT §3) and the workflow-status extension. Client-sent status and
 * workflow extension are replaced — they change only through workflow events.
 */
export function materializeMedicationRequest(input: MedicationRequestResource, m: Materialize): MedicationRequestResource {
  const { meta, extension, status: _ignored, statusReason, resourceType: _type, id: _id, ...rest } = input;
  const otherExtensions = (extension ?? []).filter((e) => !SERVER_EXTENSIONS.has(e.url));
  const resource: MedicationRequestResource = {
    resourceType: 'MedicationRequest',
    id: m.id,
    meta: { ...withoutServerMeta(meta), versionId: String(m.versionId), lastUpdated: m.lastUpdated.toISOString() },
    extension: [...otherExtensions, { url: WORKFLOW_STATUS_EXTENSION, valueCode: m.workflowStatus }, ...(m.fills ? [fillsExtension(m.fills)] : [])],
    ...rest,
    status: FHIR_STATUS[m.workflowStatus] as MedicationRequestResource['status'],
  };
  const reason = m.statusReason ?? (FHIR_STATUS[m.workflowStatus] === 'cancelled' ? statusReason?.text : undefined);
  if (reason !== undefined) resource.statusReason = { text: reason };
  return resource;
}

/**
 * The resource with its `fills` extension replaced by `fills` (CONTRACT §7): fills are derived from
 * the dispenses stored, so a read shows them as they are now, not as when the version was written.
 */
export function withFillsExtension(resource: MedicationRequestResource, fills: Fills): MedicationRequestResource {
  const extension = resource.extension ?? [];
  const at = extension.findIndex((e) => e.url === FILLS_EXTENSION);
  return { ...resource, extension: at < 0 ? [...extension, fillsExtension(fills)] : extension.map((e, i) => (i === at ? fillsExtension(fills) : e)) };
}

function withoutServerMeta(meta: fhir4.Meta | undefined): fhir4.Meta {
  if (!meta) return {};
  const { versionId: _v, lastUpdated: _l, ...rest } = meta;
  return rest;
}

/**
 * The instant `dispenseRequest.validityPeriod.end` stops the prescription (CONTRACT §7): a
 * dateTime as given; a date (or year, year-month) at the end of that period, since FHIR R4
 * datatypes.html#dateTime says a partial date covers the whole of it. `null` without one.
 */
export function validityEndOf(resource: Pick<MedicationRequestResource, 'dispenseRequest'>): Date | null {
  const end = resource.dispenseRequest?.validityPeriod?.end;
  if (typeof end !== 'string') return null;
  if (/^\d{4}$/.test(end)) return new Date(Date.UTC(Number(end) + 1, 0, 1));
  if (/^\d{4}-\d{2}$/.test(end)) return new Date(Date.UTC(Number(end.slice(0, 4)), Number(end.slice(5, 7)), 1));
  if (/^\d{4}-\d{2}-\d{2}$/.test(end)) return new Date(Date.parse(`${end}T00:00:00Z`) + 86_400_000);
  const at = Date.parse(end);
  return Number.isNaN(at) ? null : new Date(at);
}
