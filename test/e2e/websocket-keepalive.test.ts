import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { useTestApp } from '../support/use-test-app.js';

/**
 * Keepalive of the websockets (WS_KEEPALIVE_MS), GraphQL and FHIR: every socket is pinged, in slices
 * that let other work run between them, and a peer that stopped answering is dropped.
 */
// A peer must answer within one interval: 500 ms leaves a loaded test machine room to answer in time.
const t = useTestApp({ env: { WS_KEEPALIVE_MS: '500' } });
let ehr: string;
beforeAll(async () => {
  ehr = await t.token('tenant-a', 'ehr-backend');
});

/** A graphql-ws connection, acknowledged, counting the pings it gets. */
async function connection(options: { autoPong?: boolean } = {}) {
  const socket = new WebSocket(`${t.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', { autoPong: options.autoPong ?? true });
  const state = { socket, pings: 0, closed: undefined as number | undefined };
  socket.on('ping', () => state.pings++);
  socket.on('close', (code) => (state.closed = code));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${ehr}` } })));
    socket.once('message', (data) => (JSON.parse(String(data)).type === 'connection_ack' ? resolve() : reject(new Error(String(data)))));
    socket.once('error', reject);
  });
  return state;
}

/** A FHIR websocket channel connection (authorised at the upgrade), counting the pings it gets. */
async function fhirChannel(options: { autoPong: boolean }) {
  const socket = new WebSocket(`${t.url.replace('http', 'ws')}/fhir/websocket?access_token=${ehr}`, { autoPong: options.autoPong });
  const state = { socket, pings: 0, closed: undefined as number | undefined };
  socket.on('ping', () => state.pings++);
  socket.on('close', (code) => (state.closed = code));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return state;
}

describe('websocket keepalive', () => {
  const opened: Array<Awaited<ReturnType<typeof connection>>> = [];
  afterAll(() => opened.forEach(({ socket }) => socket.terminate()));

  it('pings every socket, past the first slice of 500, and keeps each that answers', async () => {
    for (let batch = 0; batch < 6; batch++) opened.push(...(await Promise.all(Array.from({ length: 100 }, () => connection()))));
    await expect.poll(() => opened.filter((c) => c.pings < 2).length, { timeout: 20_000 }).toBe(0);
    expect(opened.filter((c) => c.closed !== undefined)).toEqual([]);
    // Answering 600 pings every interval is this process's work too: done with them before the next test.
    opened.splice(0).forEach(({ socket }) => socket.terminate());
  });

  it('drops a peer that stopped answering pings, and only that one', async () => {
    const [silent, answering] = await Promise.all([connection({ autoPong: false }), connection()]);
    opened.push(silent, answering);
    await expect.poll(() => silent.closed, { timeout: 10_000 }).toBe(1006);
    expect(answering.closed).toBeUndefined();
    expect(answering.pings).toBeGreaterThan(0);
  });

  it('drops a FHIR websocket channel peer that stopped answering pings, and only that one', async () => {
    const [silent, answering] = await Promise.all([fhirChannel({ autoPong: false }), fhirChannel({ autoPong: true })]);
    opened.push(silent, answering);
    await expect.poll(() => silent.closed, { timeout: 10_000 }).toBe(1006);
    expect(answering.closed).toBeUndefined();
    expect(answering.pings).toBeGreaterThan(0);
  });
});
