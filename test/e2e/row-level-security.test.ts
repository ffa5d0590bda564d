import type { PoolClient } from 'pg';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditWriter } from '../../src/adapters/db/audit.store.js';
import { createDataSource } from '../../src/adapters/db/data-source.js';
import { createMedicationDispenseStore } from '../../src/adapters/db/medication-dispense.store.js';
import { createMedicationRequestStore } from '../../src/adapters/db/medication-request.store.js';
import { createHistoryStore } from '../../src/adapters/db/scope.store.js';
import { createSubscriptionStore } from '../../src/adapters/db/subscription.store.js';
import { createTaskStore } from '../../src/adapters/db/task.store.js';
import { withOneRoundTripStatements } from '../../src/adapters/db/tenant-statement.js';
import { inTenantReads, inTenantTransaction } from '../../src/adapters/db/unit-of-work.js';
import { prescription } from '../support/fixtures.js';
import { request } from '../support/http.js';
import { useTestApp } from '../support/use-test-app.js';
import { prescriptionIn } from '../support/workflow.js';

/**
 * The second wall (issue #7): with the tenant filter deliberately left out of a query, row-level
 * security still shows a tenant nothing of another. Runs on whichever database the suite runs on
 * (embedded PostgreSQL, or the real one in CI's second pass).
 */
const t = useTestApp();
let db: DataSource;
let tenantTables: string[];

beforeAll(async () => {
  db = await createDataSource({ url: t.databaseUrl, poolSize: 2 }).initialize();
  // Both tenants get a row in every tenant table: a completed prescription (history, dispense, outbox,
  // audit), an idempotent create, a Task, a prior authorization, a Subscription and a command over the bus.
  for (const tenant of ['tenant-a', 'tenant-b']) {
    const tokens = { ehr: await t.token(tenant, 'ehr-backend'), pharmacy: await t.token(tenant, 'pharmacy-backend') };
    await prescriptionIn(t.url, 'completed', tokens);
    const keyed = await request(`${t.url}/fhir/MedicationRequest`, {
      token: tokens.ehr,
      headers: { 'idempotency-key': `rls-${tenant}` },
      body: prescription(),
    });
    const task = await request(`${t.url}/fhir/Task`, {
      token: tokens.ehr,
      body: {
        resourceType: 'Task',
        status: 'completed',
        intent: 'order',
        code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'approve' }] },
        focus: { reference: `MedicationRequest/${keyed.body.id}` },
      },
    });
    const subscription = await request(`${t.url}/fhir/Subscription`, {
      token: tokens.ehr,
      body: { resourceType: 'Subscription', status: 'requested', reason: 'rls', criteria: 'MedicationRequest?status=active', channel: { type: 'websocket' } },
    });
    // A prior authorization (a Task with its history), submitted explicitly by the EHR.
    const submitted = await request(`${t.url}/graphql`, {
      token: tokens.ehr,
      body: { query: `mutation { submitPriorAuthorization(prescriptionId: "${keyed.body.id}", urgency: STANDARD) { id } }` },
    });
    expect(submitted.body.errors).toBeUndefined();
    expect([keyed.status, task.status, subscription.status]).toEqual([201, 201, 201]);
    // Through the bus door's use-case itself: the door (NATS) is absent in embedded mode.
    const command = await t.app.useCases.handleBusCommand({
      tenantId: tenant,
      commandId: `rls-${tenant}`,
      authorization: `Bearer ${tokens.ehr}`,
      body: JSON.stringify({ command: 'cancel', prescriptionId: keyed.body.id }),
      correlationId: `rls-${tenant}`,
    });
    expect(command.outcome).toBe('accepted');
  }
  tenantTables = (
    await t.sql<{ table_name: string }>(
      `SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
       WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE' ORDER BY 1`,
    )
  ).map((r) => r.table_name);
});

afterAll(async () => {
  await db?.destroy();
});

const asTenant = <T>(tenant: string, sql: string, params: unknown[] = []) => inTenantTransaction(db, tenant, (m) => m.query(sql, params) as Promise<T>);

