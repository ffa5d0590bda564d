import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/index.js';
import type { UseCases } from '../../application/index.js';
import { historyBundle, pageUrl, searchsetBundle } from './bundle.js';
import { fhirBase, lenientHandling, preferredReturn, sendFhir, versionHeaders } from './http.js';
import { informationOutcome } from './operation-outcome.js';
import type { FhirResourceModule } from './registry.js';
import { MEDICATION_REQUEST_PARAMETERS, parseMedicationRequestSearch, type QueryParams } from './search-params.js';

const TYPE = 'MedicationRequest';

interface IdParams {
  id: string;
}

/** Routes of the MedicationRequest endpoint; each parses, calls one use-case and maps the answer. */
export function medicationRequestModule(useCases: UseCases, publicBaseUrl: string | undefined): FhirResourceModule {
  return {
    type: TYPE,
    interactions: ['create', 'read', 'vread', 'update', 'patch', 'history-instance', 'search-type'],
    searchParams: MEDICATION_REQUEST_PARAMETERS,
    register(app: FastifyInstance) {
      const base = (request: FastifyRequest) => fhirBase(request, publicBaseUrl);

      app.post(`/${TYPE}`, { config: { writeAction: 'medication-request.create' } }, async (request, reply) => {
        const { record, replayed } = await useCases.createMedicationRequest(request.ctx!, {
          resource: request.body,
          idempotencyKey: headerValue(request, 'idempotency-key'),
        });
        reply.header('Location', `${base(request)}/${TYPE}/${record.id}/_history/${record.versionId}`);
        if (replayed) reply.header('Idempotent-Replayed', 'true');
        return sendCreatedOrUpdated(request, versionHeaders(reply, record), 201, record, 'created');
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
        const record = await useCases.patchMedicationRequest(request.ctx!, { id: request.params.id, patch: request.body, ifMatch: headerValue(request, 'if-match') });
        return sendCreatedOrUpdated(request, versionHeaders(reply, record), 200, record, 'updated');
      });

      app.get<{ Params: IdParams }>(`/${TYPE}/:id/_history`, async (request, reply) => {
        const versions = await useCases.medicationRequestHistory(request.ctx!, request.params.id);
        return sendFhir(reply, 200, historyBundle(base(request), TYPE, request.params.id, versions));
      });

      app.get(`/${TYPE}`, async (request, reply) => {
        const query = request.query as QueryParams;
        const { criteria, page } = parseMedicationRequestSearch(query, lenientHandling(request));
        const result = await useCases.searchMedicationRequests(request.ctx!, criteria, page);
        const b = base(request);
        return sendFhir(reply, 200, searchsetBundle({
          base: b,
          type: TYPE,
          page: result,
          selfUrl: pageUrl(b, TYPE, query, page.cursor),
          nextUrl: result.nextCursor === undefined ? undefined : pageUrl(b, TYPE, query, result.nextCursor),
        }));
      });
    },
  };
}

export function sendCreatedOrUpdated(request: FastifyRequest, reply: Parameters<typeof sendFhir>[0], status: number, record: { id: string; versionId: number; resource: { resourceType: string } }, verb: string) {
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
