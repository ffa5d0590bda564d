import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TransitionDocument } from '../generated/graphql.js';
import { prescription, uniquePatient } from '../support/fixtures.js';
import { graphql } from '../support/graphql.js';
import { outcomeCode, request } from '../support/http.js';
import { useTestApp } from '../support/use-test-app.js';

let ehr: string;
let pharmacy: string;
let admin: string;
const t = useTestApp();
beforeAll(async () => {
  [ehr, pharmacy, admin] = await Promise.all([
    t.token('tenant-a', 'ehr-backend'),
    t.token('tenant-a', 'pharmacy-backend'),
    t.token('tenant-a', 'platform-admin'),
  ]);
});

const fhir = (path: string) => `${t.url}/fhir/${path}`;
const subscription = (criteria: string, type = 'websocket') => ({
  resourceType: 'Subscription',
  status: 'requested',
  reason: 'pharmacy queue',
  criteria,
  channel: { type },
});

/** A FHIR-native websocket client: bind, then collect what arrives. */
async function bindSocket(id: string, token: string, how: 'header' | 'query' = 'header') {
  const url = `${t.url.replace('http', 'ws')}/fhir/websocket${how === 'query' ? `?access_token=${token}` : ''}`;
  const socket = new WebSocket(url, how === 'header' ? { headers: { authorization: `Bearer ${token}` } } : {});
  const messages: string[] = [];
  socket.on('message', (data) => messages.push(data.toString()));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const bind = async (subscriptionId: string) => {
    socket.send(`bind ${subscriptionId}`);
    await expect.poll(() => messages.includes(`bound ${subscriptionId}`)).toBe(true);
  };
  await bind(id);
  const pingsOf = (subscriptionId: string) => messages.filter((m) => m === `ping ${subscriptionId}`).length;
  return {
    socket,
    messages,
    pings: () => pingsOf(id),
    /**
     * A fence: binds a Subscription of its own on this socket, commits a change only it matches and
     * waits for its ping. The socket gets events in stream order, so whatever the first Subscription
     * was going to be pinged for before that change has been pinged by then.
     */
    async fence(token: string) {
      const markerPatient = uniquePatient();
      const { body: marker } = await request(fhir('Subscription'), { token, body: subscription(`MedicationRequest?patient=${markerPatient}`) });
      await bind(marker.id);
      await request(fhir('MedicationRequest'), { token, body: prescription({ patient: markerPatient }) });
      await expect.poll(() => pingsOf(marker.id), { timeout: 10_000 }).toBe(1);
    },
  };
}

