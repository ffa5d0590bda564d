import { createRequire } from 'node:module';
import type { GatewayExecutor, GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { afterEach, describe, expect, it, vi } from 'vitest';

// graphql-jit loads graphql's CommonJS build (Node's resolution); the schema must come from the same build.
const graphql = createRequire(import.meta.url)('graphql') as typeof import('graphql');
const jit = vi.hoisted(() => ({ compiles: 0 }));
vi.mock('graphql-jit', async (importOriginal) => {
  const original = await importOriginal<typeof import('graphql-jit')>();
  return { ...original, compileQuery: (...args: Parameters<typeof original.compileQuery>) => (jit.compiles++, original.compileQuery(...args)) };
});
const { compiledExecution } = await import('../../src/transport/graphql/compiled-execution.js');

const schema = new graphql.GraphQLSchema({
  query: new graphql.GraphQLObjectType({
    name: 'Query',
    fields: {
      hello: {
        type: graphql.GraphQLString,
        args: { name: { type: graphql.GraphQLString } },
        resolve: (_root, args: { name?: string }) => `hello ${args.name ?? 'you'}`,
      },
      fails: { type: graphql.GraphQLString, resolve: () => Promise.reject(Object.assign(new Error('no'), { code: 'X' })) },
    },
  }),
});

async function executorOf(): Promise<GatewayExecutor> {
  const gateway = compiledExecution(schema);
  gateway.onSchemaLoadOrUpdate(() => undefined);
  const { executor } = await gateway.load({ apollo: {} });
  return executor!;
}

const run = (executor: GatewayExecutor, document: import('graphql').DocumentNode, operationName?: string, variables?: Record<string, unknown>) =>
  executor({ document, context: {}, request: { operationName, variables } } as unknown as GatewayGraphQLRequestContext);

describe('compiled execution (graphql-jit behind Apollo)', () => {
  afterEach(() => {
    jit.compiles = 0;
  });

  it('compiles a document once and answers as graphql-js does, variables included', async () => {
    const executor = await executorOf();
    const document = graphql.parse('query Q($n: String) { hello(name: $n) }');
    expect(await run(executor, document, undefined, { n: 'Ada' })).toEqual({ data: { hello: 'hello Ada' } });
    expect(await run(executor, document, undefined, { n: 'Bob' })).toEqual({ data: { hello: 'hello Bob' } });
    expect(jit.compiles).toBe(1);
  });

  it('answers a resolver error as a graphql-js error: path, locations, the original error and extensions', async () => {
    const result = await run(await executorOf(), graphql.parse('{ fails }'));
    const [error] = result.errors ?? [];
    expect(error).toBeInstanceOf(graphql.GraphQLError);
    expect(error.path).toEqual(['fails']);
    expect(error.locations).toEqual([{ line: 1, column: 3 }]);
    expect((error.originalError as Error & { code: string }).code).toBe('X');
    expect(error.extensions).toEqual({});
  });

  it('answers an unknown operation name with graphql-js’s message, without keeping anything for it', async () => {
    const executor = await executorOf();
    const document = graphql.parse('query A { hello } query B { hello }');
    for (const name of ['C', 'D']) expect((await run(executor, document, name)).errors?.[0]?.message).toBe(`Unknown operation named "${name}".`);
    expect(await run(executor, document, 'B')).toEqual({ data: { hello: 'hello you' } });
    expect(await run(executor, document, 'B')).toEqual({ data: { hello: 'hello you' } });
    expect(jit.compiles).toBe(3);
  });

  it('keeps compiled queries for the 500 documents used last, and compiles an evicted one again', async () => {
    const executor = await executorOf();
    const first = graphql.parse('{ hello }');
    await run(executor, first);
    for (let i = 0; i < 500; i++) await run(executor, graphql.parse(`{ hello(name: "${i}") }`));
    expect(jit.compiles).toBe(501);
    await run(executor, first);
    expect(jit.compiles).toBe(502);
  });
});
