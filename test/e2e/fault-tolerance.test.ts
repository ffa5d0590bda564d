import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createOutboxRelay } from '../../src/adapters/events/outbox-relay.js';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { prescription, uniquePatient } from '../support/fixtures.js';
import { request } from '../support/http.js';
import { subscriber } from '../support/live.js';
import { createTestDatabase, tokenFor } from '../support/test-app.js';
import { useTestApp } from '../support/use-test-app.js';

describe('the process killed between publish and mark', () => {
  const t = useTestApp();

  it('re-publishes on restart; the bus drops the repeat and subscribers see the event once', async () => {
    const ehr = await tokenFor('tenant-a', 'ehr-backend');
    const patient = uniquePatient();
    const sub = subscriber(t.url, ehr, { filter: { patient } });
    await expect.poll(() => t.app.live.stats().subscribers).toBe(1);

    await t.app.relay.stop(); // the relay "dies": what is committed now stays unmarked
    const created = await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription({ patient }) });
    const [row] = await t.sql<{ event_id: string; subject: string; envelope: unknown }>(
      `SELECT event_id, subject, envelope FROM outbox WHERE envelope #>> '{payload,resource,id}' = $1`,
      [created.body.id],
    );
    // It had published the row before dying (as the relay does, with the event id as message id) …
    await t.app.bus.publish({ subject: row.subject, msgId: row.event_id, data: Buffer.from(JSON.stringify(row.envelope)) });
    // … and a new relay (the restarted process) publishes it again, then marks it.
    const restarted = createOutboxRelay({
      dataSource: t.app.dataSource,
      databaseUrl: t.databaseUrl,
      bus: t.app.bus,
      logger: pino({ level: 'silent' }),
      pollIntervalMs: 100,
    });
    await restarted.start();
    await expect
      .poll(async () => (await t.sql(`SELECT published_at FROM outbox WHERE event_id = $1`, [row.event_id]))[0].published_at, { timeout: 10_000 })
      .not.toBeNull();
    // Fence: a change committed afterwards reaches the subscriber after the event, and the repeat never arrives before it.
    const marker = await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription({ patient }) });
    await expect.poll(() => sub.received.some((e) => e.medicationRequest?.id === marker.body.id), { timeout: 10_000 }).toBe(true);
    expect(sub.received.map((e) => e.medicationRequest?.id)).toEqual([created.body.id, marker.body.id]);
    await restarted.stop();
    await sub.stop();
  });
});

/** NATS in a process of our own, so the test can stop and start it without touching the machine's. */
async function natsServer(storeDir: string, port: number): Promise<ChildProcess> {
  const binary = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find(existsSync)!;
  const child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: 'ignore' });
  const accepting = () =>
    new Promise<boolean>((resolve) => {
      const probe = connect(port, '127.0.0.1', () => {
        probe.end();
        resolve(true);
      });
      probe.on('error', () => resolve(false));
    });
  await expect.poll(accepting, { timeout: 10_000 }).toBe(true);
  return child;
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

// Runs with the real-services pass (TEST_NATS_URL set): it needs the nats-server binary.
describe.runIf(inject('natsUrl'))('NATS stopped while writes continue', () => {
  it('writes succeed, /readyz reports the bus down, and when NATS is back every event is published in order and delivered', async () => {
    const storeDir = await mkdtemp(path.join(tmpdir(), 'rxgate-nats-'));
    const port = await freePort();
    let nats = await natsServer(storeDir, port);
    const database = await createTestDatabase();
    const app = await startApp(
      loadConfig({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATABASE_URL: database.url, NATS_URL: `nats://127.0.0.1:${port}`, OUTBOX_POLL_MS: '200' }),
    );
    try {
      const ehr = await tokenFor('tenant-a', 'ehr-backend');
      const patient = uniquePatient();
      const sub = subscriber(app.url, ehr, { filter: { patient } });
      await expect.poll(() => app.live.stats().subscribers).toBe(1);
      for (let i = 0; i < 3; i++) await request(`${app.url}/fhir/MedicationRequest`, { token: ehr, body: prescription({ patient, index: i }) });
      await expect.poll(() => sub.received.length, { timeout: 10_000 }).toBe(3);

      nats.kill('SIGTERM');
      await new Promise((resolve) => nats.once('exit', resolve));
      for (let i = 3; i < 8; i++)
        expect((await request(`${app.url}/fhir/MedicationRequest`, { token: ehr, body: prescription({ patient, index: i }) })).status).toBe(201);
      const ready = await request(`${app.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.body.checks).toEqual({ database: true, bus: false });

      nats = await natsServer(storeDir, port);
      await expect.poll(async () => (await request(`${app.url}/readyz`)).status, { timeout: 20_000 }).toBe(200);
      await expect.poll(() => sub.received.length, { timeout: 30_000 }).toBe(8);
      const sequences = sub.received.map((e) => Number(e.sequence));
      expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
      expect(new Set(sub.received.map((e) => e.eventId)).size).toBe(8);
      await sub.stop();
    } finally {
      await app.close();
      nats.kill('SIGTERM');
      await database.drop();
      await rm(storeDir, { recursive: true, force: true });
    }
  }, 90_000);
});
