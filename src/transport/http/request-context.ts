import type { IncomingMessage } from 'node:http';
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

/** Each name in a value that names tenants: a header (repeated lines arrive joined by commas, RFC 9110 §5.3) or a param. */
function namesIn(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.flatMap(namesIn);
  // A name that is not text is still a name: it matches no tenant (tenant ids are [A-Za-z0-9_-]).
  if (typeof value !== 'string') return [JSON.stringify(value) ?? String(value)];
  return value.split(',').map((name) => name.trim());
}

/**
 * The tenant a caller names (CONTRACT §2 `X-Tenant-Id`), by the one rule of every door (HTTP, graphql-ws,
 * the FHIR websocket): every place given — the header, and graphql-ws `connectionParams` for clients
 * that cannot set headers — contributes its comma-separated names, trimmed. Nothing named is
 * `undefined`; one name (however often repeated) is that name; anything else (two names, an empty one)
 * is the names joined, which is no tenant id, so authentication refuses it as another tenant's.
 */
export function tenantNamed(...places: unknown[]): string | undefined {
  const named = places.flatMap(namesIn);
  if (named.length === 0) return undefined;
  const distinct = [...new Set(named)];
  return distinct.length === 1 ? distinct[0] : distinct.join(', ');
}

/** Authenticates an HTTP request (FHIR or GraphQL) and attaches its context. */
export async function authenticateRequest(useCases: UseCases, request: FastifyRequest): Promise<RequestContext> {
  request.ctx = await useCases.authenticate({
    authorization: header(request, 'authorization'),
    tenantHeader: tenantNamed(request.headers['x-tenant-id']),
    correlationId: request.id,
  });
  return request.ctx;
}

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const upgradeIds = new WeakMap<IncomingMessage, string>();

/**
 * The correlation id of a websocket upgrade request, decided once: the 101 (or the refusal), and the
 * connection's log lines and errors, carry the same one (CONTRACT §2: every response carries it).
 */
export function correlationIdOfUpgrade(request: IncomingMessage, newId: () => string): string {
  let id = upgradeIds.get(request);
  if (id === undefined) upgradeIds.set(request, (id = correlationIdOf(request.headers, newId)));
  return id;
}

/** The caller's `X-Correlation-Id` when it is sane, else a new one (CONTRACT §2). */
export function correlationIdOf(headers: Record<string, string | string[] | undefined>, newId: () => string): string {
  const sent = headers['x-correlation-id'];
  const value = Array.isArray(sent) ? sent[0] : sent;
  return value && CORRELATION_ID.test(value) ? value : newId();
}
