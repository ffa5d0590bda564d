import { createHash } from 'node:crypto';
import { composeServices } from '@apollo/composition';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prescription, uniquePatient } from '../support/fixtures.js';
import { rawGraphql } from '../support/graphql.js';
import { request } from '../support/http.js';
import { startTestApp } from '../support/test-app.js';
import { useTestApp } from '../support/use-test-app.js';
import { prescriptionIn } from '../support/workflow.js';

const t = useTestApp();
let ehr: string;
let pharmacy: string;
const stops: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  [ehr, pharmacy] = await Promise.all([t.token('tenant-a', 'ehr-backend'), t.token('tenant-a', 'pharmacy-backend')]);
});
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

const FED = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key"])';

/** A stub subgraph of the supergraph, as another team would own it. */
async function stubSubgraph(typeDefs: string, resolvers: Record<string, unknown>) {
  const server = new ApolloServer({ schema: buildSubgraphSchema([{ typeDefs: parse(typeDefs), resolvers: resolvers as never }]) });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  stops.push(() => server.stop());
  return { typeDefs: parse(typeDefs), url };
}

async function subgraphSdl(): Promise<string> {
  const response = await rawGraphql<{ _service: { sdl: string } }>(t.url, { query: '{ _service { sdl } }' }, ehr);
  return response.data!._service.sdl;
}

/** Sum of SQL statements issued by requests of one GraphQL operation, from /metrics. */
async function statementsOf(operation: string): Promise<number> {
  const text = (await request(`${t.url}/metrics`)).body as string;
  const match = new RegExp(`rxgate_db_statements_per_request_sum\\{route="graphql:${operation}"\\} (\\d+)`).exec(text);
  return match ? Number(match[1]) : 0;
}

describe('the supergraph', () => {
  it('composes with patients and practitioners subgraphs and answers patient → prescriptions → pharmacy and dispenses through a gateway', async () => {
    const patient = uniquePatient();
    const id = await prescriptionIn(t.url, 'dispensed', { ehr, pharmacy }, patient);
    await request(`${t.url}/fhir/MedicationRequest`, { token: await t.token('tenant-b', 'ehr-backend'), body: prescription({ patient }) }); // another tenant's

    const patients = await stubSubgraph(`${FED}\ntype Query { patient(id: ID!): Patient }\ntype Patient @key(fields: "id") { id: ID! name: String }`, {
      Query: { patient: (_: unknown, { id: pid }: { id: string }) => ({ id: pid, name: `Patient ${pid}` }) },
      Patient: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, name: `Patient ${ref.id}` }) },
    });
    const practitioners = await stubSubgraph(
      `${FED}\ntype Query { practitioner(id: ID!): Practitioner }\ntype Practitioner @key(fields: "id") { id: ID! name: String }`,
      { Query: { practitioner: (_: unknown, { id: pid }: { id: string }) => ({ id: pid, name: `Dr ${pid}` }) } },
    );
    const composed = composeServices([
      { name: 'rxgate', typeDefs: parse(await subgraphSdl()), url: `${t.url}/graphql` },
      { name: 'patients', ...patients },
      { name: 'practitioners', ...practitioners },
    ]);
    expect(composed.errors ?? []).toEqual([]);
    const hints = (composed.hints ?? []).map((h) => `${h.definition.code}: ${h.message}`);
    expect(hints.filter((h) => !h.startsWith('INCONSISTENT_DESCRIPTION'))).toEqual([]);

    const gateway = new ApolloServer({
      gateway: new ApolloGateway({
        supergraphSdl: composed.supergraphSdl!,
        buildService: ({ url }) =>
          new RemoteGraphQLDataSource({
            url,
            willSendRequest: ({ request: outgoing, context }) =>
              outgoing.http!.headers.set('authorization', (context as { authorization?: string }).authorization ?? ''),
          }),
      }),
    });
    const { url: gatewayUrl } = await startStandaloneServer(gateway, {
      listen: { port: 0, host: '127.0.0.1' },
      context: async ({ req }) => ({ authorization: req.headers.authorization }),
    });
    stops.push(() => gateway.stop());

    const query = `query Patient($id: ID!) { patient(id: $id) { name medicationRequests { totalCount edges { node { id workflowStatus pharmacy { name } dispenses { status } } } } } }`;
    const response = await fetch(gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ehr}` },
      body: JSON.stringify({ query, variables: { id: patient } }),
    });
    const body = (await response.json()) as any;
    expect(body.errors).toBeUndefined();
    expect(body.data.patient).toEqual({
      name: `Patient ${patient}`,
      medicationRequests: {
        totalCount: 1,
        edges: [{ node: { id, workflowStatus: 'DISPENSED', pharmacy: { name: 'A1 Pharmacy' }, dispenses: [{ status: 'completed' }] } }],
      },
    });
    const requester = (await request(`${t.url}/fhir/MedicationRequest/${id}`, { token: ehr })).body.requester?.reference?.split('/')[1];
    const byPractitioner = await fetch(gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ehr}` },
      body: JSON.stringify({ query: `{ practitioner(id: "${requester}") { name medicationRequests(first: 200) { totalCount } } }` }),
    });
    expect(((await byPractitioner.json()) as any).data.practitioner.medicationRequests.totalCount).toBeGreaterThanOrEqual(1);
  });

  it('_entities resolves Patient.medicationRequests within the caller’s tenant only', async () => {
    const patient = uniquePatient();
    await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription({ patient }) });
    const query = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Patient { medicationRequests { totalCount } } } }';
    const own = await rawGraphql(t.url, { query, variables: { r: [{ __typename: 'Patient', id: patient }] } }, ehr);
    expect(own.data._entities).toEqual([{ medicationRequests: { totalCount: 1 } }]);
    const other = await rawGraphql(t.url, { query, variables: { r: [{ __typename: 'Patient', id: patient }] } }, await t.token('tenant-b', 'ehr-backend'));
    expect(other.data._entities).toEqual([{ medicationRequests: { totalCount: 0 } }]);
  });
});

