import {
  businessStatusOf,
  DomainError,
  type MedicationRequestResource,
  parseReference,
  performerReferencesOf,
  searchTermsOf,
  splitCriteria,
  type SubscribableType,
  taskCodeOf,
  WORKFLOW_STATUS_EXTENSION,
} from '../../domain/index.js';
import type { DateBound } from '../../ports/index.js';
import { parseMedicationDispenseSearch, parseMedicationRequestSearch, parseTaskSearch, queryParamsOf } from './search-params.js';

export interface CompiledCriteria {
  type: SubscribableType;
  /** Whether a resource (as carried by an event) matches the search. */
  matches(resource: { resourceType: string } & Record<string, unknown>): boolean;
}

/** FHIR R4 search.html#prefix on a value with an implicit range [low, high), as the stores do in SQL. */
export function within(value: Date | null | undefined, bounds: DateBound[] | undefined): boolean {
  if (!bounds) return true;
  if (!value) return false;
  const t = value.getTime();
  return bounds.every((b) => {
    switch (b.op) {
      case 'eq':
        return t >= b.low.getTime() && t < b.high.getTime();
      case 'ge':
        return t >= b.low.getTime();
      case 'gt':
        return t >= b.high.getTime();
      case 'le':
        return t < b.high.getTime();
      case 'lt':
        return t < b.low.getTime();
    }
  });
}

const oneOf = <T>(allowed: T[] | undefined, value: T | undefined): boolean => !allowed || (value !== undefined && allowed.includes(value));
const equal = <T>(wanted: T | undefined, value: T | undefined): boolean => wanted === undefined || wanted === value;

/**
 * Compiles a Subscription's criteria with the facade's own search parameter parsers, into a
 * matcher over the resource an event carries. Throws `BAD_REQUEST` naming the problem.
 */
export function compileCriteria(criteria: string): CompiledCriteria {
  const split = splitCriteria(criteria);
  if (!split)
    throw new DomainError('BAD_REQUEST', `criteria must be a search on MedicationRequest, MedicationDispense or Task (got '${criteria.slice(0, 80)}').`);
  const params = queryParamsOf(split.query);
  for (const paging of ['_count', '_sort', '_cursor', '_total', '_include', '_revinclude']) {
    if (paging in params) throw new DomainError('BAD_REQUEST', `criteria may not use ${paging}: a subscription matches resources, it does not page them.`);
  }
  switch (split.type) {
    case 'MedicationRequest': {
      const { criteria: c } = parseMedicationRequestSearch(params, false);
      return {
        type: split.type,
        matches: (resource) => {
          if (resource.resourceType !== 'MedicationRequest') return false;
          const r = resource as unknown as MedicationRequestResource;
          const terms = searchTermsOf(r);
          const workflow = r.extension?.find((e) => e.url === WORKFLOW_STATUS_EXTENSION)?.valueCode;
          return (
            oneOf(c.ids, r.id) &&
            equal(c.patientId, terms.patientId) &&
            equal(c.pharmacyId, terms.pharmacyId ?? undefined) &&
            oneOf(c.statuses, r.status) &&
            oneOf(c.workflowStatuses as string[] | undefined, workflow) &&
            equal(c.requester, terms.requester ?? undefined) &&
            (c.identifierTerm === undefined || terms.identifiers.includes(c.identifierTerm)) &&
            (c.codeTerm === undefined || terms.codes.includes(c.codeTerm)) &&
            within(terms.authoredOn, c.authoredOn) &&
            within(r.meta?.lastUpdated ? new Date(r.meta.lastUpdated) : null, c.lastUpdated)
          );
        },
      };
    }
    case 'MedicationDispense': {
      const { criteria: c } = parseMedicationDispenseSearch(params, false);
      return {
        type: split.type,
        matches: (resource) => {
          if (resource.resourceType !== 'MedicationDispense') return false;
          const d = resource as unknown as fhir4.MedicationDispense;
          return (
            oneOf(c.ids, d.id) &&
            oneOf(c.prescriptionIds, parseReference(d.authorizingPrescription?.[0]?.reference, 'MedicationRequest')) &&
            equal(c.patientId, parseReference(d.subject?.reference, 'Patient')) &&
            equal(c.pharmacyId, parseReference(d.performer?.[0]?.actor?.reference, 'Organization')) &&
            (c.performers === undefined || performerReferencesOf(d).some((r) => c.performers!.includes(r))) &&
            oneOf(c.statuses, d.status) &&
            within(d.whenHandedOver ? new Date(d.whenHandedOver) : null, c.whenHandedOver)
          );
        },
      };
    }
    case 'Task': {
      const { criteria: c } = parseTaskSearch(params, false);
      return {
        type: split.type,
        matches: (resource) => {
          if (resource.resourceType !== 'Task') return false;
          const t = resource as unknown as fhir4.Task;
          return (
            oneOf(c.ids, t.id) &&
            oneOf(c.focusIds, parseReference(t.focus?.reference, 'MedicationRequest')) &&
            oneOf(c.statuses, t.status) &&
            oneOf(c.codes, taskCodeOf(t)) &&
            oneOf(c.businessStatuses, businessStatusOf(t))
          );
        },
      };
    }
  }
}