describe('row-level security', () => {
  it('guards every table that holds tenant data, and each has rows of both tenants to hide', async () => {
    const unguarded = await t.sql<{ relname: string }>(`SELECT relname FROM pg_class WHERE relname = ANY($1) AND relkind = 'r' AND NOT relrowsecurity`, [
      tenantTables,
    ]);
    expect(unguarded).toEqual([]);
    // The workers' bookkeeping (action runs, dead letters) is guarded too but has no rows here.
    const requestTables = tenantTables.filter((name) => !['action_runs', 'dead_letters'].includes(name));
    expect(requestTables).toEqual(
      expect.arrayContaining([
        'medication_requests',
        'medication_request_history',
        'medication_dispenses',
        'medication_dispense_history',
        'tasks',
        'task_history',
        'subscriptions',
        'idempotency_keys',
        'outbox',
        'audit_events',
        'bus_commands',
      ]),
    );
    for (const table of requestTables) {
      const owners = await t.sql<{ tenant_id: string }>(`SELECT DISTINCT tenant_id FROM ${table} ORDER BY 1`);
      expect(
        owners.map((r) => r.tenant_id),
        table,
      ).toEqual(expect.arrayContaining(['tenant-a', 'tenant-b']));
    }
  });

  it('a query without its tenant filter sees only the tenant of its transaction, in every table', async () => {
    const guarded = (
      await t.sql<{ relname: string }>(`SELECT relname FROM pg_class WHERE relname = ANY($1) AND relrowsecurity ORDER BY 1`, [tenantTables])
    ).map((r) => r.relname);
    for (const table of guarded) {
      const seen = await asTenant<Array<{ tenant_id: string; n: number }>>('tenant-b', `SELECT tenant_id, count(*)::int AS n FROM ${table} GROUP BY tenant_id`);
      expect(
        seen.map((r) => r.tenant_id),
        table,
      ).toEqual(seen.length === 0 ? [] : ['tenant-b']);
    }
    const [{ n }] = await asTenant<Array<{ n: number }>>('tenant-b', `SELECT count(*)::int AS n FROM medication_requests`);
    expect(n).toBeGreaterThan(0);
  });

  it('with no tenant entered, the request role sees nothing at all', async () => {
    const rows = await db.transaction(async (m) => {
      await m.query(`SELECT set_config('role', 'rxgate_app', true)`);
      return m.query(`SELECT count(*)::int AS n FROM medication_requests`) as Promise<Array<{ n: number }>>;
    });
    expect(rows[0].n).toBe(0);
  });

  it('an unfiltered UPDATE changes only its own tenant; writing a row for another tenant is refused', async () => {
    const before = await t.sql<{ version: number }>(`SELECT max(version)::int AS version FROM medication_requests WHERE tenant_id = 'tenant-a'`);
    const touched = await inTenantTransaction(db, 'tenant-b', async (m) => {
      const rows = (await m.query(`UPDATE medication_requests SET version = version WHERE true RETURNING tenant_id`)) as [Array<{ tenant_id: string }>, number];
      return rows[0].map((r) => r.tenant_id);
    });
    expect(new Set(touched)).toEqual(new Set(['tenant-b']));
    expect(await t.sql(`SELECT max(version)::int AS version FROM medication_requests WHERE tenant_id = 'tenant-a'`)).toEqual(before);

    await expect(
      asTenant(
        'tenant-b',
        `INSERT INTO audit_events (tenant_id, actor, persona, action, interaction, outcome, correlation_id) VALUES ('tenant-a', 'mallory', 'ehr-backend', 'R', 'read', 'success', 'x')`,
      ),
    ).rejects.toThrow(/row-level security/);
  });

  it('repositories in a tenant transaction run on its EntityManager: entity reads see only that tenant, and a store asked for another tenant finds nothing', async () => {
    // Every entity with a tenant column, read without a filter through its repository.
    const tenantEntities = db.entityMetadatas.filter((m) => m.findColumnWithPropertyName('tenantId'));
    expect(tenantEntities.map((m) => m.tableName).sort()).toEqual([...tenantTables].sort());
    for (const metadata of tenantEntities) {
      const tenants = await inTenantTransaction(db, 'tenant-b', async (m) =>
        (await m.getRepository(metadata.target).find()).map((row) => (row as { tenantId: string }).tenantId),
      );
      expect([...new Set(tenants)], metadata.tableName).toEqual(tenants.length === 0 ? [] : ['tenant-b']);
    }

    const [task] = await t.sql<{ id: string }>(`SELECT id FROM tasks WHERE tenant_id = 'tenant-a' LIMIT 1`);
    const [subscription] = await t.sql<{ id: string }>(`SELECT id FROM subscriptions WHERE tenant_id = 'tenant-a' LIMIT 1`);
    const [dispense] = await t.sql<{ id: string }>(`SELECT id FROM medication_dispenses WHERE tenant_id = 'tenant-a' LIMIT 1`);
    const [version] = await t.sql<{ id: string; version: number }>(`SELECT id, version FROM medication_request_history WHERE tenant_id = 'tenant-a' LIMIT 1`);
    const lookUp = (transactionTenant: string) =>
      inTenantTransaction(db, transactionTenant, async (m) => ({
        task: (await createTaskStore(m, 'tenant-a').findById(task.id))?.id,
        subscription: (await createSubscriptionStore(m, 'tenant-a').findById(subscription.id))?.id,
        dispense: (await createMedicationDispenseStore(m, 'tenant-a').findById(dispense.id))?.id,
        version: (await createHistoryStore(m, 'tenant-a').version(version.id, version.version))?.id,
        audit: (await createAuditWriter(m, 'tenant-a').search({ limit: 5 })).length > 0,
      }));
    // In tenant-a's own transaction the stores find the rows …
    expect(await lookUp('tenant-a')).toEqual({ task: task.id, subscription: subscription.id, dispense: dispense.id, version: version.id, audit: true });
    // … and in tenant-b's, row-level security hides them although the stores ask for tenant-a.
    expect(await lookUp('tenant-b')).toEqual({ task: undefined, subscription: undefined, dispense: undefined, version: undefined, audit: false });
  });

  it('reads (one round trip a statement) are bound the same way: each statement sees only its tenant, none may write, and the connection is itself again afterwards', async () => {
    const [row] = await t.sql<{ id: string }>(`SELECT id FROM medication_requests WHERE tenant_id = 'tenant-a' LIMIT 1`);
    const seen = await inTenantReads(db, 'tenant-b', async (m) => ({
      tenants: ((await m.query(`SELECT DISTINCT tenant_id FROM medication_requests WHERE true`)) as Array<{ tenant_id: string }>).map((r) => r.tenant_id),
      // A parameterised statement: its values travel as quoted literals, a quote inside one stays data.
      byId: (await createMedicationRequestStore(m, 'tenant-a').findById(row.id))?.id,
      quoted: ((await m.query(`SELECT $1::text AS v, $2::text[] AS a`, ["it's'; DROP TABLE tasks; --", ['x', "y'"]])) as Array<{ v: string; a: string[] }>)[0],
      role: ((await m.query(`SELECT current_user AS u, current_setting('app.tenant_id') AS t`)) as Array<{ u: string; t: string }>)[0],
    }));
    expect(seen).toEqual({
      tenants: ['tenant-b'],
      byId: undefined,
      quoted: { v: "it's'; DROP TABLE tasks; --", a: ['x', "y'"] },
      role: { u: 'rxgate_app', t: 'tenant-b' },
    });
    await expect(inTenantReads(db, 'tenant-a', (m) => m.query(`UPDATE medication_requests SET version = version WHERE id = $1`, [row.id]))).rejects.toThrow(
      /read-only transaction/,
    );
    // On one connection: inside, the tenant's role; afterwards the connection's own role and no tenant.
    const runner = db.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    try {
      const who = `SELECT current_user AS u, current_setting('app.tenant_id', true) AS t`;
      const enter = `SELECT set_config('role', 'rxgate_app', true), set_config('app.tenant_id', 'tenant-b', true)`;
      expect(await withOneRoundTripStatements(client, enter, () => runner.query(who))).toEqual([{ u: 'rxgate_app', t: 'tenant-b' }]);
      const [after] = (await runner.query(who)) as Array<{ u: string; t: string | null }>;
      expect(after.u).not.toBe('rxgate_app');
      expect(after.t ?? '').toBe('');
    } finally {
      await runner.release();
    }
  });

  it('the audit trail and the version history are append-only for the request role', async () => {
    for (const sql of [
      `UPDATE audit_events SET outcome = 'success'`,
      `DELETE FROM audit_events`,
      `UPDATE medication_request_history SET version = version`,
      `DELETE FROM outbox`,
    ]) {
      await expect(asTenant('tenant-a', sql), sql).rejects.toThrow(/permission denied/);
    }
  });
});
