import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { ensureCompiled, gatewayDatabase } from '../support/child-gateway.js';
import { prescription, uniquePatient, workflowTask } from '../support/fixtures.js';
import { request } from '../support/http.js';
import { tokenFor } from '../support/test-app.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Durable timers (CONTRACT §7, §10): they survive a killed gateway, fire once across instances, and are dropped when their state moved on. */

const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
});

const database = () => gatewayDatabase(cleanup);

async function start(env: Record<string, string>): Promise<App> {
  const app = await startApp(loadConfig(env));
  cleanup.push(() => app.close());
  return app;
}

const task = workflowTask;

async function create(url: string, extra: Partial<fhir4.MedicationRequestDispenseRequest> = {}, repeats = 0): Promise<string> {
  const body = prescription({ patient: uniquePatient(), repeats });
  body.dispenseRequest = { ...body.dispenseRequest, ...extra };
  const created = await request(`${url}/fhir/MedicationRequest`, { token: await tokenFor('tenant-a', 'ehr-backend'), body });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body.id;
}

async function send(url: string, id: string, code: string, status: string, persona: 'ehr-backend' | 'pharmacy-backend'): Promise<void> {
  const sent = await request(`${url}/fhir/Task`, { token: await tokenFor('tenant-a', persona), body: task(id, code, status) });
  if (sent.status !== 201) throw new Error(`${code}/${status}: ${sent.status} ${JSON.stringify(sent.body)}`);
}

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

describe('durable timers', () => {
  beforeAll(async () => {
    // The killed gateway runs the compiled code in a process of its own.
    await ensureCompiled();
  }, 300_000);

  it('an expiry armed before a SIGKILL fires once, on time, after the restart', async () => {
    const { env, sql } = await database();
    const child = spawn(process.execPath, [`${root}test/support/gateway-child.mjs`], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    cleanup.push(async () => child.kill('SIGKILL'));
    const url = await new Promise<string>((resolve, reject) => {
      let buffer = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const ready = /^ready (\S+)$/m.exec(buffer);
        if (ready) resolve(ready[1]);
      });
      child.once('exit', (code) => reject(new Error(`the child gateway exited (${code}) before it was ready`)));
    });
    // Far enough ahead that a loaded machine creates and kills before it is due: 12 s was not, once,
    // with the suite beside other work (the fresh process's first create compiles its validators).
    const validUntil = inSeconds(25);
    const id = await create(url, { validityPeriod: { end: validUntil } });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(await sql(`SELECT name, due_at, settled_at FROM workflow_timers WHERE instance_id = $1`, [id])).toEqual([
      { name: 'expiry', due_at: new Date(validUntil), settled_at: null },
    ]);

    const app = await start(env);
    // The margin above was for the kill; once restarted, the timer is brought to a second ahead rather
    // than waited out. Still pending and still in the future: firing early would show as `late` < 0.
    // (No row: the restart took longer than the margin, and the timer fired at its armed time.)
    await sql(`UPDATE workflow_timers SET due_at = now() + interval '1 second' WHERE instance_id = $1 AND settled_at IS NULL`, [id]);
    const ehr = await tokenFor('tenant-a', 'ehr-backend');
    await expect
      .poll(async () => (await request(`${app.url}/fhir/MedicationRequest/${id}`, { token: ehr })).body.status, { timeout: 45_000, interval: 100 })
      .toBe('stopped');
    const read = await request(`${app.url}/fhir/MedicationRequest/${id}`, { token: ehr });
    expect(read.body.statusReason.text).toMatch(/validity period/);
    const transitions = await sql<{ event: string; persona: string; actor: string }>(
      `SELECT transition->>'event' AS event, transition->>'persona' AS persona, transition->>'actor' AS actor FROM medication_request_history WHERE id = $1 AND transition IS NOT NULL ORDER BY version`,
      [id],
    );
    expect(transitions).toEqual([
      { event: 'request', persona: 'ehr-backend', actor: 'ehr-backend-user' },
      { event: 'expire', persona: 'system', actor: 'system' },
    ]);
    const [timer] = await sql<{ outcome: string; late: number }>(
      `SELECT outcome, EXTRACT(EPOCH FROM settled_at - due_at)::float8 AS late FROM workflow_timers WHERE instance_id = $1`,
      [id],
    );
    expect(timer.outcome).toBe('fired');
    expect(timer.late).toBeGreaterThanOrEqual(0);
    const events = await sql<{ type: string }>(`SELECT event_type AS type FROM outbox WHERE envelope->'payload'->>'medicationRequestId' = $1 ORDER BY seq`, [
      id,
    ]);
    expect(events.map((e) => e.type)).toEqual([
      'eprescribing.medication_request.created.v1',
      'eprescribing.medication_request.status_changed.v1',
      'eprescribing.medication_request.expired.v1',
    ]);
  }, 180_000);

  it('with two instances, a burst of 1,000 timers due at the same second fires each exactly once', async () => {
    const { env, sql } = await database();
    const [a, b] = [await start(env), await start(env)];
    const id = await create(a.url);
    await send(b.url, id, 'approve', 'completed', 'ehr-backend');
    // 1,000 service-level timers on the approved prescription, all due now: each fires an sla_breached.
    await sql(
      `INSERT INTO workflow_timers (id, tenant_id, workflow, instance_id, name, due_at)
       SELECT gen_random_uuid(), 'tenant-a', 'prescription', $1, 'processingServiceLevel', date_trunc('second', now()) + interval '1 second' FROM generate_series(1, 1000)`,
      [id],
    );
    await expect
      .poll(async () => (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM workflow_timers WHERE settled_at IS NULL`))[0].n, {
        timeout: 150_000,
        interval: 200,
      })
      .toBe(1);
    const fired = await sql<{ n: number; distinct: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT envelope->'metadata'->>'correlationId')::int AS distinct FROM outbox WHERE event_type = 'eprescribing.medication_request.sla_breached.v1'`,
    );
    expect(fired[0]).toEqual({ n: 1000, distinct: 1000 });
    expect((await sql<{ n: number }>(`SELECT count(*)::int AS n FROM workflow_timers WHERE outcome = 'fired'`))[0].n).toBe(1000);
  }, 180_000);
});

