import { type FragmentDefinitionNode, type GraphQLResolveInfo, Kind, type OperationDefinitionNode, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { fromPreloaded, selectedFieldsAt } from '../../src/transport/graphql/preload.js';

/** The `info` of the first root field of `query`, as far as the selection analysis reads it. */
function infoOf(query: string, variableValues: Record<string, unknown> = {}): GraphQLResolveInfo {
  const document = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const fragments = Object.fromEntries(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
  );
  const root = operation.selectionSet.selections.filter((s) => s.kind === Kind.FIELD);
  return { fieldNodes: root, fragments, variableValues } as unknown as GraphQLResolveInfo;
}
const nodeFields = (query: string, variables?: Record<string, unknown>) => [...selectedFieldsAt(infoOf(query, variables), ['edges', 'node'])].sort();

describe('selectedFieldsAt: which nested fields a page preloads (issue #18)', () => {
  it('finds the fields of every item, through aliases and fragments', () => {
    expect(nodeFields('{ medicationRequests { edges { node { id dispenses { id } } } } }')).toEqual(['dispenses', 'id']);
    expect(nodeFields('{ medicationRequests { e: edges { n: node { p: pharmacy { id } } } } }')).toEqual(['pharmacy']);
    expect(
      nodeFields(`query { medicationRequests { ...Page } }
        fragment Page on MedicationRequestConnection { edges { node { ... on MedicationRequest { transitions { to } } ...Item } } }
        fragment Item on MedicationRequest { id }`),
    ).toEqual(['id', 'transitions']);
  });

  it('leaves out what @skip or @include leave out, and what it cannot be sure of', () => {
    const query = 'query($x: Boolean!) { medicationRequests { edges { node { id dispenses @include(if: $x) { id } transitions @skip(if: true) { to } } } } }';
    expect(nodeFields(query, { x: true })).toEqual(['dispenses', 'id']);
    expect(nodeFields(query, { x: false })).toEqual(['id']);
    expect(nodeFields(query, {})).toEqual(['id']);
    expect(nodeFields('{ medicationRequests { edges @skip(if: true) { node { dispenses { id } } } } }')).toEqual([]);
    expect(nodeFields('{ medicationRequests { totalCount } }')).toEqual([]);
  });
});

describe('fromPreloaded', () => {
  const never = () => Promise.reject(new Error('loaded again'));

  it('answers a settled value without a promise, and a failure as the rejected promise a load gives', async () => {
    expect(fromPreloaded({ status: 'fulfilled', value: [1, 2] }, never, (v) => v.length)).toBe(2);
    const failure = new Error('database down');
    await expect(fromPreloaded({ status: 'rejected', reason: failure }, never, (v) => v)).rejects.toBe(failure);
    await expect(
      fromPreloaded({ status: 'fulfilled', value: 1 }, never, () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
  });

  it('loads when nothing was preloaded', async () => {
    await expect(
      fromPreloaded(
        undefined,
        async () => 3,
        (v) => v * 2,
      ),
    ).resolves.toBe(6);
  });
});
