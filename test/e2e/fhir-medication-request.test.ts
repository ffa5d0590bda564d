import { beforeAll, describe, expect, it } from 'vitest';
import { PHARMACY_A, PHARMACY_B, prescription, uniquePatient } from '../support/fixtures.js';
import { type JsonResponse, outcomeCode, request } from '../support/http.js';
import { scrape, valueOf } from '../support/prometheus.js';
import { signToken } from '../support/test-app.js';
import { useTestApp } from '../support/use-test-app.js';
import { prescriptionIn } from '../support/workflow.js';

let ehrA: string;
let pharmacyA: string;
let ehrB: string;

const t = useTestApp();
beforeAll(async () => {
  [ehrA, pharmacyA, ehrB] = await Promise.all([
    t.token('tenant-a', 'ehr-backend'),
    t.token('tenant-a', 'pharmacy-backend'),
    t.token('tenant-b', 'ehr-backend'),
  ]);
});

const mr = (path = '') => `${t.url}/fhir/MedicationRequest${path}`;

/** Rows a tenant has, to prove a refused request left nothing behind. */
async function footprint(tenant = 'tenant-a') {
  const [row] = await t.sql<{ requests: number; history: number; outbox: number; keys: number }>(
    `SELECT (SELECT count(*)::int FROM medication_requests WHERE tenant_id = $1) AS requests,
            (SELECT count(*)::int FROM medication_request_history WHERE tenant_id = $1) AS history,
            (SELECT count(*)::int FROM outbox WHERE tenant_id = $1) AS outbox,
            (SELECT count(*)::int FROM idempotency_keys WHERE tenant_id = $1) AS keys`,
    [tenant],
  );
  return row;
}

/** Statements the gateway counted for the FHIR create `send` makes (`rxgate_db_statements_per_request`). */
async function statementsOfNextCreate(send: () => Promise<JsonResponse>): Promise<number> {
  const counted = async () => {
    const samples = await scrape(t.url);
    const of = (name: string) => valueOf(samples, `rxgate_db_statements_per_request_${name}`, { route: '/fhir/MedicationRequest' }) ?? 0;
    return { sum: of('sum'), count: of('count') };
  };
  const before = await counted();
  expect((await send()).status).toBe(201);
  // The histogram is observed once the response is sent: wait for this request's observation.
  await expect.poll(async () => (await counted()).count).toBe(before.count + 1);
  return (await counted()).sum - before.sum;
}