describe('batching', () => {
  it('a page with pharmacy, dispenses and transitions costs the same number of statements for 10 and 100 prescriptions', async () => {
    const patient = uniquePatient();
    for (let i = 0; i < 100; i += 10)
      await Promise.all(
        Array.from({ length: 10 }, (_, j) => request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription({ patient, index: i + j }) })),
      );
    await prescriptionIn(t.url, 'dispensed', { ehr, pharmacy }, patient);
    const pageQuery = (name: string, first: number) =>
      `query ${name} { medicationRequests(filter: { patient: "${patient}" }, first: ${first}) { edges { node { id pharmacy { name } dispenses { id status } transitions { event to } } } } }`;
    const measure = async (name: string, first: number) => {
      await rawGraphql(t.url, { query: pageQuery(`${name}Warm`, first), operationName: `${name}Warm` }, ehr); // directory and tenant caches warm
      const before = await statementsOf(name);
      const response = await rawGraphql(t.url, { query: pageQuery(name, first), operationName: name }, ehr);
      expect(response.errors).toBeUndefined();
      expect(response.data.medicationRequests.edges).toHaveLength(first);
      return (await statementsOf(name)) - before;
    };
    const ten = await measure('PageOfTen', 10);
    const hundred = await measure('PageOfHundred', 100);
    expect(hundred).toBe(ten);
    // The page with its fills and total, the dispenses, the transitions: one statement each (a read
    // enters its tenant in the same round trip); the pharmacies come from the directory's cache.
    expect(ten).toBe(3);
  });
});

