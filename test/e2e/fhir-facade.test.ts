import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Client } from 'fhir-kit-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValidFhir } from '../support/fhir-schema.js';
import { PHARMACY_A, PHARMACY_B, prescription, uniquePatient } from '../support/fixtures.js';
import { outcomeCode, request } from '../support/http.js';
import { startTestApp } from '../support/test-app.js';
import { useTestApp } from '../support/use-test-app.js';
import { prescriptionIn } from '../support/workflow.js';

let ehr: string;
let pharmacy: string;
let admin: string;

const t = useTestApp();
beforeAll(async () => {
  [ehr, pharmacy, admin] = await Promise.all([
    t.token('tenant-a', 'ehr-backend'),
    t.token('tenant-a', 'pharmacy-backend'),
    t.token('tenant-a', 'platform-admin'),
  ]);
});

const fhir = (path: string) => `${t.url}/fhir/${path}`;
const example = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/fhir-r4-examples/${name}`, import.meta.url), 'utf8'));

/** The minimal adaptation of an official example to the contract (see test/fixtures/fhir-r4-examples). */
function adaptExample(name: string, coding: fhir4.Coding) {
  const { id: _id, statusReason: _reason, medicationReference, contained = [], ...rest } = example(name);
  const medication = contained.find((c: any) => c.resourceType === 'Medication' && `#${c.id}` === medicationReference.reference);
  return {
    ...rest,
    contained: contained.filter((c: any) => c !== medication),
    status: 'draft',
    medicationCodeableConcept: { coding: [coding], text: medication?.code?.coding?.[0]?.display },
    subject: { ...rest.subject, reference: `Patient/${uniquePatient()}` },
    identifier: rest.identifier.map((i: any) => ({ ...i, value: `${i.value}-${uniquePatient()}` })),
    dispenseRequest: { ...rest.dispenseRequest, performer: { reference: `Organization/${PHARMACY_A}` }, ...movedAhead(rest.dispenseRequest?.validityPeriod) },
  };
}

/** The examples' validity ended in 2016, and an ended validity is refused (CONTRACT §4): the same length, starting today. */
function movedAhead(period: fhir4.Period | undefined): { validityPeriod?: fhir4.Period } {
  if (!period?.start || !period.end) return {};
  const length = Date.parse(period.end) - Date.parse(period.start);
  const start = new Date();
  return { validityPeriod: { start: start.toISOString().slice(0, 10), end: new Date(start.getTime() + length + 86_400_000).toISOString().slice(0, 10) } };
}

describe('a stock FHIR client (fhir-kit-client) needs no rxgate-specific code', () => {
  it('creates, reads, vreads, updates, patches, searches with paging and reads history', async () => {
    const client = new Client({ baseUrl: `${t.url}/fhir`, bearerToken: ehr });
    const patient = uniquePatient();
    const created = (await client.create({ resourceType: 'MedicationRequest', body: prescription({ patient }) as any })) as unknown as fhir4.MedicationRequest;
    expect(created.id).toBeTruthy();
    expectValidFhir(created);

    const read = (await client.read({ resourceType: 'MedicationRequest', id: created.id! })) as unknown as fhir4.MedicationRequest;
    expect(read).toEqual(created);
    const updated = (await client.update({
      resourceType: 'MedicationRequest',
      id: created.id!,
      body: { ...read, note: [{ text: 'updated by a stock client' }] } as any,
      options: { headers: { 'If-Match': 'W/"1"' } },
    })) as unknown as fhir4.MedicationRequest;
    expect(updated.meta!.versionId).toBe('2');
    const patched = (await client.patch({
      resourceType: 'MedicationRequest',
      id: created.id!,
      jsonPatch: [{ op: 'add', path: '/dosageInstruction', value: [{ text: 'one daily' }] }],
      options: { headers: { 'If-Match': 'W/"2"' } },
    })) as unknown as fhir4.MedicationRequest;
    expect(patched.meta!.versionId).toBe('3');
    const v1 = (await client.vread({ resourceType: 'MedicationRequest', id: created.id!, version: '1' })) as unknown as fhir4.MedicationRequest;
    expect(v1.note).toBeUndefined();

    for (let i = 0; i < 4; i++) await client.create({ resourceType: 'MedicationRequest', body: prescription({ patient }) as any });
    let page = (await client.search({ resourceType: 'MedicationRequest', searchParams: { patient, _count: '2' } })) as unknown as fhir4.Bundle;
    const ids: string[] = [];
    let pages = 0;
    while (page) {
      expectValidFhir(page);
      ids.push(...page.entry!.map((e) => e.resource!.id!));
      pages++;
      page = (await client.nextPage({ bundle: page as never })) as unknown as fhir4.Bundle;
    }
    expect(pages).toBe(3);
    expect(new Set(ids).size).toBe(5);

    const history = (await client.resourceHistory({ resourceType: 'MedicationRequest', id: created.id! })) as unknown as fhir4.Bundle;
    expectValidFhir(history);
    expect(history.entry!.map((e) => e.resource!.meta!.versionId)).toEqual(['3', '2', '1']);
    const typeHistory = (await client.typeHistory({ resourceType: 'MedicationRequest', options: {} } as any)) as unknown as fhir4.Bundle;
    expectValidFhir(typeHistory);
    expect(typeHistory.entry!.length).toBeGreaterThan(0);

    const capability = await client.capabilityStatement();
    expectValidFhir(capability);
  });
});

