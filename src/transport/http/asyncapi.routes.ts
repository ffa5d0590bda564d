import type { FastifyPluginAsync } from 'fastify';
import { buildAsyncApiDocument } from '../events/asyncapi-document.js';

/**
 * `GET /asyncapi.json`: the AsyncAPI 3.0 document of the bus subjects. Public like
 * `/fhir/metadata`: it describes the interface, not a tenant's data. Built once, at registration.
 */
export const asyncApiRoutes: FastifyPluginAsync<{ version: string }> = async (app, options) => {
  const document = JSON.stringify(buildAsyncApiDocument({ version: options.version }));
  app.get('/asyncapi.json', async (_request, reply) => reply.type('application/json; charset=utf-8').send(document));
};
