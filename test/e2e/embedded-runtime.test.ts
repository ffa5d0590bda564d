import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { prescription } from '../support/fixtures.js';
import { request } from '../support/http.js';
import { tokenFor } from '../support/test-app.js';

/**
 * The newcomer's runtime: no DATABASE_URL and no NATS_URL, so the gateway starts its own
 * embedded PostgreSQL under DATA_DIR and keeps its event stream there (the embedded bus).
 */
let dataDir: string;
const configFor = () => loadConfig({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir });

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'rxgate-embedded-'));
  await chmod(dataDir, 0o755);
});
afterAll(async () => rm(dataDir, { recursive: true, force: true }));

function wsClient(app: App, authorization?: string) {
  let closeCode: number | undefined;
  const client = createClient({
    url: `${app.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: authorization ? { authorization } : {},
    retryAttempts: 0,
    lazy: false,
    on: { closed: (event) => (closeCode = (event as { code: number }).code) },
    onNonLazyError: () => undefined,
  });
  return { client, closeCode: () => closeCode };
}

describe('embedded runtime', () => {
  it('starts without DATABASE_URL or NATS_URL, keeps data across restarts, and shuts down gracefully', async () => {
    const first = await startApp(configFor());
    expect(first.bus.kind).toBe('embedded');
    const ehr = await tokenFor('tenant-a', 'ehr-backend');
    const created = await request(`${first.url}/fhir/MedicationRequest`, { token: ehr, body: prescription() });
    expect(created.status).toBe(201);
    expect((await request(`${first.url}/readyz`)).body).toEqual({ status: 'ready', checks: { database: true, bus: true } });

    // A graphql-ws client is closed with 1001 (going away) by the shutdown.
    const ws = wsClient(first, `Bearer ${ehr}`);
    const viaWs = await new Promise<any>((resolve, reject) => {
      ws.client.subscribe({ query: `{ medicationRequest(id: "${created.body.id}") { id workflowStatus } }` }, { next: resolve, error: reject, complete: () => undefined });
    });
    expect(viaWs.data.medicationRequest).toEqual({ id: created.body.id, workflowStatus: 'REQUESTED' });

    // An update blocked on a row lock is in flight when the shutdown starts; it must still finish.
    const locker = new pg.Client({ connectionString: (first.dataSource.options as { url: string }).url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM medication_requests WHERE id = $1 FOR UPDATE', [created.body.id]);
    const inFlight = request(`${first.url}/fhir/MedicationRequest/${created.body.id}`, { method: 'PUT', token: ehr, headers: { 'if-match': 'W/"1"' }, body: created.body });
    await expect.poll(async () => (await locker.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).rows[0].n).toBe(1);
    const closing = first.close(); // stops accepting at once
    expect((await request(`${first.url}/healthz`).catch(() => ({ status: 0 }))).status).not.toBe(200);
    await locker.query('COMMIT');
    await locker.end();
    expect((await inFlight).status).toBe(200);
    await closing;
    await expect.poll(() => ws.closeCode()).toBe(1001);
    await ws.client.dispose();

    const second = await startApp(configFor());
    try {
      const read = await request(`${second.url}/fhir/MedicationRequest/${created.body.id}`, { token: ehr });
      expect(read.status).toBe(200);
      expect(read.body.meta.versionId).toBe('2');
    } finally {
      await second.close();
    }
  });

  it('refuses graphql-ws connections with 4401 (no or bad token) and 4403 (tenant not licensed)', async () => {
    const app = await startApp(configFor());
    try {
      const anonymous = wsClient(app);
      await expect.poll(() => anonymous.closeCode()).toBe(4401);
      const forged = wsClient(app, 'Bearer not.a.token');
      await expect.poll(() => forged.closeCode()).toBe(4401);
      const unlicensed = wsClient(app, `Bearer ${await tokenFor('tenant-unlicensed', 'ehr-backend')}`);
      await expect.poll(() => unlicensed.closeCode()).toBe(4403);
      for (const c of [anonymous, forged, unlicensed]) await c.client.dispose();
    } finally {
      await app.close();
    }
  });
});
