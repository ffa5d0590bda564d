import { type Client, createClient } from 'graphql-ws';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { createLogger } from '../../src/logger.js';
import { prescription, uniquePatient, websocketSubscription } from '../support/fixtures.js';
import { rawGraphql } from '../support/graphql.js';
import { request } from '../support/http.js';
import { useTestApp } from '../support/use-test-app.js';

// Issue 13, items 4 and 7: defects seen through the websocket doors, each driven through that door.

const logLines: Array<{ level: number; msg?: string }> = [];
const t = useTestApp({ logger: createLogger({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line)) }) });
let ehr: string;
let admin: string;
beforeAll(async () => {
  [ehr, admin] = await Promise.all([t.token('tenant-a', 'ehr-backend'), t.token('tenant-a', 'platform-admin')]);
});
afterEach(() => vi.restoreAllMocks());

const fhir = (path: string) => `${t.url}/fhir/${path}`;
const errorLogs = () => logLines.filter((line) => line.level >= 50);

/** A FHIR-native websocket client (the R4 websocket channel) that binds every Subscription given. */
async function fhirSocket(token: string, ids: string[]) {
  const socket = new WebSocket(`${t.url.replace('http', 'ws')}/fhir/websocket`, { headers: { authorization: `Bearer ${token}` } });
  const messages: string[] = [];
  socket.on('message', (data) => messages.push(data.toString()));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  for (const id of ids) socket.send(`bind ${id}`);
  await expect.poll(() => ids.every((id) => messages.includes(`bound ${id}`))).toBe(true);
  return { socket, messages, pings: (id: string) => messages.filter((m) => m === `ping ${id}`).length };
}

async function subscribe(criteria: string): Promise<string> {
  const created = await request(fhir('Subscription'), { token: ehr, body: websocketSubscription(criteria) });
  expect(created.status).toBe(201);
  return created.body.id;
}

const replayByQuery = (id: string, from: string) => request(fhir(`Subscription/${id}/$replay?from=${from}`), { method: 'POST', token: admin });
const replayByParameters = (id: string, from: string) =>
  request(fhir(`Subscription/${id}/$replay`), {
    method: 'POST',
    token: admin,
    body: { resourceType: 'Parameters', parameter: [{ name: 'from', valueString: from }] },
  });

describe('FHIR $replay on one bound websocket (issue 13 item 4)', () => {
  it('delivers a ?from= replay, then a Parameters replay, then ends a replay that matches nothing, one after the other on one socket', async () => {
    const [patientA, patientB] = [uniquePatient(), uniquePatient()];
    const a = await subscribe(`MedicationRequest?patient=Patient/${patientA}`);
    const b = await subscribe(`MedicationRequest?patient=Patient/${patientB}`);
    const none = await subscribe(`MedicationRequest?patient=Patient/${uniquePatient()}`); // nothing ever matches
    const client = await fhirSocket(ehr, [a, b, none]);
    for (const patient of [patientA, patientA, patientB])
      expect((await request(fhir('MedicationRequest'), { token: ehr, body: prescription({ patient }) })).status).toBe(201);
    await expect.poll(() => [client.pings(a), client.pings(b)], { timeout: 10_000 }).toEqual([2, 1]);

    expect((await replayByQuery(a, '0')).status).toBe(200);
    await expect.poll(() => client.pings(a), { timeout: 10_000 }).toBe(4);
    // The second replay on the same socket is delivered without any new change happening.
    expect((await replayByParameters(a, '0')).status).toBe(200);
    await expect.poll(() => client.pings(a), { timeout: 10_000 }).toBe(6);
    // A replay that matches nothing ends too: the replay after it (of another Subscription, on the
    // same socket, so handled after it) arrives — and is the fence: nothing more came for `a`.
    expect((await replayByQuery(none, '0')).status).toBe(200);
    expect((await replayByParameters(b, '0')).status).toBe(200);
    await expect.poll(() => client.pings(b), { timeout: 10_000 }).toBe(2);
    expect([client.pings(a), client.pings(none)]).toEqual([6, 0]);
    expect(client.messages.filter((m) => m.startsWith('error'))).toEqual([]);
    client.socket.close();
  });
});

