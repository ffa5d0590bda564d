import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { printSubgraphSdl } from '../../src/transport/graphql/schema.js';
import { prescription } from '../support/fixtures.js';
import { rawGraphql } from '../support/graphql.js';
import { request } from '../support/http.js';
import { startTestApp } from '../support/test-app.js';
import { useTestApp } from '../support/use-test-app.js';

const t = useTestApp();

describe('operations endpoints', () => {
  it('/healthz answers while the process runs; /readyz checks the database and the bus', async () => {
    expect((await request(`${t.url}/healthz`)).status).toBe(200);
    const ready = await request(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { database: true, bus: true } });
  });

  it('/readyz answers 503 naming the dependency that is down', async () => {
    const original = t.app.bus.ping;
    t.app.bus.ping = async () => false;
    try {
      const down = await request(`${t.url}/readyz`);
      expect(down.status).toBe(503);
      expect(down.body.checks).toEqual({ database: true, bus: false });
    } finally {
      t.app.bus.ping = original;
    }
  });

  it('echoes the caller’s X-Correlation-Id, or makes one, and carries it into the event', async () => {
    const token = await t.token('tenant-a', 'ehr-backend');
    const echoed = await request(`${t.url}/fhir/MedicationRequest?_count=1`, { token, headers: { 'x-correlation-id': 'trace-me-42' } });
    expect(echoed.headers.get('x-correlation-id')).toBe('trace-me-42');
    const made = await request(`${t.url}/fhir/MedicationRequest?_count=1`, { token });
    expect(made.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    const hostile = await request(`${t.url}/fhir/MedicationRequest?_count=1`, { token, headers: { 'x-correlation-id': 'bad id with spaces' } });
    expect(hostile.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('/metrics counts requests per route and GraphQL operation, with latency and process metrics', async () => {
    const token = await t.token('tenant-a', 'ehr-backend');
    await request(`${t.url}/fhir/MedicationRequest`, { token, body: prescription() });
    await rawGraphql(t.url, { query: 'query DirectoryPage { pharmacies(first: 1) { id } }', operationName: 'DirectoryPage' }, token);
    const metrics = await request(`${t.url}/metrics`);
    expect(metrics.status).toBe(200);
    const text = metrics.body as string;
    expect(text).toMatch(/rxgate_http_requests_total\{route="\/fhir\/MedicationRequest",method="POST",status="201"\} 1/);
    expect(text).toMatch(/rxgate_http_requests_total\{route="graphql:DirectoryPage",method="POST",status="200"\} 1/);
    expect(text).toContain('rxgate_http_request_duration_seconds_bucket');
    expect(text).toContain('rxgate_process_resident_memory_bytes');
  });

  it('/metrics shows the outbox draining to zero, events published, the database pool and websockets', async () => {
    const token = await t.token('tenant-a', 'ehr-backend');
    const created = await Promise.all(Array.from({ length: 10 }, () => request(`${t.url}/fhir/MedicationRequest`, { token, body: prescription() })));
    expect(created.map((c) => (c.status === 201 ? 201 : JSON.stringify(c.body)))).toEqual(Array(10).fill(201));
    const scrape = async () => (await request(`${t.url}/metrics`)).body as string;
    const value = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    await expect.poll(async () => value(await scrape(), 'rxgate_outbox_backlog_events'), { timeout: 20_000 }).toBe(0);
    const text = await scrape();
    const lines = text
      .split('\n')
      .filter((l) => l.startsWith('rxgate_outbox') || l.startsWith('rxgate_db_pool') || l.startsWith('rxgate_live') || l.startsWith('rxgate_websocket'))
      .join('\n');
    expect(value(text, 'rxgate_outbox_oldest_unpublished_seconds'), lines).toBe(0);
    expect(value(text, 'rxgate_outbox_published_total'), lines).toBeGreaterThanOrEqual(10);
    expect(value(text, 'rxgate_outbox_scrape_ok'), lines).toBe(1);
    expect(text).toMatch(/rxgate_db_pool_connections\{state="idle"\} \d+/);
    expect(text).toMatch(/rxgate_websocket_connections\{protocol="graphql-ws"\} 0/);
    expect(text).toMatch(/^rxgate_live_subscribers 0$/m);
  });

  it('answers INTERNAL without leaking the cause', async () => {
    const original = t.app.useCases.searchPharmacies;
    t.app.useCases.searchPharmacies = async () => {
      throw new Error('relation "secret_table" does not exist');
    };
    try {
      const token = await t.token('tenant-a', 'ehr-backend');
      const graph = await rawGraphql(t.url, { query: '{ pharmacies { id } }' }, token);
      expect(graph.errors![0].extensions!.code).toBe('INTERNAL');
      expect(JSON.stringify(graph)).not.toContain('secret_table');
      const fhir = await request(`${t.url}/fhir/Organization?name=x`, { token });
      expect(fhir.status).toBe(500);
      expect(fhir.body.issue[0].details.coding[0].code).toBe('INTERNAL');
      expect(JSON.stringify(fhir.body)).not.toContain('secret_table');
    } finally {
      t.app.useCases.searchPharmacies = original;
    }
  });
});

describe('HTTP hardening', () => {
  it('sends security headers and answers CORS preflights for allowed origins', async () => {
    const health = await fetch(`${t.url}/healthz`);
    expect(health.headers.get('x-content-type-options')).toBe('nosniff');
    expect(health.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(health.headers.get('strict-transport-security')).toContain('max-age=');
    for (const path of ['/fhir/MedicationRequest', '/graphql']) {
      const preflight = await fetch(`${t.url}${path}`, {
        method: 'OPTIONS',
        headers: { origin: 'https://ehr.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
      expect(preflight.status, path).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin'), path).toBe('https://ehr.example');
    }
  });

  it('in production, CORS is closed unless origins are listed', async () => {
    const env = { NODE_ENV: 'production', AUTH_JWT_SECRET: 'production-test-secret' };
    const closed = await startTestApp({ env });
    const open = await startTestApp({ env: { ...env, CORS_ORIGINS: 'https://ehr.example' } });
    try {
      const ask = (url: string, origin: string) => fetch(`${url}/fhir/metadata`, { headers: { origin } });
      expect((await ask(closed.url, 'https://ehr.example')).headers.get('access-control-allow-origin')).toBeNull();
      expect((await ask(open.url, 'https://ehr.example')).headers.get('access-control-allow-origin')).toBe('https://ehr.example');
      expect((await ask(open.url, 'https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await closed.close();
      await open.close();
    }
  });
});

describe('schema', () => {
  it('has no breaking change against schema/baseline.graphql (the last published contract; update it only deliberately)', async () => {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    // The same (CommonJS) graphql build as @apollo/subgraph, so schemas from both can be compared.
    const { findBreakingChanges, parse } = require('graphql') as typeof import('graphql');
    const { buildSubgraphSchema } = require('@apollo/subgraph') as typeof import('@apollo/subgraph');
    const baseline = buildSubgraphSchema([{ typeDefs: parse(await readFile(new URL('../../schema/baseline.graphql', import.meta.url), 'utf8')) }]);
    const current = buildSubgraphSchema([{ typeDefs: parse(await printSubgraphSdl()) }]);
    expect(findBreakingChanges(baseline, current).map((c) => `${c.type}: ${c.description}`)).toEqual([]);
  });

  it('schema/schema.graphql is the SDL the code prints (run `npm run schema:print` after a change)', async () => {
    const committed = await readFile(new URL('../../schema/schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(await printSubgraphSdl());
  });
});