describe('create, read, update', () => {
  it('creates a prescription in state requested, with id, meta, ETag and an absolute Location', async () => {
    const patient = uniquePatient();
    const created = await request(mr(), { token: ehrA, body: prescription({ patient }) });
    expect(created.status).toBe(201);
    const resource = created.body;
    expect(resource.resourceType).toBe('MedicationRequest');
    expect(resource.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(resource.meta.versionId).toBe('1');
    expect(resource.status).toBe('draft');
    expect(resource.extension).toContainEqual({ url: 'urn:rxgate:extension:workflow-status', valueCode: 'requested' });
    expect(created.headers.get('etag')).toBe('W/"1"');
    expect(created.headers.get('location')).toBe(`${t.url.replace('127.0.0.1', '127.0.0.1')}/fhir/MedicationRequest/${resource.id}/_history/1`);
    expect(created.headers.get('x-correlation-id')).toBeTruthy();

    const read = await request(mr(`/${resource.id}`), { token: ehrA });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(resource);
    expect(read.headers.get('etag')).toBe('W/"1"');
    expect(read.headers.get('last-modified')).toBe(new Date(resource.meta.lastUpdated).toUTCString());
    expect(read.headers.get('content-type')).toContain('application/fhir+json');
  });

  it('updates with If-Match, refuses a stale one with the current resource contained, and needs If-Match', async () => {
    const created = await request(mr(), { token: ehrA, body: prescription() });
    const id = created.body.id;
    const changed = { ...created.body, dosageInstruction: [{ text: 'one tablet at night' }] };

    const updated = await request(mr(`/${id}`), { method: 'PUT', token: ehrA, headers: { 'if-match': 'W/"1"' }, body: changed });
    expect(updated.status).toBe(200);
    expect(updated.body.meta.versionId).toBe('2');
    expect(updated.body.dosageInstruction).toEqual([{ text: 'one tablet at night' }]);
    expect(updated.headers.get('etag')).toBe('W/"2"');

    const stale = await request(mr(`/${id}`), { method: 'PUT', token: ehrA, headers: { 'if-match': 'W/"1"' }, body: changed });
    expect(stale.status).toBe(412);
    expect(outcomeCode(stale.body)).toBe('PRECONDITION_FAILED');
    expect(stale.body.contained[0].meta.versionId).toBe('2');
    expect(stale.headers.get('etag')).toBe('W/"2"');

    const missing = await request(mr(`/${id}`), { method: 'PUT', token: ehrA, body: changed });
    expect(missing.status).toBe(428);
    expect(outcomeCode(missing.body)).toBe('PRECONDITION_REQUIRED');

    const v1 = await request(mr(`/${id}/_history/1`), { token: ehrA });
    expect(v1.status).toBe(200);
    expect(v1.body.dosageInstruction).toEqual(created.body.dosageInstruction);
    expect((await request(mr(`/${id}/_history/9`), { token: ehrA })).status).toBe(404);
  });

  it('ignores status and the workflow extension in an update body: only workflow events change them', async () => {
    const created = await request(mr(), { token: ehrA, body: prescription() });
    const body = { ...created.body, status: 'completed', extension: [{ url: 'urn:rxgate:extension:workflow-status', valueCode: 'completed' }] };
    const updated = await request(mr(`/${created.body.id}`), { method: 'PUT', token: ehrA, headers: { 'if-match': 'W/"1"' }, body });
    expect(updated.status).toBe(200);
    expect(updated.body.status).toBe('draft');
    expect(updated.body.extension.filter((e: { url: string }) => e.url === 'urn:rxgate:extension:workflow-status')).toEqual([
      { url: 'urn:rxgate:extension:workflow-status', valueCode: 'requested' },
    ]);
  });

  it('refuses content updates past approved with UPDATE_NOT_ALLOWED', async () => {
    const id = await prescriptionIn(t.url, 'processing', { ehr: ehrA, pharmacy: pharmacyA });
    const current = await request(mr(`/${id}`), { token: ehrA });
    const refused = await request(mr(`/${id}`), { method: 'PUT', token: ehrA, headers: { 'if-match': 'W/"3"' }, body: current.body });
    expect(refused.status).toBe(409);
    expect(outcomeCode(refused.body)).toBe('UPDATE_NOT_ALLOWED');
  });
});

describe('search', () => {
  it('pages through a patient with an opaque cursor: three pages, no duplicates, absolute links', async () => {
    const patient = uniquePatient();
    const ids = new Set<string>();
    for (let i = 0; i < 7; i++) ids.add((await request(mr(), { token: ehrA, body: prescription({ patient, index: i }) })).body.id);
    await request(mr(), { token: ehrA, body: prescription({ patient: uniquePatient() }) }); // another patient's

    const seen: string[] = [];
    let url: string | undefined = mr(`?patient=Patient/${patient}&status=draft&_count=3`);
    let pages = 0;
    while (url) {
      const page: JsonResponse = await request(url, { token: ehrA });
      expect(page.status).toBe(200);
      expect(page.body.resourceType).toBe('Bundle');
      expect(page.body.type).toBe('searchset');
      expect(page.body.total).toBe(7);
      expect(page.body.link.find((l: any) => l.relation === 'self').url).toMatch(/^http:\/\//);
      for (const entry of page.body.entry) {
        expect(entry.search.mode).toBe('match');
        expect(entry.fullUrl).toBe(`${t.url}/fhir/MedicationRequest/${entry.resource.id}`);
        seen.push(entry.resource.id);
      }
      url = page.body.link.find((l: any) => l.relation === 'next')?.url;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(ids);
  });

  it('filters by pharmacy, identifier, code, workflow status and authored date, and caps _count at 200', async () => {
    const patient = uniquePatient();
    const identifier = { system: 'urn:test:rx', value: `rx-${patient}` };
    const body = { ...prescription({ patient, pharmacy: PHARMACY_B }), identifier: [identifier], authoredOn: '2021-03-04' };
    const { body: created } = await request(mr(), { token: ehrA, body });
    const code = body.medicationCodeableConcept!.coding![0].code;
    const search = async (qs: string) => (await request(mr(`?patient=${patient}&${qs}`), { token: ehrA })).body.entry?.map((e: any) => e.resource.id) ?? [];

    expect(await search(`intended-dispenser=Organization/${PHARMACY_B}`)).toEqual([created.id]);
    expect(await search(`intended-dispenser=${PHARMACY_A}`)).toEqual([]);
    expect(await search(`identifier=${identifier.system}|${identifier.value}`)).toEqual([created.id]);
    expect(await search(`identifier=${identifier.value}`)).toEqual([created.id]);
    expect(await search(`identifier=other|${identifier.value}`)).toEqual([]);
    expect(await search(`code=http://www.nlm.nih.gov/research/umls/rxnorm|${code}`)).toEqual([created.id]);
    expect(await search('workflow-status=requested')).toEqual([created.id]);
    expect(await search('workflow-status=approved')).toEqual([]);
    expect(await search('authoredon=2021-03')).toEqual([created.id]);
    expect(await search('authoredon=ge2021-03-04&authoredon=lt2021-03-05')).toEqual([created.id]);
    expect(await search('authoredon=gt2021-03-04')).toEqual([]);
    expect(await search(`_id=${created.id}`)).toEqual([created.id]);

    const capped = await request(mr(`?patient=${patient}&_count=5000`), { token: ehrA });
    expect(capped.status).toBe(200);
  });

  it('answers 400 for an unknown parameter unless Prefer: handling=lenient, and for a forged cursor', async () => {
    const strict = await request(mr('?colour=blue'), { token: ehrA });
    expect(strict.status).toBe(400);
    expect(outcomeCode(strict.body)).toBe('BAD_REQUEST');
    const lenient = await request(mr('?colour=blue&_count=1'), { token: ehrA, headers: { prefer: 'handling=lenient' } });
    expect(lenient.status).toBe(200);
    const forged = await request(mr('?_cursor=not-a-cursor'), { token: ehrA });
    expect(forged.status).toBe(400);
    expect(outcomeCode(forged.body)).toBe('BAD_REQUEST');
    const badDate = await request(mr('?authoredon=yesterday'), { token: ehrA });
    expect(badDate.status).toBe(400);
  });
});

describe('idempotency', () => {
  it('replays the same response for the same key and payload, refuses a different payload', async () => {
    const key = crypto.randomUUID();
    const body = prescription();
    const first = await request(mr(), { token: ehrA, headers: { 'idempotency-key': key }, body });
    const again = await request(mr(), { token: ehrA, headers: { 'idempotency-key': key }, body });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect((await t.sql('SELECT count(*)::int AS n FROM medication_requests WHERE id = $1', [first.body.id]))[0].n).toBe(1);

    const before = await footprint();
    const conflict = await request(mr(), { token: ehrA, headers: { 'idempotency-key': key }, body: { ...body, authoredOn: '2020-01-01' } });
    expect(conflict.status).toBe(409);
    expect(outcomeCode(conflict.body)).toBe('IDEMPOTENCY_KEY_CONFLICT');
    expect(await footprint()).toEqual(before);
  });

  it('a keyed create costs 2 round trips; its replay 3', async () => {
    // BEGIN with the tenant, the claim and the key's look-up; then the prescription, its history, outbox,
    // audit and key as one statement with the COMMIT (issue #18). A replay: the claim, the version, COMMIT.
    const body = prescription();
    const key = crypto.randomUUID();
    expect((await request(mr(), { token: ehrA, headers: { 'idempotency-key': key }, body })).status).toBe(201);
    expect(await statementsOfNextCreate(() => request(mr(), { token: ehrA, headers: { 'idempotency-key': crypto.randomUUID() }, body }))).toBe(2);
    expect(await statementsOfNextCreate(() => request(mr(), { token: ehrA, headers: { 'idempotency-key': key }, body }))).toBe(3);
  });

  it('keys are per tenant', async () => {
    const key = crypto.randomUUID();
    const a = await request(mr(), { token: ehrA, headers: { 'idempotency-key': key }, body: prescription() });
    const b = await request(mr(), { token: ehrB, headers: { 'idempotency-key': key }, body: prescription() });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.body.id).not.toBe(a.body.id);
  });

  it('answers IDEMPOTENCY_KEY_IN_FLIGHT while another request holds the key', async () => {
    const key = crypto.randomUUID();
    // Hold the key's lock from another session, exactly as a first request still running would.
    const { default: pg } = await import('pg');
    const holder = new pg.Client({ connectionString: t.databaseUrl });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`idem:tenant-a:${key}`]);
    try {
      const before = await footprint();
      const busy = await request(mr(), { token: ehrA, headers: { 'idempotency-key': key }, body: prescription() });
      expect(busy.status).toBe(409);
      expect(outcomeCode(busy.body)).toBe('IDEMPOTENCY_KEY_IN_FLIGHT');
      expect(await footprint()).toEqual(before);
    } finally {
      await holder.end();
    }
    expect((await request(mr(), { token: ehrA, headers: { 'idempotency-key': key }, body: prescription() })).status).toBe(201);
  });

  it('concurrent duplicates create exactly one prescription', async () => {
    const key = crypto.randomUUID();
    const body = prescription();
    const answers = await Promise.all(Array.from({ length: 8 }, () => request(mr(), { token: ehrA, headers: { 'idempotency-key': key }, body })));
    const created = answers.filter((a) => a.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((a) => a.body.id)).size).toBe(1);
    for (const a of answers.filter((x) => x.status !== 201)) expect(outcomeCode(a.body)).toBe('IDEMPOTENCY_KEY_IN_FLIGHT');
    expect((await t.sql('SELECT count(*)::int AS n FROM idempotency_keys WHERE key = $1', [key]))[0].n).toBe(1);
  });
});

