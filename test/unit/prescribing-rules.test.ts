import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadControlledSubstances, loadRulesFile } from '../../src/adapters/rules/rules-file.js';
import { loadConfig, PROJECT_ROOT, RULES_SCHEMA_FILE } from '../../src/config.js';
import {
  approvalRequiresTwoFactor,
  evaluatePrescribingRules,
  isTwoFactor,
  lastFillLimit,
  PrescribingRules,
  type RuleSet,
  RXNORM_SYSTEM,
  type Schedule,
  US_FEDERAL_RULE_SET,
  withScheduleExtension,
} from '../../src/domain/index.js';

const OXYCODONE = '1049221'; // CII
const DIAZEPAM = '197591'; // CIV
const BUPRENORPHINE = '351266'; // CIII
const PREGABALIN = '483438'; // CV
const LISINOPRIL = '314076'; // not on the list

const list = loadControlledSubstances(path.join(PROJECT_ROOT, 'data', 'controlled-substances.json'));
const rules = new PrescribingRules(list);
const federal = [US_FEDERAL_RULE_SET];

const rx = (code: string, d: { repeats?: number; end?: string; authoredOn?: string | null } = {}) => ({
  medicationCodeableConcept: { coding: [{ system: RXNORM_SYSTEM, code }] },
  ...(d.authoredOn === null ? {} : { authoredOn: d.authoredOn ?? '2026-01-15' }),
  dispenseRequest: { numberOfRepeatsAllowed: d.repeats, ...(d.end ? { validityPeriod: { end: d.end } } : {}) },
});
const violations = (code: string, d: Parameters<typeof rx>[1] = {}, fillAt?: Date, sets: RuleSet[] = federal) => {
  const resource = rx(code, d);
  return evaluatePrescribingRules(sets, { resource, schedule: rules.scheduleOf(resource), fillAt }).map((v) => [v.ruleId, v.expression]);
};

describe('controlled-substance list', () => {
  it('knows the shipped schedules and treats a code not on the list as not controlled', () => {
    expect(list).toHaveLength(34);
    const of = (code: string) => rules.scheduleOf(rx(code));
    expect([of(OXYCODONE), of(BUPRENORPHINE), of(DIAZEPAM), of(PREGABALIN), of(LISINOPRIL)]).toEqual<(Schedule | null)[]>(['CII', 'CIII', 'CIV', 'CV', null]);
  });

  it('a rules file extends the list, and the most restrictive schedule of several codings wins', () => {
    const extended = new PrescribingRules([...list, { code: LISINOPRIL, schedule: 'CV' }]);
    expect(extended.scheduleOf(rx(LISINOPRIL))).toBe('CV');
    expect(
      rules.scheduleOf({
        medicationCodeableConcept: {
          coding: [
            { system: RXNORM_SYSTEM, code: DIAZEPAM },
            { system: RXNORM_SYSTEM, code: OXYCODONE },
          ],
        },
      }),
    ).toBe('CII');
    expect(rules.scheduleOf({ medicationCodeableConcept: { coding: [{ system: 'http://example.org', code: OXYCODONE }] } })).toBeNull();
  });

  it('the schedule extension is set from the list, replacing what a client sent', () => {
    const sent = {
      resourceType: 'MedicationRequest',
      extension: [{ url: 'urn:rxgate:extension:controlled-substance-schedule', valueCode: 'CV' }],
    } as unknown as fhir4.MedicationRequest;
    expect(withScheduleExtension(sent, 'CII').extension).toEqual([{ url: 'urn:rxgate:extension:controlled-substance-schedule', valueCode: 'CII' }]);
    expect(withScheduleExtension(sent, null).extension).toBeUndefined();
  });
});

