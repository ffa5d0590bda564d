import type { FastifyReply, FastifyRequest } from 'fastify';
import { etagOf } from '../../application/index.js';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** Absolute base of this server's FHIR endpoint: PUBLIC_BASE_URL when set, else the request's host. */
export function fhirBase(request: FastifyRequest, publicBaseUrl: string | undefined): string {
  return `${publicBaseUrl ?? `${request.protocol}://${request.host}`}/fhir`;
}

export interface Versioned {
  id: string;
  versionId: number;
  lastUpdated: Date;
}

/** ETag and Last-Modified of a resource version (FHIR R4 http.html#read). */
export function versionHeaders(reply: FastifyReply, record: Versioned): FastifyReply {
  return reply.header('ETag', etagOf(record.versionId)).header('Last-Modified', record.lastUpdated.toUTCString());
}

export type PreferReturn = 'minimal' | 'representation' | 'OperationOutcome';

/** `Prefer: return=…` (FHIR R4 http.html#ops); representation by default. */
export function preferredReturn(request: FastifyRequest): PreferReturn {
  const prefer = String(request.headers.prefer ?? '');
  const match = /return=(minimal|representation|OperationOutcome)/.exec(prefer);
  return (match?.[1] as PreferReturn) ?? 'representation';
}

export const lenientHandling = (request: FastifyRequest): boolean => /handling=lenient/.test(String(request.headers.prefer ?? ''));

export function sendFhir(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  const pretty = (reply.request.query as Record<string, unknown> | undefined)?._pretty === 'true';
  return reply
    .code(status)
    .type(FHIR_JSON)
    .send(body === undefined ? '' : pretty ? JSON.stringify(body, null, 2) : JSON.stringify(body));
}
