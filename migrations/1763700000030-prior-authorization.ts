import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Prior authorization (CONTRACT §9): a PA is a Task of its own workflow, kept in `tasks` (so FHIR
 * read, search and Subscriptions see it like any Task) with its business state and the workflow
 * version it started under; unlike the written-once workflow Tasks it moves, so each version is
 * kept in `task_history` with the transition that made it.
 */
export class PriorAuthorization1763700000030 implements MigrationInterface {
  name = 'PriorAuthorization1763700000030';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tasks ADD COLUMN business_status text`);
    await q.query(`ALTER TABLE tasks ADD COLUMN workflow_name text`);
    await q.query(`ALTER TABLE tasks ADD COLUMN workflow_version integer`);
    // One live PA per prescription: a second submission while one is open (or approved) is refused by the application; this is the wall behind it.
    await q.query(
      `CREATE UNIQUE INDEX tasks_live_prior_authorization ON tasks (tenant_id, focus_id) WHERE workflow_name = 'prior-authorization' AND business_status NOT IN ('withdrawn', 'closed')`,
    );
    await q.query(`CREATE INDEX tasks_business_status ON tasks (tenant_id, business_status, seq) WHERE business_status IS NOT NULL`);
    await q.query(`
      CREATE TABLE task_history (
        tenant_id text NOT NULL REFERENCES tenants (id),
        id uuid NOT NULL,
        version integer NOT NULL,
        business_status text NOT NULL,
        workflow_version integer NOT NULL,
        last_updated timestamptz NOT NULL,
        resource jsonb NOT NULL,
        transition jsonb NOT NULL,
        PRIMARY KEY (tenant_id, id, version)
      )`);
    // Versions are written once (like medication_request_history): the request role may add, never rewrite.
    await q.query(`GRANT SELECT, INSERT ON task_history TO rxgate_app`);
    await q.query(`ALTER TABLE task_history ENABLE ROW LEVEL SECURITY`);
    await q.query(`
      CREATE POLICY tenant_isolation ON task_history TO rxgate_app
        USING (tenant_id = current_setting('app.tenant_id', true))
        WITH CHECK (tenant_id = current_setting('app.tenant_id', true))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS task_history`);
    await q.query(`DROP INDEX IF EXISTS tasks_business_status`);
    await q.query(`DROP INDEX IF EXISTS tasks_live_prior_authorization`);
    await q.query(`ALTER TABLE tasks DROP COLUMN workflow_version`);
    await q.query(`ALTER TABLE tasks DROP COLUMN workflow_name`);
    await q.query(`ALTER TABLE tasks DROP COLUMN business_status`);
  }
}
