import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { UseCases } from '../../application/index.js';
import { DomainError, pharmacyIdOf } from '../../domain/index.js';
import { historyBundle, pageUrl, searchsetBundle } from './bundle.js';
import { fhirBase, lenientHandling, preferredReturn, sendFhir, versionHeaders } from './http.js';
import { informationOutcome } from './operation-outcome.js';
import type { FhirResourceModule } from './registry.js';
import {
  MEDICATION_REQUEST_INCLUDES,
  MEDICATION_REQUEST_PARAMETERS,
  parseHistoryParams,
  parseMedicationRequestSearch,
  type QueryParams,
  queryParamsOf,
} from './search-params.js';

const TYPE = 'MedicationRequest';

interface IdParams {
  id: string;
}

/** Routes of the MedicationRequest endpoint; each parses, calls one use-case and maps the answer. */
export function medicationRequestModule(useCases: UseCases, publicBaseUrl: string | undefined): FhirResourceModule {
  return {
    type: TYPE,
    interactions: ['create', 'read', 'vread', 'update', 'patch', 'history-instance', 'history-type', 'search-type'],
    searchParams: MEDICATION_REQUEST_PARAMETERS,
    includes: MEDICATION_REQUEST_INCLUDES,
    conditionalCreate: true,
    register(app: FastifyInstance) {
      const base = (request: FastifyRequest) => fhirBase(request, publicBaseUrl);

      app.post(`/${TYPE}`, { config: { writeAction: 'medication-request.create' } }, async (request, reply) => {
        const condition = headerValue(request, 'if-none-exist');
        const { record, replayed, existing } = await useCases.createMedicationRequest(request.ctx!, {
          resource: request.body,
          idempotencyKey: headerValue(request, 'idempotency-key'),
          ifNoneExist: condition === undefined ? undefined : conditionalCriteria(condition),
        });
        reply.header('Location', `${base(request)}/${TYPE}/${record.id}/_history/${record.versionId}`);
        if (replayed) reply.header('Idempotent-Replayed', 'true');
        return sendCreatedOrUpdated(request, versionHeaders(reply, record), existing ? 200 : 201, record, existing ? 'already exists' : 'created');
      });

      app.get<{ Params: IdParams }>(`/${TYPE}/:id`, async (request, reply) => {
        const record = await useCases.getMedicationRequest(request.ctx!, request.params.id);
        return sendFhir(versionHeaders(reply, record), 200, record.resource);
      });

      app.get<{ Params: IdParams & { vid: string } }>(`/${TYPE}/:id/_history/:vid`, async (request, reply) => {
        const versionId = Number(request.params.vid);
        if (!Number.isInteger(versionId) || versionId < 1) throw new DomainError('NOT_FOUND', `Version '${request.params.vid}' does not exist.`);
        const record = await useCases.getMedicationRequestVersion(request.ctx!, request.params.id, versionId);
        return sendFhir(versionHeaders(reply, record), 200, record.resource);
      });

      app.put<{ Params: IdParams }>(`/${TYPE}/:id`, { config: { writeAction: 'medication-request.update' } }, async (request, reply) => {
        assertBodyMatchesUrl(request.body, TYPE, request.params.id);
        const record = await useCases.updateMedicationRequest(request.ctx!, {
          id: request.params.id,
          resource: request.body,
          ifMatch: headerValue(request, 'if-match'),
        });
        reply.header('Location', `${base(request)}/${TYPE}/${record.id}/_history/${record.versionId}`);
        return sendCreatedOrUpdated(request, versionHeaders(reply, record), 200, record, 'updated');
      });

      app.patch<{ Params: IdParams }>(`/${TYPE}/:id`, { config: { writeAction: 'medication-request.update' } }, async (request, reply) => {
        if (!String(request.headers['content-type'] ?? '').startsWith('application/json-patch+json')) {
          throw new DomainError('UNSUPPORTED_MEDIA_TYPE', 'PATCH takes application/json-patch+json (RFC 6902).');
        }
        const record = await useCases.patchMedicationRequest(request.ctx!, {
          id: request.params.id,
          patch: request.body,
          ifMatch: headerValue(request, 'if-match'),
        });
        return sendCreatedOrUpdated(request, versionHeaders(reply, record), 200, record, 'updated');
      });

      app.get(`/${TYPE}/_history`, async (request, reply) => {
        const query = request.query as QueryParams;
        const { since, page } = parseHistoryParams(query);
        const result = await useCases.medicationRequestTypeHistory(request.ctx!, { since, ...page });
        const b = base(request);
        const bundle = historyBundle(
          b,
          TYPE,
          undefined,
          result.items.map((i) => i.record),
        );
        bundle.total = result.total;
        bundle.link = [
          { relation: 'self', url: `${b}/${TYPE}/_history` },
          ...(result.nextCursor ? [{ relation: 'next', url: pageUrl(b, `${TYPE}/_history`, query, result.nextCursor) }] : []),
        ];
        return sendFhir(reply, 200, bundle);
      });

      app.get<{ Params: IdParams }>(`/${TYPE}/:id/_history`, async (request, reply) => {
        const versions = await useCases.medicationRequestHistory(request.ctx!, request.params.id);
        return sendFhir(reply, 200, historyBundle(base(request), TYPE, request.params.id, versions));
      });

      app.get(`/${TYPE}`, async (request, reply) => {
        const query = request.query as QueryParams;
        const { criteria, page, includes } = parseMedicationRequestSearch(query, lenientHandling(request));
        const result = await useCases.searchMedicationRequests(request.ctx!, criteria, page);
        const included: fhir4.FhirResource[] = [];
        if (includes.dispenser) {
          const ids = [...new Set(result.items.map(({ record }) => pharmacyIdOf(record.resource)).filter((id): id is string => id !== undefined))];
          for (const pharmacy of await useCases.getPharmaciesByIds(ids)) if (pharmacy) included.push(pharmacy.resource);
        }
        if (includes.dispenses) {
          for (const dispenses of await useCases.dispensesOfPrescriptions(
            request.ctx!,
            result.items.map(({ record }) => record.id),
          ))
            included.push(...dispenses.map((d) => d.resource));
        }
        const b = base(request);
        return sendFhir(
          reply,
          200,
          searchsetBundle({
            base: b,
            type: TYPE,
            page: result,
            query,
            cursor: page.cursor,
            included,
          }),
        );
      });
    },
  };
}

