import type { ApolloServerPlugin } from '@apollo/server';
import { type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import type { DocumentNode, GraphQLFormattedError } from 'graphql';
import { getOperationAST } from 'graphql';
import { isServerFault } from '../../domain/index.js';
import { inSpan, SpanKind, startSpan } from '../../tracing.js';

/** Spans opened for a GraphQL operation, which the Apollo plugin below may name. */
const operationSpans = new WeakSet<Span>();

/** Span name and attributes of an operation (OpenTelemetry GraphQL conventions): its type and name, never its text. */
function describe(span: Span, type: string | undefined, name: string | undefined): void {
  span.updateName(type ? `${type}${name ? ` ${name}` : ''}` : 'graphql');
  if (type) span.setAttribute('graphql.operation.type', type);
  if (name) span.setAttribute('graphql.operation.name', name);
}

/** Error codes on the span; ERROR status only for errors of the gateway (5xx codes, unknown ones), not for the caller's. */
function recordErrors(span: Span, errors: readonly GraphQLFormattedError[] | undefined): void {
  if (!errors?.length) return;
  const codes = [...new Set(errors.map((e) => String(e.extensions?.code ?? 'INTERNAL')))];
  span.setAttribute('rxgate.error_codes', codes);
  if (codes.some(isServerFault)) span.setStatus({ code: SpanStatusCode.ERROR });
}

/**
 * Runs an HTTP GraphQL request (an Apollo handler) in its own active span, so the use-cases and SQL
 * of its resolvers nest below it; `operationSpanPlugin` names it once Apollo knows the operation.
 */
export function withOperationSpan<A extends unknown[], R>(handler: (...args: A) => R): (...args: A) => R {
  return (...args: A) =>
    inSpan('graphql', { attributes: { 'rxgate.transport': 'http' } }, (span) => {
      operationSpans.add(span);
      return handler(...args);
    });
}

/** Names the operation span of the request (see `withOperationSpan`) and records its error codes. */
export const operationSpanPlugin: ApolloServerPlugin = {
  async requestDidStart() {
    const span = trace.getActiveSpan();
    if (!span || !operationSpans.has(span) || !span.isRecording()) return;
    return {
      async didResolveOperation({ operation, operationName }) {
        describe(span, operation?.operation, operationName ?? undefined);
      },
      async willSendResponse({ response }) {
        recordErrors(span, response.body.kind === 'single' ? response.body.singleResult.errors : undefined);
      },
    };
  },
};

/**
 * The span of one graphql-ws operation: opened when the client subscribes, closed once the
 * operation is set up (a subscription's stream is open; a query or mutation has its result) or
 * refused. Each event it then delivers gets a span of its own, in the event's trace.
 */
export function startWebsocketOperationSpan(operationName: string | null | undefined): Span {
  return startSpan('graphql', {
    kind: SpanKind.SERVER,
    attributes: { 'rxgate.transport': 'graphql-ws', ...(operationName && { 'graphql.operation.name': operationName }) },
  });
}

/** Ends a graphql-ws operation span, named from its document when known, with the errors it was refused with. */
export function endWebsocketOperationSpan(span: Span, document?: DocumentNode, operationName?: string | null, errors?: readonly GraphQLFormattedError[]): void {
  if (document) {
    const operation = getOperationAST(document, operationName);
    describe(span, operation?.operation, operationName ?? operation?.name?.value);
  }
  recordErrors(span, errors);
  span.end();
}
