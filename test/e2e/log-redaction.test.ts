import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import type { IntegrationNotice } from '../../src/ports/index.js';
import { fakeIntegrations } from '../support/fake-integrations.js';
import { PHARMACY_A, prescription } from '../support/fixtures.js';
import { rawGraphql } from '../support/graphql.js';
import { request } from '../support/http.js';
import { subscriber } from '../support/live.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { prescriptionIn } from '../support/workflow.js';

// Names no other data contains, so finding one in the log can only be a leak.
const PATIENT = 'Zebulon Quartermaine-Fitzwilliam';
const REFUSED_PATIENT = 'Xanthippe Featherstonehaugh';

const lines: string[] = [];
let t: TestApp;
let token: string;
beforeAll(async () => {
  const fake = fakeIntegrations();
  // An insurer adapter that fails the way HTTP clients do: the error carries the request (its
  // headers and body, the prescription) and the response.
  const insurance = {
    approvalGranted: async (notice: IntegrationNotice) => {
      throw Object.assign(new Error('insurer answered 502'), {
        config: { headers: { Authorization: `Bearer ${token}` }, data: JSON.stringify(notice) },
        response: { status: 502, data: { echo: notice.prescription } },
        notice,
      });
    },
  };
  const logger = createLogger({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  t = await startTestApp({
    logger,
    integrations: { ...fake.integrations, insurance: { ...fake.integrations.insurance, ...insurance } },
    env: { ACTION_MAX_ATTEMPTS: '2', ACTION_RETRY_BASE_MS: '1', ACTION_RETRY_MAX_MS: '5' },
  });
  token = await t.token('tenant-a', 'ehr-backend');
  // A real database failure whose error carries the row: PostgreSQL quotes it ("Failing row contains …")
  // and TypeORM keeps the statement's parameters, the resource among them.
  await t.sql(
    `ALTER TABLE medication_requests ADD CONSTRAINT redaction_probe CHECK (resource->'subject'->>'display' IS DISTINCT FROM '${REFUSED_PATIENT}') NOT VALID`,
  );
});
afterAll(async () => t?.close());

const withPatient = (display: string) => ({ ...prescription(), subject: { reference: 'Patient/redaction-probe', display } });

describe('logs, at debug level', () => {
  it('never contain the bearer token, the Authorization header or a patient name, and do carry the correlation id', async () => {
    const ok = await request(`${t.url}/fhir/MedicationRequest`, { token, body: withPatient(PATIENT), headers: { 'x-correlation-id': 'redaction-ok-1' } });
    expect(ok.status).toBe(201);
    const failed = await request(`${t.url}/fhir/MedicationRequest`, {
      token,
      body: withPatient(REFUSED_PATIENT),
      headers: { 'x-correlation-id': 'redaction-fail-1' },
    });
    expect(failed.status).toBe(500);
    const input = {
      subject: { reference: 'Patient/redaction-probe', display: REFUSED_PATIENT },
      medication: {
        text: 'lisinopril 10 MG Oral Tablet',
        coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '314076', display: 'lisinopril 10 MG Oral Tablet' }],
      },
      authoredOn: '2026-11-20',
      dispenseRequest: { performer: { reference: `Organization/${PHARMACY_A}` }, quantity: { value: 30, unit: 'tablet' } },
    };
    const graph = await rawGraphql(
      t.url,
      { query: 'mutation Create($input: MedicationRequestInput!) { createMedicationRequest(input: $input) { id } }', variables: { input } },
      token,
      { 'x-correlation-id': 'redaction-gql-1' },
    );
    expect(graph.errors?.map((e) => `${e.extensions?.code}: ${e.message}`)).toEqual([expect.stringMatching(/^INTERNAL/)]);
    // The insurer's failure is logged for each attempt (the notice carries the prescription).
    await prescriptionIn(t.url, 'approved', { ehr: token, pharmacy: await t.token('tenant-a', 'pharmacy-backend') });
    // graphql-ws carries the token in connectionParams.
    const live = subscriber(t.url, token);
    await live.ready;
    await live.stop();
    await expect.poll(() => lines.filter((l) => l.includes('workflow action failed')).length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);

    const log = lines.join('');
    const entries = lines.map((l) => JSON.parse(l) as Record<string, any>);
    // The failures were logged, with their errors: what is checked below is not an empty log.
    const dbFailure = entries.find((e) => e.msg === 'unexpected error' && e.reqId === 'redaction-fail-1');
    expect(dbFailure?.err).toMatchObject({ type: 'QueryFailedError', constraint: 'redaction_probe' });
    expect(entries.some((e) => e.reqId === 'redaction-ok-1' && e.msg === 'request' && e.status === 201)).toBe(true);
    expect(entries.find((e) => e.msg === 'workflow action failed')?.err).toMatchObject({ type: 'Error', message: 'insurer answered 502' });

    expect(log).not.toContain(token);
    expect(log).not.toContain(token.split('.')[2]); // not even the signature alone
    expect(log).not.toMatch(/bearer/i);
    expect(log).not.toContain(PATIENT);
    expect(log).not.toContain(REFUSED_PATIENT);
    expect(log).not.toContain('Zebulon');
    expect(log).not.toContain('Xanthippe');
    expect(log).toContain('redaction-fail-1');
    expect(log).toContain('redaction-ok-1');
  });
});
