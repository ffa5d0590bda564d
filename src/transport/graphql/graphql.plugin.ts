import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, RouteHandlerMethod } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import type { UseCases } from '../../application/index.js';
import { toDomainError } from '../http/errors.js';
import { authenticateRequest } from '../http/request-context.js';
import { createGraphqlContext, type GraphqlContext } from './context.js';
import { formatGraphqlError } from './errors.js';

export interface GraphqlPluginOptions {
  schema: GraphQLSchema;
  useCases: UseCases;
  production: boolean;
  exposeErrorDetails: boolean;
  onInternalError: (error: unknown) => void;
}

/** Apollo Server 5 at `/graphql` (the subgraph), behind the same bearer auth as the FHIR facade. */
export async function createApollo(options: GraphqlPluginOptions): Promise<ApolloServer<GraphqlContext>> {
  const apollo = new ApolloServer<GraphqlContext>({
    schema: options.schema,
    introspection: !options.production,
    includeStacktraceInErrorResponses: false,
    // The process owns its signals: graceful shutdown stops Apollo in order (see src/main.ts).
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => formatGraphqlError(formatted, error, options.exposeErrorDetails, options.onInternalError),
    // No federated tracing to the router (ftv1): rxgate never reports to Apollo's cloud.
    plugins: [ApolloServerPluginInlineTraceDisabled(), ...(options.production ? [ApolloServerPluginLandingPageDisabled()] : [])],
  });
  await apollo.start();
  return apollo;
}

export const graphqlPlugin: FastifyPluginAsync<GraphqlPluginOptions & { apollo: ApolloServer<GraphqlContext> }> = async (app: FastifyInstance, options) => {
  const sendError = (reply: FastifyReply, error: unknown) => {
    const domainError = toDomainError(error);
    if (domainError.httpStatus >= 500) options.onInternalError(error);
    return reply.code(domainError.httpStatus).type('application/json').send({ errors: [{ message: domainError.message, extensions: { code: domainError.code } }] });
  };
  app.setErrorHandler(async (error, _request, reply) => sendError(reply, error));

  app.route({
    url: '/graphql',
    method: ['GET', 'POST', 'OPTIONS'],
    onRequest: async (request) => {
      if (request.method === 'OPTIONS') return;
      await authenticateRequest(options.useCases, request);
    },
    handler: fastifyApolloHandler(options.apollo, {
      context: async (request) => createGraphqlContext(options.useCases, request.ctx!),
    }) as RouteHandlerMethod,
  });
};
