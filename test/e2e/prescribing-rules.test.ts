import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastFillLimit } from '../../src/domain/index.js';
import { PHARMACY_A, prescription, uniquePatient } from '../support/fixtures.js';
import { rawGraphql } from '../support/graphql.js';
import { outcomeCode, request } from '../support/http.js';
import { signToken } from '../support/test-app.js';
import { useTestApp } from '../support/use-test-app.js';

/** CONTRACT §8 through both doors: the us-federal rules, EPCS two-factor approval, a tenant's RULES_FILE. */

const OXYCODONE = '1049221'; // CII
const DIAZEPAM = '197591'; // CIV
const PREGABALIN = '483438'; // CV
const RULE = 'urn:rxgate:rule';

const rulesDir = mkdtempSync(path.join(tmpdir(), 'rxgate-rules-e2e-'));
afterAll(() => rmSync(rulesDir, { recursive: true, force: true }));
const rulesFile = path.join(rulesDir, 'rules.json');
writeFileSync(
  rulesFile,
  JSON.stringify({
    ruleSets: [
      {
        id: 'tenant-a-strict',
        version: '3',
        tenants: ['tenant-a'],
        rules: [
          {
            id: 'tenant-a.schedule-v-max-2',
            description: 'Schedule V: at most 2 refills.',
            citation: 'tenant-a formulary policy 7',
            schedules: ['CV'],
            maxRepeats: 2,
          },
        ],
      },
    ],
  }),
);

let ehr: string;
let ehrPwd: string;
let ehrTwoFactor: string;
let ehrMfa: string;
let pharmacy: string;
let ehrB: string;

const ehrWith = (amr: string[] | undefined, tenant = 'tenant-a') =>
  signToken({ sub: 'dr-epcs', tenant, persona: 'ehr-backend', ...(amr ? { amr } : {}) }, { expiresIn: 600 });

const t = useTestApp({ env: { RULES_FILE: rulesFile } });
beforeAll(async () => {
  [ehr, ehrPwd, ehrTwoFactor, ehrMfa, pharmacy, ehrB] = await Promise.all([
    ehrWith(undefined),
    ehrWith(['pwd']),
    ehrWith(['pwd', 'otp']),
    ehrWith(['mfa']),
    t.token('tenant-a', 'pharmacy-backend'),
    ehrWith(['pwd', 'otp'], 'tenant-b'),
  ]);
});

const fhir = (p: string) => `${t.url}/fhir/${p}`;
const day = (d: Date) => d.toISOString().slice(0, 10);
const monthsFromToday = (months: number, days = 0) => {
  const d = new Date();
  d.setUTCMonth(d.getUTCMonth() + months);
  d.setUTCDate(d.getUTCDate() + days);
  return day(d);
};

/** A prescription of `code` authored today (or `authoredOn`). */
function rx(code: string, o: { repeats?: number; end?: string; authoredOn?: string } = {}): fhir4.MedicationRequest {
  const base = prescription({ patient: uniquePatient(), repeats: o.repeats ?? 0 });
  return {
    ...base,
    medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code }] },
    authoredOn: o.authoredOn ?? day(new Date()),
    dispenseRequest: { ...base.dispenseRequest, ...(o.end ? { validityPeriod: { end: o.end } } : {}) },
  };
}

const gqlInput = (code: string, o: { repeats?: number; end?: string } = {}) => ({
  subject: { reference: `Patient/${uniquePatient()}` },
  medication: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code }] },
  authoredOn: day(new Date()),
  dispenseRequest: {
    performer: { reference: `Organization/${PHARMACY_A}` },
    quantity: { value: 30, unit: 'tablet' },
    numberOfRepeatsAllowed: o.repeats ?? 0,
    ...(o.end ? { validityPeriod: { end: o.end } } : {}),
  },
});

const CREATE = 'mutation C($input: MedicationRequestInput!) { createMedicationRequest(input: $input) { id versionId controlledSubstanceSchedule } }';
const TRANSITION = 'mutation T($id: ID!, $event: PrescriptionEvent!) { transitionPrescription(id: $id, event: $event) { id versionId workflowStatus } }';

/** The rule ids of a 422 OperationOutcome, with the expression of each issue. */
const ruleIssues = (body: any) => body.issue.map((i: any) => [i.details.coding.find((c: any) => c.system === RULE)?.code, i.expression?.[0]]);

