import type { FastifyRequest } from 'fastify';
import type { UseCases } from '../../application/index.js';
import type { RequestContext } from '../../domain/index.js';
import type { WriteAction } from '../../domain/permissions.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once the bearer token was accepted. */
    ctx?: RequestContext;
  }
  interface FastifyContextConfig {
    /** The write this route performs; its persona rule is checked before the body is read. */
    writeAction?: WriteAction;
  }
}

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** Authenticates an HTTP request (FHIR or GraphQL) and attaches its context. */
export async function authenticateRequest(useCases: UseCases, request: FastifyRequest): Promise<RequestContext> {
  request.ctx = await useCases.authenticate({
    authorization: header(request, 'authorization'),
    tenantHeader: header(request, 'x-tenant-id'),
    correlationId: request.id,
  });
  return request.ctx;
}

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's `X-Correlation-Id` when it is sane, else a new one (CONTRACT §2). */
export function correlationIdOf(headers: Record<string, string | string[] | undefined>, newId: () => string): string {
  const sent = headers['x-correlation-id'];
  const value = Array.isArray(sent) ? sent[0] : sent;
  return value && CORRELATION_ID.test(value) ? value : newId();
}
