import { createRequire } from 'node:module';
import type { ExecutionArgs, ExecutionResult } from 'graphql';
import type { GraphqlContext } from './context.js';

// graphql's CommonJS build, the one the subgraph schema was built with (see bounds.ts).
const graphqlCjs = createRequire(import.meta.url)('graphql') as typeof import('graphql');

const LOADS = new Set<PropertyKey>(['load', 'loadMany']);

/**
 * graphql-ws's `subscribe`, executing each event once per distinct operation instead of once per
 * subscriber: subscribers of the same document, variables, tenant and actor get the same result for
 * the same event (the event object the fan-out hands to all of them). An execution that read through
 * the context's loaders is not shared — those reads are the subscriber's own (audited as its reads) —
 * and every subscriber then executes for itself, as before.
 */
export function createSharedSubscribe(keyOfDocument: (args: ExecutionArgs) => string | undefined) {
  /** Per event, per operation key: the first subscriber's execution, and whether it read (then it is its own). */
  const results = new WeakMap<object, Map<string, Promise<{ result: ExecutionResult; read: boolean }>>>();

  const executeOnce = async (args: ExecutionArgs, payload: unknown, key: string | undefined): Promise<ExecutionResult> => {
    if (key === undefined || typeof payload !== 'object' || payload === null) return graphqlCjs.execute({ ...args, rootValue: payload });
    let byKey = results.get(payload);
    if (!byKey) results.set(payload, (byKey = new Map()));
    const known = byKey.get(key);
    if (known) {
      const first = await known;
      return first.read ? graphqlCjs.execute({ ...args, rootValue: payload }) : first.result;
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
    const running = Promise.resolve(graphqlCjs.execute({ ...args, contextValue: { ...context, loaders }, rootValue: payload })).then((result) => ({
      result,
      read,
    }));
    byKey.set(key, running);
    return (await running).result;
  };

  return async (args: ExecutionArgs): Promise<AsyncIterable<ExecutionResult> | ExecutionResult> => {
    const stream = await graphqlCjs.createSourceEventStream(args);
    if (!(Symbol.asyncIterator in Object(stream))) return stream as ExecutionResult;
    const key = keyOfDocument(args);
    const source = (stream as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    const mapped: AsyncGenerator<ExecutionResult, void, unknown> = {
      [Symbol.asyncIterator]: () => mapped,
      async next() {
        const item = await source.next();
        if (item.done) return { value: undefined, done: true };
        return { value: await executeOnce(args, item.value, key), done: false };
      },
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

/** What makes two subscribers' executions of an event the same: the operation, its variables, and who asks. */
export const operationKey = (query: string, args: ExecutionArgs): string | undefined => {
  const context = args.contextValue as GraphqlContext | undefined;
  if (!context?.ctx) return undefined;
  return JSON.stringify([query, args.operationName ?? null, args.variableValues ?? null, context.ctx.tenantId, context.ctx.actor]);
};
