import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { childLines, ensureCompiled, gatewayDatabase } from '../support/child-gateway.js';
import { fakeIntegrations } from '../support/fake-integrations.js';
import { workflowTask } from '../support/fixtures.js';
import { request } from '../support/http.js';
import { paPrescription, priorAuthorizationRulesFile } from '../support/prior-authorization.js';
import { tokenFor } from '../support/test-app.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Prior authorization under the engine's durability guarantees (CONTRACT §9, §10): the decision
 * deadline breaches once across instances without moving the PA, and a cancelled prescription's
 * PA is withdrawn exactly once even when the gateway dies between the cancel and the compensation.
 */

const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
});

const database = (extra: Record<string, string> = {}) => gatewayDatabase(cleanup, { RULES_FILE: priorAuthorizationRulesFile(), ...extra });

async function createAndApprove(url: string): Promise<string> {
  const ehr = await tokenFor('tenant-a', 'ehr-backend');
  const created = await request(`${url}/fhir/MedicationRequest`, { token: ehr, body: paPrescription() });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
  const approved = await request(`${url}/fhir/Task`, { token: ehr, body: workflowTask(created.body.id, 'approve', 'completed') });
  if (approved.status !== 201) throw new Error(`approve: ${approved.status} ${JSON.stringify(approved.body)}`);
  return created.body.id;
}

const paOf = async (sql: Awaited<ReturnType<typeof database>>['sql'], prescriptionId: string) =>
  (
    await sql<{ id: string; state: string }>(`SELECT id, business_status AS state FROM tasks WHERE focus_id = $1 AND workflow_name = 'prior-authorization'`, [
      prescriptionId,
    ])
  )[0];

describe('the decision deadline (PA_STANDARD_SECONDS)', () => {
  it('with two instances running, an undecided PA emits exactly one deadline_breached, alerts support once, and does not change', async () => {
    const { env, sql } = await database({ PA_STANDARD_SECONDS: '2' });
    const fake = fakeIntegrations();
    const apps: App[] = [];
    for (let i = 0; i < 2; i++) {
      const app = await startApp(loadConfig(env), { integrations: fake.integrations });
      cleanup.push(() => app.close());
      apps.push(app);
    }
    const prescriptionId = await createAndApprove(apps[0].url);
    const pa = await paOf(sql, prescriptionId);
    expect(pa.state).toBe('submitted');
    // The alert is the breach's action: it runs from the emitted event, so it arriving means the event was published.
    await expect
      .poll(() => fake.delivered.supportAlert.filter((n) => n.medicationRequestId === prescriptionId).length, { timeout: 30_000, interval: 100 })
      .toBe(1);
    const breaches = await sql(
      `SELECT 1 FROM outbox WHERE event_type = 'eprescribing.prior_authorization.deadline_breached.v1' AND envelope->'payload'->'resource'->>'id' = $1`,
      [pa.id],
    );
    expect(breaches).toHaveLength(1);
    expect(await sql(`SELECT name, outcome FROM workflow_timers WHERE instance_id = $1`, [pa.id])).toEqual([{ name: 'decisionDeadline', outcome: 'fired' }]);
    const read = await request(`${apps[1].url}/fhir/Task/${pa.id}`, { token: await tokenFor('tenant-a', 'payer-backend') });
    expect(read.body.businessStatus.coding[0].code).toBe('submitted');
    expect(read.headers.get('etag')).toBe('W/"1"');
    // Still decidable after the breach: never an automatic decision.
    const reviewed = await request(`${apps[1].url}/fhir/Task/${pa.id}`, {
      method: 'PATCH',
      token: await tokenFor('tenant-a', 'payer-backend'),
      headers: { 'if-match': 'W/"1"', 'content-type': 'application/json-patch+json' },
      body: [{ op: 'replace', path: '/businessStatus/coding/0/code', value: 'in-review' }],
    });
    expect(reviewed.status, JSON.stringify(reviewed.body)).toBe(200);
    expect(fake.delivered.supportAlert.filter((n) => n.medicationRequestId === prescriptionId)).toHaveLength(1);
  }, 120_000);
});

describe('cancel, then the gateway dies before the compensation', () => {
  beforeAll(async () => {
    // The killed gateway runs the compiled code in a process of its own.
    await ensureCompiled();
  }, 300_000);

  it('after a restart the PA is withdrawn exactly once, by the compensation', async () => {
    const { env, sql } = await database({ ACTION_MAX_ATTEMPTS: '100', ACTION_RETRY_BASE_MS: '300', ACTION_RETRY_MAX_MS: '300', NATS_ACK_WAIT_MS: '2000' });
    // The child's insurance notifier always fails: the approve's notifyInsurance keeps being retried,
    // and actions run in stream order, so the cancel's compensations wait behind it until the kill.
    const child = spawn(process.execPath, [`${root}test/support/gateway-child.mjs`], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    cleanup.push(async () => child.kill('SIGKILL'));
    const next = childLines(child);
    const url = (await next(/^ready /)).slice('ready '.length);

    const prescriptionId = await createAndApprove(url);
    const pa = await paOf(sql, prescriptionId);
    await next(/^attempt 1$/);
    const cancelled = await request(`${url}/fhir/Task`, {
      token: await tokenFor('tenant-a', 'ehr-backend'),
      body: workflowTask(prescriptionId, 'abort', 'completed'),
    });
    expect(cancelled.status).toBe(201);
    await next(/^attempt 2$/);
    expect((await paOf(sql, prescriptionId)).state).toBe('submitted');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const fake = fakeIntegrations();
    const restarted = await startApp(loadConfig(env), { integrations: fake.integrations });
    cleanup.push(() => restarted.close());
    await expect.poll(async () => (await paOf(sql, prescriptionId)).state, { timeout: 60_000, interval: 200 }).toBe('withdrawn');
    // The ledger records the compensation once; let the consumer settle before counting.
    await expect
      .poll(async () => (await sql(`SELECT 1 FROM action_runs WHERE handler = 'withdrawPriorAuthorization'`)).length, { timeout: 30_000, interval: 200 })
      .toBe(1);
    const moves = await sql<{ event: string; actor: string }>(
      `SELECT transition->>'event' AS event, transition->>'actor' AS actor FROM task_history WHERE id = $1 ORDER BY version`,
      [pa.id],
    );
    expect(moves).toEqual([
      { event: 'submit', actor: 'system' },
      { event: 'withdraw', actor: 'system' },
    ]);
    const withdrawn = await sql(
      `SELECT 1 FROM outbox WHERE event_type = 'eprescribing.prior_authorization.status_changed.v1' AND envelope->'payload'->>'to' = 'withdrawn'`,
    );
    expect(withdrawn).toHaveLength(1);
  }, 240_000);
});
