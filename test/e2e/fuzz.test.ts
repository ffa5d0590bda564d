import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFhirSchemaValidator } from '../../src/adapters/validation/fhir-schema-validator.js';
import { validateMedicationRequest } from '../../src/domain/index.js';
import { prescription } from '../support/fixtures.js';
import { send } from '../support/http.js';
import { useTestApp } from '../support/use-test-app.js';

/**
 * Random and mutated input at both doors, seeded and reproducible (FUZZ_SEED, FUZZ_RUNS). The
 * server must never answer 500, never crash, and never store a resource that is not valid.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_121);
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);

let ehr: string;
let existing: string;
const t = useTestApp({ env: { LOG_LEVEL: process.env.FUZZ_LOG ?? 'silent' } });
beforeAll(async () => {
  ehr = await t.token('tenant-a', 'ehr-backend');
  const created = await send(`${t.url}/fhir/MedicationRequest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ehr}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify(prescription()),
  });
  existing = (JSON.parse(created.text) as { id: string }).id;
});

const hostileKeys = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'resourceType',
  'id',
  'meta',
  'status',
  'extension',
  'dispenseRequest',
  'subject',
  '',
);
const anyJson = fc.jsonValue({ maxDepth: 4 });

/** A valid prescription with one to three mutations: a key removed, replaced by random JSON, or added. */
const mutatedPrescription = fc
  .tuple(
    fc.nat(59),
    fc.array(fc.tuple(fc.constantFrom('delete', 'replace', 'add'), fc.oneof(hostileKeys, fc.string({ maxLength: 12 })), anyJson), {
      minLength: 1,
      maxLength: 3,
    }),
  )
  .map(([index, mutations]) => {
    const body: Record<string, unknown> = JSON.parse(JSON.stringify(prescription({ index })));
    for (const [op, key, value] of mutations) {
      // defineProperty, so that even '__proto__' becomes an own key of the JSON sent.
      if (op === 'delete') delete body[key];
      else Object.defineProperty(body, key, { value, enumerable: true, configurable: true, writable: true });
    }
    return JSON.stringify(body);
  });

const randomBody = fc.oneof(
  mutatedPrescription,
  anyJson.map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
);
const searchQuery = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc
    .tuple(
      fc.constantFrom(
        'patient',
        'status',
        'authoredon',
        '_count',
        '_sort',
        '_cursor',
        'identifier',
        'code',
        '_id',
        '_lastUpdated',
        'intended-dispenser',
        'workflow-status',
        '_include',
        'x',
      ),
      fc.string({ maxLength: 40 }),
    )
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`),
);
const patch = fc.array(
  fc.record({
    op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus'),
    path: fc.oneof(
      fc.constantFrom('/status', '/note', '/subject/reference', '/__proto__/x', '/dispenseRequest/quantity/value', '/id', '/meta'),
      fc.string({ maxLength: 20 }),
    ),
    value: anyJson,
    from: fc.constantFrom('/note', '/status'),
  }),
  { maxLength: 4 },
);
const graphqlQuery = fc.oneof(
  fc.string({ maxLength: 120 }),
  randomBody.map((input) => ({
    query: 'mutation($input: MedicationRequestInput!) { createMedicationRequest(input: $input) { id } }',
    variables: { input: safeParse(input) },
  })),
  searchQuery.map((q) => ({ query: `{ medicationRequests(first: 5, after: ${JSON.stringify(q)}) { totalCount } }` })),
);

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

type Case = { kind: 'create'; body: string } | { kind: 'search'; query: string } | { kind: 'patch'; ops: unknown } | { kind: 'graphql'; body: unknown };

const cases: fc.Arbitrary<Case> = fc.oneof(
  randomBody.map((body) => ({ kind: 'create' as const, body })),
  searchQuery.map((query) => ({ kind: 'search' as const, query })),
  patch.map((ops) => ({ kind: 'patch' as const, ops })),
  graphqlQuery.map((body) => ({ kind: 'graphql' as const, body })),
);

async function sendCase(c: Case): Promise<number> {
  const headers: Record<string, string> = { authorization: `Bearer ${ehr}` };
  switch (c.kind) {
    case 'create':
      return (await send(`${t.url}/fhir/MedicationRequest`, { method: 'POST', headers: { ...headers, 'content-type': 'application/fhir+json' }, body: c.body }))
        .status;
    case 'search':
      return (await send(`${t.url}/fhir/MedicationRequest?${c.query}`, { headers })).status;
    case 'patch':
      return (
        await send(`${t.url}/fhir/MedicationRequest/${existing}`, {
          method: 'PATCH',
          headers: { ...headers, 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' },
          body: JSON.stringify(c.ops),
        })
      ).status;
    case 'graphql':
      return (
        await send(`${t.url}/graphql`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body),
        })
      ).status;
  }
}

describe(`fuzzing both doors (${RUNS} cases, seed ${SEED})`, () => {
  it('never answers 500, never crashes, never stores an invalid resource', async () => {
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        const status = await sendCase(c);
        expect(status, JSON.stringify(c).slice(0, 300)).toBeLessThan(500);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect((await send(`${t.url}/readyz`)).status).toBe(200);
    const schema = createFhirSchemaValidator();
    const rows = await t.sql<{ resource: unknown }>('SELECT resource FROM medication_requests');
    const invalid = rows.filter(({ resource }) => validateMedicationRequest(resource).length > 0 || schema.validate('MedicationRequest', resource).length > 0);
    expect(invalid).toEqual([]);
    expect(Object.prototype).not.toHaveProperty('x');
  }, 300_000);
});
