import { parseDateParam } from '../../application/date-bounds.js';
import type { AuditSearch, DispenseCriteria, MedicationRequestCriteria, PageRequest, SeqPageRequest, TaskCriteria } from '../../application/index.js';
import {
  assertSearchParameter,
  bareId,
  DomainError,
  FHIR_ID,
  isWorkflowState,
  PERFORMER_TYPES,
  quoted,
  tokenQueryTerm,
  type WorkflowState,
} from '../../domain/index.js';
import type { SortKey } from '../../ports/index.js';

export type QueryParams = Record<string, string | string[] | undefined>;

/** A raw query string (Subscription criteria, If-None-Exist) in the shape Fastify gives a parsed query. */
export function queryParamsOf(query: string): QueryParams {
  const params: QueryParams = {};
  for (const [name, value] of new URLSearchParams(query)) {
    const prior = params[name];
    params[name] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value];
  }
  return params;
}

/** Search parameters of each resource (CONTRACT §4), with their FHIR types for the CapabilityStatement. */
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

export const MEDICATION_DISPENSE_PARAMETERS = {
  prescription: 'reference',
  patient: 'reference',
  status: 'token',
  performer: 'reference',
  whenhandedover: 'date',
  _id: 'token',
} as const;

export const TASK_PARAMETERS = { focus: 'reference', status: 'token', code: 'token', 'business-status': 'token', _id: 'token' } as const;

export const ORGANIZATION_PARAMETERS = { name: 'string', type: 'token' } as const;

const SORTS: Record<string, { sort: SortKey; descending: boolean }> = {
  authoredon: { sort: 'authoredOn', descending: false },
  '-authoredon': { sort: 'authoredOn', descending: true },
  _lastUpdated: { sort: 'lastUpdated', descending: false },
  '-_lastUpdated': { sort: 'lastUpdated', descending: true },
};

export const DEFAULT_COUNT = 20;

const bad = (message: string) => new DomainError('BAD_REQUEST', message);

const valuesOf = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** The one value of a parameter that may appear once. */
function single(name: string, values: string[]): string {
  if (values.length !== 1) throw bad(`Parameter '${name}' may appear only once.`);
  if (values[0] === '') throw bad(`Parameter '${name}' needs a value.`);
  return values[0];
}

