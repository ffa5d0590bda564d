import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config.js';
import { EVENT_TYPES } from '../../src/domain/index.js';
import type { IntegrationNotice } from '../../src/ports/index.js';
import { buildAsyncApiDocument } from '../../src/transport/events/asyncapi-document.js';
import { PriorAuthorizationEventDocument, SubmitPriorAuthorizationDocument, TransitionDocument } from '../generated/graphql.js';
import { createMessageValidator } from '../support/event-schemas.js';
import { prescription, uniquePatient, websocketSubscription, workflowTask } from '../support/fixtures.js';
import { graphql } from '../support/graphql.js';
import { request } from '../support/http.js';
import { subscriber } from '../support/live.js';
import { useTestApp } from '../support/use-test-app.js';

/**
 * Every subject the gateway writes during a whole workflow — driven through both doors, with a
 * Subscription replay and a dead letter — is in the AsyncAPI document it serves, and every
 * message validates against its schema.
 */
describe('event schemas (AsyncAPI)', () => {
  // Support is down for good: the failure alert becomes a dead letter after three quick attempts.
  const t = useTestApp({
    // A one-second service level, so a prescription left approved emits sla_breached within the test.
    // A one-second PA decision deadline too, so an undecided prior authorization emits deadline_breached.
    env: { ACTION_MAX_ATTEMPTS: '3', ACTION_RETRY_BASE_MS: '20', ACTION_RETRY_MAX_MS: '100', SLA_PROCESSING_SECONDS: '1', PA_STANDARD_SECONDS: '1' },
    integrations: {
      support: {
        prescriptionFailed: async (_notice: IntegrationNotice) => Promise.reject(new Error('support desk unreachable')),
        alert: async () => undefined,
      },
    },
  });
  let ehr: string;
  let pharmacy: string;
  let admin: string;
  const version = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const fhir = (p: string) => `${t.url}/fhir/${p}`;

  beforeAll(async () => {
    [ehr, pharmacy, admin] = await Promise.all([
      t.token('tenant-a', 'ehr-backend'),
      t.token('tenant-a', 'pharmacy-backend'),
      t.token('tenant-a', 'platform-admin'),
    ]);
  });

  it('serves the AsyncAPI document at /asyncapi.json without a token', async () => {
    const response = await fetch(`${t.url}/asyncapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json()).toEqual(buildAsyncApiDocument({ version }));
  });

  it('every message of a whole workflow, through FHIR and GraphQL, with a replay and a dead letter, validates against its schema', async () => {
    const patient = uniquePatient();
    const live = subscriber(t.url, ehr, { filter: { patient } });
    await live.ready;
    const subscription = await request(fhir('Subscription'), { token: ehr, body: websocketSubscription(`MedicationRequest?patient=${patient}`) });
    expect(subscription.status).toBe(201);
    const transition = async (id: string, event: 'APPROVE' | 'CANCEL', token: string) => {
      const moved = await graphql(t.url, TransitionDocument, { id, event }, token);
      expect(moved.errors).toBeUndefined();
    };
    const created = async () => {
      const response = await request(fhir('MedicationRequest'), { token: ehr, body: prescription({ patient }) });
      expect(response.status).toBe(201);
      return response.body as fhir4.MedicationRequest & { id: string };
    };

    // Filled and completed: FHIR create and update, GraphQL approve, FHIR Task, dispense and its hand-over.
    const filled = await created();
    expect(
      (
        await request(fhir(`MedicationRequest/${filled.id}`), {
          method: 'PUT',
          token: ehr,
          headers: { 'if-match': 'W/"1"' },
          body: { ...filled, dosageInstruction: [{ text: 'one tablet at night' }] },
        })
      ).status,
    ).toBe(200);
    await transition(filled.id, 'APPROVE', ehr);
    expect((await request(fhir('Task'), { token: pharmacy, body: workflowTask(filled.id, 'fulfill', 'in-progress') })).status).toBe(201);
    const dispense = await request(fhir('MedicationDispense'), {
      token: pharmacy,
      body: {
        resourceType: 'MedicationDispense',
        status: 'completed',
        authorizingPrescription: [{ reference: `MedicationRequest/${filled.id}` }],
        medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '314076' }] },
        quantity: { value: 30, unit: 'tablet' },
      },
    });
    expect(dispense.status).toBe(201);
    expect(
      (
        await request(fhir(`MedicationDispense/${dispense.body.id}`), {
          method: 'PUT',
          token: pharmacy,
          headers: { 'if-match': 'W/"1"' },
          body: { ...dispense.body, whenHandedOver: '2026-11-21T12:00:00Z' },
        })
      ).status,
    ).toBe(200);

    // Cancelled over GraphQL; failed at the pharmacy over FHIR (its support alert is dead-lettered).
    const cancelled = await created();
    await transition(cancelled.id, 'APPROVE', ehr);
    await transition(cancelled.id, 'CANCEL', ehr);
    const failed = await created();
    await transition(failed.id, 'APPROVE', ehr);
    expect((await request(fhir('Task'), { token: pharmacy, body: workflowTask(failed.id, 'fulfill', 'in-progress') })).status).toBe(201);
    expect((await request(fhir('Task'), { token: pharmacy, body: workflowTask(failed.id, 'fulfill', 'failed') })).status).toBe(201);

    // Timers: one prescription left approved (sla_breached), one whose validity ends in two seconds (expired).
    await transition((await created()).id, 'APPROVE', ehr);
    const expiring = prescription({ patient });
    expiring.dispenseRequest = { ...expiring.dispenseRequest, validityPeriod: { end: new Date(Date.now() + 2_000).toISOString() } };
    expect((await request(fhir('MedicationRequest'), { token: ehr, body: expiring })).status).toBe(201);

    // A prior authorization (CONTRACT §9), submitted and reviewed, then left undecided past its deadline.
    const authorized = await created();
    const submitted = await graphql(t.url, SubmitPriorAuthorizationDocument, { prescriptionId: authorized.id }, ehr);
    expect(submitted.errors).toBeUndefined();
    const reviewed = await graphql(
      t.url,
      PriorAuthorizationEventDocument,
      { id: submitted.data!.submitPriorAuthorization.id, event: 'REVIEW' },
      await t.token('tenant-a', 'payer-backend'),
    );
    expect(reviewed.errors).toBeUndefined();

    const replay = await request(fhir(`Subscription/${subscription.body.id}/$replay`), {
      method: 'POST',
      token: admin,
      body: { resourceType: 'Parameters', parameter: [{ name: 'from', valueString: '0' }] },
    });
    expect(replay.status).toBe(200);

    const expected = [
      // Command outcomes come from the bus door (NATS only): test/e2e/bus-commands.test.ts sees them, and
      // the close of its test app validates them like every other message.
      ...Object.values(EVENT_TYPES)
        .filter((type) => !type.startsWith('eprescribing.command.'))
        .map((type) => `${type}.tenant-a`),
      'integration.insurance.approval.v1',
      'integration.pharmacy.prescription.v1',
      'integration.patient.dispensed.v1',
      'integration.patient.completed.v1',
      // The failed prescription is compensated (CONTRACT §10).
      'integration.pharmacy.cancel.v1',
      'integration.insurance.reversal.v1',
      'dlq.eprescribing.alertSupport.tenant-a',
    ];
    // Checked once all is on the bus (not only in the outbox): there each event has its stream position.
    const missing = async () => {
      const onBus = new Set((await t.messages()).filter((m) => m.source !== 'outbox').map((m) => m.subject));
      const [{ unpublished }] = await t.sql<{ unpublished: number }>('SELECT count(*)::int AS unpublished FROM outbox WHERE published_at IS NULL');
      return [...expected.filter((subject) => !onBus.has(subject)), ...(unpublished > 0 ? [`${unpublished} outbox row(s)`] : [])];
    };
    await expect.poll(missing, { timeout: 20_000 }).toEqual([]);
    const seen = await t.messages();
    expect(seen.length).toBeGreaterThan(40);
    expect(seen.flatMap(createMessageValidator().problemsOf)).toEqual([]);

    // What the live subscriber got is the same stream, typed by the catalogue.
    await expect.poll(() => live.received.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(12);
    const catalogued = new Set<string>(Object.values(EVENT_TYPES));
    for (const received of live.received) expect(catalogued.has(received.type), received.type).toBe(true);
    expect(live.errors).toEqual([]);
    await live.stop();
  });
});
