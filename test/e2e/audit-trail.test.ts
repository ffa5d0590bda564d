import { beforeAll, describe, expect, it } from 'vitest';
import { PrescriptionDocument, PrescriptionsDocument, TransitionDocument } from '../generated/graphql.js';
import { prescription, uniquePatient } from '../support/fixtures.js';
import { graphql } from '../support/graphql.js';
import { outcomeCode, request } from '../support/http.js';
import { useTestApp } from '../support/use-test-app.js';

let ehr: string;
let pharmacy: string;
let admin: string;
let adminB: string;

const t = useTestApp();
beforeAll(async () => {
  ehr = await t.token('tenant-a', 'ehr-backend', 'dr-audit');
  pharmacy = await t.token('tenant-a', 'pharmacy-backend', 'pharm-audit');
  admin = await t.token('tenant-a', 'platform-admin', 'root-a');
  adminB = await t.token('tenant-b', 'platform-admin', 'root-b');
});

const auditSearch = (query: string, token = admin) => request(`${t.url}/fhir/AuditEvent?${query}`, { token });
const entityRefs = (bundle: any): string[] => bundle.entry.map((e: any) => e.resource.entity[0].what?.reference);
const detail = (event: any, type: string) => event.entity[0].detail.find((d: any) => d.type === type)?.valueString;

