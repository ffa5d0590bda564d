import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { rawGraphql } from '../support/graphql.js';
import { outcomeCode, request } from '../support/http.js';
import { useTestApp } from '../support/use-test-app.js';

// Issue 14: `X-Tenant-Id` is read by one rule on every door (HTTP FHIR and GraphQL, graphql-ws,
// the FHIR websocket): every name given must be the token's tenant; repeating it is harmless.

let token: string;
const t = useTestApp();
beforeAll(async () => {
  token = await t.token('tenant-a', 'ehr-backend');
});

type Outcome = 'accepted' | 'TENANT_ISOLATION_VIOLATION' | string;
const ws = () => t.url.replace('http', 'ws');

/** Opens a graphql-transport-ws connection: acknowledged, or the reason it was closed with (4403 expected). */
async function graphqlWs(headers: Record<string, string | string[]>, connectionParams: Record<string, unknown> = {}): Promise<Outcome> {
  const socket = new WebSocket(`${ws()}/graphql`, 'graphql-transport-ws', { headers });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}`, ...connectionParams } }));
  return new Promise((resolve) => {
    socket.on('message', (data) => {
      if (JSON.parse(data.toString()).type !== 'connection_ack') return;
      socket.close();
      resolve('accepted');
    });
    socket.once('close', (code, reason) => resolve(`${code} ${reason.toString()}`.replace(/^4403 /, '')));
  });
}

/** Opens /fhir/websocket: accepted (101), or the contract code of the refusal. */
async function fhirWs(headers: Record<string, string | string[]>): Promise<Outcome> {
  const socket = new WebSocket(`${ws()}/fhir/websocket`, { headers: { authorization: `Bearer ${token}`, ...headers } });
  return new Promise((resolve) => {
    socket.once('open', () => {
      socket.close();
      resolve('accepted');
    });
    socket.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve(`${response.statusCode === 403 ? '' : `${response.statusCode} `}${outcomeCode(JSON.parse(text))}`));
    });
  });
}

async function fhirHttp(value: string): Promise<Outcome> {
  const response = await request(`${t.url}/fhir/MedicationRequest?_count=1`, { token, headers: { 'x-tenant-id': value } });
  return response.status === 200 ? 'accepted' : `${response.status === 403 ? '' : `${response.status} `}${outcomeCode(response.body)}`;
}

async function graphqlHttp(value: string): Promise<Outcome> {
  const response = await rawGraphql(t.url, { query: '{ pharmacies(first: 1) { id } }' }, token, { 'x-tenant-id': value });
  return response.status === 200 && !response.errors
    ? 'accepted'
    : `${response.status === 403 ? '' : `${response.status} `}${response.errors?.[0]?.extensions?.code}`;
}

// What each value of the header means, the same on every door.
const HEADER_VALUES: Array<[string, string | string[], Outcome]> = [
  ["the token's tenant", 'tenant-a', 'accepted'],
  ["the token's tenant, repeated in one line", 'tenant-a, tenant-a', 'accepted'],
  ["the token's tenant, on two lines", ['tenant-a', 'tenant-a'], 'accepted'],
  ['another tenant', 'tenant-b', 'TENANT_ISOLATION_VIOLATION'],
  ["the token's tenant and another", 'tenant-a, tenant-b', 'TENANT_ISOLATION_VIOLATION'],
  ["the token's tenant and another, on two lines", ['tenant-a', 'tenant-b'], 'TENANT_ISOLATION_VIOLATION'],
  ['nothing (an empty value)', '', 'TENANT_ISOLATION_VIOLATION'],
];

describe('X-Tenant-Id, one rule on every door', () => {
  it.each(HEADER_VALUES)('%s (%j): %s on HTTP FHIR and GraphQL, graphql-ws and the FHIR websocket', async (_name, value, expected) => {
    // fetch sends a repeated header as one line joined by ", ", which is what HTTP makes of two lines (RFC 9110 §5.3).
    const oneLine = Array.isArray(value) ? value.join(', ') : value;
    expect({
      'FHIR over HTTP': await fhirHttp(oneLine),
      'GraphQL over HTTP': await graphqlHttp(oneLine),
      'graphql-ws (header)': await graphqlWs({ 'x-tenant-id': value }),
      'graphql-ws (connectionParams)': await graphqlWs({}, { 'X-Tenant-Id': value }),
      'FHIR websocket': await fhirWs({ 'x-tenant-id': value }),
    }).toEqual({
      'FHIR over HTTP': expected,
      'GraphQL over HTTP': expected,
      'graphql-ws (header)': expected,
      'graphql-ws (connectionParams)': expected,
      'FHIR websocket': expected,
    });
  });

  it('graphql-ws: connectionParams and the upgrade header must agree; a name that is not text names no tenant', async () => {
    expect(await graphqlWs({ 'x-tenant-id': 'tenant-a' }, { 'x-tenant-id': ' tenant-a ' })).toBe('accepted');
    expect(await graphqlWs({ 'x-tenant-id': 'tenant-a' }, { 'x-tenant-id': 'tenant-b' })).toBe('TENANT_ISOLATION_VIOLATION');
    expect(await graphqlWs({}, { 'x-tenant-id': 7 })).toBe('TENANT_ISOLATION_VIOLATION');
    expect(await graphqlWs({}, { 'x-tenant-id': { id: 'tenant-a' } })).toBe('TENANT_ISOLATION_VIOLATION');
    expect(await graphqlWs({}, { 'x-tenant-id': null })).toBe('accepted'); // names nothing
  });
});