describe('tenants and personas', () => {
  it('tenant-b never sees tenant-a data, by id or by search', async () => {
    const patient = uniquePatient();
    const { body } = await request(mr(), { token: ehrA, body: prescription({ patient }) });
    const byId = await request(mr(`/${body.id}`), { token: ehrB });
    expect(byId.status).toBe(404);
    expect(outcomeCode(byId.body)).toBe('NOT_FOUND');
    expect((await request(mr(`/${body.id}/_history/1`), { token: ehrB })).status).toBe(404);
    const search = await request(mr(`?patient=${patient}`), { token: ehrB });
    expect(search.body.total).toBe(0);
    expect(search.body.entry ?? []).toEqual([]);
    const update = await request(mr(`/${body.id}`), { method: 'PUT', token: ehrB, headers: { 'if-match': 'W/"1"' }, body });
    expect(update.status).toBe(404);
  });

  it('a pharmacy persona may read but not write prescriptions', async () => {
    const before = await footprint();
    const refused = await request(mr(), { token: pharmacyA, body: prescription() });
    expect(refused.status).toBe(403);
    expect(outcomeCode(refused.body)).toBe('FORBIDDEN_WRITE_PERSONA');
    expect(await footprint()).toEqual(before);
    const { body } = await request(mr(), { token: ehrA, body: prescription() });
    expect((await request(mr(`/${body.id}`), { token: pharmacyA })).status).toBe(200);
    const put = await request(mr(`/${body.id}`), { method: 'PUT', token: pharmacyA, headers: { 'if-match': 'W/"1"' }, body });
    expect(put.status).toBe(403);
    expect(outcomeCode(put.body)).toBe('FORBIDDEN_WRITE_PERSONA');
  });

  it('persona is checked before the body: a refused persona with malformed JSON is still 403', async () => {
    const refused = await request(mr(), { token: pharmacyA, rawBody: '{not json', headers: { 'content-type': 'application/fhir+json' } });
    expect(refused.status).toBe(403);
  });

  it('MODULE_NOT_LICENSED for a tenant without the module, TENANT_ISOLATION_VIOLATION for a foreign X-Tenant-Id', async () => {
    const unlicensed = await request(mr(), { token: await t.token('tenant-unlicensed', 'ehr-backend'), body: prescription() });
    expect(unlicensed.status).toBe(403);
    expect(outcomeCode(unlicensed.body)).toBe('MODULE_NOT_LICENSED');
    const unknownTenant = await request(mr('?_count=1'), { token: await t.token('tenant-nobody', 'ehr-backend') });
    expect(outcomeCode(unknownTenant.body)).toBe('MODULE_NOT_LICENSED');
    const foreign = await request(mr('?_count=1'), { token: ehrA, headers: { 'x-tenant-id': 'tenant-b' } });
    expect(foreign.status).toBe(403);
    expect(outcomeCode(foreign.body)).toBe('TENANT_ISOLATION_VIOLATION');
    const own = await request(mr('?_count=1'), { token: ehrA, headers: { 'x-tenant-id': 'tenant-a' } });
    expect(own.status).toBe(200);
  });
});

