import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Dispenses and Tasks (with their versions), and the bookkeeping of workflow actions. */
export class Workflow1763700000002 implements MigrationInterface {
  name = 'Workflow1763700000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE medication_dispenses (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        tenant_id text NOT NULL REFERENCES tenants (id),
        id uuid NOT NULL,
        version integer NOT NULL,
        status text NOT NULL,
        prescription_id uuid NOT NULL,
        patient_id text NOT NULL,
        pharmacy_id text,
        when_handed_over timestamptz,
        last_updated timestamptz NOT NULL,
        resource jsonb NOT NULL,
        PRIMARY KEY (tenant_id, id)
      )`);
    await q.query(`CREATE UNIQUE INDEX medication_dispenses_seq ON medication_dispenses (seq)`);
    await q.query(`CREATE INDEX medication_dispenses_prescription ON medication_dispenses (tenant_id, prescription_id, seq)`);
    await q.query(`CREATE INDEX medication_dispenses_patient ON medication_dispenses (tenant_id, patient_id, seq)`);
    await q.query(`CREATE INDEX medication_dispenses_pharmacy ON medication_dispenses (tenant_id, pharmacy_id, seq)`);
    await q.query(`
      CREATE TABLE medication_dispense_history (
        tenant_id text NOT NULL,
        id uuid NOT NULL,
        version integer NOT NULL,
        last_updated timestamptz NOT NULL,
        resource jsonb NOT NULL,
        PRIMARY KEY (tenant_id, id, version)
      )`);

    await q.query(`
      CREATE TABLE tasks (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        tenant_id text NOT NULL REFERENCES tenants (id),
        id uuid NOT NULL,
        version integer NOT NULL,
        status text NOT NULL,
        code text NOT NULL,
        focus_id uuid NOT NULL,
        last_updated timestamptz NOT NULL,
        resource jsonb NOT NULL,
        PRIMARY KEY (tenant_id, id)
      )`);
    await q.query(`CREATE UNIQUE INDEX tasks_seq ON tasks (seq)`);
    await q.query(`CREATE INDEX tasks_focus ON tasks (tenant_id, focus_id, seq)`);

    // A workflow action runs once per event: the row is written in the action's success transaction.
    await q.query(`
      CREATE TABLE action_runs (
        handler text NOT NULL,
        event_id uuid NOT NULL,
        tenant_id text NOT NULL,
        attempts integer NOT NULL,
        completed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (handler, event_id)
      )`);
    await q.query(`
      CREATE TABLE dead_letters (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        handler text NOT NULL,
        event_id uuid NOT NULL,
        event_type text NOT NULL,
        envelope jsonb NOT NULL,
        error text NOT NULL,
        attempts integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        resolved_at timestamptz,
        UNIQUE (handler, event_id)
      )`);
    await q.query(`CREATE INDEX dead_letters_open ON dead_letters (tenant_id, created_at) WHERE resolved_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['dead_letters', 'action_runs', 'tasks', 'medication_dispense_history', 'medication_dispenses'])
      await q.query(`DROP TABLE IF EXISTS ${table}`);
  }
}
