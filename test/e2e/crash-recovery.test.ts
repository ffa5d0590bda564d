import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { childLines, ensureCompiled } from '../support/child-gateway.js';
import { fakeIntegrations } from '../support/fake-integrations.js';
import { prescription } from '../support/fixtures.js';
import { request } from '../support/http.js';
import { createTestDatabase, natsSettings, tokenFor } from '../support/test-app.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('crash in the middle of an action’s retries', () => {
  beforeAll(async () => {
    // The child runs the compiled gateway.
    await ensureCompiled();
  }, 120_000);

  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  });

  it('loses nothing: after a restart the event is handled, exactly once', async () => {
    const database = await createTestDatabase();
    const nats = natsSettings();
    cleanup.push(
      () => database.drop(),
      () => nats.cleanup(),
    );
    const env = {
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: database.url,
      OUTBOX_POLL_MS: '200',
      ACTION_MAX_ATTEMPTS: '100',
      ACTION_RETRY_BASE_MS: '300',
      ACTION_RETRY_MAX_MS: '300',
      NATS_ACK_WAIT_MS: '2000',
      ...nats.env,
    };

    const child = spawn(process.execPath, [`${root}test/support/gateway-child.mjs`], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    cleanup.push(async () => child.kill('SIGKILL'));
    const next = childLines(child);
    const url = (await next(/^ready /)).slice('ready '.length);

    const ehr = await tokenFor('tenant-a', 'ehr-backend');
    const created = await request(`${url}/fhir/MedicationRequest`, { token: ehr, body: prescription() });
    const task = {
      resourceType: 'Task',
      status: 'completed',
      intent: 'order',
      code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'approve' }] },
      focus: { reference: `MedicationRequest/${created.body.id}` },
    };
    expect((await request(`${url}/fhir/Task`, { token: ehr, body: task })).status).toBe(201);
    await next(/^attempt 2$/);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const fake = fakeIntegrations();
    const restarted = await startApp(loadConfig(env), { integrations: fake.integrations });
    cleanup.push(() => restarted.close());
    await expect.poll(() => fake.delivered.insurance.filter((n) => n.medicationRequestId === created.body.id).length, { timeout: 30_000 }).toBe(1);
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: database.url });
    await client.connect();
    try {
      const runs = await client.query(`SELECT handler FROM action_runs`);
      expect(runs.rows).toEqual([{ handler: 'notifyInsurance' }]);
      expect((await client.query('SELECT count(*)::int AS n FROM dead_letters')).rows[0].n).toBe(0);
    } finally {
      await client.end();
    }
    expect(fake.delivered.insurance).toHaveLength(1);
  }, 90_000);
});
