import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Commands received over the bus (CONTRACT §11), by command id (`Nats-Msg-Id`), with their first
 * outcome: a repeat of the id, however much later, is answered with it and does nothing again. An
 * accepted command's row commits in the transaction of its effect. Tenant data, so guarded by
 * row-level security like the other tenant tables (migration TenantSecurity1763700000005), and
 * append-only for the request role: an outcome is never rewritten.
 */
export class BusCommands1763700000020 implements MigrationInterface {
  name = 'BusCommands1763700000020';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE bus_commands (
        tenant_id text NOT NULL,
        command_id text NOT NULL,
        command text NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('accepted', 'rejected')),
        reference text,
        version integer,
        error_code text,
        message text,
        issues jsonb,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, command_id),
        CHECK (outcome = 'rejected' OR (reference IS NOT NULL AND version IS NOT NULL)),
        CHECK (outcome = 'accepted' OR (error_code IS NOT NULL AND message IS NOT NULL))
      )`);
    await q.query(`GRANT SELECT, INSERT ON bus_commands TO rxgate_app`);
    await q.query(`ALTER TABLE bus_commands ENABLE ROW LEVEL SECURITY`);
    await q.query(`
      CREATE POLICY tenant_isolation ON bus_commands TO rxgate_app
        USING (tenant_id = current_setting('app.tenant_id', true))
        WITH CHECK (tenant_id = current_setting('app.tenant_id', true))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS bus_commands`);
  }
}