/** A comma-separated list (FHIR "OR" within one parameter). */
function list(name: string, values: string[]): string[] {
  return single(name, values)
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function referenceId(name: string, value: string, type: string): string {
  if (value.includes('/') && !value.startsWith(`${type}/`)) throw bad(`Parameter '${name}' must reference a ${type} (${type}/{id} or a bare id).`);
  return bareId(value, type);
}

/**
 * A reference parameter whose target may be one of several types: `Type/id` names one; a bare id
 * means that id of any of them (FHIR R4 search.html#reference). Answers `Type/id` references.
 */
function references(name: string, values: string[], types: readonly string[]): string[] {
  return list(name, values).flatMap((value) => {
    const slash = value.indexOf('/');
    const [type, id] = slash < 0 ? [undefined, value] : [value.slice(0, slash), value.slice(slash + 1)];
    if (type !== undefined && !types.includes(type))
      throw bad(`Parameter '${name}' must reference one of ${types.join(', ')} (Type/{id}, or a bare id for any of them).`);
    if (!FHIR_ID.test(id)) throw bad(`Parameter '${name}': '${quoted(id)}' is not a FHIR id.`);
    return type === undefined ? types.map((t) => `${t}/${id}`) : [`${type}/${id}`];
  });
}

/** A token parameter on a code system's codes: `system|code` or `code`; answers the codes. */
function codes(name: string, values: string[]): string[] {
  return list(name, values).map((v) => v.slice(v.indexOf('|') + 1));
}

type Handlers = Record<string, (values: string[], name: string) => void>;

/**
 * The loop every search shares: paging and formatting parameters, then the resource's own. An
 * unknown parameter or modifier answers 400 unless the caller asked for lenient handling, in which
 * case it is ignored (FHIR R4 search.html#errors).
 */
function parseSearch(params: QueryParams, lenient: boolean, resource: string, handlers: Handlers, page: SeqPageRequest & Partial<PageRequest>): void {
  for (const [name, raw] of Object.entries(params)) {
    const values = valuesOf(raw);
    assertSearchParameter(name, values);
    if (name === '_count') {
      const count = Number(single(name, values));
      if (!Number.isInteger(count) || count < 0) throw bad('_count must be a non-negative integer.');
      page.limit = count; // capped by the use-case (CONTRACT §4: values above 200 are capped)
    } else if (name === '_total') {
      const total = single(name, values);
      if (total !== 'none' && total !== 'accurate' && total !== 'estimate') throw bad('_total must be none, estimate or accurate.');
      page.withTotal = total !== 'none';
    } else if (name === '_cursor') {
      page.cursor = single(name, values);
    } else if (name === '_format' || name === '_pretty') {
      // handled by the response layer
    } else if (handlers[name]) {
      handlers[name](values, name);
    } else if (!lenient) {
      throw bad(`Unknown search parameter '${quoted(name)}' for ${resource}; see /fhir/metadata for the supported ones.`);
    }
  }
}

/** What a search adds beside its matches (FHIR R4 search.html#include). */
export interface Includes {
  /** `_include=MedicationRequest:intended-dispenser`: the pharmacies. */
  dispenser: boolean;
  /** `_revinclude=MedicationDispense:prescription`: the dispenses. */
  dispenses: boolean;
}

export const MEDICATION_REQUEST_INCLUDES = { _include: ['MedicationRequest:intended-dispenser'], _revinclude: ['MedicationDispense:prescription'] };

export function parseMedicationRequestSearch(
  params: QueryParams,
  lenient: boolean,
): { criteria: MedicationRequestCriteria; page: PageRequest; includes: Includes } {
  const criteria: MedicationRequestCriteria = {};
  const page: PageRequest = { limit: DEFAULT_COUNT, withTotal: true };
  const includes: Includes = { dispenser: false, dispenses: false };
  parseSearch(
    params,
    lenient,
    'MedicationRequest',
    {
      _include: (v) => {
        for (const value of v) {
          if (value !== 'MedicationRequest:intended-dispenser' && value !== 'MedicationRequest:intended-dispenser:Organization')
            throw bad(`_include supports MedicationRequest:intended-dispenser (got '${value.slice(0, 64)}').`);
          includes.dispenser = true;
        }
      },
      _revinclude: (v) => {
        for (const value of v) {
          if (value !== 'MedicationDispense:prescription') throw bad(`_revinclude supports MedicationDispense:prescription (got '${value.slice(0, 64)}').`);
          includes.dispenses = true;
        }
      },
      patient: (v, n) => (criteria.patientId = referenceId(n, single(n, v), 'Patient')),
      subject: (v, n) => (criteria.patientId = referenceId(n, single(n, v), 'Patient')),
      'intended-dispenser': (v, n) => (criteria.pharmacyId = referenceId(n, single(n, v), 'Organization')),
      requester: (v, n) => (criteria.requester = single(n, v)),
      status: (v, n) => (criteria.statuses = list(n, v)),
      'workflow-status': (v, n) => {
        const states = list(n, v);
        const unknown = states.find((s) => !isWorkflowState(s));
        if (unknown) throw bad(`workflow-status '${unknown}' is not a workflow state.`);
        criteria.workflowStatuses = states as WorkflowState[];
      },
      identifier: (v, n) => (criteria.identifierTerm = tokenQueryTerm(single(n, v))),
      code: (v, n) => (criteria.codeTerm = tokenQueryTerm(single(n, v))),
      authoredon: (v, n) => (criteria.authoredOn = v.map((x) => parseDateParam(n, x))),
      _lastUpdated: (v, n) => (criteria.lastUpdated = v.map((x) => parseDateParam(n, x))),
      _id: (v, n) => (criteria.ids = list(n, v)),
      _sort: (v, n) => {
        const sort = SORTS[single(n, v)];
        if (!sort) throw bad(`_sort must be one of ${Object.keys(SORTS).join(', ')}.`);
        Object.assign(page, sort);
      },
    },
    page,
  );
  return { criteria, page, includes };
}

export function parseMedicationDispenseSearch(params: QueryParams, lenient: boolean): { criteria: DispenseCriteria; page: SeqPageRequest } {
  const criteria: DispenseCriteria = {};
  const page: SeqPageRequest = { limit: DEFAULT_COUNT, withTotal: true };
  parseSearch(
    params,
    lenient,
    'MedicationDispense',
    {
      prescription: (v, n) => (criteria.prescriptionIds = list(n, v).map((x) => referenceId(n, x, 'MedicationRequest'))),
      patient: (v, n) => (criteria.patientId = referenceId(n, single(n, v), 'Patient')),
      performer: (v, n) => (criteria.performers = references(n, v, PERFORMER_TYPES)),
      // `performer:Practitioner=id`: the type modifier names the target type of a bare id.
      ...Object.fromEntries(PERFORMER_TYPES.map((type) => [`performer:${type}`, (v: string[], n: string) => (criteria.performers = references(n, v, [type]))])),
      status: (v, n) => (criteria.statuses = list(n, v)),
      whenhandedover: (v, n) => (criteria.whenHandedOver = v.map((x) => parseDateParam(n, x))),
      _id: (v, n) => (criteria.ids = list(n, v)),
    },
    page,
  );
  return { criteria, page };
}

export function parseTaskSearch(params: QueryParams, lenient: boolean): { criteria: TaskCriteria; page: SeqPageRequest } {
  const criteria: TaskCriteria = {};
  const page: SeqPageRequest = { limit: DEFAULT_COUNT, withTotal: true };
  parseSearch(
    params,
    lenient,
    'Task',
    {
      focus: (v, n) => (criteria.focusIds = list(n, v).map((x) => referenceId(n, x, 'MedicationRequest'))),
      status: (v, n) => (criteria.statuses = list(n, v)),
      code: (v, n) => (criteria.codes = codes(n, v)),
      'business-status': (v, n) => (criteria.businessStatuses = codes(n, v)),
      _id: (v, n) => (criteria.ids = list(n, v)),
    },
    page,
  );
  return { criteria, page };
}

export function parseOrganizationSearch(params: QueryParams, lenient: boolean): { name?: string; typeTerm?: string; page: SeqPageRequest } {
  const result: { name?: string; typeTerm?: string } = {};
  const page: SeqPageRequest = { limit: DEFAULT_COUNT, withTotal: true };
  parseSearch(
    params,
    lenient,
    'Organization',
    {
      name: (v, n) => (result.name = single(n, v)),
      'name:contains': (v, n) => (result.name = single(n, v)),
      type: (v, n) => (result.typeTerm = tokenQueryTerm(single(n, v))),
    },
    page,
  );
  return { ...result, page };
}

/** Type-level `_history` (FHIR R4 http.html#history): `_since`, `_count` and the paging cursor. */
export function parseHistoryParams(params: QueryParams): { since?: Date; page: SeqPageRequest } {
  let since: Date | undefined;
  const page: SeqPageRequest = { limit: DEFAULT_COUNT, withTotal: true };
  parseSearch(
    params,
    false,
    'history',
    {
      _since: (v, n) => {
        const value = single(n, v);
        if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value))
          throw bad('_since must be an instant, e.g. 2026-11-21T10:00:00Z.');
        since = new Date(value);
      },
    },
    page,
  );
  return { since, page };
}