describe('us-federal rules', () => {
  it('Schedule II: no refills (21 CFR 1306.12)', () => {
    expect(violations(OXYCODONE, { repeats: 0 })).toEqual([]);
    expect(violations(OXYCODONE, { repeats: 1 })).toEqual([['us-federal.schedule-ii-no-refills', 'MedicationRequest.dispenseRequest.numberOfRepeatsAllowed']]);
  });

  it('Schedules III and IV: 5 refills pass, 6 do not (21 CFR 1306.22)', () => {
    for (const code of [BUPRENORPHINE, DIAZEPAM]) {
      expect(violations(code, { repeats: 5 })).toEqual([]);
      expect(violations(code, { repeats: 6 })).toEqual([
        ['us-federal.schedule-iii-iv-refill-limit', 'MedicationRequest.dispenseRequest.numberOfRepeatsAllowed'],
      ]);
    }
  });

  it('Schedules III and IV: a validity ending exactly 6 months after authoredOn passes, a day later does not', () => {
    expect(violations(DIAZEPAM, { end: '2026-07-15' })).toEqual([]);
    expect(violations(DIAZEPAM, { end: '2026-07-15T23:59:59Z' })).toEqual([]);
    expect(violations(DIAZEPAM, { end: '2026-07-16' })).toEqual([
      ['us-federal.schedule-iii-iv-refill-limit', 'MedicationRequest.dispenseRequest.validityPeriod.end'],
    ]);
    expect(violations(DIAZEPAM, { end: '2026-07-16T00:00:01Z' })).toHaveLength(1);
    // Month ends clamp: issued Aug 31, the last day is Feb 28 (Feb 29 in a leap year).
    expect(lastFillLimit(new Date('2026-08-31T10:00:00Z'), 6).toISOString()).toBe('2027-03-01T00:00:00.000Z');
    expect(lastFillLimit(new Date('2027-08-31T00:00:00Z'), 6).toISOString()).toBe('2028-03-01T00:00:00.000Z');
  });

  it('Schedules III and IV: a fill on the last day passes, the day after does not; authoredOn is needed', () => {
    expect(violations(DIAZEPAM, {}, new Date('2026-07-15T23:59:59Z'))).toEqual([]);
    expect(violations(DIAZEPAM, {}, new Date('2026-07-16T00:00:00Z'))).toEqual([['us-federal.schedule-iii-iv-refill-limit', 'MedicationRequest.authoredOn']]);
    expect(violations(DIAZEPAM, { authoredOn: null })).toEqual([['us-federal.schedule-iii-iv-refill-limit', 'MedicationRequest.authoredOn']]);
  });

  it('Schedule V and uncontrolled medications: no federal refill limit', () => {
    expect(violations(PREGABALIN, { repeats: 11, end: '2028-01-01' }, new Date('2027-12-01'))).toEqual([]);
    expect(violations(LISINOPRIL, { repeats: 11, authoredOn: null })).toEqual([]);
  });

  it('one violation per violated rule, from every set in force', () => {
    const tenant: RuleSet = {
      id: 'tenant-a',
      version: '1',
      rules: [{ id: 'tenant-a.cii-validity', description: 'd', citation: 'policy', schedules: ['CII'], maxValidityMonthsFromAuthoredOn: 1 }],
    };
    expect(violations(OXYCODONE, { repeats: 2, end: '2026-06-01' }, undefined, [US_FEDERAL_RULE_SET, tenant])).toEqual([
      ['us-federal.schedule-ii-no-refills', 'MedicationRequest.dispenseRequest.numberOfRepeatsAllowed'],
      ['tenant-a.cii-validity', 'MedicationRequest.dispenseRequest.validityPeriod.end'],
    ]);
  });

  it('a rule may apply by RxNorm code rather than schedule', () => {
    const byCode: RuleSet = {
      id: 's',
      version: '1',
      rules: [{ id: 's.lisinopril', description: 'd', citation: 'policy', rxnormCodes: [LISINOPRIL], maxRepeats: 2 }],
    };
    expect(violations(LISINOPRIL, { repeats: 3 }, undefined, [byCode])).toEqual([['s.lisinopril', 'MedicationRequest.dispenseRequest.numberOfRepeatsAllowed']]);
  });

  it('approving Schedules II-V needs two factors, uncontrolled medications do not', () => {
    for (const code of [OXYCODONE, BUPRENORPHINE, DIAZEPAM, PREGABALIN])
      expect(approvalRequiresTwoFactor(federal, { resource: rx(code), schedule: rules.scheduleOf(rx(code)) })?.id).toBe('us-federal.epcs-two-factor');
    expect(approvalRequiresTwoFactor(federal, { resource: rx(LISINOPRIL), schedule: null })).toBeUndefined();
  });
});

describe('two-factor amr (RFC 8176, 21 CFR 1311.115)', () => {
  it.each([
    [undefined, false],
    [[], false],
    [['pwd'], false],
    [['otp'], false],
    [['pwd', 'pin'], false],
    [['otp', 'sms'], false],
    [['mca'], false],
    [['pwd', 'unknown'], false],
    [['mfa'], true],
    [['pwd', 'otp'], true],
    [['pwd', 'hwk'], true],
    [['pwd', 'sms'], true],
    [['hwk', 'fpt'], true],
    [['pin', 'face', 'pwd'], true],
  ] as Array<[string[] | undefined, boolean]>)('amr %j → %s', (amr, expected) => {
    expect(isTwoFactor(amr)).toBe(expected);
  });
});

