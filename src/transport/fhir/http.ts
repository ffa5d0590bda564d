import type { FastifyReply, FastifyRequest } from 'fastify';
import { etagOf } from '../../application/index.js';
import { DomainError } from '../../domain/index.js';

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

const JSON_FORMATS = ['json', 'application/json', 'application/fhir+json'];

/**
 * Content negotiation (FHIR R4 http.html#mime-type): only JSON is offered. `_format` overrides
 * `Accept`; asking only for something else is 406.
 */
export function assertJsonAcceptable(request: FastifyRequest): void {
  const format = (request.query as Record<string, unknown> | undefined)?._format;
  if (format !== undefined) {
    const value = String(Array.isArray(format) ? format[0] : format)
      .split(';')[0]
      .trim()
      .toLowerCase();
    if (!JSON_FORMATS.includes(value))
      throw new DomainError('NOT_ACCEPTABLE', `_format '${value.slice(0, 40)}' is not offered; this server speaks application/fhir+json only.`);
    return;
  }
  const accept = request.headers.accept;
  if (!accept) return;
  const ranges = accept.split(',').map((r) => r.split(';')[0].trim().toLowerCase());
  const acceptable = ranges.some(
    (r) => r === '*/*' || r === 'application/*' || r === 'application/json' || r === 'application/fhir+json' || r.endsWith('+json'),
  );
  if (!acceptable)
    throw new DomainError('NOT_ACCEPTABLE', 'Accept asks only for media types not offered; this server speaks application/fhir+json (XML is not offered).');
}
