import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The workflow engine (CONTRACT §10): the definition version each prescription started under,
 * durable timers, and the instance of each completed action (for compensations).
 */
export class WorkflowEngine1763700000010 implements MigrationInterface {
  name = 'WorkflowEngine1763700000010';

  async up(q: QueryRunner): Promise<void> {
    // Prescriptions created before the engine keep version 1 behaviour (no refills); the application writes the version of new ones.
    await q.query(`ALTER TABLE medication_requests ADD COLUMN workflow_version integer NOT NULL DEFAULT 1`);
    await q.query(`ALTER TABLE medication_requests ALTER COLUMN workflow_version DROP DEFAULT`);
    await q.query(`ALTER TABLE medication_request_history ADD COLUMN workflow_version integer NOT NULL DEFAULT 1`);
    await q.query(`ALTER TABLE medication_request_history ALTER COLUMN workflow_version DROP DEFAULT`);

    // A timer is armed in the transaction of the transition that enters its states, and settled
    // (fired or dropped) in the transaction of its effect: claiming, acting and settling commit together.
    await q.query(`
      CREATE TABLE workflow_timers (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL REFERENCES tenants (id),
        workflow text NOT NULL,
        instance_id uuid NOT NULL,
        name text NOT NULL,
        due_at timestamptz NOT NULL,
        armed_at timestamptz NOT NULL DEFAULT now(),
        settled_at timestamptz,
        outcome text CHECK (outcome IN ('fired', 'dropped'))
      )`);
    await q.query(`CREATE INDEX workflow_timers_due ON workflow_timers (due_at) WHERE settled_at IS NULL`);
    await q.query(`CREATE INDEX workflow_timers_instance ON workflow_timers (tenant_id, instance_id) WHERE settled_at IS NULL`);
    await q.query(`ALTER TABLE workflow_timers ENABLE ROW LEVEL SECURITY`);
    await q.query(
      `CREATE POLICY tenant_isolation ON workflow_timers TO rxgate_app USING (tenant_id = current_setting('app.tenant_id', true)) WITH CHECK (tenant_id = current_setting('app.tenant_id', true))`,
    );
    await q.query(`GRANT SELECT, INSERT, UPDATE ON workflow_timers TO rxgate_app`);

    await q.query(`ALTER TABLE action_runs ADD COLUMN instance_id uuid`);
    await q.query(`CREATE INDEX action_runs_instance ON action_runs (tenant_id, instance_id, completed_at) WHERE instance_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX action_runs_instance`);
    await q.query(`ALTER TABLE action_runs DROP COLUMN instance_id`);
    await q.query(`DROP TABLE workflow_timers`);
    await q.query(`ALTER TABLE medication_request_history DROP COLUMN workflow_version`);
    await q.query(`ALTER TABLE medication_requests DROP COLUMN workflow_version`);
  }
}
