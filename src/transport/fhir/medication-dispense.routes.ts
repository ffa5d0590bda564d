import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { UseCases } from '../../application/index.js';
import { DomainError } from '../../domain/index.js';
import { historyBundle, searchsetBundle } from './bundle.js';
import { fhirBase, lenientHandling, sendFhir, versionHeaders } from './http.js';
import { assertBodyMatchesUrl, headerValue, sendCreatedOrUpdated } from './medication-request.routes.js';
import type { FhirResourceModule } from './registry.js';
import { MEDICATION_DISPENSE_PARAMETERS, parseMedicationDispenseSearch, type QueryParams } from './search-params.js';

const TYPE = 'MedicationDispense';

/** Dispenses: creating one is the `dispense` event (CONTRACT §3); updates need If-Match. */
export function medicationDispenseModule(useCases: UseCases, publicBaseUrl: string | undefined): FhirResourceModule {
  return {
    type: TYPE,
    interactions: ['create', 'read', 'vread', 'update', 'history-instance', 'search-type'],
    searchParams: MEDICATION_DISPENSE_PARAMETERS,
    register(app: FastifyInstance) {
      const base = (request: FastifyRequest) => fhirBase(request, publicBaseUrl);

      app.post(`/${TYPE}`, { config: { writeAction: 'medication-dispense.write' } }, async (request, reply) => {
        const { dispense, replayed } = await useCases.createMedicationDispense(request.ctx!, {
          resource: request.body,
          idempotencyKey: headerValue(request, 'idempotency-key'),
          ifMatch: headerValue(request, 'if-match'),
        });
        reply.header('Location', `${base(request)}/${TYPE}/${dispense.id}/_history/${dispense.versionId}`);
        if (replayed) reply.header('Idempotent-Replayed', 'true');
        return sendCreatedOrUpdated(request, versionHeaders(reply, dispense), 201, dispense, 'created');
      });

      app.get<{ Params: { id: string } }>(`/${TYPE}/:id`, async (request, reply) => {
        const record = await useCases.getMedicationDispense(request.ctx!, request.params.id);
        return sendFhir(versionHeaders(reply, record), 200, record.resource);
      });

      app.get<{ Params: { id: string; vid: string } }>(`/${TYPE}/:id/_history/:vid`, async (request, reply) => {
        const versionId = Number(request.params.vid);
        if (!Number.isInteger(versionId) || versionId < 1) throw new DomainError('NOT_FOUND', `Version '${request.params.vid}' does not exist.`);
        const record = await useCases.getMedicationDispenseVersion(request.ctx!, request.params.id, versionId);
        return sendFhir(versionHeaders(reply, record), 200, record.resource);
      });

      app.get<{ Params: { id: string } }>(`/${TYPE}/:id/_history`, async (request, reply) => {
        const versions = await useCases.medicationDispenseHistory(request.ctx!, request.params.id);
        return sendFhir(reply, 200, historyBundle(base(request), TYPE, request.params.id, versions));
      });

      app.put<{ Params: { id: string } }>(`/${TYPE}/:id`, { config: { writeAction: 'medication-dispense.write' } }, async (request, reply) => {
        assertBodyMatchesUrl(request.body, TYPE, request.params.id);
        const { dispense } = await useCases.updateMedicationDispense(request.ctx!, {
          id: request.params.id,
          resource: request.body,
          ifMatch: headerValue(request, 'if-match'),
        });
        reply.header('Location', `${base(request)}/${TYPE}/${dispense.id}/_history/${dispense.versionId}`);
        return sendCreatedOrUpdated(request, versionHeaders(reply, dispense), 200, dispense, 'updated');
      });

      app.get(`/${TYPE}`, async (request, reply) => {
        const query = request.query as QueryParams;
        const { criteria, page } = parseMedicationDispenseSearch(query, lenientHandling(request));
        const result = await useCases.searchMedicationDispenses(request.ctx!, criteria, page);
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
          }),
        );
      });
    },
  };
}