describe('authentication', () => {
  const cases: Array<[string, () => Promise<string | undefined>]> = [
    ['no token', async () => undefined],
    [
      'a bad signature',
      () => signToken({ sub: 'x', tenant: 'tenant-a', persona: 'ehr-backend' }, { expiresIn: 600, key: new TextEncoder().encode('another-secret') }),
    ],
    ['an expired token', () => signToken({ sub: 'x', tenant: 'tenant-a', persona: 'ehr-backend' }, { expiresIn: -3600 })],
    ['no exp', () => signToken({ sub: 'x', tenant: 'tenant-a', persona: 'ehr-backend' })],
    ['no sub', () => signToken({ tenant: 'tenant-a', persona: 'ehr-backend' }, { expiresIn: 600 })],
    ['an unknown persona', () => signToken({ sub: 'x', tenant: 'tenant-a', persona: 'root' }, { expiresIn: 600 })],
    ['a malformed tenant', () => signToken({ sub: 'x', tenant: 'tenant a;drop', persona: 'ehr-backend' }, { expiresIn: 600 })],
    [
      'alg none',
      async () =>
        `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'x', tenant: 'tenant-a', persona: 'ehr-backend', exp: 9_999_999_999 })).toString('base64url')}.`,
    ],
  ];
  for (const [name, make] of cases) {
    it(`401 UNAUTHENTICATED for ${name}, and nothing is written`, async () => {
      const before = await footprint();
      const token = await make();
      const refused = await request(mr(), { token, body: prescription() });
      expect(refused.status).toBe(401);
      expect(outcomeCode(refused.body)).toBe('UNAUTHENTICATED');
      expect(await footprint()).toEqual(before);
    });
  }

  it('serves /fhir/metadata without a token', async () => {
    const metadata = await request(`${t.url}/fhir/metadata`);
    expect(metadata.status).toBe(200);
    expect(metadata.body.resourceType).toBe('CapabilityStatement');
    const resource = metadata.body.rest[0].resource.find((r: any) => r.type === 'MedicationRequest');
    expect(resource.interaction.map((i: any) => i.code)).toEqual(expect.arrayContaining(['create', 'read', 'vread', 'update', 'search-type']));
    expect(resource.searchParam.map((p: any) => p.name)).toEqual(expect.arrayContaining(['patient', 'status', 'intended-dispenser']));
  });
});

