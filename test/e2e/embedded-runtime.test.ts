import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type App, startApp } from '../../src/app.js';
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

/** Bounds for a loaded 2-core machine (the suite runs two files at once beside other work). */
const STARTS = 120_000;
const WAIT = { timeout: 20_000, interval: 50 };

function wsClient(app: App, authorization?: string) {
  let closed!: (code: number) => void;
  const closeCode = new Promise<number>((resolve) => (closed = resolve));
  const client = createClient({
    url: `${app.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: authorization ? { authorization } : {},
    retryAttempts: 0,
    lazy: false,
    on: { closed: (event) => closed((event as { code: number }).code) },
    onNonLazyError: () => undefined,
  });
  return { client, closeCode };
}

describe('embedded runtime', () => {
  it('starts without DATABASE_URL or NATS_URL, keeps data across restarts, and shuts down gracefully', { timeout: STARTS }, async () => {
    const first = await startApp(configFor());
    let locker: pg.Client | undefined;
    let ws: ReturnType<typeof wsClient> | undefined;
    let id = '';
    const ehr = await tokenFor('tenant-a', 'ehr-backend');
    try {
      expect(first.bus.kind).toBe('embedded');
      const created = await request(`${first.url}/fhir/MedicationRequest`, { token: ehr, body: prescription() });
      expect(created.status).toBe(201);
      id = created.body.id;
      expect((await request(`${first.url}/readyz`)).body).toEqual({ status: 'ready', checks: { database: true, bus: true } });

      // A graphql-ws client is closed with 1001 (going away) by the shutdown.
      ws = wsClient(first, `Bearer ${ehr}`);
      const viaWs = await new Promise<any>((resolve, reject) => {
        ws!.client.subscribe(
          { query: `{ medicationRequest(id: "${id}") { id workflowStatus } }` },
          { next: resolve, error: reject, complete: () => undefined },
        );
      });
      expect(viaWs.data.medicationRequest).toEqual({ id, workflowStatus: 'REQUESTED' });

      // An update blocked on a row lock is in flight when the shutdown starts; it must still finish.
      locker = new pg.Client({ connectionString: (first.dataSource.options as { url: string }).url });
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM medication_requests WHERE id = $1 FOR UPDATE', [id]);
      const inFlight = request(`${first.url}/fhir/MedicationRequest/${id}`, {
        method: 'PUT',
        token: ehr,
        headers: { 'if-match': 'W/"1"' },
        body: created.body,
      });
      // PostgreSQL announces no lock wait: its activity view is read until the update waits on the lock.
      await expect
        .poll(async () => (await locker!.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).rows[0].n, WAIT)
        .toBe(1);
      const closing = first.close(); // stops accepting at once
      expect((await request(`${first.url}/healthz`).catch(() => ({ status: 0 }))).status).not.toBe(200);
      await locker.query('COMMIT');
      await locker.end(); // before the database stops under it
      locker = undefined;
      expect((await inFlight).status).toBe(200);
      await closing;
      expect(await ws.closeCode).toBe(1001);
    } finally {
      // Whatever failed above, nothing is left running: a live embedded PostgreSQL would hold DATA_DIR's lock.
      await locker?.end().catch(() => undefined);
      await ws?.client.dispose();
      await first.close();
    }

    const second = await startApp(configFor());
    try {
      const read = await request(`${second.url}/fhir/MedicationRequest/${id}`, { token: ehr });
      expect(read.status).toBe(200);
      expect(read.body.meta.versionId).toBe('2');
    } finally {
      await second.close();
    }
  });

  it('refuses graphql-ws connections with 4401 (no or bad token) and 4403 (tenant not licensed)', { timeout: STARTS }, async () => {
    const app = await startApp(configFor());
    const clients: Array<ReturnType<typeof wsClient>> = [];
    const open = (authorization?: string) => {
      const client = wsClient(app, authorization);
      clients.push(client);
      return client.closeCode;
    };
    try {
      expect(await open()).toBe(4401);
      expect(await open('Bearer not.a.token')).toBe(4401);
      expect(await open(`Bearer ${await tokenFor('tenant-unlicensed', 'ehr-backend')}`)).toBe(4403);
    } finally {
      for (const c of clients) await c.client.dispose();
      await app.close();
    }
  });
});
