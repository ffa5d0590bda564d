import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { UseCases } from '../../application/index.js';
import { DomainError, isDomainError, validationFailure } from '../../domain/index.js';
import { compileCriteria } from './criteria.js';
import { fhirBase, sendFhir, versionHeaders } from './http.js';
import { sendCreatedOrUpdated } from './medication-request.routes.js';
import { informationOutcome } from './operation-outcome.js';
import type { FhirResourceModule } from './registry.js';

const TYPE = 'Subscription';

/** `from` of `$replay`: a query parameter, or a Parameters body with `from` as valueString. */
function replayFrom(request: FastifyRequest): string {
  const query = (request.query as Record<string, unknown>).from;
  if (typeof query === 'string') return query;
  const body = request.body as fhir4.Parameters | undefined;
  const parameter = body?.resourceType === 'Parameters' ? body.parameter?.find((p) => p.name === 'from') : undefined;
  if (parameter?.valueString !== undefined) return parameter.valueString;
  throw new DomainError('BAD_REQUEST', '$replay needs `from`: ?from={cursor}, or a Parameters body with parameter `from` (valueString).');
}

/** FHIR Subscriptions with the R4 websocket channel (CONTRACT §4); delivery is on /fhir/websocket. */
export function subscriptionModule(useCases: UseCases, publicBaseUrl: string | undefined): FhirResourceModule {
  return {
    type: TYPE,
    interactions: ['create', 'read'],
    searchParams: {},
    register(app: FastifyInstance) {
      const base = (request: FastifyRequest) => fhirBase(request, publicBaseUrl);

      app.post(`/${TYPE}`, { config: { writeAction: 'subscription.register' } }, async (request, reply) => {
        const criteria = (request.body as { criteria?: unknown } | undefined)?.criteria;
        if (typeof criteria === 'string') {
          try {
            compileCriteria(criteria); // the facade's own search parameter parsing
          } catch (error) {
            if (!isDomainError(error)) throw error;
            throw validationFailure([{ expression: 'Subscription.criteria', diagnostics: error.message }]);
          }
        }
        const record = await useCases.createSubscription(request.ctx!, { resource: request.body });
        reply.header('Location', `${base(request)}/${TYPE}/${record.id}/_history/${record.versionId}`);
        return sendCreatedOrUpdated(request, versionHeaders(reply, record), 201, record, 'created');
      });

      app.get<{ Params: { id: string } }>(`/${TYPE}/:id`, async (request, reply) => {
        const record = await useCases.getSubscription(request.ctx!, request.params.id);
        return sendFhir(versionHeaders(reply, record), 200, record.resource);
      });

      app.post<{ Params: { id: string } }>(`/${TYPE}/:id/$replay`, { config: { writeAction: 'subscription.replay' } }, async (request, reply) => {
        const from = replayFrom(request);
        const record = await useCases.replaySubscription(request.ctx!, { id: request.params.id, from });
        return sendFhir(
          reply,
          200,
          informationOutcome(`Subscription/${record.id}: every matching event after ${from} is being delivered again to its bound websockets.`),
        );
      });
    },
  };
}