describe('official FHIR R4 examples', () => {
  it('are accepted after the minimal adaptation the contract requires, and every answer is valid FHIR', async () => {
    for (const [name, coding] of [
      [
        'medicationrequest0301.json',
        { system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '1049621', display: 'oxycodone hydrochloride 5 MG Oral Tablet' },
      ],
      ['medicationrequest0302.json', { system: 'http://www.whocc.no/atc', code: 'J01FA10', display: 'azithromycin' }],
    ] as const) {
      const body = adaptExample(name, coding);
      const created = await request(fhir('MedicationRequest'), { token: ehr, body });
      expect(created.status, `${name}: ${JSON.stringify(created.body.issue ?? '')}`).toBe(201);
      expectValidFhir(created.body);
      expect(created.body.identifier).toEqual(body.identifier);
      expect(created.body.dosageInstruction).toEqual(body.dosageInstruction);
    }
  });

  it('are refused with the precise issue where they break a gateway rule', async () => {
    const asPublished = { ...example('medicationrequest0302.json') };
    delete asPublished.id;
    const refused = await request(fhir('MedicationRequest'), { token: ehr, body: asPublished });
    expect(refused.status).toBe(422);
    expectValidFhir(refused.body);
    const expressions = refused.body.issue.flatMap((i: any) => i.expression);
    expect(expressions).toEqual(
      expect.arrayContaining([
        'MedicationRequest.medicationReference',
        'MedicationRequest.medicationCodeableConcept',
        'MedicationRequest.dispenseRequest.performer',
      ]),
    );

    const practitionerPerformer = { ...adaptExample('medicationrequest0301.json', { system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '1049621' }) };
    practitionerPerformer.dispenseRequest = { ...practitionerPerformer.dispenseRequest, performer: { reference: 'Practitioner/f001' } };
    const wrongPerformer = await request(fhir('MedicationRequest'), { token: ehr, body: practitionerPerformer });
    expect(wrongPerformer.body.issue.map((i: any) => i.expression[0])).toEqual(['MedicationRequest.dispenseRequest.performer.reference']);
  });
});

describe('structure and terminology', () => {
  it('reports unknown elements and malformed primitives with their FHIRPath, all at once', async () => {
    const body = {
      ...prescription(),
      colour: 'blue',
      authoredOn: '2026-13-45',
      dosageInstruction: [{ text: 'x', timing: { repeat: { frequency: 'often' } } }],
    };
    const refused = await request(fhir('MedicationRequest'), { token: ehr, body });
    expect(refused.status).toBe(422);
    expect(refused.body.issue.map((i: any) => i.expression[0])).toEqual(
      expect.arrayContaining(['MedicationRequest.colour', 'MedicationRequest.authoredOn', 'MedicationRequest.dosageInstruction[0].timing.repeat.frequency']),
    );
  });

  it('checks medication codes: RxNorm codes are RxCUIs, ATC codes have the ATC structure', async () => {
    for (const coding of [
      { system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: 'lisinopril' },
      { system: 'http://www.whocc.no/atc', code: 'not-atc' },
    ]) {
      const refused = await request(fhir('MedicationRequest'), { token: ehr, body: { ...prescription(), medicationCodeableConcept: { coding: [coding] } } });
      expect(refused.status).toBe(422);
      expect(refused.body.issue[0].expression).toEqual(['MedicationRequest.medicationCodeableConcept.coding[0].code']);
    }
  });
});

