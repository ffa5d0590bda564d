import { bareId, DomainError, isWorkflowState, tokenQueryTerm, type WorkflowState } from '../../domain/index.js';
import type { MedicationRequestCriteria, PageRequest } from '../../application/index.js';
import { parseDateParam } from '../../application/date-bounds.js';
import type { SortKey } from '../../ports/index.js';

export type QueryParams = Record<string, string | string[] | undefined>;

/** Search parameters of MedicationRequest (CONTRACT §4), with their FHIR types for the CapabilityStatement. */
export const MEDICATION_REQUEST_PARAMETERS = {
  patient: 'reference',
  subject: 'reference',
  status: 'token',
  authoredon: 'date',
  identifier: 'token',
  requester: 'reference',
  'intended-dispenser': 'reference',
  code: 'token',
  'workflow-status': 'token',
  _id: 'token',
  _lastUpdated: 'date',
} as const;

const SORTS: Record<string, { sort: SortKey; descending: boolean }> = {
  authoredon: { sort: 'authoredOn', descending: false },
  '-authoredon': { sort: 'authoredOn', descending: true },
  _lastUpdated: { sort: 'lastUpdated', descending: false },
  '-_lastUpdated': { sort: 'lastUpdated', descending: true },
};

export const DEFAULT_COUNT = 20;

const bad = (message: string) => new DomainError('BAD_REQUEST', message);

const valuesOf = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/**
 * Parses a MedicationRequest search (query string already split by the HTTP layer). An unknown
 * parameter or modifier answers 400 unless the caller asked for lenient handling, in which case it
 * is ignored (FHIR R4 search.html#errors).
 */
export function parseMedicationRequestSearch(params: QueryParams, lenient: boolean): { criteria: MedicationRequestCriteria; page: PageRequest } {
  const criteria: MedicationRequestCriteria = {};
  const page: PageRequest = { limit: DEFAULT_COUNT, withTotal: true };
  const single = (name: string, values: string[]): string => {
    if (values.length !== 1) throw bad(`Parameter '${name}' may appear only once.`);
    if (values[0] === '') throw bad(`Parameter '${name}' needs a value.`);
    return values[0];
  };
  const list = (name: string, values: string[]): string[] =>
    single(name, values)
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');

  for (const [name, raw] of Object.entries(params)) {
    const values = valuesOf(raw);
    switch (name) {
      case 'patient':
      case 'subject':
        criteria.patientId = referenceId(name, single(name, values), 'Patient');
        break;
      case 'intended-dispenser':
        criteria.pharmacyId = referenceId(name, single(name, values), 'Organization');
        break;
      case 'requester':
        criteria.requester = single(name, values);
        break;
      case 'status':
        criteria.statuses = list(name, values);
        break;
      case 'workflow-status': {
        const states = list(name, values);
        const unknown = states.filter((s) => !isWorkflowState(s));
        if (unknown.length > 0) throw bad(`workflow-status '${unknown[0]}' is not a workflow state.`);
        criteria.workflowStatuses = states as WorkflowState[];
        break;
      }
      case 'identifier':
        criteria.identifierTerm = tokenQueryTerm(single(name, values));
        break;
      case 'code':
        criteria.codeTerm = tokenQueryTerm(single(name, values));
        break;
      case 'authoredon':
        criteria.authoredOn = values.map((v) => parseDateParam(name, v));
        break;
      case '_lastUpdated':
        criteria.lastUpdated = values.map((v) => parseDateParam(name, v));
        break;
      case '_id':
        criteria.ids = list(name, values);
        break;
      case '_count': {
        const count = Number(single(name, values));
        if (!Number.isInteger(count) || count < 0) throw bad('_count must be a non-negative integer.');
        page.limit = count; // capped by the use-case (CONTRACT §4: values above 200 are capped)
        break;
      }
      case '_sort': {
        const sort = SORTS[single(name, values)];
        if (!sort) throw bad(`_sort must be one of ${Object.keys(SORTS).join(', ')}.`);
        Object.assign(page, sort);
        break;
      }
      case '_total': {
        const total = single(name, values);
        if (total !== 'none' && total !== 'accurate' && total !== 'estimate') throw bad('_total must be none, estimate or accurate.');
        page.withTotal = total !== 'none';
        break;
      }
      case '_cursor':
        page.cursor = single(name, values);
        break;
      case '_format':
      case '_pretty':
        break; // handled by the response layer
      default:
        if (!lenient) throw bad(`Unknown search parameter '${name}' for MedicationRequest; see /fhir/metadata for the supported ones.`);
    }
  }
  return { criteria, page };
}

function referenceId(name: string, value: string, type: string): string {
  if (value.includes('/') && !value.startsWith(`${type}/`)) throw bad(`Parameter '${name}' must reference a ${type} (${type}/{id} or a bare id).`);
  return bareId(value, type);
}

