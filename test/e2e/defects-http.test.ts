import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { DispensePerformers1763700000007 } from '../../migrations/1763700000007-dispense-performers.js';
import { StatementCounter } from '../../src/adapters/db/statement-counter.js';
import { DomainError, PERFORMER_TYPES, type Persona } from '../../src/domain/index.js';
import { compileCriteria } from '../../src/transport/fhir/criteria.js';
import { buildGraphqlSchema } from '../../src/transport/graphql/schema.js';
import { createMetrics } from '../../src/transport/http/metrics.js';
import { createHttpServer } from '../../src/transport/http/server.js';
import { TransitionDocument } from '../generated/graphql.js';
import { PHARMACY_A, prescription, uniquePatient, websocketSubscription } from '../support/fixtures.js';
import { graphql } from '../support/graphql.js';
import { outcomeCode, request } from '../support/http.js';
import { useTestApp } from '../support/use-test-app.js';
import { prescriptionIn } from '../support/workflow.js';

/** Issue #13 (items 1, 2, 3, 5, 6) and issue #14 item 1 (the one HTTP error sender), each through the door where it was seen. */

let tokens: Record<Persona, string>;
const fhir = (p: string) => `${t.url}/fhir/${p}`;

const t = useTestApp();
beforeAll(async () => {
  tokens = {
    'ehr-backend': await t.token('tenant-a', 'ehr-backend'),
    'pharmacy-backend': await t.token('tenant-a', 'pharmacy-backend'),
    'platform-admin': await t.token('tenant-a', 'platform-admin'),
    'payer-backend': await t.token('tenant-a', 'payer-backend'),
  };
});

const ehrAndPharmacy = () => ({ ehr: tokens['ehr-backend'], pharmacy: tokens['pharmacy-backend'] });

describe('issue #13 item 1: the reason of a GraphQL DISPENSE', () => {
  it('transitionPrescription(event: DISPENSE, reason) records the reason on the transition, in the history and the resource', async () => {
    const id = await prescriptionIn(t.url, 'processing', ehrAndPharmacy());
    const reason = 'Handed to the patient’s carer';
    const moved = await graphql(t.url, TransitionDocument, { id, event: 'DISPENSE', reason }, tokens['pharmacy-backend']);
    expect(moved.errors).toBeUndefined();
    const dispense = moved.data!.transitionPrescription.transitions!.find((x) => x.event === 'dispense');
    expect(dispense).toMatchObject({ from: 'processing', to: 'dispensed', reason });

    const history = await request(fhir(`MedicationRequest/${id}/_history`), { token: tokens['ehr-backend'] });
    const dispensedVersion = history.body.entry.map((e: any) => e.resource).find((r: any) => r.extension?.some((x: any) => x.valueCode === 'dispensed'));
    expect(dispensedVersion.statusReason?.text).toBe(reason);
  });
});

