import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Event sequence numbers assigned by the relay in publish order, and FHIR Subscriptions with the
 * cursor of the last event each delivered.
 */
export class LiveEvents1763700000003 implements MigrationInterface {
  name = 'LiveEvents1763700000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox ADD COLUMN sequence bigint`);
    await q.query(`CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL`);
    await q.query(`CREATE TABLE relay_state (id integer PRIMARY KEY CHECK (id = 1), last_sequence bigint NOT NULL)`);
    await q.query(`INSERT INTO relay_state (id, last_sequence) VALUES (1, 0)`);
    await q.query(`
      CREATE TABLE subscriptions (
        tenant_id text NOT NULL REFERENCES tenants (id),
        id uuid NOT NULL,
        version integer NOT NULL,
        status text NOT NULL,
        criteria text NOT NULL,
        error text,
        cursor text,
        last_updated timestamptz NOT NULL,
        resource jsonb NOT NULL,
        PRIMARY KEY (tenant_id, id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS subscriptions`);
    await q.query(`DROP TABLE IF EXISTS relay_state`);
    await q.query(`DROP INDEX IF EXISTS outbox_published`);
    await q.query(`ALTER TABLE outbox DROP COLUMN IF EXISTS sequence`);
  }
}
