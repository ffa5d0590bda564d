import { createRequire } from 'node:module';
import { type DocumentNode, type ExecutionArgs, type ExecutionResult, Kind, visit } from 'graphql';
import type { GraphqlContext } from './context.js';

// graphql's CommonJS build, the one the subgraph schema was built with (see bounds.ts).
const graphqlCjs = createRequire(import.meta.url)('graphql') as typeof import('graphql');

const LOADS = new Set<PropertyKey>(['load', 'loadMany']);

type PromiseOrValue<T> = T | Promise<T>;

/** One operation's execution of one event: running, then settled (and whether it read through the loaders). */
interface Shared {
  running: Promise<{ result: ExecutionResult; read: boolean }>;
  settled?: { result: ExecutionResult; read: boolean };
}

/**
 * graphql-ws's `subscribe`, executing each event once per distinct operation instead of once per
 * subscriber: subscribers of the same document, variables, tenant and actor get the same result for
 * the same event (the event object the fan-out hands to all of them). An execution that read through
 * the context's loaders is not shared — those reads are the subscriber's own (audited as its reads) —
 * and every subscriber then executes for itself, as before.
 */
export function createSharedSubscribe(keyOfDocument: (args: ExecutionArgs) => string | undefined) {
  /** Per event, per operation key: the first subscriber's execution, and whether it read (then it is its own). */
  const results = new WeakMap<object, Map<string, Shared>>();

  const executeOnce = (args: ExecutionArgs, payload: unknown, key: string | undefined): PromiseOrValue<ExecutionResult> => {
    if (key === undefined || typeof payload !== 'object' || payload === null) return graphqlCjs.execute({ ...args, rootValue: payload });
    let byKey = results.get(payload);
    if (!byKey) results.set(payload, (byKey = new Map()));
    const known = byKey.get(key);
    if (known) {
      // Settled (the usual case for all but the first subscriber): the result itself, no promise.
      if (known.settled) return known.settled.read ? graphqlCjs.execute({ ...args, rootValue: payload }) : known.settled.result;
      return known.running.then((first) => (first.read ? graphqlCjs.execute({ ...args, rootValue: payload }) : first.result));
    }
    const context = args.contextValue as GraphqlContext;
    let read = false;
    // Watches the loaders: a load makes the result this subscriber's own.
    const loaders = new Proxy(context.loaders, {
      get: (target, name, receiver) => {
        const loader = Reflect.get(target, name, receiver) as object;
        return new Proxy(loader, {
          get: (l, method) => {
            if (LOADS.has(method)) read = true;
            const value = Reflect.get(l, method, l) as unknown;
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(l) : value;
          },
        });
      },
    });
    const shared: Shared = {
      running: Promise.resolve(graphqlCjs.execute({ ...args, contextValue: { ...context, loaders }, rootValue: payload })).then((result) => {
        shared.settled = { result, read };
        return shared.settled;
      }),
    };
    byKey.set(key, shared);
    return shared.running.then((first) => first.result);
  };

  return async (args: ExecutionArgs): Promise<AsyncIterable<ExecutionResult> | ExecutionResult> => {
    const stream = await graphqlCjs.createSourceEventStream(args);
    if (!(Symbol.asyncIterator in Object(stream))) return stream as ExecutionResult;
    const key = keyOfDocument(args);
    const source = (stream as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    const mapped: AsyncGenerator<ExecutionResult, void, unknown> = {
      [Symbol.asyncIterator]: () => mapped,
      // Plain thens, not an async function: fewer promises per delivery.
      next: () =>
        source.next().then((item): PromiseOrValue<IteratorResult<ExecutionResult, void>> => {
          if (item.done) return { value: undefined, done: true };
          const value = executeOnce(args, item.value, key);
          return value instanceof Promise ? value.then((result) => ({ value: result, done: false })) : { value, done: false };
        }),
      async return() {
        await source.return?.();
        return { value: undefined, done: true };
      },
      async throw(error: unknown) {
        if (source.throw) {
          const item = await source.throw(error);
          if (!item.done) return { value: await executeOnce(args, item.value, key), done: false };
          return { value: undefined, done: true };
        }
        throw error;
      },
    } as AsyncGenerator<ExecutionResult, void, unknown>;
    return mapped;
  };
}

/**
 * Variables of a document used only as the cursor (`after`) of a subscription's root field: where a
 * subscriber resumes from, not what an event executes to, so subscribers resumed from different
 * cursors still share each event's execution once they are on the fan-out.
 */
const cursorVariablesOf = new WeakMap<DocumentNode, ReadonlySet<string>>();

function cursorVariables(document: DocumentNode): ReadonlySet<string> {
  let known = cursorVariablesOf.get(document);
  if (known) return known;
  const asCursor = new Map<string, number>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION || definition.operation !== 'subscription') continue;
    for (const selection of definition.selectionSet.selections) {
      if (selection.kind !== Kind.FIELD) continue;
      for (const argument of selection.arguments ?? []) {
        if (argument.name.value === 'after' && argument.value.kind === Kind.VARIABLE) {
          asCursor.set(argument.value.name.value, (asCursor.get(argument.value.name.value) ?? 0) + 1);
        }
      }
    }
  }
  const uses = new Map<string, number>();
  visit(document, {
    VariableDefinition: () => false, // a declaration, not a use
    Variable: (node) => void uses.set(node.name.value, (uses.get(node.name.value) ?? 0) + 1),
  });
  known = new Set([...asCursor].filter(([name, n]) => uses.get(name) === n).map(([name]) => name));
  cursorVariablesOf.set(document, known);
  return known;
}

/** What makes two subscribers' executions of an event the same: the operation, its variables (but the cursor), and who asks. */
export const operationKey = (query: string, args: ExecutionArgs): string | undefined => {
  const context = args.contextValue as GraphqlContext | undefined;
  if (!context?.ctx) return undefined;
  const cursors = cursorVariables(args.document);
  const variables = args.variableValues && Object.fromEntries(Object.entries(args.variableValues).filter(([name]) => !cursors.has(name)));
  return JSON.stringify([query, args.operationName ?? null, variables ?? null, context.ctx.tenantId, context.ctx.actor]);
};