async function createdOver(code: string, o: { repeats?: number; end?: string; authoredOn?: string } = {}, token = ehr) {
  const created = await request(fhir('MedicationRequest'), { token, body: rx(code, o) });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

const approveTask = (id: string) => ({
  resourceType: 'Task',
  status: 'completed',
  intent: 'order',
  code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'approve' }] },
  focus: { reference: `MedicationRequest/${id}` },
});

describe('us-federal rules on create and update (FHIR and GraphQL)', () => {
  it('a Schedule II prescription with a repeat is refused with the rule id', async () => {
    const fhirAnswer = await request(fhir('MedicationRequest'), { token: ehr, body: rx(OXYCODONE, { repeats: 1 }) });
    expect(fhirAnswer.status).toBe(422);
    expect(outcomeCode(fhirAnswer.body)).toBe('PRESCRIBING_RULE_VIOLATION');
    expect(ruleIssues(fhirAnswer.body)).toEqual([['us-federal.schedule-ii-no-refills', 'MedicationRequest.dispenseRequest.numberOfRepeatsAllowed']]);

    const gql = await rawGraphql(t.url, { query: CREATE, variables: { input: gqlInput(OXYCODONE, { repeats: 1 }) } }, ehr);
    expect(gql.data?.createMedicationRequest ?? null).toBeNull();
    expect(gql.errors?.[0].extensions).toMatchObject({ code: 'PRESCRIBING_RULE_VIOLATION', rules: ['us-federal.schedule-ii-no-refills'] });
  });

  it('a Schedule IV prescription with 6 repeats is refused, with 5 it is created and shows its schedule', async () => {
    const six = await request(fhir('MedicationRequest'), { token: ehr, body: rx(DIAZEPAM, { repeats: 6 }) });
    expect(six.status).toBe(422);
    expect(ruleIssues(six.body)).toEqual([['us-federal.schedule-iii-iv-refill-limit', 'MedicationRequest.dispenseRequest.numberOfRepeatsAllowed']]);
    const gqlSix = await rawGraphql(t.url, { query: CREATE, variables: { input: gqlInput(DIAZEPAM, { repeats: 6 }) } }, ehr);
    expect(gqlSix.errors?.[0].extensions).toMatchObject({ code: 'PRESCRIBING_RULE_VIOLATION', rules: ['us-federal.schedule-iii-iv-refill-limit'] });

    const five = await createdOver(DIAZEPAM, { repeats: 5 });
    expect(five.extension).toContainEqual({ url: 'urn:rxgate:extension:controlled-substance-schedule', valueCode: 'CIV' });
    const gqlFive = await rawGraphql(t.url, { query: CREATE, variables: { input: gqlInput(DIAZEPAM, { repeats: 5 }) } }, ehr);
    expect(gqlFive.errors).toBeUndefined();
    expect(gqlFive.data.createMedicationRequest.controlledSubstanceSchedule).toBe('CIV');
  });

  it('a Schedule IV prescription valid past 6 months after authoredOn is refused; exactly 6 months passes', async () => {
    const late = await request(fhir('MedicationRequest'), { token: ehr, body: rx(DIAZEPAM, { end: monthsFromToday(6, 1) }) });
    expect(late.status).toBe(422);
    expect(ruleIssues(late.body)).toEqual([['us-federal.schedule-iii-iv-refill-limit', 'MedicationRequest.dispenseRequest.validityPeriod.end']]);
    const gqlLate = await rawGraphql(t.url, { query: CREATE, variables: { input: gqlInput(DIAZEPAM, { end: monthsFromToday(7) }) } }, ehr);
    expect(gqlLate.errors?.[0].extensions).toMatchObject({ code: 'PRESCRIBING_RULE_VIOLATION', rules: ['us-federal.schedule-iii-iv-refill-limit'] });
    // The last day of the window (the domain's own month arithmetic, so month ends cannot make it flaky).
    await createdOver(DIAZEPAM, { end: day(new Date(lastFillLimit(new Date(), 6).getTime() - 1)) });
  });

  it('an uncontrolled medication carries no schedule and no limit', async () => {
    const created = await createdOver('314076', { repeats: 11 });
    expect(created.extension.some((e: any) => e.url === 'urn:rxgate:extension:controlled-substance-schedule')).toBe(false);
    const gql = await rawGraphql(t.url, { query: `{ medicationRequest(id: "${created.id}") { controlledSubstanceSchedule } }` }, ehr);
    expect(gql.data.medicationRequest.controlledSubstanceSchedule).toBeNull();
  });

  it('an update or patch adding a repeat to a Schedule II prescription is refused and changes nothing', async () => {
    const created = await createdOver(OXYCODONE);
    const body = { ...created, dispenseRequest: { ...created.dispenseRequest, numberOfRepeatsAllowed: 2 } };
    const updated = await request(fhir(`MedicationRequest/${created.id}`), { method: 'PUT', token: ehr, headers: { 'If-Match': 'W/"1"' }, body });
    expect(updated.status).toBe(422);
    expect(ruleIssues(updated.body)).toEqual([['us-federal.schedule-ii-no-refills', 'MedicationRequest.dispenseRequest.numberOfRepeatsAllowed']]);
    const patched = await request(fhir(`MedicationRequest/${created.id}`), {
      method: 'PATCH',
      token: ehr,
      headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' },
      rawBody: JSON.stringify([{ op: 'replace', path: '/dispenseRequest/numberOfRepeatsAllowed', value: 1 }]),
    });
    expect(patched.status).toBe(422);
    expect(ruleIssues(patched.body)).toEqual([['us-federal.schedule-ii-no-refills', 'MedicationRequest.dispenseRequest.numberOfRepeatsAllowed']]);
    expect((await request(fhir(`MedicationRequest/${created.id}`), { token: ehr })).body.meta.versionId).toBe('1');
  });
});

