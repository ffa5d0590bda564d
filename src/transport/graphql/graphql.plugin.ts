import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import type { UseCases } from '../../application/index.js';
import { DomainError } from '../../domain/index.js';
import { rateLimitHeaders } from '../http/error-status.js';
import { errorSender } from '../http/errors.js';
import { authenticateRequest } from '../http/request-context.js';
import { assertWithinBounds, type GraphqlBounds } from './bounds.js';
import { compiledExecution, refuseProtoNames } from './compiled-execution.js';
import { createGraphqlContext, type GraphqlContext } from './context.js';
import { formatGraphqlError } from './errors.js';
import { operationSpanPlugin, withOperationSpan } from './operation-spans.js';

/** What the GraphQL endpoint ({@link createApollo}, {@link graphqlPlugin}) needs. */
export interface GraphqlPluginOptions {
  /** The subgraph's schema. */
  schema: GraphQLSchema;
  /** Limits of a document (CONTRACT §2): beyond one, `QUERY_TOO_COMPLEX`. */
  bounds: GraphqlBounds;
  /** What every resolver calls. */
  useCases: UseCases;
  /** A production deployment: introspection is then off unless `introspection` turns it on. */
  production: boolean;
  /** Schema introspection (the explorer's docs need it); default: outside production only. */
  introspection?: boolean;
  /** Show the message and stack of an unexpected error in the response (development only). */
  exposeErrorDetails: boolean;
  /** Receives every cause of an `INTERNAL` error, with the HTTP request when there is one. */
  onInternalError: (error: unknown, request?: FastifyRequest) => void;
  /** Told the codes of the errors of each response over HTTP that has any (metrics). */
  onResponseErrors?: (operationName: string | undefined, codes: string[]) => void;
}

/** Apollo Server 5 at `/graphql` (the subgraph), behind the same bearer auth as the FHIR facade. */
export async function createApollo(options: GraphqlPluginOptions): Promise<ApolloServer<GraphqlContext>> {
  const apollo = new ApolloServer<GraphqlContext>({
    gateway: compiledExecution(options.schema),
    introspection: options.introspection ?? !options.production,
    includeStacktraceInErrorResponses: false,
    // The process owns its signals: graceful shutdown stops Apollo in order (see src/main.ts).
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => formatGraphqlError(formatted, error, options.exposeErrorDetails, options.onInternalError),
    parseOptions: { maxTokens: options.bounds.maxTokens },
    allowBatchedHttpRequests: options.bounds.maxBatch > 1,
    // No federated tracing to the router (ftv1): rxgate never reports to Apollo's cloud.
    plugins: [
      ApolloServerPluginInlineTraceDisabled(),
      // rxgate sets no cache hints; the default plugin would still wrap every field resolver.
      ApolloServerPluginCacheControlDisabled(),
      operationSpanPlugin,
      // Apollo's landing page loads from a CDN; the gateway serves its own explorer (transport/http/web-pages.ts).
      ApolloServerPluginLandingPageDisabled(),
      {
        // After validation, before any resolver: depth, aliases and cost (CONTRACT §2).
        async requestDidStart() {
          return {
            async didResolveOperation({ document, operation, request, schema }) {
              refuseProtoNames(document);
              if (operation) assertWithinBounds(schema, document, operation, request.variables, options.bounds);
            },
            // Errors travel in 200 responses too, where the HTTP status shows nothing: counted here, after formatError.
            async willSendResponse({ request, response }) {
              const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
              if (errors?.length)
                options.onResponseErrors?.(
                  request.operationName,
                  errors.map((e) => String(e.extensions?.code ?? 'INTERNAL')),
                );
            },
          };
        },
      },
    ],
  });
  await apollo.start();
  return apollo;
}

const LIST_FIELDS = /\b(medicationRequests|medicationDispenses|pharmacies|deadLetters|_entities)\b/;

/** Rate-limit cost of an operation: a mutation is a write, a list a search, anything else a read. */
function requestKind(body: unknown, query: unknown): 'read' | 'search' | 'write' {
  const operations = (Array.isArray(body) ? body : [body ?? query]) as Array<{ query?: unknown } | undefined>;
  const text = operations
    .map((o) => (typeof o?.query === 'string' ? o.query : ''))
    .join('\n')
    .replace(/#[^\n]*/g, '');
  if (/(^|[\s}])mutation\b/.test(text)) return 'write';
  return LIST_FIELDS.test(text) ? 'search' : 'read';
}

/** `/graphql` on Fastify: authentication, the rate budget and Apollo's handler, with the one error sender. */
export const graphqlPlugin: FastifyPluginAsync<GraphqlPluginOptions & { apollo: ApolloServer<GraphqlContext> }> = async (app: FastifyInstance, options) => {
  app.setErrorHandler(
    errorSender(
      (reply, error) => reply.type('application/json').send({ errors: [{ message: error.message, extensions: { code: error.code } }] }),
      options.onInternalError,
    ),
  );

  app.route({
    url: '/graphql',
    method: ['GET', 'POST', 'OPTIONS'],
    onRequest: async (request) => {
      if (request.method === 'OPTIONS') return;
      await authenticateRequest(options.useCases, request);
    },
    preHandler: async (request, reply) => {
      if (Array.isArray(request.body) && (options.bounds.maxBatch <= 1 || request.body.length > options.bounds.maxBatch)) {
        throw new DomainError(
          'QUERY_TOO_COMPLEX',
          options.bounds.maxBatch <= 1
            ? 'Batched operations are not accepted; send one operation per request.'
            : `At most ${options.bounds.maxBatch} operations may be batched in one request.`,
        );
      }
      if (request.ctx && request.method !== 'OPTIONS')
        reply.headers(rateLimitHeaders(await options.useCases.admitRequest(request.ctx, requestKind(request.body, request.query))));
    },
    handler: withOperationSpan(
      fastifyApolloHandler(options.apollo, {
        context: async (request) => createGraphqlContext(options.useCases, request.ctx!),
      }),
    ) as RouteHandlerMethod,
  });
};