describe('bad input leaves nothing behind', () => {
  it('malformed JSON → 400', async () => {
    const before = await footprint();
    const bad = await request(mr(), { token: ehrA, rawBody: '{"resourceType": "MedicationRequest",', headers: { 'content-type': 'application/fhir+json' } });
    expect(bad.status).toBe(400);
    expect(outcomeCode(bad.body)).toBe('BAD_REQUEST');
    expect(await footprint()).toEqual(before);
  });

  it('a 5 MB body → 413', async () => {
    const before = await footprint();
    const huge = { ...prescription(), note: [{ text: 'x'.repeat(5 * 1024 * 1024) }] };
    const bad = await request(mr(), { token: ehrA, body: huge });
    expect(bad.status).toBe(413);
    expect(outcomeCode(bad.body)).toBe('PAYLOAD_TOO_LARGE');
    expect(await footprint()).toEqual(before);
  });

  it('XML → 415', async () => {
    const before = await footprint();
    const bad = await request(mr(), {
      token: ehrA,
      rawBody: '<MedicationRequest xmlns="http://hl7.org/fhir"/>',
      headers: { 'content-type': 'application/fhir+xml' },
    });
    expect(bad.status).toBe(415);
    expect(outcomeCode(bad.body)).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await footprint()).toEqual(before);
  });

  it('a __proto__ key → 400', async () => {
    const bad = await request(mr(), {
      token: ehrA,
      rawBody: '{"resourceType":"MedicationRequest","__proto__":{"admin":true}}',
      headers: { 'content-type': 'application/fhir+json' },
    });
    expect(bad.status).toBe(400);
  });

  it('every validation problem at once, each with its FHIRPath → 422', async () => {
    const before = await footprint();
    const body = {
      resourceType: 'MedicationRequest',
      intent: 'plan',
      subject: { reference: 'Group/1' },
      medicationCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '123' }] },
      dispenseRequest: { performer: { reference: `Organization/${PHARMACY_A}` }, quantity: { value: -1 }, numberOfRepeatsAllowed: -2 },
    };
    const bad = await request(mr(), { token: ehrA, body });
    expect(bad.status).toBe(422);
    expect(outcomeCode(bad.body)).toBe('PROFILE_VALIDATION_FAILURE');
    const expressions = bad.body.issue.flatMap((i: any) => i.expression);
    expect(expressions).toEqual(
      expect.arrayContaining([
        'MedicationRequest.intent',
        'MedicationRequest.subject.reference',
        'MedicationRequest.medicationCodeableConcept.coding',
        'MedicationRequest.dispenseRequest.quantity.value',
        'MedicationRequest.dispenseRequest.numberOfRepeatsAllowed',
      ]),
    );
    for (const issue of bad.body.issue) expect(issue.details.coding[0].code).toBe('PROFILE_VALIDATION_FAILURE');
    expect(await footprint()).toEqual(before);
  });

  it('a pharmacy outside the directory → 422 PHARMACY_NOT_FOUND', async () => {
    const before = await footprint();
    const bad = await request(mr(), { token: ehrA, body: prescription({ pharmacy: 'NOT-A-PHARMACY' }) });
    expect(bad.status).toBe(422);
    expect(outcomeCode(bad.body)).toBe('PHARMACY_NOT_FOUND');
    expect(bad.body.issue[0].expression).toEqual(['MedicationRequest.dispenseRequest.performer']);
    expect(await footprint()).toEqual(before);
  });

  it('a body whose id disagrees with the URL → 400; an unknown resource type → 404; writing the directory → 405', async () => {
    const { body } = await request(mr(), { token: ehrA, body: prescription() });
    const mismatch = await request(mr(`/${body.id}`), { method: 'PUT', token: ehrA, headers: { 'if-match': 'W/"1"' }, body: { ...body, id: 'other' } });
    expect(mismatch.status).toBe(400);
    const unknown = await request(`${t.url}/fhir/Banana/1`, { token: ehrA });
    expect(unknown.status).toBe(404);
    expect(outcomeCode(unknown.body)).toBe('NOT_FOUND');
    const write = await request(`${t.url}/fhir/Organization`, { token: ehrA, body: { resourceType: 'Organization', name: 'x' } });
    expect(write.status).toBe(405);
    expect(outcomeCode(write.body)).toBe('METHOD_NOT_ALLOWED');
    const del = await request(mr(`/${body.id}`), { method: 'DELETE', token: ehrA });
    expect(del.status).toBe(405);
  });

  it('a non-uuid id is simply not found', async () => {
    const missing = await request(mr('/not-a-uuid'), { token: ehrA });
    expect(missing.status).toBe(404);
  });
});

describe('Prefer', () => {
  it('return=minimal answers an empty body, return=OperationOutcome an outcome', async () => {
    const minimal = await request(mr(), { token: ehrA, headers: { prefer: 'return=minimal' }, body: prescription() });
    expect(minimal.status).toBe(201);
    expect(minimal.body).toBeUndefined();
    expect(minimal.headers.get('location')).toBeTruthy();
    const outcome = await request(mr(), { token: ehrA, headers: { prefer: 'return=OperationOutcome' }, body: prescription() });
    expect(outcome.status).toBe(201);
    expect(outcome.body.resourceType).toBe('OperationOutcome');
  });
});
