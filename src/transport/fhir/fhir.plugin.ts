import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { UseCases } from '../../application/index.js';
import { DomainError } from '../../domain/index.js';
import { httpStatusOf, rateLimitHeaders } from '../http/error-status.js';
import { errorSender } from '../http/errors.js';
import { authenticateRequest } from '../http/request-context.js';
import { auditEventModule } from './audit-event.routes.js';
import { assertJsonAcceptable, sendFhir } from './http.js';
import { medicationDispenseModule } from './medication-dispense.routes.js';
import { medicationRequestModule } from './medication-request.routes.js';
import { toOperationOutcome } from './operation-outcome.js';
import { organizationModule } from './organization.routes.js';
import { capabilityStatement, type FhirResourceModule } from './registry.js';
import { subscriptionModule } from './subscription.routes.js';
import { taskModule } from './task.routes.js';

/** What the FHIR facade ({@link fhirPlugin}) needs. */
export interface FhirPluginOptions {
  /** What every route calls. */
  useCases: UseCases;
  /** Base of `fullUrl`, `Location` and links; absent → from the request. */
  publicBaseUrl?: string;
  /** The gateway's version, for the CapabilityStatement. */
  version: string;
  /** Receives every error mapped to a 5xx, for logging with the request. */
  onServerError: (error: unknown, request: import('fastify').FastifyRequest) => void;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Every resource the facade serves: its routes and its CapabilityStatement entry. */
export const fhirResourceModules = (useCases: UseCases, publicBaseUrl?: string): FhirResourceModule[] => [
  medicationRequestModule(useCases, publicBaseUrl),
  medicationDispenseModule(useCases, publicBaseUrl),
  taskModule(useCases, publicBaseUrl),
  organizationModule(useCases, publicBaseUrl),
  subscriptionModule(useCases, publicBaseUrl),
  auditEventModule(useCases, publicBaseUrl),
];

/** The FHIR R4 facade under `/fhir` (CONTRACT §4). */
export const fhirPlugin: FastifyPluginAsync<FhirPluginOptions> = async (app: FastifyInstance, options) => {
  const modules = fhirResourceModules(options.useCases, options.publicBaseUrl);
  const known = new Set(modules.map((m) => m.type));
  const capability = capabilityStatement(modules, options.version);

  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.url !== '/fhir/metadata') await authenticateRequest(options.useCases, request);
    assertJsonAcceptable(request);
  });
  // Persona before interaction and request shape (CONTRACT §2 order): checked before the body is
  // parsed, and for a write the resource does not offer (DELETE, PUT on a Task) as for one it does.
  app.addHook('preParsing', async (request) => {
    if (!request.ctx) return;
    const action = request.routeOptions.config.writeAction;
    if (action) return options.useCases.authorizeWrite(request.ctx, action);
    const resourceType = request.url.split('?')[0].split('/')[2];
    if (WRITE_METHODS.has(request.method) && known.has(resourceType)) options.useCases.authorizeWrite(request.ctx, { resourceType });
  });

  // Budget of CONTRACT §2: a read costs 1, a search 2, a write 5 (shared with GraphQL).
  app.addHook('preHandler', async (request, reply) => {
    if (!request.ctx) return;
    const kind =
      request.method !== 'GET'
        ? 'write'
        : (request.params as { id?: string }).id !== undefined && !request.routeOptions.url?.endsWith('/_history')
          ? 'read'
          : 'search';
    reply.headers(rateLimitHeaders(await options.useCases.admitRequest(request.ctx, kind)));
  });

  app.setErrorHandler(errorSender((reply, error) => sendFhir(reply, httpStatusOf(error), toOperationOutcome(error)), options.onServerError));
  app.setNotFoundHandler(async (request) => {
    throw new DomainError('NOT_FOUND', `No FHIR endpoint at ${request.method} ${request.url.split('?')[0]}.`);
  });

  app.get('/metadata', async (_request, reply) => sendFhir(reply, 200, capability));
  for (const module of modules) module.register(app);

  const unknownEndpoint = async (request: import('fastify').FastifyRequest<{ Params: { type: string } }>) => {
    const { type } = request.params;
    if (known.has(type)) throw new DomainError('METHOD_NOT_ALLOWED', `${request.method} is not offered here for ${type}; see /fhir/metadata.`);
    throw new DomainError('NOT_FOUND', `Resource type '${type.slice(0, 64)}' is not served here; see /fhir/metadata.`);
  };
  // Refused before the body is parsed: an interaction not offered answers 405 whatever the body (CONTRACT §2 order).
  app.all('/:type', { preParsing: unknownEndpoint }, unknownEndpoint);
  app.all('/:type/*', { preParsing: unknownEndpoint }, unknownEndpoint);
};