describe('bounds', () => {
  it('refuses a query 50 levels deep, one with 1,000 aliases and one asking 10,000 items with QUERY_TOO_COMPLEX, before touching the database', async () => {
    await rawGraphql(t.url, { query: '{ __typename }' }, ehr); // tenant cache warm
    let deep = 'id';
    for (let i = 0; i < 25; i++) deep = `dispenses { prescription { ${deep} } }`;
    const cases: Array<[string, string]> = [
      ['Deep', `query Deep { medicationRequest(id: "${crypto.randomUUID()}") { ${deep} } }`],
      ['Aliases', `query Aliases { ${Array.from({ length: 1000 }, (_, i) => `a${i}: __typename`).join(' ')} }`],
      ['TenThousand', 'query TenThousand { medicationRequests(first: 10000) { edges { node { id workflowStatus } } } }'],
    ];
    for (const [name, query] of cases) {
      const before = await statementsOf(name);
      const response = await rawGraphql(t.url, { query, operationName: name }, ehr);
      expect(response.status, name).toBe(400);
      expect(response.errors![0].extensions!.code, name).toBe('QUERY_TOO_COMPLEX');
      expect(await statementsOf(name), name).toBe(before);
    }
    const tokens = await rawGraphql(t.url, { query: `{ ${'__typename '.repeat(6000)} }` }, ehr);
    expect(tokens.status).toBe(400);
    expect(tokens.errors![0].extensions!.code).toBe('QUERY_TOO_COMPLEX');
    const batch = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ehr}` },
      body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    });
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as any).errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('serves automatic persisted queries: a hash alone once the server has seen the query', async () => {
    const query = '{ pharmacies(first: 1) { id } }';
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    const unknown = await rawGraphql(t.url, { extensions }, ehr);
    expect(unknown.errors![0].extensions!.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await rawGraphql(t.url, { query, extensions }, ehr)).data).toEqual({ pharmacies: [{ id: expect.any(String) }] });
    expect((await rawGraphql(t.url, { extensions }, ehr)).data).toEqual({ pharmacies: [{ id: expect.any(String) }] });
  });
});

describe('schema hygiene and production mode', () => {
  it('documents every type, field and argument (the descriptions are the API documentation)', async () => {
    const { buildGraphqlSchema } = await import('../../src/transport/graphql/schema.js');
    const schema = await buildGraphqlSchema();
    const missing: string[] = [];
    const federation = /^(_|link__|federation__|Query$|Mutation$|Subscription$)/;
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || federation.test(type.name) || ['String', 'Int', 'Float', 'Boolean', 'ID', 'DateTimeISO', 'JSON'].includes(type.name))
        continue;
      if (!type.description) missing.push(type.name);
      // Duck-typed: the subgraph schema comes from graphql's CommonJS build (another realm than this file's).
      if ('getFields' in type) {
        for (const field of Object.values(
          (
            type as { getFields(): Record<string, { name: string; description?: string | null; args?: Array<{ name: string; description?: string | null }> }> }
          ).getFields(),
        )) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of field.args ?? [])
            if (!arg.description && !['id', 'input', 'event'].includes(arg.name)) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
    }
    for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
      for (const field of Object.values(root?.getFields() ?? {}))
        if (!field.name.startsWith('_') && !field.description) missing.push(`${root!.name}.${field.name}`);
    }
    expect(missing).toEqual([]);
  });

  it('turns introspection and the landing page off in production, and never shows internals', async () => {
    const prod = await startTestApp({ env: { NODE_ENV: 'production', AUTH_JWT_SECRET: 'production-test-secret', SEED_DEV_DATA: 'true' } });
    try {
      const { SignJWT } = await import('jose');
      const token = await new SignJWT({ tenant: 'tenant-a', persona: 'ehr-backend' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('p')
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode('production-test-secret'));
      const introspection = await rawGraphql(prod.url, { query: '{ __schema { types { name } } }' }, token);
      expect(introspection.status).toBe(400);
      expect(introspection.errors![0].extensions!.code).toBe('BAD_REQUEST');
      const landing = await fetch(`${prod.url}/graphql`, { headers: { accept: 'text/html', authorization: `Bearer ${token}` } });
      expect(await landing.text()).not.toContain('<html');
      const devToken = await t.token('tenant-a', 'ehr-backend'); // signed with the development secret
      expect((await rawGraphql(prod.url, { query: '{ __typename }' }, devToken)).status).toBe(401);
    } finally {
      await prod.close();
    }
  });
});
