import { describe, expect, inject, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { prescription } from '../support/fixtures.js';
import { rawGraphql } from '../support/graphql.js';
import { outcomeCode, request } from '../support/http.js';
import { useTestApp } from '../support/use-test-app.js';

// 12 units, refilled at 1 per second: two writes (5 each) pass, the third is refused.
const LIMITS = { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_BURST: '12', RATE_LIMIT_PER_SECOND: '1' };

const t = useTestApp({ env: LIMITS });

describe('rate limits per tenant and persona, FHIR and GraphQL together', () => {
  it('answers 429 RATE_LIMIT_EXCEEDED with Retry-After and RateLimit headers once the bucket is empty', async () => {
    const ehr = await t.token('tenant-a', 'ehr-backend');
    const first = await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription() });
    expect(first.status).toBe(201);
    expect(first.headers.get('ratelimit-limit')).toBe('12');
    expect(first.headers.get('ratelimit-remaining')).toBe('7');
    expect((await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription() })).status).toBe(201);
    const refused = await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription() });
    expect(refused.status).toBe(429);
    expect(outcomeCode(refused.body)).toBe('RATE_LIMIT_EXCEEDED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('ratelimit-remaining')).toBe('2');

    // The same budget over GraphQL: a mutation (5) is refused, a read (1) still passes.
    const mutation = await rawGraphql(t.url, { query: 'mutation { transitionPrescription(id: "x", event: APPROVE) { id } }' }, ehr);
    expect(mutation.status).toBe(429);
    expect(mutation.errors![0].extensions!.code).toBe('RATE_LIMIT_EXCEEDED');
    expect((await rawGraphql(t.url, { query: '{ __typename }' }, ehr)).status).toBe(200);

    // Another persona and another tenant have budgets of their own.
    expect((await request(`${t.url}/fhir/MedicationRequest?_count=1`, { token: await t.token('tenant-a', 'pharmacy-backend') })).status).toBe(200);
    expect((await request(`${t.url}/fhir/MedicationRequest`, { token: await t.token('tenant-b', 'ehr-backend'), body: prescription() })).status).toBe(201);
    const metrics = (await request(`${t.url}/metrics`)).body as string;
    expect(metrics).toMatch(/rxgate_rate_limit_rejections_total\{tenant="tenant-a"\} 2/);
  });

  // Shared buckets belong to the real-services topology (NATS configured): the second pass of CI.
  it.runIf(inject('natsUrl'))('with NATS configured, instances share the buckets, so two instances do not double the limit', async () => {
    const second = await startApp(
      loadConfig({
        NODE_ENV: 'test',
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: t.databaseUrl,
        NATS_URL: t.app.config.natsUrl,
        NATS_STREAM: t.app.config.natsStream,
        NATS_SUBJECT_PREFIX: t.app.config.natsSubjectPrefix,
        ...LIMITS,
      }),
    );
    try {
      const token = await t.token('tenant-b', 'pharmacy-backend');
      // Alternating instances: with per-instance buckets each would see 4 searches (8 units) and refuse none.
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await request(`${(i % 2 ? second : t.app).url}/fhir/MedicationRequest?_count=1`, { token })).status);
      // 12 units at 2 per search: six pass across both instances, then refusals.
      expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(7);
      expect(statuses).toContain(429);
    } finally {
      await second.close();
    }
  });
});
