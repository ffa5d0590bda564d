import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { DomainError, isDomainError } from '../../domain/index.js';

/** Apollo's own codes for a document or variables the server cannot run: all `BAD_REQUEST` here. */
const REQUEST_SHAPE_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'OPERATION_RESOLUTION_FAILURE', 'BAD_REQUEST']);
const PASS_THROUGH_CODES = new Set(['PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED', 'QUERY_TOO_COMPLEX']);

/**
 * The one mapping of errors to GraphQL (CONTRACT §2): `extensions.code` is the contract code;
 * unknown errors are `INTERNAL` with a masked message. Details appear only when `exposeDetails`.
 */
export function formatGraphqlError(
  formatted: GraphQLFormattedError,
  error: unknown,
  exposeDetails: boolean,
  onInternal: (error: unknown) => void,
): GraphQLFormattedError {
  const unwrapped = unwrapResolverError(error);
  // A subscription's source failing is wrapped by graphql-ws (its own GraphQLError, no path): its DomainError counts too.
  const inner = (unwrapped as { originalError?: unknown } | undefined)?.originalError;
  const original = isDomainError(inner) ? inner : unwrapped;
  const base = {
    message: formatted.message,
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
  };
  if (isDomainError(original)) {
    return {
      ...base,
      message: original.message,
      extensions: {
        code: original.code,
        ...(original.issues.length > 0 ? { issues: original.issues } : {}),
        ...(original.issues.some((i) => i.rule) ? { rules: original.issues.flatMap((i) => (i.rule ? [i.rule] : [])) } : {}),
        ...(original.current !== undefined ? { current: original.current } : {}),
        ...original.details,
      },
    };
  }
  const code = formatted.extensions?.code;
  // graphql-js refuses an over-long document while parsing (the token bound).
  if (/Document contains more th(?:an|at) \d+ tokens/.test(formatted.message)) return { ...base, extensions: { code: 'QUERY_TOO_COMPLEX' } };
  if (typeof code === 'string' && PASS_THROUGH_CODES.has(code)) return { ...base, extensions: { code } };
  if (typeof code === 'string' && REQUEST_SHAPE_CODES.has(code)) return { ...base, extensions: { code: 'BAD_REQUEST' } };
  // A GraphQLError raised by graphql-js while executing (e.g. a non-null field resolved to null) has no code.
  onInternal(original);
  const internal = new DomainError('INTERNAL', 'An unexpected error occurred; quote the correlation id when reporting it.');
  return {
    ...base,
    message: exposeDetails && original instanceof Error ? original.message : internal.message,
    extensions: {
      code: internal.code,
      ...(exposeDetails && original instanceof Error && !(original instanceof GraphQLError) ? { stacktrace: original.stack?.split('\n') } : {}),
    },
  };
}