describe('EPCS two-factor approval (21 CFR 1311.115)', () => {
  it('approving a Schedule II prescription with amr ["pwd"] is 403 and changes nothing; ["pwd","otp"] passes (FHIR Task)', async () => {
    const created = await createdOver(OXYCODONE);
    for (const token of [ehrPwd, ehr]) {
      const refused = await request(fhir('Task'), { token, body: approveTask(created.id) });
      expect(refused.status).toBe(403);
      expect(outcomeCode(refused.body)).toBe('EPCS_TWO_FACTOR_REQUIRED');
      expect(refused.body.issue[0].details.coding).toContainEqual({ system: RULE, code: 'us-federal.epcs-two-factor' });
    }
    const after = await request(fhir(`MedicationRequest/${created.id}`), { token: ehr });
    expect(after.body.meta.versionId).toBe('1');
    expect(after.body.status).toBe('draft');

    const approved = await request(fhir('Task'), { token: ehrTwoFactor, body: approveTask(created.id) });
    expect(approved.status, JSON.stringify(approved.body)).toBe(201);
    expect((await request(fhir(`MedicationRequest/${created.id}`), { token: ehr })).body.meta.versionId).toBe('2');
  });

  it('the same over GraphQL: ["pwd"] is refused with the code, ["mfa"] passes', async () => {
    const created = await createdOver(OXYCODONE);
    const refused = await rawGraphql(t.url, { query: TRANSITION, variables: { id: created.id, event: 'APPROVE' } }, ehrPwd);
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'EPCS_TWO_FACTOR_REQUIRED', rules: ['us-federal.epcs-two-factor'] });
    expect((await request(fhir(`MedicationRequest/${created.id}`), { token: ehr })).body.meta.versionId).toBe('1');
    const approved = await rawGraphql(t.url, { query: TRANSITION, variables: { id: created.id, event: 'APPROVE' } }, ehrMfa);
    expect(approved.errors).toBeUndefined();
    expect(approved.data.transitionPrescription).toMatchObject({ versionId: '2', workflowStatus: 'APPROVED' });
  });

  it('an uncontrolled prescription is approved without a second factor; the 403 precedes the state check', async () => {
    const plain = await createdOver('314076');
    expect((await request(fhir('Task'), { token: ehrPwd, body: approveTask(plain.id) })).status).toBe(201);
    // Already approved: a second approve by a one-factor token is refused for the factor, not the state (CONTRACT §2: 403 before 409).
    const controlled = await createdOver(OXYCODONE);
    expect((await request(fhir('Task'), { token: ehrTwoFactor, body: approveTask(controlled.id) })).status).toBe(201);
    const again = await request(fhir('Task'), { token: ehrPwd, body: approveTask(controlled.id) });
    expect(outcomeCode(again.body)).toBe('EPCS_TWO_FACTOR_REQUIRED');
    expect(outcomeCode((await request(fhir('Task'), { token: ehrTwoFactor, body: approveTask(controlled.id) })).body)).toBe('INVALID_TRANSITION');
  });
});

