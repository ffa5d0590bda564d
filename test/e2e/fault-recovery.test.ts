import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pgDriver from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTenantTransaction } from '../../src/adapters/db/unit-of-work.js';
import { type App, startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { DomainError } from '../../src/domain/index.js';
import { TransitionDocument } from '../generated/graphql.js';
import { prescription, uniquePatient } from '../support/fixtures.js';
import { graphql, rawGraphql } from '../support/graphql.js';
import { outcomeCode, request } from '../support/http.js';
import { subscriber } from '../support/live.js';
import { findBinary, type PrivateNats, privateNats, type PrivatePostgres, privatePostgres } from '../support/private-services.js';
import { tokenFor } from '../support/test-app.js';

/**
 * Issue #20: a gateway on a PostgreSQL and a NATS of the test's own, each restarted in the middle of
 * live delivery. Live delivery must be back within 2 s of the server being back (the one timing bound
 * these tests assert, as the issue asks).
 */
const RECOVERY_BOUND_MS = 2_000;

const installed = ['nats-server', 'initdb', 'pg_ctl'].every((name) => findBinary(name) !== undefined);

const EVENTS_WITH_PRESCRIPTION = `subscription Events($filter: PrescriptionEventFilter, $after: String) {
  prescriptionEvents(filter: $filter, after: $after) {
    eventId type sequence event
    medicationRequest { id workflowStatus status }
    medicationDispense { id }
    task { id code }
  }
}`;

function env(pg: PrivatePostgres, nats: PrivateNats, extra: Record<string, string> = {}) {
  return { NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATABASE_URL: pg.url, NATS_URL: nats.url, RATE_LIMIT_ENABLED: 'false', ...extra };
}

/** Retries a write until the gateway takes it (right after a restart the first ones may get 503). */
async function createUntilAccepted(app: App, token: string, patient: string, index: number) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const created = await request(`${app.url}/fhir/MedicationRequest`, {
      token,
      body: prescription({ patient, index }),
      headers: { 'idempotency-key': `${patient}-${index}` },
    });
    if (created.status === 201 || created.status === 200) return created;
    expect(created.status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the gateway never took the write');
}

describe.runIf(installed)('live delivery across restarts of its servers', () => {
  let pg: PrivatePostgres;
  let nats: PrivateNats;
  let app: App;
  let ehr: string;
  beforeAll(async () => {
    [pg, nats] = await Promise.all([privatePostgres(), privateNats()]);
    // A long safety-net poll: an outbox relay that lost its LISTEN shows as a wait of 10 s, not of a lucky < 2 s.
    app = await startApp(loadConfig(env(pg, nats, { OUTBOX_POLL_MS: '10000' })));
    ehr = await tokenFor('tenant-a', 'ehr-backend');
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await Promise.all([pg?.cleanup(), nats?.cleanup()]);
  }, 60_000);

  it('NATS restarted: live and resumed subscribers get every event, the first within 2 s of NATS being back', async () => {
    const patient = uniquePatient();
    const live = subscriber(app.url, ehr, { filter: { patient } });
    await expect.poll(() => app.live.stats().subscribers, { timeout: 10_000 }).toBe(1);
    await createUntilAccepted(app, ehr, patient, 0);
    await expect.poll(() => live.received.length, { timeout: 10_000 }).toBe(1);
    const resumed = subscriber(app.url, ehr, { filter: { patient }, after: live.received[0].sequence });
    await resumed.ready;
    await createUntilAccepted(app, ehr, patient, 1);
    await expect.poll(() => resumed.received.length, { timeout: 10_000 }).toBe(1);

    await nats.stop();
    for (let i = 2; i < 4; i++) expect((await createUntilAccepted(app, ehr, patient, i)).status).toBe(201); // the outbox keeps them
    await nats.start();
    const back = Date.now();
    await createUntilAccepted(app, ehr, patient, 4);

    await expect.poll(() => [live.received.length, resumed.received.length], { timeout: 60_000 }).toEqual([5, 4]);
    const delays = { live: live.receivedAt[4] - back, resumed: resumed.receivedAt[3] - back };
    console.info(`receipt of the last event after NATS was back: live ${delays.live} ms, resumed ${delays.resumed} ms`);
    expect(delays.live).toBeLessThan(RECOVERY_BOUND_MS);
    expect(delays.resumed).toBeLessThan(RECOVERY_BOUND_MS);
    for (const sub of [live, resumed]) {
      const sequences = sub.received.map((e) => Number(e.sequence));
      expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
      expect(new Set(sub.received.map((e) => e.eventId)).size).toBe(sub.received.length);
      expect(sub.errors).toEqual([]);
    }
    await Promise.all([live.stop(), resumed.stop()]);
  }, 90_000);

  it('PostgreSQL restarted: requests meanwhile answer 503 SERVICE_UNAVAILABLE with Retry-After on both doors; events are back within 2 s', async () => {
    const patient = uniquePatient();
    const live = subscriber(app.url, ehr, { filter: { patient } });
    await expect.poll(() => app.live.stats().subscribers, { timeout: 10_000 }).toBe(1);
    const first = await createUntilAccepted(app, ehr, patient, 0);
    await expect.poll(() => live.received.length, { timeout: 10_000 }).toBe(1);

    await pg.stop();
    const read = await request(`${app.url}/fhir/MedicationRequest/${first.body.id}`, { token: ehr });
    expect(read.status).toBe(503);
    expect(outcomeCode(read.body)).toBe('SERVICE_UNAVAILABLE');
    expect(Number(read.headers.get('retry-after'))).toBeGreaterThan(0);
    const write = await request(`${app.url}/fhir/MedicationRequest`, { token: ehr, body: prescription({ patient }) });
    expect(write.status).toBe(503);
    expect(outcomeCode(write.body)).toBe('SERVICE_UNAVAILABLE');
    const query = await rawGraphql(app.url, { query: `query($id: ID!) { medicationRequest(id: $id) { id } }`, variables: { id: first.body.id } }, ehr);
    expect(query.errors?.map((e) => e.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
    expect((await request(`${app.url}/readyz`)).status).toBe(503);

    await pg.start();
    const back = Date.now();
    await createUntilAccepted(app, ehr, patient, 1);
    await expect.poll(() => live.received.length, { timeout: 30_000 }).toBe(2);
    const delay = live.receivedAt[1] - back;
    console.info(`receipt of the first event after PostgreSQL was back: ${delay} ms`);
    expect(delay).toBeLessThan(RECOVERY_BOUND_MS);
    // … and it stays so: LISTEN is back, the next commit is not left to the 10 s poll.
    const committed = Date.now();
    await createUntilAccepted(app, ehr, patient, 2);
    await expect.poll(() => live.received.length, { timeout: 30_000 }).toBe(3);
    expect(live.receivedAt[2] - committed).toBeLessThan(RECOVERY_BOUND_MS);
    expect(live.errors).toEqual([]);
    await live.stop();
  }, 90_000);

  it('a gateway started while NATS is down starts, answers /readyz 503, and connects and delivers within 2 s of NATS coming', async () => {
    const absent = await privateNats();
    await absent.stop();
    const admin = new pgDriver.Client({ connectionString: pg.url });
    await admin.connect();
    await admin.query('CREATE DATABASE started_without_nats');
    await admin.end();
    const database = { url: pg.url.replace(/\/postgres$/, '/started_without_nats') } as PrivatePostgres;
    const second = await startApp(loadConfig(env(database, absent, { OUTBOX_POLL_MS: '10000' })));
    try {
      const ready = await request(`${second.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.body.checks).toEqual({ database: true, bus: false });
      const patient = uniquePatient();
      const sub = subscriber(second.url, ehr, { filter: { patient } });
      await expect.poll(() => second.live.stats().subscribers, { timeout: 10_000 }).toBeGreaterThan(0);
      expect((await createUntilAccepted(second, ehr, patient, 0)).status).toBe(201); // kept in the outbox

      await absent.start();
      const back = Date.now();
      await expect.poll(async () => (await request(`${second.url}/readyz`)).status, { timeout: 10_000 }).toBe(200);
      await expect.poll(() => sub.received.length, { timeout: 30_000 }).toBe(1);
      const delay = sub.receivedAt[0] - back;
      console.info(`receipt of the event written before NATS first came: ${delay} ms after it came`);
      expect(delay).toBeLessThan(RECOVERY_BOUND_MS);
      await createUntilAccepted(second, ehr, patient, 1);
      await expect.poll(() => sub.received.length, { timeout: 10_000 }).toBe(2);
      expect(sub.errors).toEqual([]);
      await sub.stop();
    } finally {
      await second.close();
      await absent.cleanup();
    }
  }, 90_000);

  it('a transaction whose session PostgreSQL ended fails as SERVICE_UNAVAILABLE; no statement runs on its released connection', async () => {
    let stopped!: Promise<void>;
    const outcome = await inTenantTransaction(app.dataSource, 'tenant-a', async (manager) => {
      await manager.query('SELECT 1');
      stopped = pg.stop(); // the restart ends this session (57P01) while the transaction is open
      await stopped;
      await expect.poll(() => manager.queryRunner?.isReleased, { timeout: 10_000 }).toBe(true);
      return manager.query('SELECT 2');
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    await pg.start();
    expect(outcome).toBeInstanceOf(DomainError);
    expect(outcome).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 1 });
    expect((await inTenantTransaction(app.dataSource, 'tenant-a', (manager) => manager.query('SELECT 3 AS n')))[0].n).toBe(3);
  }, 60_000);

  it('events replayed while PostgreSQL is down carry their prescription from the event, with no field error', async () => {
    const pharmacy = await tokenFor('tenant-a', 'pharmacy-backend');
    const patient = uniquePatient();
    const created = await createUntilAccepted(app, ehr, patient, 0);
    const id = created.body.id;
    for (const [event, token] of [
      ['APPROVE', ehr],
      ['PROCESS', pharmacy],
      ['DISPENSE', pharmacy],
    ] as const)
      expect((await graphql(app.url, TransitionDocument, { id, event }, token)).errors).toBeUndefined();
    const task = {
      resourceType: 'Task',
      status: 'completed',
      intent: 'order',
      code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
      focus: { reference: `MedicationRequest/${id}` },
    };
    expect((await request(`${app.url}/fhir/Task`, { token: pharmacy, body: task })).status).toBe(201);
    const watcher = subscriber(app.url, ehr, { filter: { patient } }, EVENTS_WITH_PRESCRIPTION);
    await watcher.ready;
    const all = subscriber(app.url, ehr, { filter: { patient }, after: '0' }, EVENTS_WITH_PRESCRIPTION);
    await expect.poll(() => all.received.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(6);
    const count = all.received.length;
    await all.stop();
    await watcher.stop();

    await pg.stop();
    try {
      // The token's tenant is cached; the subscriber connects and replays from the bus alone.
      const replay = subscriber(app.url, ehr, { filter: { patient }, after: '0' }, EVENTS_WITH_PRESCRIPTION);
      await expect.poll(() => replay.received.length + replay.errors.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(count);
      expect(replay.errors).toEqual([]);
      const types = replay.received.map((e) => e.type.replace(/^eprescribing\.|\.v1$/g, ''));
      expect(types).toContain('medication_dispense.created');
      expect(types).toContain('task.status_changed');
      for (const event of replay.received) expect(event.medicationRequest?.id).toBe(id);
      const dispensed = replay.received.find((e) => e.type.includes('medication_dispense'))!;
      expect(dispensed.medicationRequest?.workflowStatus).toBeDefined();
      await replay.stop();
    } finally {
      await pg.start();
    }
  }, 90_000);
});

describe.runIf(installed)('a live consumer that cannot be made again', () => {
  let pg: PrivatePostgres;
  let nats: PrivateNats;
  let app: App;
  beforeAll(async () => {
    [pg, nats] = await Promise.all([privatePostgres(), privateNats()]);
    // Three failed attempts (under a second) rather than the default twelve (about 10 s): what is proved
    // is that giving up reaches the subscribers, whichever attempt it comes at.
    app = await startApp(loadConfig(env(pg, nats, { NATS_CONSUMER_MAX_ATTEMPTS: '3' })));
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await Promise.all([pg?.cleanup(), nats?.cleanup()]);
  }, 60_000);

  it('is reported to its subscribers as SERVICE_UNAVAILABLE, to resume from their cursor, instead of silence', async () => {
    const ehr = await tokenFor('tenant-a', 'ehr-backend');
    const patient = uniquePatient();
    const live = subscriber(app.url, ehr, { filter: { patient } });
    await expect.poll(() => app.live.stats().subscribers, { timeout: 10_000 }).toBe(1);
    await createUntilAccepted(app, ehr, patient, 0);
    await expect.poll(() => live.received.length, { timeout: 10_000 }).toBe(1);
    const resumed = subscriber(app.url, ehr, { filter: { patient }, after: '0' });
    await expect.poll(() => resumed.received.length, { timeout: 10_000 }).toBe(1);

    // The stream is deleted under the consumers (an operator's mistake): they cannot be made again.
    const connection = await connect({ servers: nats.url });
    await (await jetstreamManager(connection)).streams.delete('EPRESCRIBING');
    await connection.close();
    await expect
      .poll(() => [live.errors, resumed.errors].map((errors) => errors.map((e) => e.extensions?.code)), { timeout: 30_000 })
      .toEqual([['SERVICE_UNAVAILABLE'], ['SERVICE_UNAVAILABLE']]);
    expect(live.errors[0].message).toMatch(/after/);
    await Promise.all([live.stop(), resumed.stop()]);
  }, 60_000);
});
