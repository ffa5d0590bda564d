import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { UseCases } from '../../application/index.js';
import { DomainError } from '../../domain/index.js';
import { searchsetBundle } from './bundle.js';
import { fhirBase, lenientHandling, sendFhir, versionHeaders } from './http.js';
import { headerValue, sendCreatedOrUpdated } from './medication-request.routes.js';
import type { FhirResourceModule } from './registry.js';
import { parseTaskSearch, type QueryParams, TASK_PARAMETERS } from './search-params.js';

const TYPE = 'Task';

/** Workflow Tasks: posting one moves its focus prescription (CONTRACT §3); the persona follows the event. */
export function taskModule(useCases: UseCases, publicBaseUrl: string | undefined): FhirResourceModule {
  return {
    type: TYPE,
    interactions: ['create', 'read', 'patch', 'search-type'],
    searchParams: TASK_PARAMETERS,
    register(app: FastifyInstance) {
      const base = (request: FastifyRequest) => fhirBase(request, publicBaseUrl);

      app.post(`/${TYPE}`, async (request, reply) => {
        const { record, replayed } = await useCases.createTask(request.ctx!, {
          resource: request.body,
          idempotencyKey: headerValue(request, 'idempotency-key'),
          ifMatch: headerValue(request, 'if-match'),
        });
        reply.header('Location', `${base(request)}/${TYPE}/${record.id}/_history/${record.versionId}`);
        if (replayed) reply.header('Idempotent-Replayed', 'true');
        return sendCreatedOrUpdated(request, versionHeaders(reply, record), 201, record, 'created');
      });

      // A prior authorization moves by a change of its businessStatus (CONTRACT §9); workflow Tasks are written once.
      app.patch<{ Params: { id: string } }>(`/${TYPE}/:id`, async (request, reply) => {
        if (!String(request.headers['content-type'] ?? '').startsWith('application/json-patch+json')) {
          throw new DomainError('UNSUPPORTED_MEDIA_TYPE', 'PATCH takes application/json-patch+json (RFC 6902).');
        }
        const record = await useCases.patchPriorAuthorization(request.ctx!, {
          id: request.params.id,
          patch: request.body,
          ifMatch: headerValue(request, 'if-match'),
        });
        return sendFhir(versionHeaders(reply, record), 200, record.resource);
      });

      app.get<{ Params: { id: string } }>(`/${TYPE}/:id`, async (request, reply) => {
        const record = await useCases.getTask(request.ctx!, request.params.id);
        return sendFhir(versionHeaders(reply, record), 200, record.resource);
      });

      app.get(`/${TYPE}`, async (request, reply) => {
        const query = request.query as QueryParams;
        const { criteria, page } = parseTaskSearch(query, lenientHandling(request));
        const result = await useCases.searchTasks(request.ctx!, criteria, page);
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
