import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event stream of the embedded runtime (no NATS): an ordered, durable log in PostgreSQL with
 * durable consumer positions. Unused when NATS JetStream is configured.
 */
export class EmbeddedBus1763700000001 implements MigrationInterface {
  name = 'EmbeddedBus1763700000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SEQUENCE bus_messages_seq`);
    await q.query(`
      CREATE TABLE bus_messages (
        seq bigint PRIMARY KEY,
        subject text NOT NULL,
        msg_id text NOT NULL,
        data bytea NOT NULL,
        published_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX bus_messages_msg_id ON bus_messages (msg_id)`);
    await q.query(`CREATE INDEX bus_messages_published_at ON bus_messages (published_at)`);
    await q.query(`
      CREATE TABLE bus_consumers (
        name text PRIMARY KEY,
        acked_seq bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS bus_consumers`);
    await q.query(`DROP TABLE IF EXISTS bus_messages`);
    await q.query(`DROP SEQUENCE IF EXISTS bus_messages_seq`);
  }
}