export function sendCreatedOrUpdated(
  request: FastifyRequest,
  reply: Parameters<typeof sendFhir>[0],
  status: number,
  record: { id: string; versionId: number; resource: { resourceType: string } },
  verb: string,
) {
  switch (preferredReturn(request)) {
    case 'minimal':
      return sendFhir(reply, status, undefined);
    case 'OperationOutcome':
      return sendFhir(reply, status, informationOutcome(`${record.resource.resourceType}/${record.id} ${verb} (version ${record.versionId}).`));
    default:
      return sendFhir(reply, status, record.resource);
  }
}

export const headerValue = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** FHIR R4 http.html#update: the body's resourceType and id must agree with the URL. */
export function assertBodyMatchesUrl(body: unknown, type: string, id: string): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return; // validation reports it
  const resource = body as { resourceType?: unknown; id?: unknown };
  if (resource.resourceType !== undefined && resource.resourceType !== type) {
    throw new DomainError('BAD_REQUEST', `The body is a ${String(resource.resourceType).slice(0, 64)} but the URL names ${type}.`);
  }
  if (resource.id !== undefined && resource.id !== id) {
    throw new DomainError('BAD_REQUEST', `The body's id '${String(resource.id).slice(0, 64)}' does not match the URL's id '${id}'.`);
  }
}

/** `If-None-Exist: identifier=system|value` (a search query) → search criteria; FHIR R4 http.html#ccreate. */
function conditionalCriteria(header: string) {
  const params = queryParamsOf(header);
  if (Object.keys(params).length === 0) throw new DomainError('BAD_REQUEST', 'If-None-Exist needs search criteria, e.g. identifier=system|value.');
  const { criteria, page } = parseMedicationRequestSearch(params, false);
  if (page.cursor !== undefined) throw new DomainError('BAD_REQUEST', 'If-None-Exist takes search criteria only.');
  return criteria;
}
