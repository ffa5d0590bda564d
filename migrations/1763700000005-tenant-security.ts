import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Tables holding one tenant's data: each gets the row-level security policy below. */
const TENANT_TABLES = [
  'medication_requests',
  'medication_request_history',
  'medication_dispenses',
  'medication_dispense_history',
  'tasks',
  'subscriptions',
  'idempotency_keys',
  'outbox',
  'audit_events',
  // Written and read by the workers (as the owner); guarded anyway, so no future request path can leak them.
  'action_runs',
  'dead_letters',
];

/** Versions are written once: the request role may add history, never rewrite it. */
const APPEND_ONLY = new Set(['medication_request_history', 'medication_dispense_history', 'outbox', 'audit_events']);

/**
 * Row-level security as the second wall behind every query's tenant filter, and the append-only
 * audit trail.
 *
 * Request-path SQL runs as `rxgate_app` (no BYPASSRLS, owns nothing) with the tenant in the
 * transaction-local setting `app.tenant_id`; a row of another tenant is invisible to it, and a write
 * naming another tenant fails the policy's check. The relay, the embedded bus and the metrics read
 * across tenants by nature and keep running as the connecting (owner) role, which RLS does not bind.
 */
export class TenantSecurity1763700000005 implements MigrationInterface {
  name = 'TenantSecurity1763700000005';

  async up(q: QueryRunner): Promise<void> {
    // Roles belong to the cluster, not the database: instances (or test workers) migrating several
    // databases of one server at once may race to create it.
    await q.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rxgate_app') THEN
          CREATE ROLE rxgate_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
        END IF;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END $$`);
    // The connecting role must be able to switch to it (a superuser always can).
    await q.query(`
      DO $$ BEGIN
        IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
          EXECUTE format('GRANT rxgate_app TO %I', current_user);
        END IF;
      END $$`);

    await q.query(`
      CREATE TABLE audit_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        recorded timestamptz NOT NULL,
        tenant_id text NOT NULL,
        actor text NOT NULL,
        persona text NOT NULL,
        action text NOT NULL,
        interaction text NOT NULL,
        entity_type text,
        entity_id text,
        outcome text NOT NULL,
        outcome_code text,
        correlation_id text NOT NULL,
        detail text
      )`);
    await q.query(`CREATE INDEX audit_events_tenant ON audit_events (tenant_id, recorded, id)`);
    await q.query(`CREATE INDEX audit_events_entity ON audit_events (tenant_id, entity_id, recorded)`);
    await q.query(`CREATE INDEX audit_events_actor ON audit_events (tenant_id, actor, recorded)`);

    await q.query(`GRANT USAGE ON SCHEMA public TO rxgate_app`);
    await q.query(`GRANT SELECT ON tenants, organizations TO rxgate_app`);
    for (const table of TENANT_TABLES) {
      const privileges = APPEND_ONLY.has(table) ? 'SELECT, INSERT' : 'SELECT, INSERT, UPDATE, DELETE';
      await q.query(`GRANT ${privileges} ON ${table} TO rxgate_app`);
      await q.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      // current_setting(…, true) is NULL when no tenant was entered: then nothing matches.
      await q.query(`
        CREATE POLICY tenant_isolation ON ${table} TO rxgate_app
          USING (tenant_id = current_setting('app.tenant_id', true))
          WITH CHECK (tenant_id = current_setting('app.tenant_id', true))`);
    }
    await q.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO rxgate_app`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of TENANT_TABLES.filter((t) => t !== 'audit_events')) {
      await q.query(`DROP POLICY IF EXISTS tenant_isolation ON ${table}`);
      await q.query(`ALTER TABLE ${table} DISABLE ROW LEVEL SECURITY`);
      await q.query(`REVOKE ALL ON ${table} FROM rxgate_app`);
    }
    await q.query(`DROP TABLE IF EXISTS audit_events`);
    await q.query(`REVOKE ALL ON tenants, organizations FROM rxgate_app`);
    await q.query(`REVOKE USAGE ON ALL SEQUENCES IN SCHEMA public FROM rxgate_app`);
    await q.query(`REVOKE USAGE ON SCHEMA public FROM rxgate_app`);
    // The role stays: other databases of the cluster may still use it.
  }
}
