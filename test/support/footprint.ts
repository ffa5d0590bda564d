import type { TestApp } from './test-app.js';

/**
 * What requests can leave behind, over all tenants: rows and their versions, history, Tasks,
 * Subscriptions, events and idempotency records. Equal before and after a refused request when the
 * refusal wrote nothing. (Dead letters and action runs follow events asynchronously: not counted.)
 */
export async function storedCounts(t: Pick<TestApp, 'sql'>): Promise<Record<string, number>> {
  const [counts] = await t.sql<Record<string, number>>(`SELECT
    (SELECT count(*) FROM medication_requests)::int AS requests,
    (SELECT coalesce(sum(version), 0) FROM medication_requests)::int AS request_versions,
    (SELECT count(*) FROM medication_request_history)::int AS request_history,
    (SELECT count(*) FROM medication_dispenses)::int AS dispenses,
    (SELECT coalesce(sum(version), 0) FROM medication_dispenses)::int AS dispense_versions,
    (SELECT count(*) FROM medication_dispense_history)::int AS dispense_history,
    (SELECT count(*) FROM tasks)::int AS tasks,
    (SELECT count(*) FROM subscriptions)::int AS subscriptions,
    (SELECT coalesce(sum(version), 0) FROM subscriptions)::int AS subscription_versions,
    (SELECT count(*) FROM outbox)::int AS events,
    (SELECT count(*) FROM idempotency_keys)::int AS idempotency_keys`);
  return counts;
}
