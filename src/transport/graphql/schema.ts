import 'reflect-metadata';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { type GraphQLSchema, parse } from 'graphql';
import { buildSchema, createResolversMap } from 'type-graphql';
import type { GraphqlContext } from './context.js';
import { dispenseToGraphql } from './medication-dispense.mapper.js';
import { pharmacyToGraphql, recordToGraphql } from './medication-request.mapper.js';
import { DeadLetterResolver } from './resolvers/dead-letter.resolver.js';
import { PatientResolver, PractitionerResolver } from './resolvers/federated-entities.resolver.js';
import { MedicationDispenseResolver } from './resolvers/medication-dispense.resolver.js';
import { MedicationRequestResolver } from './resolvers/medication-request.resolver.js';
import { PharmacyResolver } from './resolvers/pharmacy.resolver.js';
import { PrescribingRulesResolver } from './resolvers/prescribing-rules.resolver.js';
import { PrescriptionEventFieldsResolver, PrescriptionEventResolver } from './resolvers/prescription-event.resolver.js';
import { MedicationRequestPriorAuthorizationResolver, PriorAuthorizationResolver } from './resolvers/prior-authorization.resolver.js';
import { WorkflowResolver } from './resolvers/workflow.resolver.js';
import { PatientType, PractitionerType } from './types/federated-entities.type.js';

const FEDERATION_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key", "@shareable"])';

/** Reference resolvers of the entities this subgraph owns; they load through the per-request DataLoaders. */
const referenceResolvers = {
  MedicationRequest: {
    async __resolveReference(ref: { id: string }, { loaders }: GraphqlContext) {
      const record = await loaders.medicationRequest.load(ref.id);
      return record ? recordToGraphql(record) : null;
    },
  },
  MedicationDispense: {
    async __resolveReference(ref: { id: string }, { loaders }: GraphqlContext) {
      const record = await loaders.medicationDispense.load(ref.id);
      return record ? dispenseToGraphql(record) : null;
    },
  },
  // Owned elsewhere: a reference is all this subgraph needs to add its fields.
  Patient: { __resolveReference: (ref: { id: string }) => ({ id: ref.id }) },
  Practitioner: { __resolveReference: (ref: { id: string }) => ({ id: ref.id }) },
  Pharmacy: {
    async __resolveReference(ref: { id: string }, { loaders }: GraphqlContext) {
      const pharmacy = await loaders.pharmacy.load(ref.id);
      return pharmacy ? pharmacyToGraphql(pharmacy) : null;
    },
  },
};

let built: Promise<GraphQLSchema> | undefined;

/**
 * The subgraph schema, built once per process: it depends on the code alone (requests reach their
 * gateway through the context), so every gateway of a process shares it; the tests start some
 * hundred gateways a run in two processes, and a build costs about 40 ms of CPU.
 */
export function buildGraphqlSchema(): Promise<GraphQLSchema> {
  built ??= buildSubgraph().catch((error: unknown) => {
    built = undefined;
    throw error;
  });
  return built;
}

/**
 * Code-first classes → a Federation 2 subgraph: print the type-graphql schema with its
 * directives, add the federation `@link`, and rebuild it with `buildSubgraphSchema`.
 */
async function buildSubgraph(): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    // type-graphql requires a PubSub as soon as a subscription exists, even when every subscription
    // brings its own `subscribe` (ours read the event stream); topic-based subscriptions are not used.
    pubSub: {
      publish: () => {
        throw new Error('topic-based publishing is not used: subscriptions read the event stream');
      },
      subscribe: () => {
        throw new Error('topic-based subscriptions are not used: subscriptions read the event stream');
      },
    },
    resolvers: [
      MedicationRequestResolver,
      MedicationDispenseResolver,
      PharmacyResolver,
      DeadLetterResolver,
      PrescriptionEventResolver,
      PrescriptionEventFieldsResolver,
      PatientResolver,
      PractitionerResolver,
      WorkflowResolver,
      PrescribingRulesResolver,
      PriorAuthorizationResolver,
      MedicationRequestPriorAuthorizationResolver,
    ],
    // Entities reached only through `_entities` (federation), never from Query.
    orphanedTypes: [PatientType, PractitionerType],
    validate: false,
  });
  const typeDefs = parse(`${FEDERATION_LINK}\n\n${printSchemaWithDirectives(schema)}`);
  const resolvers = createResolversMap(schema) as Record<string, Record<string, unknown>>;
  for (const [type, extra] of Object.entries(referenceResolvers)) resolvers[type] = { ...resolvers[type], ...extra };
  return buildSubgraphSchema([{ typeDefs, resolvers: resolvers as never }]);
}

/** The subgraph SDL as the router sees it (`_service { sdl }`), for `schema/schema.graphql`. */
export async function printSubgraphSdl(): Promise<string> {
  const { printSubgraphSchema } = await import('@apollo/subgraph');
  return `${printSubgraphSchema(await buildGraphqlSchema()).trim()}\n`;
}