/** A graphql-ws client over a real websocket; `first` answers what one operation ended with. */
function graphqlWsClient(token: string, headers: Record<string, string> = {}) {
  let closeCode: number | undefined;
  const client: Client = createClient({
    url: `${t.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: class extends WebSocket {
      constructor(url: string, protocols: string | string[]) {
        super(url, protocols, { headers });
      }
    },
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
    on: { closed: (event) => (closeCode = (event as { code: number }).code) },
  });
  return {
    closeCode: () => closeCode,
    /** Resolves with the errors of an operation that fails, or with its first result. */
    first(operation: {
      query: string;
      operationName?: string;
      variables?: Record<string, unknown>;
    }): Promise<{ errors?: unknown[]; data?: unknown; closed?: number }> {
      return new Promise((resolve) => {
        const dispose = client.subscribe(operation, {
          next: (value) => {
            dispose();
            resolve(value.errors ? { errors: value.errors as unknown[] } : { data: value.data });
          },
          error: (error) => resolve(Array.isArray(error) ? { errors: error } : { closed: (error as { code?: number }).code }),
          complete: () => undefined,
        });
      });
    },
    dispose: () => client.dispose(),
  };
}

describe('GraphQL documents that do not parse or validate, over graphql-ws (issue 13 item 7)', () => {
  const DOCUMENTS: Record<string, { operation: { query: string; operationName?: string; variables?: Record<string, unknown> }; code: string }> = {
    'a typo in a field name': { operation: { query: 'subscription { prescriptionEvent { sequence } }' }, code: 'BAD_REQUEST' },
    'a syntax error': { operation: { query: 'subscription { prescriptionEvents { sequence }' }, code: 'BAD_REQUEST' },
    'an unknown operation name': {
      operation: { query: 'subscription A { prescriptionEvents { sequence } } subscription B { prescriptionEvents { eventId } }', operationName: 'C' },
      code: 'BAD_REQUEST',
    },
    'two operations and no name': {
      operation: { query: 'subscription A { prescriptionEvents { sequence } } subscription B { prescriptionEvents { eventId } }' },
      code: 'BAD_REQUEST',
    },
    'a variable of the wrong type': {
      operation: { query: 'subscription ($after: String) { prescriptionEvents(after: $after) { sequence } }', variables: { after: { not: 'a string' } } },
      code: 'BAD_REQUEST',
    },
    'a document over the token bound': {
      operation: { query: `subscription { prescriptionEvents { ${'sequence '.repeat(6_000)} } }` },
      code: 'QUERY_TOO_COMPLEX',
    },
    'a document over the alias bound': {
      operation: { query: `subscription { prescriptionEvents { ${Array.from({ length: 31 }, (_, i) => `a${i}: sequence`).join(' ')} } }` },
      code: 'QUERY_TOO_COMPLEX',
    },
  };

  it.each(Object.keys(DOCUMENTS))('%s answers the errors HTTP answers, keeps the socket open and logs no error', async (name) => {
    const { operation, code } = DOCUMENTS[name];
    const consoleError = vi.spyOn(console, 'error');
    const errorsBefore = errorLogs().length;

    const http = await rawGraphql(t.url, operation, ehr);
    expect(http.status).toBe(400);
    expect(http.errors?.map((e) => e.extensions?.code)).toEqual(http.errors?.map(() => code));

    const client = graphqlWsClient(ehr);
    try {
      const answer = await client.first(operation);
      expect(answer.errors?.length).toBeGreaterThan(0);
      expect(answer).toEqual({ errors: http.errors });
      // The connection is still usable: a valid operation on it runs.
      expect(await client.first({ query: '{ __typename }' })).toEqual({ data: { __typename: 'Query' } });
      expect(client.closeCode()).toBeUndefined();
    } finally {
      await client.dispose();
    }
    expect(errorLogs().slice(errorsBefore)).toEqual([]);
    expect(consoleError).not.toHaveBeenCalled();
  });
});

describe('an unexpected error over graphql-ws (issue 13 item 7)', () => {
  it('is INTERNAL with the correlation id to quote, the one the upgrade answered and the log line carries', async () => {
    // A real database failure: the write of this one prescription breaks a constraint.
    await t.sql(
      `ALTER TABLE medication_requests ADD CONSTRAINT ws_internal_probe CHECK (resource->'subject'->>'display' IS DISTINCT FROM 'WS-INTERNAL-PROBE') NOT VALID`,
    );
    const upgrade = await new Promise<string | undefined>((resolve, reject) => {
      const socket = new WebSocket(`${t.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', { headers: { 'x-correlation-id': 'ws-upgrade-1' } });
      socket.once('upgrade', (response) => resolve(response.headers['x-correlation-id'] as string | undefined));
      socket.once('open', () => socket.close());
      socket.once('error', reject);
    });
    expect(upgrade).toBe('ws-upgrade-1');

    const client = graphqlWsClient(ehr, { 'x-correlation-id': 'ws-internal-1' });
    const input = {
      subject: { reference: `Patient/${uniquePatient()}`, display: 'WS-INTERNAL-PROBE' },
      medication: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '314076', display: 'lisinopril 10 MG Oral Tablet' }] },
      authoredOn: '2026-11-20',
      dispenseRequest: { performer: { reference: 'Organization/FM664' }, quantity: { value: 30, unit: 'tablet' } },
    };
    try {
      const answer = await client.first({
        query: 'mutation Create($input: MedicationRequestInput!) { createMedicationRequest(input: $input) { id } }',
        variables: { input },
      });
      expect(answer.errors).toEqual([
        expect.objectContaining({ message: expect.stringMatching(/correlation id/), extensions: { code: 'INTERNAL', correlationId: 'ws-internal-1' } }),
      ]);
    } finally {
      await client.dispose();
    }
    expect(logLines.filter((line) => line.level >= 50 && (line as { reqId?: string }).reqId === 'ws-internal-1')).toHaveLength(1);
  });
});

describe('the FHIR websocket upgrade', () => {
  it('answers X-Correlation-Id like every response: on the 101 and on a refusal', async () => {
    const upgrade = (headers: Record<string, string>) =>
      new Promise<{ status: number; correlationId: unknown }>((resolve, reject) => {
        const socket = new WebSocket(`${t.url.replace('http', 'ws')}/fhir/websocket`, { headers });
        socket.once('upgrade', (response) => {
          socket.once('open', () => socket.close());
          resolve({ status: 101, correlationId: response.headers['x-correlation-id'] });
        });
        socket.once('unexpected-response', (_request, response) => {
          response.resume();
          resolve({ status: response.statusCode!, correlationId: response.headers['x-correlation-id'] });
        });
        socket.once('error', reject);
      });
    expect(await upgrade({ authorization: `Bearer ${ehr}`, 'x-correlation-id': 'fhir-ws-1' })).toEqual({ status: 101, correlationId: 'fhir-ws-1' });
    expect(await upgrade({ authorization: 'Bearer nope', 'x-correlation-id': 'fhir-ws-2' })).toEqual({ status: 401, correlationId: 'fhir-ws-2' });
    expect(await upgrade({ authorization: `Bearer ${ehr}` })).toEqual({ status: 101, correlationId: expect.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/) });
  });
});