export const AUDIT_EVENT_PARAMETERS = { entity: 'reference', agent: 'reference', date: 'date', outcome: 'token' } as const;

/** FHIR audit-event-outcome codes (http://hl7.org/fhir/audit-event-outcome) of each stored outcome. */
export const AUDIT_OUTCOME_CODES = { success: '0', failed: '4', denied: '8' } as const;

/**
 * `AuditEvent` search: `entity` is `Type/id` or a bare id, `agent` the actor's `sub` (its token
 * subject, which is how rxgate knows an actor), `date` repeatable with prefixes, `outcome` 0|4|8.
 */
export function parseAuditEventSearch(params: QueryParams, lenient: boolean): { criteria: AuditSearch; page: { limit: number; cursor?: string } } {
  const criteria: AuditSearch = {};
  const page: SeqPageRequest = { limit: DEFAULT_COUNT, withTotal: false };
  parseSearch(
    params,
    lenient,
    'AuditEvent',
    {
      entity: (v, n) => {
        const value = single(n, v);
        const slash = value.indexOf('/');
        criteria.entity = slash < 0 ? { id: value } : { type: value.slice(0, slash), id: value.slice(slash + 1) };
      },
      agent: (v, n) => (criteria.actor = single(n, v)),
      date: (v, n) => (criteria.recorded = v.map((x) => parseDateParam(n, x))),
      outcome: (v, n) => {
        const code = single(n, v);
        const outcome = (Object.keys(AUDIT_OUTCOME_CODES) as Array<keyof typeof AUDIT_OUTCOME_CODES>).find((k) => AUDIT_OUTCOME_CODES[k] === code);
        if (!outcome) throw bad(`Parameter 'outcome' must be 0 (success), 4 (refused request) or 8 (denied caller).`);
        criteria.outcome = outcome;
      },
    },
    page,
  );
  if (page.withTotal) throw bad('_total is not offered on AuditEvent searches.');
  return { criteria, page: { limit: page.limit, ...(page.cursor !== undefined ? { cursor: page.cursor } : {}) } };
}
