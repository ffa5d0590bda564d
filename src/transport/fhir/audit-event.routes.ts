import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { UseCases } from '../../application/index.js';
import type { AuditRecord } from '../../domain/index.js';
import { searchsetBundle } from './bundle.js';
import { fhirBase, lenientHandling, sendFhir } from './http.js';
import type { FhirResourceModule } from './registry.js';
import { AUDIT_EVENT_PARAMETERS, AUDIT_OUTCOME_CODES, parseAuditEventSearch, type QueryParams } from './search-params.js';

const TYPE = 'AuditEvent';
const RESTFUL_INTERACTIONS = new Set(['read', 'vread', 'search-type', 'history-instance', 'history-type', 'create', 'update', 'patch']);

/** One audit record as a FHIR R4 AuditEvent (auditevent.html): the actor as agent, the resource as entity. */
export function toAuditEvent(record: AuditRecord): fhir4.AuditEvent {
  const recorded = record.recorded.toISOString();
  const details: fhir4.AuditEventEntityDetail[] = [
    { type: 'correlation-id', valueString: record.correlationId },
    ...(record.outcomeCode ? [{ type: 'outcome-code', valueString: record.outcomeCode }] : []),
    ...(record.detail ? [{ type: 'detail', valueString: record.detail }] : []),
  ];
  return {
    resourceType: TYPE,
    id: record.id,
    meta: { lastUpdated: recorded },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    subtype: [
      RESTFUL_INTERACTIONS.has(record.interaction)
        ? { system: 'http://hl7.org/fhir/restful-interaction', code: record.interaction }
        : { system: 'urn:rxgate:audit-interaction', code: record.interaction },
    ],
    action: record.action,
    recorded,
    outcome: AUDIT_OUTCOME_CODES[record.outcome],
    ...(record.outcomeCode ? { outcomeDesc: record.outcomeCode } : {}),
    agent: [
      {
        type: { coding: [{ system: 'urn:rxgate:persona', code: record.persona }] },
        who: { identifier: { system: 'urn:rxgate:actor', value: record.actor } },
        requestor: true,
      },
    ],
    source: {
      site: 'rxgate',
      observer: { display: 'rxgate' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity: [
      record.entity
        ? {
            what: { reference: `${record.entity.type}/${record.entity.id}` },
            type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
            detail: details,
          }
        : { description: 'the request (no resource was disclosed)', detail: details },
    ],
  };
}

/** The audit trail as FHIR `AuditEvent` search (platform-admin only; the trail itself is append-only). */
export function auditEventModule(useCases: UseCases, publicBaseUrl: string | undefined): FhirResourceModule {
  return {
    type: TYPE,
    interactions: ['search-type'],
    searchParams: AUDIT_EVENT_PARAMETERS,
    register(app: FastifyInstance) {
      const base = (request: FastifyRequest) => fhirBase(request, publicBaseUrl);
      app.get(`/${TYPE}`, async (request, reply) => {
        const query = request.query as QueryParams;
        const { criteria, page } = parseAuditEventSearch(query, lenientHandling(request));
        const result = await useCases.searchAuditEvents(request.ctx!, criteria, page);
        const b = base(request);
        const entries = { ...result, items: result.items.map(({ record, cursor }) => ({ record: { resource: toAuditEvent(record) }, cursor })) };
        return sendFhir(
          reply,
          200,
          searchsetBundle({
            base: b,
            type: TYPE,
            page: entries,
            query,
            cursor: page.cursor,
          }),
        );
      });
    },
  };
}
