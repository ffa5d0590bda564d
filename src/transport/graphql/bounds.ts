import { createRequire } from 'node:module';
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { ComplexityEstimator } from 'graphql-query-complexity';

// The subgraph schema is built by @apollo/subgraph, which loads graphql's CommonJS build; the
// complexity walker must use the same build, or graphql refuses the schema as "from another realm".
const { getComplexity, simpleEstimator } = createRequire(import.meta.url)('graphql-query-complexity') as typeof import('graphql-query-complexity');

/** Limits a GraphQL document must stay within before anything runs (CONTRACT §2 `QUERY_TOO_COMPLEX`). */
export interface GraphqlBounds {
  /** Deepest field nesting. @default 12 */
  maxDepth: number;
  /** Aliases in the whole document. @default 30 */
  maxAliases: number;
  /** Field-weighted cost, list fields multiplied by their `first`. @default 25_000 */
  maxCost: number;
  /** Lexical tokens of the document (enforced by the parser). @default 5_000 */
  maxTokens: number;
  /** Operations in one batched HTTP request; 1 turns batching off. @default 1 */
  maxBatch: number;
}

export const tooComplex = (message: string) => new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } } });

function depthOf(selectionSet: SelectionSetNode | undefined, fragments: Map<string, FragmentDefinitionNode>, seen: Set<string>): number {
  if (!selectionSet) return 0;
  let deepest = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD)
      deepest = Math.max(deepest, selection.name.value.startsWith('__') ? 0 : 1 + depthOf(selection.selectionSet, fragments, seen));
    else if (selection.kind === Kind.INLINE_FRAGMENT) deepest = Math.max(deepest, depthOf(selection.selectionSet, fragments, seen));
    else if (!seen.has(selection.name.value)) {
      const fragment = fragments.get(selection.name.value);
      deepest = Math.max(deepest, depthOf(fragment?.selectionSet, fragments, new Set([...seen, selection.name.value])));
    }
  }
  return deepest;
}

function countAliases(document: DocumentNode): number {
  let aliases = 0;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const n = node as { kind?: string; alias?: unknown };
    if (n.kind === Kind.FIELD && n.alias) aliases++;
    for (const [key, value] of Object.entries(node)) if (key !== 'loc') visit(value);
  };
  visit(document.definitions);
  return aliases;
}

interface Shape {
  fragments: Map<string, FragmentDefinitionNode>;
  depth: number;
  aliases: number;
}

/**
 * Apollo hands the same parsed document to every request with the same query text, so its shape
 * (fragments, depth, aliases: none of them depends on variables) is measured once per operation.
 */
const shapes = new WeakMap<DocumentNode, Map<OperationDefinitionNode, Shape>>();

function shapeOf(document: DocumentNode, operation: OperationDefinitionNode): Shape {
  let byOperation = shapes.get(document);
  if (!byOperation) shapes.set(document, (byOperation = new Map()));
  let shape = byOperation.get(operation);
  if (!shape) {
    const fragments = new Map(
      document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
    );
    shape = { fragments, depth: depthOf(operation.selectionSet, fragments, new Set()), aliases: countAliases(document) };
    byOperation.set(operation, shape);
  }
  return shape;
}

/** A list asked with `first: n` costs n times what one item costs. */
const firstArgumentEstimator: ComplexityEstimator = ({ args, childComplexity }) =>
  typeof args.first === 'number' && args.first > 0 ? 1 + childComplexity * args.first : undefined;

/**
 * Throws `QUERY_TOO_COMPLEX` naming the bound a document exceeds: depth, aliases or cost. Runs
 * after validation and before execution, so a refused document touches nothing.
 */
export function assertWithinBounds(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
  bounds: GraphqlBounds,
): void {
  const { fragments, depth, aliases } = shapeOf(document, operation);
  if (depth > bounds.maxDepth) throw tooComplex(`The query is ${depth} levels deep; at most ${bounds.maxDepth} are allowed.`);
  if (aliases > bounds.maxAliases) throw tooComplex(`The query uses ${aliases} aliases; at most ${bounds.maxAliases} are allowed.`);
  let cost: number;
  try {
    cost = getComplexity({
      schema,
      query: { kind: Kind.DOCUMENT, definitions: [operation, ...fragments.values()] },
      variables: variables ?? {},
      estimators: [firstArgumentEstimator, simpleEstimator({ defaultComplexity: 1 })],
    });
  } catch (error) {
    // Cost needs the variables; variables that do not fit their types are the caller's error.
    throw new GraphQLError((error as Error).message, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
  }
  if (cost > bounds.maxCost)
    throw tooComplex(`The query costs ${cost}; at most ${bounds.maxCost} is allowed (ask for fewer items with first, or fewer fields).`);
}
