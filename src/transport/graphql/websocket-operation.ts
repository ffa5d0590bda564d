import { createRequire } from 'node:module';
import type { DocumentNode, GraphQLError, GraphQLSchema } from 'graphql';
import { assertWithinBounds, type GraphqlBounds } from './bounds.js';

// graphql's CommonJS build, the one the subgraph schema was built with (see bounds.ts).
const graphqlCjs = createRequire(import.meta.url)('graphql') as typeof import('graphql');

/** What a graphql-ws `subscribe` message asks to run. */
export interface WebsocketOperationRequest {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

/** A document ready to run: parsed, validated, its operation identified, within the bounds. */
export interface PreparedOperation {
  document: DocumentNode;
  operationName?: string;
  variableValues?: Record<string, unknown>;
}

const codedError = (error: GraphQLError, code: string): GraphQLError =>
  new graphqlCjs.GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: { ...error.extensions, code },
  });

const plainError = (message: string, code: string): GraphQLError => new graphqlCjs.GraphQLError(message, { extensions: { code } });

/**
 * Checks a graphql-ws operation in the order Apollo checks one over HTTP, with Apollo's codes
 * (`GRAPHQL_PARSE_FAILED`, `GRAPHQL_VALIDATION_FAILED`, `OPERATION_RESOLUTION_FAILURE`,
 * `BAD_USER_INPUT`, and `QUERY_TOO_COMPLEX` for the bounds), so the one error formatter answers the
 * same `extensions.code` and message on both transports. Answers the errors, or the operation to run.
 */
export function prepareWebsocketOperation(
  schema: GraphQLSchema,
  request: WebsocketOperationRequest,
  bounds: GraphqlBounds,
): { errors: GraphQLError[] } | { operation: PreparedOperation } {
  let document: DocumentNode;
  try {
    document = graphqlCjs.parse(request.query, { maxTokens: bounds.maxTokens });
  } catch (error) {
    if (!(error instanceof graphqlCjs.GraphQLError)) throw error;
    return { errors: [codedError(error, 'GRAPHQL_PARSE_FAILED')] };
  }
  const invalid = graphqlCjs.validate(schema, document);
  if (invalid.length > 0) return { errors: invalid.map((error) => codedError(error, 'GRAPHQL_VALIDATION_FAILED')) };

  const operationName = request.operationName ?? undefined;
  const operation = graphqlCjs.getOperationAST(document, operationName);
  if (!operation) {
    // The messages graphql-js gives Apollo over HTTP (execute.js buildExecutionContext).
    const operations = document.definitions.filter((d) => d.kind === graphqlCjs.Kind.OPERATION_DEFINITION).length;
    const message =
      operationName !== undefined
        ? `Unknown operation named "${operationName}".`
        : operations > 1
          ? 'Must provide operation name if query contains multiple operations.'
          : 'Must provide an operation.';
    return { errors: [plainError(message, 'OPERATION_RESOLUTION_FAILURE')] };
  }
  // Variables that do not fit their types are the caller's error, as Apollo reports them (no locations).
  const coerced = graphqlCjs.getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {});
  if (coerced.errors) return { errors: coerced.errors.map((error) => plainError(error.message, 'BAD_USER_INPUT')) };
  try {
    assertWithinBounds(schema, document, operation, request.variables ?? undefined, bounds);
  } catch (error) {
    const code = (error as GraphQLError | undefined)?.extensions?.code;
    if (typeof code !== 'string') throw error;
    return { errors: [plainError((error as GraphQLError).message, code)] };
  }
  return { operation: { document, operationName, variableValues: request.variables ?? undefined } };
}
