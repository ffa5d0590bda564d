import { createRequire } from 'node:module';
import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import type { DocumentNode, GraphQLError as GraphQLErrorType, GraphQLSchema } from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import { LRUCache } from 'lru-cache';

// graphql-jit and Apollo load graphql's CommonJS build (Node's resolution of the package): errors
// built here must be instances of that build's GraphQLError, whoever loads this module.
const { GraphQLError, Kind, visit } = createRequire(import.meta.url)('graphql') as typeof import('graphql');

/** Documents whose compiled queries are kept; a client's working set is a few dozen. */
const MAX_COMPILED_DOCUMENTS = 500;

/**
 * graphql-jit's errors inherit from GraphQLError but are built without its constructor: without
 * `extensions` (Apollo's error formatting reads `extensions.code` and fails) and with read-only
 * fields. Rebuilt as graphql-js builds them, so that formatting sees what it always saw.
 */
function asGraphqlJsError(error: GraphQLErrorType): GraphQLErrorType {
  const rebuilt = new GraphQLError(error.message, {
    path: error.path,
    originalError: error.originalError ?? undefined,
    extensions: error.extensions ?? undefined,
  });
  (rebuilt as { locations?: GraphQLErrorType['locations'] }).locations = error.locations;
  return rebuilt;
}

const documentsWithoutProtoNames = new WeakSet<DocumentNode>();

/**
 * Refuses a document with an alias or a variable named `__proto__` (`BAD_REQUEST`). graphql-js keeps
 * results and variables in prototype-less objects, where that is a name like any other; a compiled
 * query builds object literals, where it sets the object's prototype: the field vanished from the
 * answer, and a variable of that name failed as an internal error. No client needs the name.
 */
export function refuseProtoNames(document: DocumentNode): void {
  if (documentsWithoutProtoNames.has(document)) return;
  let offending: string | undefined;
  visit(document, {
    [Kind.FIELD]: (field) => void (field.alias?.value === '__proto__' && (offending = 'an alias')),
    [Kind.VARIABLE_DEFINITION]: (definition) => void (definition.variable.name.value === '__proto__' && (offending = 'a variable')),
  });
  if (offending) throw new GraphQLError(`"__proto__" cannot name ${offending}.`, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
  documentsWithoutProtoNames.add(document);
}

/**
 * Apollo Server with its documents executed by graphql-jit, through the one extension point Apollo
 * offers for another executor (the gateway interface; rxgate is not a federation gateway). graphql-js
 * allocates two dictionary objects for every field it resolves and one for every object it completes:
 * on a page of 50 nested prescriptions that was 46 % of the bytes allocated (3.3 MB a page in all,
 * 1.9 MB compiled). A compiled query builds the same result with plain objects. Parsing, validation,
 * bounds, context, plugins and error formatting stay Apollo's; only `execute` changes.
 *
 * Compiled queries are kept for the documents used most recently ({@link MAX_COMPILED_DOCUMENTS}),
 * keyed by the parsed document Apollo's document store hands out again for the same text. Compiling
 * a new document costs about what validating it does (3 ms for the 50-item page), which every new
 * document already pays; the bound keeps clients that send ever new documents from filling the heap
 * with generated code.
 */
export function compiledExecution(schema: GraphQLSchema): GatewayInterface {
  const compiledByDocument = new LRUCache<DocumentNode, Map<string, CompiledQuery>>({ max: MAX_COMPILED_DOCUMENTS });
  const executor: GatewayExecutor = async ({ document, context, request }) => {
    // The name the client asked for (Apollo's own `operationName` is the resolved one, null when none
    // matched): an unknown name then fails with graphql-js's message.
    const operationName = request.operationName ?? undefined;
    let byOperation = compiledByDocument.get(document);
    if (!byOperation) compiledByDocument.set(document, (byOperation = new Map()));
    let compiled = byOperation.get(operationName ?? '');
    if (!compiled) {
      const outcome = compileQuery(schema, document, operationName);
      // What does not compile (an unknown operation name) answers its errors, as graphql-js's execute
      // does, and is not kept: names are the client's to invent.
      if (!isCompiledQuery(outcome)) return outcome;
      byOperation.set(operationName ?? '', (compiled = outcome));
    }
    const result = await compiled.query(undefined, context, request.variables ?? {});
    return result.errors ? { ...result, errors: result.errors.map(asGraphqlJsError) } : result;
  };
  return {
    async load() {
      return { executor };
    },
    onSchemaLoadOrUpdate(callback) {
      // The schema never changes; Apollo wants it announced once. There is no supergraph here (the
      // router composes it), and no plugin of ours reads one.
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => undefined;
    },
    async stop() {},
  };
}
