import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tenants, the shared pharmacy directory, prescriptions with their history, idempotency records
 * and the transactional outbox. Search columns are derived from the FHIR JSON by the application
 * (one mapper) so every index is a plain b-tree or GIN over columns, not over jsonb paths.
 */
export class InitialSchema1763700000000 implements MigrationInterface {
  name = 'InitialSchema1763700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenants (
        id text PRIMARY KEY,
        name text NOT NULL,
        modules text[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE organizations (
        id text PRIMARY KEY,
        name text NOT NULL,
        type_codes text[] NOT NULL DEFAULT '{}',
        version integer NOT NULL DEFAULT 1,
        last_updated timestamptz NOT NULL DEFAULT now(),
        resource jsonb NOT NULL
      )`);
    await q.query(`CREATE INDEX organizations_name_lower ON organizations (lower(name), id)`);

    await q.query(`
      CREATE TABLE medication_requests (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        tenant_id text NOT NULL REFERENCES tenants (id),
        id uuid NOT NULL,
        version integer NOT NULL,
        workflow_status text NOT NULL,
        status text NOT NULL,
        patient_id text NOT NULL,
        pharmacy_id text,
        requester text,
        authored_on timestamptz,
        identifiers text[] NOT NULL DEFAULT '{}',
        codes text[] NOT NULL DEFAULT '{}',
        last_updated timestamptz NOT NULL,
        resource jsonb NOT NULL,
        PRIMARY KEY (tenant_id, id)
      )`);
    await q.query(`CREATE UNIQUE INDEX medication_requests_seq ON medication_requests (seq)`);
    await q.query(`CREATE INDEX medication_requests_tenant_seq ON medication_requests (tenant_id, seq)`);
    await q.query(`CREATE INDEX medication_requests_patient ON medication_requests (tenant_id, patient_id, seq)`);
    await q.query(`CREATE INDEX medication_requests_pharmacy ON medication_requests (tenant_id, pharmacy_id, seq)`);
    await q.query(`CREATE INDEX medication_requests_workflow ON medication_requests (tenant_id, workflow_status, seq)`);
    await q.query(`CREATE INDEX medication_requests_authored ON medication_requests (tenant_id, authored_on, seq)`);
    await q.query(`CREATE INDEX medication_requests_updated ON medication_requests (tenant_id, last_updated, seq)`);
    await q.query(`CREATE INDEX medication_requests_identifiers ON medication_requests USING gin (identifiers)`);
    await q.query(`CREATE INDEX medication_requests_codes ON medication_requests USING gin (codes)`);

    await q.query(`
      CREATE TABLE medication_request_history (
        tenant_id text NOT NULL,
        id uuid NOT NULL,
        version integer NOT NULL,
        workflow_status text NOT NULL,
        last_updated timestamptz NOT NULL,
        resource jsonb NOT NULL,
        transition jsonb,
        PRIMARY KEY (tenant_id, id, version)
      )`);

    await q.query(`
      CREATE TABLE idempotency_keys (
        tenant_id text NOT NULL,
        key text NOT NULL,
        operation text NOT NULL,
        request_hash text NOT NULL,
        resource_type text NOT NULL,
        resource_id text NOT NULL,
        version integer NOT NULL,
        status_code integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, key)
      )`);
    await q.query(`CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at)`);

    await q.query(`
      CREATE TABLE outbox (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id uuid NOT NULL UNIQUE,
        tenant_id text NOT NULL,
        event_type text NOT NULL,
        subject text NOT NULL,
        envelope jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
      )`);
    await q.query(`CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL`);
    // Wakes the relay at commit (NOTIFY is transactional) without a round trip of its own.
    await q.query(`
      CREATE FUNCTION notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('rxgate_outbox', '');
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION notify_outbox()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS outbox_notify ON outbox`);
    await q.query(`DROP FUNCTION IF EXISTS notify_outbox()`);
    for (const table of ['outbox', 'idempotency_keys', 'medication_request_history', 'medication_requests', 'organizations', 'tenants']) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