describe('service level and expiry (CONTRACT §7)', () => {
  let app: App;
  let sql: Awaited<ReturnType<typeof database>>['sql'];
  beforeAll(async () => {
    const db = await database();
    sql = db.sql;
    app = await start({ ...db.env, SLA_PROCESSING_SECONDS: '2' });
  });

  const eventsOf = async (id: string) =>
    (await sql<{ type: string }>(`SELECT event_type AS type FROM outbox WHERE envelope->'payload'->>'medicationRequestId' = $1 ORDER BY seq`, [id])).map((e) =>
      e.type.replace('eprescribing.medication_request.', ''),
    );
  const timersOf = (id: string) =>
    sql<{ name: string; outcome: string | null }>(`SELECT name, outcome FROM workflow_timers WHERE instance_id = $1 ORDER BY armed_at, name`, [id]);

  it('an approved prescription left alone emits exactly one sla_breached and alerts support; one processed in time emits none', async () => {
    const left = await create(app.url);
    const served = await create(app.url);
    await send(app.url, left, 'approve', 'completed', 'ehr-backend');
    await send(app.url, served, 'approve', 'completed', 'ehr-backend');
    await send(app.url, served, 'fulfill', 'in-progress', 'pharmacy-backend');
    await expect.poll(async () => (await timersOf(left)).map((t) => t.outcome), { timeout: 20_000, interval: 100 }).toEqual(['fired']);
    expect(await timersOf(served)).toEqual([{ name: 'processingServiceLevel', outcome: 'dropped' }]);
    expect((await eventsOf(left)).filter((t) => t === 'sla_breached.v1')).toHaveLength(1);
    expect(await eventsOf(served)).not.toContain('sla_breached.v1');
    // The state does not change; the alert goes to support through the alertSupport action.
    const read = await request(`${app.url}/fhir/MedicationRequest/${left}`, { token: await tokenFor('tenant-a', 'ehr-backend') });
    expect(read.body.meta.versionId).toBe('2');
    await expect
      .poll(async () => (await sql(`SELECT 1 FROM action_runs WHERE handler = 'alertSupport' AND instance_id = $1`, [left])).length, { timeout: 20_000 })
      .toBe(1);
  }, 60_000);

  it('a fill in progress when validity ends finishes, and its complete then goes to completed, not refillable', async () => {
    const id = await create(app.url, { validityPeriod: { end: inSeconds(3) } }, 2);
    await send(app.url, id, 'approve', 'completed', 'ehr-backend');
    await send(app.url, id, 'fulfill', 'in-progress', 'pharmacy-backend');
    // Leaving `approved` dropped the expiry: nothing is pending while the fill is in progress.
    expect((await timersOf(id)).filter((t) => t.name === 'expiry').map((t) => t.outcome)).toEqual(['dropped']);
    const end = Date.now() + 3_500;
    await expect.poll(() => Date.now() > end, { timeout: 10_000, interval: 100 }).toBe(true);
    const pharmacy = await tokenFor('tenant-a', 'pharmacy-backend');
    const dispensed = await request(`${app.url}/fhir/MedicationDispense`, {
      token: pharmacy,
      body: {
        resourceType: 'MedicationDispense',
        status: 'completed',
        authorizingPrescription: [{ reference: `MedicationRequest/${id}` }],
        medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '314076' }] },
        whenHandedOver: new Date().toISOString(),
      },
    });
    expect(dispensed.status).toBe(201);
    const read = await request(`${app.url}/fhir/MedicationRequest/${id}`, { token: pharmacy });
    expect(read.body.extension.find((e: { url: string }) => e.url === 'urn:rxgate:extension:workflow-status').valueCode).toBe('completed');
  }, 60_000);

  it('refuses a prescription whose validity has already ended (422 at that element)', async () => {
    const body = prescription({ patient: uniquePatient() });
    body.dispenseRequest = { ...body.dispenseRequest, validityPeriod: { start: '2016-01-01', end: '2016-12-31' } };
    const refused = await request(`${app.url}/fhir/MedicationRequest`, { token: await tokenFor('tenant-a', 'ehr-backend'), body });
    expect(refused.status).toBe(422);
    expect(refused.body.issue.map((i: { expression: string[] }) => i.expression[0])).toContain('MedicationRequest.dispenseRequest.validityPeriod.end');
  });
});