describe('RULES_FILE', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rxgate-rules-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: unknown) => {
    const at = path.join(dir, name);
    writeFileSync(at, typeof content === 'string' ? content : JSON.stringify(content));
    return at;
  };
  const valid = {
    ruleSets: [
      {
        id: 'tenant-a-strict',
        version: '1',
        tenants: ['tenant-a'],
        rules: [{ id: 'tenant-a.cv-max-2', description: 'Schedule V at most 2 refills.', citation: 'tenant policy', schedules: ['CV'], maxRepeats: 2 }],
      },
    ],
    controlledSubstances: [{ code: '314076', schedule: 'CV' }],
  };

  it('the built-in us-federal set matches the published schema', () => {
    const { problems } = loadRulesFile(file('federal.json', { ruleSets: [{ ...US_FEDERAL_RULE_SET, id: 'copy' }] }), RULES_SCHEMA_FILE);
    expect(problems).toEqual([
      'RULES_FILE: ' +
        path.join(dir, 'federal.json') +
        ": rule id 'us-federal.schedule-ii-no-refills' is used twice (rule ids are unique, the built-in us-federal ones included)",
      expect.any(String),
      expect.any(String),
    ]);
  });

  it('a valid file is loaded into the configuration and applies to its tenants only', () => {
    const config = loadConfig({ NODE_ENV: 'test', RULES_FILE: file('valid.json', valid) });
    expect(config.prescribingRules.tenantRules).toEqual(valid);
    const inForce = new PrescribingRules(list, [US_FEDERAL_RULE_SET, ...config.prescribingRules.tenantRules.ruleSets]);
    expect(inForce.ruleSetsFor('tenant-a').map((s) => s.id)).toEqual(['us-federal', 'tenant-a-strict']);
    expect(inForce.ruleSetsFor('tenant-b').map((s) => s.id)).toEqual(['us-federal']);
  });

  it.each([
    ['not JSON', '{ruleSets:', /RULES_FILE: .*bad\.json is not JSON/],
    [
      'a rule without citation',
      { ruleSets: [{ id: 'x', version: '1', rules: [{ id: 'x.r', description: 'd', schedules: ['CV'], maxRepeats: 1 }] }] },
      /\/ruleSets\/0\/rules\/0 must have required property 'citation'/,
    ],
    [
      'an unknown schedule',
      { ruleSets: [{ id: 'x', version: '1', rules: [{ id: 'x.r', description: 'd', citation: 'c', schedules: ['CVI'], maxRepeats: 1 }] }] },
      /\/ruleSets\/0\/rules\/0\/schedules\/0 must be equal to one of the allowed values \(CII, CIII, CIV, CV\)/,
    ],
    [
      'a negative maxRepeats',
      { ruleSets: [{ id: 'x', version: '1', rules: [{ id: 'x.r', description: 'd', citation: 'c', schedules: ['CV'], maxRepeats: -1 }] }] },
      /\/ruleSets\/0\/rules\/0\/maxRepeats must be >= 0/,
    ],
    [
      'an unknown check',
      { ruleSets: [{ id: 'x', version: '1', rules: [{ id: 'x.r', description: 'd', citation: 'c', schedules: ['CV'], maxRefills: 1 }] }] },
      /must NOT have additional properties \('maxRefills'\)/,
    ],
    [
      'a set replacing us-federal',
      { ruleSets: [{ id: 'us-federal', version: '2', rules: [{ id: 'x.r', description: 'd', citation: 'c', schedules: ['CV'], maxRepeats: 1 }] }] },
      /\/ruleSets\/0\/id must NOT be valid/,
    ],
  ])('an invalid file (%s) stops loadConfig with a message naming the problem', (_name, content, message) => {
    const at = file('bad.json', content);
    expect(() => loadConfig({ NODE_ENV: 'test', RULES_FILE: at })).toThrow(/Invalid configuration/);
    expect(() => loadConfig({ NODE_ENV: 'test', RULES_FILE: at })).toThrow(message);
  });

  it('a missing file stops loadConfig', () => {
    expect(() => loadConfig({ NODE_ENV: 'test', RULES_FILE: path.join(dir, 'absent.json') })).toThrow(/RULES_FILE: cannot read .*absent\.json \(ENOENT\)/);
  });
});