describe('a remote terminology server', () => {
  let server: Server;
  let url: string;
  let answering = true;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const params = new URL(req.url!, 'http://x').searchParams;
      if (!answering) return res.writeHead(503).end();
      const valid = params.get('code') !== '999999';
      res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(
        JSON.stringify({
          resourceType: 'Parameters',
          parameter: [{ name: 'result', valueBoolean: valid }, ...(valid ? [] : [{ name: 'message', valueString: 'Unknown code 999999' }])],
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/fhir`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('decides code validity; when it is down the answer is 503 VALIDATOR_UNAVAILABLE, or accepted and tagged when deferral is configured', async () => {
    const strict = await startTestApp({ env: { TERMINOLOGY_URL: url } });
    const deferring = await startTestApp({ env: { TERMINOLOGY_URL: url, TERMINOLOGY_DEFER: 'true' } });
    try {
      const token = await strict.token('tenant-a', 'ehr-backend');
      const coded = (code: string) => ({
        ...prescription(),
        medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code }] },
      });
      expect((await request(`${strict.url}/fhir/MedicationRequest`, { token, body: coded('314076') })).status).toBe(201);
      const unknown = await request(`${strict.url}/fhir/MedicationRequest`, { token, body: coded('999999') });
      expect(unknown.status).toBe(422);
      expect(unknown.body.issue[0].diagnostics).toBe('Unknown code 999999');

      answering = false;
      const before = (await strict.sql('SELECT count(*)::int AS n FROM medication_requests'))[0].n;
      const down = await request(`${strict.url}/fhir/MedicationRequest`, { token, body: coded('314076') });
      expect(down.status).toBe(503);
      expect(outcomeCode(down.body)).toBe('VALIDATOR_UNAVAILABLE');
      expect((await strict.sql('SELECT count(*)::int AS n FROM medication_requests'))[0].n).toBe(before);
      const deferred = await request(`${deferring.url}/fhir/MedicationRequest`, { token, body: coded('314076') });
      expect(deferred.status).toBe(201);
      expect(deferred.body.meta.tag).toContainEqual(expect.objectContaining({ system: 'urn:rxgate:validation', code: 'terminology-deferred' }));
    } finally {
      answering = true;
      await strict.close();
      await deferring.close();
    }
  });
});

describe('search', () => {
  it('accepts every search parameter the CapabilityStatement lists', async () => {
    const { body: capability } = await request(fhir('metadata'));
    const sample: Record<string, string> = { reference: 'x1', token: 'x1', date: 'ge2020-01-01', string: 'x' };
    let checked = 0;
    for (const resource of capability.rest[0].resource) {
      for (const param of resource.searchParam ?? []) {
        const value =
          param.name === 'workflow-status'
            ? 'approved'
            : param.name === 'outcome'
              ? '0'
              : param.name === '_id' || param.type === 'reference'
                ? crypto.randomUUID()
                : sample[param.type];
        // The audit trail is for a platform-admin only.
        const token = resource.type === 'AuditEvent' ? admin : ehr;
        const answer = await request(fhir(`${resource.type}?${param.name}=${encodeURIComponent(value)}`), { token });
        expect(answer.status, `${resource.type}?${param.name}`).toBe(200);
        expectValidFhir(answer.body);
        checked++;
      }
      for (const include of resource.searchInclude ?? [])
        expect((await request(fhir(`${resource.type}?_include=${include}`), { token: ehr })).status).toBe(200);
      for (const include of resource.searchRevInclude ?? [])
        expect((await request(fhir(`${resource.type}?_revinclude=${include}`), { token: ehr })).status).toBe(200);
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('_include adds the pharmacies and _revinclude the dispenses, as include entries', async () => {
    const patient = uniquePatient();
    const id = await prescriptionIn(t.url, 'dispensed', { ehr, pharmacy }, patient);
    const bundle = await request(
      fhir(`MedicationRequest?patient=${patient}&_include=MedicationRequest:intended-dispenser&_revinclude=MedicationDispense:prescription`),
      { token: ehr },
    );
    expectValidFhir(bundle.body);
    const modes = bundle.body.entry.map((e: any) => [e.resource.resourceType, e.search.mode]);
    expect(modes).toEqual([
      ['MedicationRequest', 'match'],
      ['Organization', 'include'],
      ['MedicationDispense', 'include'],
    ]);
    expect(bundle.body.total).toBe(1);
    expect(bundle.body.entry[2].resource.authorizingPrescription[0].reference).toBe(`MedicationRequest/${id}`);
  });

  it('sorts by authoredon and _lastUpdated both ways, filters _lastUpdated, and answers _total=none without a total', async () => {
    const patient = uniquePatient();
    for (const authoredOn of ['2020-01-01', '2022-01-01', '2021-01-01'])
      await request(fhir('MedicationRequest'), { token: ehr, body: { ...prescription({ patient }), authoredOn } });
    const order = async (sort: string) =>
      (await request(fhir(`MedicationRequest?patient=${patient}&_sort=${sort}`), { token: ehr })).body.entry.map((e: any) => e.resource.authoredOn);
    expect(await order('authoredon')).toEqual(['2020-01-01', '2021-01-01', '2022-01-01']);
    expect(await order('-authoredon')).toEqual(['2022-01-01', '2021-01-01', '2020-01-01']);
    expect(await order('_lastUpdated')).toEqual(['2020-01-01', '2022-01-01', '2021-01-01']);
    expect(await order('-_lastUpdated')).toEqual(['2021-01-01', '2022-01-01', '2020-01-01']);
    const paged = await request(fhir(`MedicationRequest?patient=${patient}&_sort=-authoredon&_count=1`), { token: ehr });
    const second = await request(paged.body.link.find((l: any) => l.relation === 'next').url, { token: ehr });
    expect(second.body.entry[0].resource.authoredOn).toBe('2021-01-01');
    const none = await request(fhir(`MedicationRequest?patient=${patient}&_total=none`), { token: ehr });
    expect(none.body.total).toBeUndefined();
    const future = await request(fhir(`MedicationRequest?patient=${patient}&_lastUpdated=gt2100-01-01`), { token: ehr });
    expect(future.body.total).toBe(0);
    const recent = await request(fhir(`MedicationRequest?patient=${patient}&_lastUpdated=ge2020-01-01`), { token: ehr });
    expect(recent.body.total).toBe(3);
  });

  it('searches dispenses and Tasks by every parameter', async () => {
    const patient = uniquePatient();
    const id = await prescriptionIn(t.url, 'completed', { ehr, pharmacy }, patient);
    const task = {
      resourceType: 'Task',
      status: 'completed',
      intent: 'order',
      code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'approve' }] },
      focus: { reference: `MedicationRequest/${await prescriptionIn(t.url, 'requested', { ehr, pharmacy }, patient)}` },
    };
    expect((await request(fhir('Task'), { token: ehr, body: task })).status).toBe(201);
    const count = async (path: string) => (await request(fhir(path), { token: ehr })).body.total;
    expect(await count(`MedicationDispense?prescription=MedicationRequest/${id}`)).toBe(1);
    expect(await count(`MedicationDispense?patient=Patient/${patient}`)).toBe(1);
    expect(await count(`MedicationDispense?patient=${patient}&performer=Organization/${PHARMACY_A}`)).toBe(1);
    expect(await count(`MedicationDispense?patient=${patient}&performer=${PHARMACY_B}`)).toBe(0);
    expect(await count(`MedicationDispense?patient=${patient}&status=in-progress`)).toBe(0);
    expect(await count(`MedicationDispense?patient=${patient}&whenhandedover=ge2000-01-01`)).toBe(0);
    expect(await count(`Task?focus=${task.focus.reference}&status=completed&code=http://hl7.org/fhir/CodeSystem/task-code|approve`)).toBe(1);
    expect(await count(`Task?focus=${task.focus.reference}&code=fulfill`)).toBe(0);
  });

  it('searches the pharmacy directory by name (contains, any case) and type, in pages', async () => {
    const boots = await request(fhir('Organization?name=BOOTS&_count=5'), { token: pharmacy });
    expectValidFhir(boots.body);
    expect(boots.body.total).toBeGreaterThan(5);
    for (const e of boots.body.entry) expect(e.resource.name.toLowerCase()).toContain('boots');
    const next = await request(boots.body.link.find((l: any) => l.relation === 'next').url, { token: pharmacy });
    expect(next.body.entry[0].resource.id).not.toBe(boots.body.entry[0].resource.id);
    expect((await request(fhir('Organization?type=http://terminology.hl7.org/CodeSystem/v3-RoleCode|PHARM&_count=1'), { token: pharmacy })).body.total).toBe(
      631,
    );
    expect((await request(fhir('Organization?type=govt'), { token: pharmacy })).body.total).toBe(0);
    expect((await request(fhir(`Organization/${PHARMACY_A}`), { token: pharmacy })).body.name).toBe('A1 Pharmacy');
    for (const method of ['PUT', 'DELETE'])
      expect((await request(fhir(`Organization/${PHARMACY_A}`), { method, token: ehr, ...(method === 'PUT' ? { body: {} } : {}) })).status).toBe(405);
  });
});

describe('conditional create', () => {
  it('answers 200 with the existing prescription, 201 otherwise, 412 MULTIPLE_MATCHES for several', async () => {
    const identifier = { system: 'urn:test:rx', value: `cc-${uniquePatient()}` };
    const body = { ...prescription(), identifier: [identifier] };
    const header = { 'if-none-exist': `identifier=${identifier.system}|${identifier.value}` };
    const first = await request(fhir('MedicationRequest'), { token: ehr, headers: header, body });
    expect(first.status).toBe(201);
    const second = await request(fhir('MedicationRequest'), { token: ehr, headers: header, body });
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    await request(fhir('MedicationRequest'), { token: ehr, body });
    const ambiguous = await request(fhir('MedicationRequest'), { token: ehr, headers: header, body });
    expect(ambiguous.status).toBe(412);
    expect(outcomeCode(ambiguous.body)).toBe('MULTIPLE_MATCHES');
    expect((await request(fhir('MedicationRequest'), { token: ehr, headers: { 'if-none-exist': 'colour=blue' }, body })).status).toBe(400);
  });

  it('concurrent identical conditional creates make exactly one prescription', async () => {
    const identifier = { system: 'urn:test:rx', value: `race-${uniquePatient()}` };
    const body = { ...prescription(), identifier: [identifier] };
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        request(fhir('MedicationRequest'), { token: ehr, headers: { 'if-none-exist': `identifier=${identifier.system}|${identifier.value}` }, body }),
      ),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(7);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
  });
});