describe('FHIR Subscriptions over the R4 websocket channel', () => {
  it('registers a websocket Subscription and pings a bound client for each matching change and not for others', async () => {
    const patient = uniquePatient();
    const created = await request(fhir('Subscription'), {
      token: pharmacy,
      body: subscription(`MedicationRequest?patient=Patient/${patient}&workflow-status=approved`),
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('active');
    const id = created.body.id;
    const client = await bindSocket(id, pharmacy);

    const mine = await request(fhir('MedicationRequest'), { token: ehr, body: prescription({ patient }) });
    await request(fhir('MedicationRequest'), { token: ehr, body: prescription({ patient: uniquePatient() }) });
    await graphql(t.url, TransitionDocument, { id: mine.body.id, event: 'APPROVE' }, ehr); // matches: approved
    await graphql(t.url, TransitionDocument, { id: mine.body.id, event: 'PROCESS' }, pharmacy); // no longer approved
    await expect.poll(() => client.pings(), { timeout: 10_000 }).toBe(1);
    await client.fence(ehr);
    expect(client.pings()).toBe(1);

    // The cursor of the last delivered event shows on the Subscription.
    await expect
      .poll(
        async () =>
          (await request(fhir(`Subscription/${id}`), { token: pharmacy })).body.extension?.find(
            (e: any) => e.url === 'urn:rxgate:extension:subscription-cursor',
          )?.valueString,
        { timeout: 5_000 },
      )
      .toMatch(/^\d+$/);
    client.socket.close();
  });

  it('$replay (platform-admin) delivers every matching event after a cursor again', async () => {
    const patient = uniquePatient();
    const { body: sub } = await request(fhir('Subscription'), { token: ehr, body: subscription(`MedicationRequest?patient=${patient}`) });
    const client = await bindSocket(sub.id, ehr, 'query');
    for (let i = 0; i < 3; i++) await request(fhir('MedicationRequest'), { token: ehr, body: prescription({ patient }) });
    await expect.poll(() => client.pings(), { timeout: 10_000 }).toBe(3);

    expect((await request(fhir(`Subscription/${sub.id}/$replay?from=0`), { method: 'POST', token: ehr })).status).toBe(403);
    const replay = await request(fhir(`Subscription/${sub.id}/$replay`), {
      method: 'POST',
      token: admin,
      body: { resourceType: 'Parameters', parameter: [{ name: 'from', valueString: '0' }] },
    });
    expect(replay.status).toBe(200);
    await expect.poll(() => client.pings(), { timeout: 10_000 }).toBe(6);
    const [{ n }] = await t.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM outbox WHERE event_type = 'eprescribing.subscription.replayed.v1' AND envelope #>> '{payload,subscriptionId}' = $1`,
      [sub.id],
    );
    expect(n).toBe(1);
    client.socket.close();
  });

  it('refuses rest-hook and other channels, bad criteria and the wrong persona, with a clear OperationOutcome', async () => {
    const hook = await request(fhir('Subscription'), { token: ehr, body: subscription('MedicationRequest?patient=p1', 'rest-hook') });
    expect(hook.status).toBe(422);
    expect(hook.body.issue[0]).toMatchObject({ expression: ['Subscription.channel.type'] });
    expect(hook.body.issue[0].diagnostics).toContain('websocket');
    const badParam = await request(fhir('Subscription'), { token: ehr, body: subscription('MedicationRequest?colour=blue') });
    expect(badParam.status).toBe(422);
    expect(badParam.body.issue[0].expression).toEqual(['Subscription.criteria']);
    const badType = await request(fhir('Subscription'), { token: ehr, body: subscription('Patient?name=x') });
    expect(badType.status).toBe(422);
    const persona = await request(fhir('Subscription'), { token: admin, body: subscription('Task?status=completed') });
    expect(persona.status).toBe(403);
    expect(outcomeCode(persona.body)).toBe('FORBIDDEN_WRITE_PERSONA');
  });

  it('keeps Subscriptions and their events within the tenant', async () => {
    const { body: sub } = await request(fhir('Subscription'), { token: ehr, body: subscription('MedicationDispense?status=completed') });
    const ehrB = await t.token('tenant-b', 'ehr-backend');
    expect((await request(fhir(`Subscription/${sub.id}`), { token: ehrB })).status).toBe(404);
    // Matches tenant-a's change below, were it ever handed to tenant-b.
    const patient = uniquePatient();
    const { body: subB } = await request(fhir('Subscription'), { token: ehrB, body: subscription(`MedicationRequest?patient=${patient}`) });
    const clientB = await bindSocket(subB.id, ehrB);
    const socketA = new WebSocket(`${t.url.replace('http', 'ws')}/fhir/websocket`, { headers: { authorization: `Bearer ${ehr}` } });
    const answers: string[] = [];
    socketA.on('message', (d) => answers.push(d.toString()));
    await new Promise((resolve) => socketA.once('open', resolve));
    socketA.send(`bind ${subB.id}`);
    await expect.poll(() => answers.length).toBe(1);
    expect(answers[0]).toMatch(/^error /);
    await request(fhir('MedicationRequest'), { token: ehr, body: prescription({ patient }) });
    await clientB.fence(ehrB);
    expect(clientB.pings()).toBe(0);
    socketA.close();
    clientB.socket.close();
    const anonymous = new WebSocket(`${t.url.replace('http', 'ws')}/fhir/websocket`);
    const status = await new Promise((resolve) => anonymous.once('unexpected-response', (_req, res) => resolve(res.statusCode)));
    expect(status).toBe(401);
  });
});
