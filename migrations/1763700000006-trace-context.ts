import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Trace context that crosses the event stream: the W3C `traceparent` of the transaction that wrote
 * an outbox row (the relay publishes it as a child of that trace), and the headers of a message of
 * the embedded bus (NATS keeps headers itself). Both are empty when tracing is off.
 */
export class TraceContext1763700000006 implements MigrationInterface {
  name = 'TraceContext1763700000006';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox ADD COLUMN traceparent text`);
    await q.query(`ALTER TABLE bus_messages ADD COLUMN headers jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE bus_messages DROP COLUMN IF EXISTS headers`);
    await q.query(`ALTER TABLE outbox DROP COLUMN IF EXISTS traceparent`);
  }
}
