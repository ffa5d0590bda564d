import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, isDomainError } from '../../domain/index.js';
import { errorHeaders, httpStatusOf } from './error-status.js';

interface FrameworkError {
  code?: string;
  statusCode?: number;
  message?: string;
}

/**
 * Normalises anything thrown during a request into a `DomainError`. Framework errors of request
 * shape become their contract codes; everything unknown is `INTERNAL`, with a message that
 * reveals nothing (the cause is logged, never sent).
 */
export function toDomainError(error: unknown): DomainError {
  if (isDomainError(error)) return error;
  const e = (error ?? {}) as FrameworkError;
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new DomainError('PAYLOAD_TOO_LARGE', 'The request body is larger than this server accepts; send a smaller resource.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new DomainError(
        'UNSUPPORTED_MEDIA_TYPE',
        'The body must be JSON: send application/json (or application/fhir+json to /fhir); XML, text and forms are not accepted.',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new DomainError('BAD_REQUEST', 'The request body is empty; send a JSON document.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new DomainError('BAD_REQUEST', 'The request body is not valid JSON.');
  }
  if (error instanceof SyntaxError || (e.statusCode === 400 && typeof e.message === 'string' && /JSON|prototype|constructor/i.test(e.message))) {
    return new DomainError('BAD_REQUEST', `The request body is not valid JSON: ${String(e.message).slice(0, 200)}`);
  }
  if (e.statusCode === 400) return new DomainError('BAD_REQUEST', 'The request is malformed.');
  return new DomainError('INTERNAL', 'An unexpected error occurred; quote the correlation id when reporting it.', { cause: error });
}

/** How one transport shows an error on the wire; status and headers are already set on `reply`. */
export type ErrorRenderer = (reply: FastifyReply, error: DomainError) => FastifyReply;

/**
 * Most of a refused body the server reads and drops before answering. Past it the answer is sent
 * anyway and the connection closed: a client still sending that much may not see it.
 */
export const MAX_DISCARDED_BODY_BYTES = 64 * 1_048_576;

/**
 * The one HTTP error sender (root routes, FHIR, GraphQL): anything thrown becomes a `DomainError`,
 * a 5xx cause goes to `onServerError` (the client sees nothing of it), the error's headers are sent
 * (`Retry-After`, `ETag`: `errorHeaders`), what is left of the request body is read first, and `render` writes the body.
 */
export function errorSender(render: ErrorRenderer, onServerError: (error: unknown, request: FastifyRequest) => void) {
  return async (error: unknown, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const domainError = toDomainError(error);
    const status = httpStatusOf(domainError);
    if (status >= 500) onServerError(error, request);
    reply.headers(errorHeaders(domainError));
    if (!(await discardUnreadBody(request.raw))) reply.header('connection', 'close');
    return render(reply.code(status), domainError);
  };
}

/**
 * After refusing a body unread (a 413 decided on Content-Length, a 415) Fastify closes the
 * connection, and the socket goes down under a client still writing: one that sends its whole body
 * before reading gets EPIPE instead of the answer. So what is left of the body is read and dropped
 * first, up to {@link MAX_DISCARDED_BODY_BYTES}; answers whether it was read to its end.
 */
function discardUnreadBody(raw: IncomingMessage): Promise<boolean> {
  if (raw.complete || raw.readableEnded || raw.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    let discarded = 0;
    const finish = (whole: boolean) => {
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('error', onStop);
      raw.off('close', onStop);
      resolve(whole);
    };
    const onData = (chunk: Buffer | string) => {
      discarded += chunk.length;
      if (discarded > MAX_DISCARDED_BODY_BYTES) {
        raw.pause();
        finish(false);
      }
    };
    const onEnd = () => finish(true);
    const onStop = () => finish(false);
    raw.on('data', onData);
    raw.once('end', onEnd);
    raw.once('error', onStop);
    raw.once('close', onStop);
    raw.resume();
  });
}