describe('media types', () => {
  it('accepts application/json and _format=json, pretty-prints with _pretty, refuses XML with 415 and 406', async () => {
    const asJson = await request(fhir('MedicationRequest'), { token: ehr, headers: { 'content-type': 'application/json' }, body: prescription() });
    expect(asJson.status).toBe(201);
    const id = asJson.body.id;
    expect((await request(fhir(`MedicationRequest/${id}?_format=json`), { token: ehr })).status).toBe(200);
    expect((await request(fhir(`MedicationRequest/${id}?_format=application/fhir%2Bjson`), { token: ehr })).status).toBe(200);
    const pretty = await fetch(fhir(`MedicationRequest/${id}?_pretty=true`), { headers: { authorization: `Bearer ${ehr}` } });
    expect(await pretty.text()).toContain('\n  "resourceType"');
    const xmlFormat = await request(fhir(`MedicationRequest/${id}?_format=xml`), { token: ehr });
    expect(xmlFormat.status).toBe(406);
    expect(outcomeCode(xmlFormat.body)).toBe('NOT_ACCEPTABLE');
    expect((await request(fhir(`MedicationRequest/${id}`), { token: ehr, headers: { accept: 'application/fhir+xml' } })).status).toBe(406);
    expect((await request(fhir(`MedicationRequest/${id}`), { token: ehr, headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } })).status).toBe(200);
    expect((await request(fhir('MedicationRequest'), { token: ehr, rawBody: '<x/>', headers: { 'content-type': 'application/xml' } })).status).toBe(415);
  });
});
