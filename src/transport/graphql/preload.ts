import { type DirectiveNode, type FieldNode, type GraphQLResolveInfo, Kind, type SelectionSetNode } from 'graphql';

/**
 * `true` when graphql-js certainly executes a selection carrying these directives (`@skip`/`@include`
 * with a boolean), `false` otherwise. Unsure counts as not selected: a field wrongly thought absent is
 * only loaded later by its own resolver, while one wrongly thought present would be read (and audited)
 * although nobody asked for it.
 */
function certainlyIncluded(directives: readonly DirectiveNode[] | undefined, variables: Record<string, unknown>): boolean {
  for (const directive of directives ?? []) {
    const name = directive.name.value;
    if (name !== 'skip' && name !== 'include') continue;
    const value = directive.arguments?.find((a) => a.name.value === 'if')?.value;
    const condition = value?.kind === Kind.BOOLEAN ? value.value : value?.kind === Kind.VARIABLE ? variables[value.name.value] : undefined;
    if (typeof condition !== 'boolean' || condition === (name === 'skip')) return false;
  }
  return true;
}

/** The fields of `selectionSet`, through fragments, that are certainly executed (fragments' type conditions all hold on a validated document's single object type). */
function executedFields(selectionSet: SelectionSetNode | undefined, info: GraphQLResolveInfo, into: FieldNode[] = []): FieldNode[] {
  for (const selection of selectionSet?.selections ?? []) {
    if (!certainlyIncluded(selection.directives, info.variableValues)) continue;
    if (selection.kind === Kind.FIELD) into.push(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT) executedFields(selection.selectionSet, info, into);
    else executedFields(info.fragments[selection.name.value]?.selectionSet, info, into);
  }
  return into;
}

/**
 * Names of the fields selected at `path` below the field being resolved, e.g. `['edges', 'node']` of a
 * connection: what the document asks of every item there.
 */
export function selectedFieldsAt(info: GraphQLResolveInfo, path: readonly string[]): Set<string> {
  let level: readonly FieldNode[] = info.fieldNodes;
  for (const step of path) level = level.flatMap((field) => executedFields(field.selectionSet, info).filter((f) => f.name.value === step));
  return new Set(level.flatMap((field) => executedFields(field.selectionSet, info).map((f) => f.name.value)));
}

/**
 * A field's value from a load that has already settled, without a promise when it succeeded (a page
 * whose nested loads all settled completes synchronously in graphql-js); a failed load or a failed
 * mapping answers a rejected promise, as the field's own async resolver did. Without an outcome, loads.
 */
export function fromPreloaded<T, R>(outcome: PromiseSettledResult<T> | undefined, load: () => Promise<T>, map: (value: T) => R): R | Promise<R> {
  if (outcome === undefined) return load().then(map);
  if (outcome.status === 'rejected') return Promise.reject(outcome.reason);
  try {
    return map(outcome.value);
  } catch (error) {
    return Promise.reject(error);
  }
}
