import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { prescription } from '../support/fixtures.js';
import { request } from '../support/http.js';
import { useTestApp } from '../support/use-test-app.js';

/** At the default level (info), each request leaves exactly one line: method, route, status, duration, correlation id. */
const entries: Array<Record<string, unknown>> = [];
const t = useTestApp({ logger: createLogger({ level: 'info' }, { write: (line: string) => void entries.push(JSON.parse(line)) }) });

const linesFor = (correlationId: string) => entries.filter((e) => e.reqId === correlationId && e.msg === 'request');

describe('request log', () => {
  it('writes one line per request, 2xx at info, 4xx at warn, with the route template and the correlation id', async () => {
    const token = await t.token('tenant-a', 'ehr-backend');
    const created = await request(`${t.url}/fhir/MedicationRequest`, { token, body: prescription(), headers: { 'x-correlation-id': 'log-create-1' } });
    expect(created.status).toBe(201);
    const unauthenticated = await request(`${t.url}/fhir/MedicationRequest/${created.body.id}`, { headers: { 'x-correlation-id': 'log-401-1' } });
    expect(unauthenticated.status).toBe(401);
    const missing = await request(`${t.url}/nothing-here`, { headers: { 'x-correlation-id': 'log-404-1' } });
    expect(missing.status).toBe(404);

    // onResponse runs after the answer is sent: wait for the lines, bounded by expect.poll.
    await expect.poll(() => ['log-create-1', 'log-401-1', 'log-404-1'].map((id) => linesFor(id).length)).toEqual([1, 1, 1]);
    expect(linesFor('log-create-1')[0]).toMatchObject({ level: 30, method: 'POST', route: '/fhir/MedicationRequest', status: 201, ms: expect.any(Number) });
    expect(linesFor('log-401-1')[0]).toMatchObject({ level: 40, method: 'GET', route: '/fhir/MedicationRequest/:id', status: 401 });
    expect(linesFor('log-404-1')[0]).toMatchObject({ level: 40, method: 'GET', status: 404 });
    // The line never carries the resource or the token.
    const created1 = JSON.stringify(linesFor('log-create-1'));
    expect(created1).not.toContain(token);
    expect(created1).not.toContain('resourceType');
  });
});
