import { DomainError, isDomainError } from '../../domain/index.js';

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
      return new DomainError('UNSUPPORTED_MEDIA_TYPE', 'Send application/fhir+json or application/json (XML is not offered).');
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