describe('rules on every fill', () => {
  it('processing a Schedule IV prescription more than 6 months after authoredOn is refused and changes nothing', async () => {
    // Records may be imported with a past authoredOn; without a validity end it is created, but never filled.
    const created = await createdOver(DIAZEPAM, { authoredOn: monthsFromToday(-7) });
    expect((await request(fhir('Task'), { token: ehrTwoFactor, body: approveTask(created.id) })).status).toBe(201);
    const refused = await rawGraphql(t.url, { query: TRANSITION, variables: { id: created.id, event: 'PROCESS' } }, pharmacy);
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'PRESCRIBING_RULE_VIOLATION', rules: ['us-federal.schedule-iii-iv-refill-limit'] });
    const fulfil = await request(fhir('Task'), {
      token: pharmacy,
      body: { ...approveTask(created.id), status: 'in-progress', code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] } },
    });
    expect(fulfil.status).toBe(422);
    expect(ruleIssues(fulfil.body)).toEqual([['us-federal.schedule-iii-iv-refill-limit', 'MedicationRequest.authoredOn']]);
    const after = await request(fhir(`MedicationRequest/${created.id}`), { token: ehr });
    expect(after.body.meta.versionId).toBe('2');
  });

  it('a Schedule IV prescription within its window is processed', async () => {
    const created = await createdOver(DIAZEPAM, { repeats: 5 });
    expect((await request(fhir('Task'), { token: ehrTwoFactor, body: approveTask(created.id) })).status).toBe(201);
    const processed = await rawGraphql(t.url, { query: TRANSITION, variables: { id: created.id, event: 'PROCESS' } }, pharmacy);
    expect(processed.errors).toBeUndefined();
    expect(processed.data.transitionPrescription.workflowStatus).toBe('PROCESSING');
  });
});

describe("a tenant's RULES_FILE", () => {
  it('adds a stricter rule for its tenant only (Schedule V at most 2 refills for tenant-a)', async () => {
    const three = await request(fhir('MedicationRequest'), { token: ehr, body: rx(PREGABALIN, { repeats: 3 }) });
    expect(three.status).toBe(422);
    expect(ruleIssues(three.body)).toEqual([['tenant-a.schedule-v-max-2', 'MedicationRequest.dispenseRequest.numberOfRepeatsAllowed']]);
    const gql = await rawGraphql(t.url, { query: CREATE, variables: { input: gqlInput(PREGABALIN, { repeats: 3 }) } }, ehr);
    expect(gql.errors?.[0].extensions).toMatchObject({ code: 'PRESCRIBING_RULE_VIOLATION', rules: ['tenant-a.schedule-v-max-2'] });
    await createdOver(PREGABALIN, { repeats: 2 });
    // tenant-b has the federal rules only: Schedule V has no federal refill limit.
    const other = await request(fhir('MedicationRequest'), { token: ehrB, body: rx(PREGABALIN, { repeats: 3 }) });
    expect(other.status).toBe(201);
    expect(other.body.extension).toContainEqual({ url: 'urn:rxgate:extension:controlled-substance-schedule', valueCode: 'CV' });
  });

  it('GraphQL prescribingRules lists what is in force for the caller’s tenant', async () => {
    const query = '{ prescribingRules { id version rules { id description citation } } }';
    const a = await rawGraphql(t.url, { query }, ehr);
    expect(a.errors).toBeUndefined();
    expect(a.data.prescribingRules.map((s: any) => s.id)).toEqual(['us-federal', 'tenant-a-strict']);
    expect(a.data.prescribingRules[0].rules.map((r: any) => [r.id, r.citation])).toEqual([
      ['us-federal.schedule-ii-no-refills', '21 CFR 1306.12(a)'],
      ['us-federal.schedule-iii-iv-refill-limit', '21 CFR 1306.22(a)'],
      ['us-federal.epcs-two-factor', '21 CFR 1311.115'],
    ]);
    expect(a.data.prescribingRules[1]).toEqual({
      id: 'tenant-a-strict',
      version: '3',
      rules: [{ id: 'tenant-a.schedule-v-max-2', description: 'Schedule V: at most 2 refills.', citation: 'tenant-a formulary policy 7' }],
    });
    const b = await rawGraphql(t.url, { query }, ehrB);
    expect(b.data.prescribingRules.map((s: any) => s.id)).toEqual(['us-federal']);
  });
});