describe('issue #13 item 2: a body that is not JSON answers 415 on every POST, PUT and PATCH', () => {
  const NOT_JSON: Array<[string, string]> = [
    ['text/plain', '{"resourceType":"MedicationRequest"}'],
    ['text/plain; charset=utf-8', 'hello'],
    ['application/x-www-form-urlencoded', 'resourceType=MedicationRequest'],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--\r\n'],
    ['application/xml', '<MedicationRequest xmlns="http://hl7.org/fhir"/>'],
  ];
  /** The persona that may perform each write, so the persona rule (checked first) lets it through. */
  const WRITER: Record<string, Persona> = {
    MedicationRequest: 'ehr-backend',
    MedicationDispense: 'pharmacy-backend',
    Task: 'ehr-backend',
    Subscription: 'ehr-backend',
  };

  it('covers every write the CapabilityStatement offers, and $replay', async () => {
    const metadata = await request(fhir('metadata'));
    const writes: Array<{ method: string; path: string; persona: Persona }> = [];
    for (const resource of metadata.body.rest[0].resource) {
      const codes: string[] = resource.interaction.map((i: { code: string }) => i.code);
      const persona = WRITER[resource.type];
      if (codes.includes('create')) writes.push({ method: 'POST', path: resource.type, persona });
      if (codes.includes('update')) writes.push({ method: 'PUT', path: `${resource.type}/${randomUUID()}`, persona });
      if (codes.includes('patch')) writes.push({ method: 'PATCH', path: `${resource.type}/${randomUUID()}`, persona });
    }
    writes.push({ method: 'POST', path: `Subscription/${randomUUID()}/$replay`, persona: 'platform-admin' });
    expect(writes.map((w) => `${w.method} ${w.path.split('/')[0]}`).sort()).toEqual(
      [
        'PATCH MedicationRequest',
        'PATCH Task',
        'POST MedicationDispense',
        'POST MedicationRequest',
        'POST Subscription',
        'POST Subscription',
        'POST Task',
        'PUT MedicationDispense',
        'PUT MedicationRequest',
      ].sort(),
    );
    for (const write of writes) {
      expect(write.persona, write.path).toBeDefined();
      for (const [contentType, rawBody] of NOT_JSON) {
        const answer = await request(fhir(write.path), {
          method: write.method,
          token: tokens[write.persona],
          rawBody,
          headers: { 'content-type': contentType },
        });
        expect([answer.status, outcomeCode(answer.body)], `${write.method} ${write.path} as ${contentType}`).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
      }
    }
  });

  it('GraphQL answers a body that is not JSON with a clear 415 too', async () => {
    for (const [contentType, rawBody] of NOT_JSON) {
      const answer = await request(`${t.url}/graphql`, {
        method: 'POST',
        token: tokens['ehr-backend'],
        rawBody: contentType.startsWith('text/') ? '{"query":"{ __typename }"}' : rawBody,
        headers: { 'content-type': contentType },
      });
      expect(answer.status, contentType).toBe(415);
      expect(answer.body.errors[0].extensions.code, contentType).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
  });
});

describe('issue #13 item 3: MedicationDispense?performer= takes every target type R4 allows', () => {
  it('matches a Practitioner, PractitionerRole, Organization, Patient, Device or RelatedPerson performer, typed, bare or with a type modifier', async () => {
    const patient = uniquePatient();
    const suffix = randomUUID().slice(0, 8);
    const prescriptionId = await prescriptionIn(t.url, 'processing', ehrAndPharmacy(), patient);
    const performers = PERFORMER_TYPES.map((type) => ({ actor: { reference: `${type}/${type.toLowerCase()}-${suffix}` } }));
    const created = await request(fhir('MedicationDispense'), {
      token: tokens['pharmacy-backend'],
      body: {
        resourceType: 'MedicationDispense',
        status: 'in-progress',
        authorizingPrescription: [{ reference: `MedicationRequest/${prescriptionId}` }],
        medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '314076' }] },
        performer: performers,
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // A dispense that names no performer gets the prescription's pharmacy.
    const other = await prescriptionIn(t.url, 'dispensed', ehrAndPharmacy(), patient);

    const found = async (query: string) => {
      const answer = await request(fhir(`MedicationDispense?patient=${patient}&${query}`), { token: tokens['ehr-backend'] });
      expect(answer.status, `${query}: ${JSON.stringify(answer.body)}`).toBe(200);
      return answer.body.entry.map((e: any) => e.resource.authorizingPrescription[0].reference.split('/')[1]);
    };
    const searchAll = async () => {
      for (const type of PERFORMER_TYPES) {
        const id = `${type.toLowerCase()}-${suffix}`;
        expect(await found(`performer=${type}/${id}`), type).toEqual([prescriptionId]);
        expect(await found(`performer=${id}`), `bare ${id}`).toEqual([prescriptionId]);
        expect(await found(`performer:${type}=${id}`), `performer:${type}`).toEqual([prescriptionId]);
      }
      expect(await found(`performer=PractitionerRole/practitioner-${suffix}`)).toEqual([]);
      expect(await found(`performer=Practitioner/nobody,Device/device-${suffix}`)).toEqual([prescriptionId]);
      expect(await found(`performer=Organization/${PHARMACY_A}`)).toEqual([other]);
    };
    await searchAll();

    for (const bad of ['performer=Location/l1', 'performer=Practitioner/', 'performer:Location=l1']) {
      const answer = await request(fhir(`MedicationDispense?${bad}`), { token: tokens['ehr-backend'] });
      expect([answer.status, outcomeCode(answer.body)], bad).toEqual([400, 'BAD_REQUEST']);
    }

    // Subscriptions on the same criteria are accepted and match the same way.
    const subscription = await request(fhir('Subscription'), {
      token: tokens['pharmacy-backend'],
      body: websocketSubscription(`MedicationDispense?performer=Practitioner/practitioner-${suffix}`),
    });
    expect(subscription.status, JSON.stringify(subscription.body)).toBe(201);
    const criteria = compileCriteria(`MedicationDispense?performer=practitioner-${suffix}`);
    expect(criteria.matches(created.body)).toBe(true);
    expect(compileCriteria(`MedicationDispense?performer=Patient/practitioner-${suffix}`).matches(created.body)).toBe(false);

    // The migration's backfill indexes dispenses stored before it.
    const migration = new DispensePerformers1763700000007();
    const runner = t.app.dataSource.createQueryRunner();
    try {
      await migration.down(runner);
      await migration.up(runner);
    } finally {
      await runner.release();
    }
    const [row] = await t.sql<{ performer_refs: string[] }>('SELECT performer_refs FROM medication_dispenses WHERE id = $1', [created.body.id]);
    expect([...row.performer_refs].sort()).toEqual(performers.map((p) => p.actor.reference).sort());
    await searchAll();
  });
});

describe('issue #13 item 5: an oversized body is answered 413 to ordinary clients', () => {
  const SIX_MB = 6 * 1024 * 1024;
  const hugeResource = () => JSON.stringify({ ...prescription(), note: [{ text: 'x'.repeat(SIX_MB) }] });

  /**
   * An HTTP/1.1 client that writes its whole body before it reads (as curl, many FHIR clients and
   * proxies do): it must be able to finish sending and then read the answer, not be cut off (EPIPE).
   */
  function sendWholeBody(target: string, contentType: string, size: number): Promise<{ sent: number; error?: string; answer: string }> {
    const url = new URL(target);
    return new Promise((resolve) => {
      const socket = net.connect(Number(url.port), url.hostname);
      let answer = '';
      let sent = 0;
      let error: string | undefined;
      socket.on('data', (data) => (answer += data.toString()));
      socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
      socket.on('close', () => resolve({ sent, error, answer }));
      socket.write(
        `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${tokens['ehr-backend']}\r\nContent-Type: ${contentType}\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`,
      );
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (sent < size && !socket.destroyed) {
          sent += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
        if (sent >= size) socket.end();
      };
      pump();
    });
  }

  it('a client that sends all of 6 MB before reading gets to send it and reads 413 (FHIR and GraphQL)', async () => {
    for (const [target, contentType, code] of [
      [fhir('MedicationRequest'), 'application/fhir+json', '"code":"PAYLOAD_TOO_LARGE"'],
      [`${t.url}/graphql`, 'application/json', '"code":"PAYLOAD_TOO_LARGE"'],
    ]) {
      const { sent, error, answer } = await sendWholeBody(target, contentType, SIX_MB);
      expect({ sent, error }, target).toEqual({ sent: SIX_MB, error: undefined });
      expect(answer.split('\r\n')[0], target).toBe('HTTP/1.1 413 Payload Too Large');
      expect(answer, target).toContain(code);
    }
  });

  it('Node fetch reads 413 PAYLOAD_TOO_LARGE for 6 MB to /fhir/MedicationRequest, with and without Content-Length', async () => {
    const sized = await fetch(fhir('MedicationRequest'), {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens['ehr-backend']}`, 'content-type': 'application/fhir+json' },
      body: hugeResource(),
    });
    expect(sized.status).toBe(413);
    expect(outcomeCode(await sized.json())).toBe('PAYLOAD_TOO_LARGE');

    const body = Buffer.from(hugeResource());
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < body.length; at += 64 * 1024) controller.enqueue(body.subarray(at, at + 64 * 1024));
        controller.close();
      },
    });
    const chunked = await fetch(fhir('MedicationRequest'), {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens['ehr-backend']}`, 'content-type': 'application/fhir+json' },
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(outcomeCode(await chunked.json())).toBe('PAYLOAD_TOO_LARGE');
  });

  it('Node fetch reads 413 PAYLOAD_TOO_LARGE for 6 MB to /graphql', async () => {
    const query = `mutation { __typename } # ${'x'.repeat(SIX_MB)}`;
    const answer = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens['ehr-backend']}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    expect(answer.status).toBe(413);
    expect(((await answer.json()) as any).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('curl reads 413 for 6 MB to /fhir/MedicationRequest and /graphql', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rxgate-413-'));
    try {
      const file = path.join(dir, 'body.json');
      await writeFile(file, hugeResource());
      for (const target of [fhir('MedicationRequest'), `${t.url}/graphql`]) {
        const { stdout } = await promisify(execFile)('curl', [
          '-sS',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '-H',
          `Authorization: Bearer ${tokens['ehr-backend']}`,
          '-H',
          'Content-Type: application/json',
          '--data-binary',
          `@${file}`,
          target,
        ]);
        expect(stdout, target).toBe('413');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('issue #13 item 6: persona (403) before interaction (405)', () => {
  const DENY = [403, 'FORBIDDEN_WRITE_PERSONA'];
  const NOT_OFFERED = [405, 'METHOD_NOT_ALLOWED'];
  /** [method, path, expected for ehr-backend, pharmacy-backend, platform-admin] — CONTRACT §1 and §2 written out by hand. */
  const CASES: Array<[string, string, [unknown[], unknown[], unknown[]]]> = [
    ['DELETE', 'MedicationRequest/{id}', [NOT_OFFERED, DENY, DENY]],
    ['DELETE', 'MedicationRequest', [NOT_OFFERED, DENY, DENY]],
    ['POST', 'MedicationRequest/{id}', [NOT_OFFERED, DENY, DENY]],
    ['DELETE', 'MedicationDispense/{id}', [DENY, NOT_OFFERED, DENY]],
    ['PATCH', 'MedicationDispense/{id}', [DENY, NOT_OFFERED, DENY]],
    ['PUT', 'Task/{id}', [NOT_OFFERED, NOT_OFFERED, DENY]],
    ['DELETE', 'Task/{id}', [NOT_OFFERED, NOT_OFFERED, DENY]],
    ['DELETE', 'Subscription/{id}', [NOT_OFFERED, NOT_OFFERED, NOT_OFFERED]],
    ['PUT', 'Subscription/{id}', [NOT_OFFERED, NOT_OFFERED, NOT_OFFERED]],
    ['DELETE', 'Organization/{id}', [NOT_OFFERED, NOT_OFFERED, NOT_OFFERED]],
    ['POST', 'AuditEvent', [NOT_OFFERED, NOT_OFFERED, NOT_OFFERED]],
  ];
  const PERSONAS: Persona[] = ['ehr-backend', 'pharmacy-backend', 'platform-admin'];

  it('DELETE /fhir/MedicationRequest/{id} by a persona that may not write prescriptions answers 403, by the one that may 405', async () => {
    const id = await prescriptionIn(t.url, 'requested', ehrAndPharmacy());
    for (const [persona, expected] of [
      ['pharmacy-backend', DENY],
      ['platform-admin', DENY],
      ['ehr-backend', NOT_OFFERED],
    ] as const) {
      const answer = await request(fhir(`MedicationRequest/${id}`), { method: 'DELETE', token: tokens[persona] });
      expect([answer.status, outcomeCode(answer.body)], persona).toEqual(expected);
    }
    expect((await request(fhir(`MedicationRequest/${id}`), { token: tokens['ehr-backend'] })).status).toBe(200);
  });

  it('every write that is not offered: 403 for a persona that writes nothing of that type, else 405 — whatever the body', async () => {
    for (const [method, template, expected] of CASES) {
      for (const [column, persona] of PERSONAS.entries()) {
        const target = fhir(template.replace('{id}', randomUUID()));
        const plain = await request(target, { method, token: tokens[persona] });
        expect([plain.status, outcomeCode(plain.body)], `${method} ${template} by ${persona}`).toEqual(expected[column]);
        // Persona first, then the interaction, and only then the body (CONTRACT §2 order).
        const shaped = await request(target, { method, token: tokens[persona], rawBody: 'not json', headers: { 'content-type': 'text/plain' } });
        expect([shaped.status, outcomeCode(shaped.body)], `${method} ${template} by ${persona} with a text body`).toEqual(expected[column]);
      }
    }
  });
});

describe('issue #14 item 1: one HTTP error sender', () => {
  it('a 429 answered by the root error handler keeps Retry-After (and the FHIR and GraphQL ones render their own bodies)', async () => {
    const server = await createHttpServer({
      config: t.app.config,
      useCases: t.app.useCases,
      schema: await buildGraphqlSchema(),
      logger: t.app.logger,
      metrics: createMetrics(),
      version: 'test',
      newId: randomUUID,
      statements: new StatementCounter(),
      readiness: async () => ({}),
    });
    // A route of the server's own (like /healthz), refused the way the rate limiter refuses.
    server.app.get('/limited', async () => {
      throw new DomainError('RATE_LIMIT_EXCEEDED', 'Slow down.', { retryAfterSeconds: 7, rateLimit: { limit: 10, remaining: 0, resetSeconds: 9 } });
    });
    const url = await server.app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const answer = await request(`${url}/limited`);
      expect(answer.status).toBe(429);
      expect(answer.headers.get('retry-after')).toBe('7');
      expect(answer.headers.get('ratelimit-remaining')).toBe('0');
      expect(answer.body).toEqual({ error: 'RATE_LIMIT_EXCEEDED', message: 'Slow down.' });

      const missing = await request(`${url}/nowhere`);
      expect(missing.status).toBe(404);
      expect(missing.body.error).toBe('NOT_FOUND');
      const fhirMissing = await request(`${url}/fhir/Nothing`, { token: tokens['ehr-backend'] });
      expect([fhirMissing.status, outcomeCode(fhirMissing.body)]).toEqual([404, 'NOT_FOUND']);
      const graphqlRefused = await request(`${url}/graphql`, {
        method: 'POST',
        body: { query: '{ __typename }' },
        headers: { 'content-type': 'application/json' },
      });
      expect([graphqlRefused.status, graphqlRefused.body.errors[0].extensions.code]).toEqual([401, 'UNAUTHENTICATED']);
    } finally {
      await server.app.close();
    }
  });
});
