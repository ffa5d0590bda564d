import type { DataSource } from 'typeorm';
import type { DatabasePoolState, OperationalReadings, OperationalSnapshot } from '../../ports/index.js';

/** {@link OperationalReadings} of a TypeORM data source on PostgreSQL (pg-pool underneath). */
export function createOperationalReadings(dataSource: DataSource): OperationalReadings {
  return {
    async snapshot(): Promise<OperationalSnapshot> {
      const [row] = (await dataSource.query(
        `SELECT count(*)::int AS n, COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS age FROM outbox WHERE published_at IS NULL`,
      )) as Array<{ n: number; age: number }>;
      const openDeadLetters = (await dataSource.query(
        `SELECT handler, count(*)::int AS n FROM dead_letters WHERE resolved_at IS NULL GROUP BY handler`,
      )) as Array<{ handler: string; n: number }>;
      return { outboxBacklog: row.n, oldestUnpublishedSeconds: Number(row.age), openDeadLetters };
    },
    pool(): DatabasePoolState | undefined {
      const master = (dataSource.driver as unknown as { master?: DatabasePoolState }).master;
      return master && { totalCount: master.totalCount, idleCount: master.idleCount, waitingCount: master.waitingCount };
    },
  };
}