describe('audit trail', () => {
  it("records a write in the write's own transaction: the row exists as soon as the response does", async () => {
    const created = await request(`${t.url}/fhir/MedicationRequest`, {
      token: ehr,
      headers: { 'x-correlation-id': 'corr-audit-create' },
      body: prescription(),
    });
    expect(created.status).toBe(201);
    const rows = await t.sql(
      `SELECT actor, persona, action, interaction, entity_type, entity_id, outcome, correlation_id FROM audit_events WHERE entity_id = $1`,
      [created.body.id],
    );
    expect(rows).toEqual([
      {
        actor: 'dr-audit',
        persona: 'ehr-backend',
        action: 'C',
        interaction: 'create',
        entity_type: 'MedicationRequest',
        entity_id: created.body.id,
        outcome: 'success',
        correlation_id: 'corr-audit-create',
      },
    ]);
  });

  it('records reads over both transports, transitions and denied attempts, searchable as FHIR AuditEvent', async () => {
    const patient = uniquePatient();
    const created = await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription({ patient }) });
    const id: string = created.body.id;
    expect((await request(`${t.url}/fhir/MedicationRequest/${id}`, { token: pharmacy, headers: { 'x-correlation-id': 'corr-audit-read' } })).status).toBe(200);
    expect((await request(`${t.url}/fhir/MedicationRequest?patient=${patient}`, { token: pharmacy })).status).toBe(200);
    expect((await graphql(t.url, PrescriptionDocument, { id }, pharmacy)).data?.medicationRequest?.id).toBe(id);
    expect((await graphql(t.url, PrescriptionsDocument, { filter: { patient }, first: 5 }, pharmacy)).errors).toBeUndefined();
    expect((await graphql(t.url, TransitionDocument, { id, event: 'APPROVE' }, ehr)).errors).toBeUndefined();
    // Refused: the wrong persona, and a tenant header naming another tenant.
    expect(
      outcomeCode(
        (await request(`${t.url}/fhir/MedicationRequest/${id}`, { method: 'PUT', token: pharmacy, headers: { 'if-match': 'W/"2"' }, body: created.body })).body,
      ),
    ).toBe('FORBIDDEN_WRITE_PERSONA');
    expect(outcomeCode((await request(`${t.url}/fhir/MedicationRequest/${id}`, { token: pharmacy, headers: { 'x-tenant-id': 'tenant-b' } })).body)).toBe(
      'TENANT_ISOLATION_VIOLATION',
    );
    // An id that does not exist (or is another tenant's) is a failed read, audited as well.
    const missing = '00000000-0000-4000-8000-000000000000';
    expect((await request(`${t.url}/fhir/MedicationRequest/${missing}`, { token: pharmacy })).status).toBe(404);

    const trail = await auditSearch(`entity=MedicationRequest/${id}&_count=50`);
    expect(trail.status).toBe(200);
    const events = trail.body.entry.map((e: any) => e.resource);
    const summary = events.map((e: any) => `${e.agent[0].who.identifier.value}/${e.subtype[0].code}/${e.outcome}`).reverse();
    expect(summary).toEqual([
      'dr-audit/create/0',
      'pharm-audit/read/0', // FHIR read
      'pharm-audit/search-type/0', // FHIR search
      'pharm-audit/read/0', // GraphQL medicationRequest
      'pharm-audit/search-type/0', // GraphQL list
      'dr-audit/transition/0',
    ]);
    const read = events.find((e: any) => detail(e, 'correlation-id') === 'corr-audit-read');
    expect(read).toMatchObject({
      action: 'R',
      agent: [{ type: { coding: [{ code: 'pharmacy-backend' }] }, requestor: true }],
      entity: [{ what: { reference: `MedicationRequest/${id}` } }],
    });
    expect(detail(events[0], 'detail')).toBe('approve requested→approved');

    const denied = await auditSearch('agent=pharm-audit&outcome=8');
    expect(denied.body.entry.map((e: any) => e.resource.outcomeDesc).sort()).toEqual(['FORBIDDEN_WRITE_PERSONA', 'TENANT_ISOLATION_VIOLATION']);
    const failed = await auditSearch(`entity=${missing}`);
    expect(failed.body.entry.map((e: any) => [e.resource.outcome, e.resource.outcomeDesc])).toEqual([['4', 'NOT_FOUND']]);
  });

  it("records an unlicensed tenant's attempt as denied, though nobody of that tenant may read it back", async () => {
    const unlicensed = await t.token('tenant-unlicensed', 'ehr-backend', 'outsider');
    const answer = await request(`${t.url}/fhir/MedicationRequest`, { token: unlicensed, headers: { 'x-correlation-id': 'corr-unlicensed' } });
    expect(outcomeCode(answer.body)).toBe('MODULE_NOT_LICENSED');
    await expect
      .poll(() => t.sql(`SELECT tenant_id, actor, outcome, outcome_code FROM audit_events WHERE correlation_id = 'corr-unlicensed'`))
      .toEqual([{ tenant_id: 'tenant-unlicensed', actor: 'outsider', outcome: 'denied', outcome_code: 'MODULE_NOT_LICENSED' }]);
  });

  it('filters by date with prefixes and pages newest first with a cursor', async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    const before = new Date().toISOString();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await request(`${t.url}/fhir/MedicationRequest`, { token: ehr, body: prescription() })).body.id);
    const first = await auditSearch(`agent=dr-audit&date=ge${before}&_count=2`);
    expect(entityRefs(first.body)).toEqual([`MedicationRequest/${ids[2]}`, `MedicationRequest/${ids[1]}`]);
    const next = first.body.link.find((l: any) => l.relation === 'next').url as string;
    const second = await request(next, { token: admin });
    expect(entityRefs(second.body)[0]).toBe(`MedicationRequest/${ids[0]}`);
    const future = await auditSearch(`agent=dr-audit&date=gt${new Date(Date.now() + 60_000).toISOString()}`);
    expect(future.body.entry).toEqual([]);
  });

  it('is for a platform-admin of the same tenant only, and refuses bad parameters', async () => {
    expect(outcomeCode((await auditSearch('agent=dr-audit', ehr)).body)).toBe('FORBIDDEN_WRITE_PERSONA');
    const other = await auditSearch('agent=dr-audit', adminB);
    expect(other.status).toBe(200);
    expect(other.body.entry).toEqual([]);
    for (const bad of ['outcome=3', 'date=yesterday', 'unknown=1', '_total=accurate']) {
      const answer = await auditSearch(bad);
      expect([answer.status, outcomeCode(answer.body)], bad).toEqual([400, 'BAD_REQUEST']);
    }
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const answer = await request(`${t.url}/fhir/AuditEvent${method === 'POST' ? '' : '/1'}`, { method, token: admin, body: { resourceType: 'AuditEvent' } });
      expect(answer.status, method).toBe(405);
    }
  });
});
