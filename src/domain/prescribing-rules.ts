import { RXNORM_SYSTEM } from './fhir.js';
import type { MedicationRequestResource } from './medication-request.js';

/**
 * Prescribing rules and controlled substances (CONTRACT §8), as data. Rule sets are plain JSON
 * (the built-in `us-federal` below, a tenant's from `RULES_FILE`, both of the shape
 * `schema/rules.schema.json` publishes); this module only evaluates them, with no I/O.
 */

export const SCHEDULES = ['CII', 'CIII', 'CIV', 'CV'] as const;
/** A US DEA schedule of a prescribable medication (Schedule I substances are not prescribable). */
export type Schedule = (typeof SCHEDULES)[number];

export const CONTROLLED_SUBSTANCE_SCHEDULE_EXTENSION = 'urn:rxgate:extension:controlled-substance-schedule';
/** `details.coding` system naming the violated rule in a `PRESCRIBING_RULE_VIOLATION`. */
export const RULE_CODE_SYSTEM = 'urn:rxgate:rule';

export interface ControlledSubstance {
  /** RxNorm code (RxCUI). */
  code: string;
  display?: string;
  schedule: Schedule;
  source?: string;
}

/**
 * One rule: which prescriptions it applies to (`schedules` and/or `rxnormCodes`) and what it checks.
 * Every check present applies; `requiresPriorAuthorization` is only declared here (prior
 * authorization, CONTRACT §9, reads it).
 */
export interface PrescribingRule {
  id: string;
  description: string;
  /** The regulation (or policy) the rule comes from. */
  citation: string;
  schedules?: Schedule[];
  rxnormCodes?: string[];
  maxRepeats?: number;
  /** No fill later than this many months after `authoredOn`; a `validityPeriod.end` past it is a violation. */
  maxValidityMonthsFromAuthoredOn?: number;
  /** Approving needs two-factor authentication (the token's `amr`). */
  approveRequiresTwoFactor?: boolean;
  requiresPriorAuthorization?: boolean;
}

export interface RuleSet {
  id: string;
  version: string;
  description?: string;
  /** Tenants the set applies to; absent → every tenant. */
  tenants?: string[];
  rules: PrescribingRule[];
}

/** What a tenant's `RULES_FILE` holds (validated against `schema/rules.schema.json`). */
export interface RulesFile {
  ruleSets: RuleSet[];
  /** Codes added to (or re-scheduled in) the shipped controlled-substance list. */
  controlledSubstances?: ControlledSubstance[];
}

/** The federal rules (CONTRACT §8) that apply to every tenant. */
export const US_FEDERAL_RULE_SET: RuleSet = {
  id: 'us-federal',
  version: '2026.1',
  description: 'US federal rules for controlled-substance prescriptions (21 CFR part 1306 and 1311).',
  rules: [
    {
      id: 'us-federal.schedule-ii-no-refills',
      description: 'A Schedule II prescription may not be refilled: numberOfRepeatsAllowed must be 0.',
      citation: '21 CFR 1306.12(a)',
      schedules: ['CII'],
      maxRepeats: 0,
    },
    {
      id: 'us-federal.schedule-iii-iv-refill-limit',
      description: 'A Schedule III or IV prescription may be refilled at most 5 times, and not filled later than 6 months after the date it was issued.',
      citation: '21 CFR 1306.22(a)',
      schedules: ['CIII', 'CIV'],
      maxRepeats: 5,
      maxValidityMonthsFromAuthoredOn: 6,
    },
    {
      id: 'us-federal.epcs-two-factor',
      description: 'Signing (approving) a prescription for a Schedule II-V substance needs two-factor authentication.',
      citation: '21 CFR 1311.115',
      schedules: ['CII', 'CIII', 'CIV', 'CV'],
      approveRequiresTwoFactor: true,
    },
  ],
};

/** One violated rule, located by the FHIRPath of the offending element. */
export interface RuleViolation {
  ruleId: string;
  ruleSetId: string;
  expression: string;
  diagnostics: string;
}

/** What a rule is evaluated against: the prescription, its schedule, and, for a fill, the fill's time. */
export interface RuleSubject {
  resource: Pick<MedicationRequestResource, 'authoredOn' | 'dispenseRequest' | 'medicationCodeableConcept'>;
  schedule: Schedule | null;
  /** Set when a fill is starting: the time-bound checks then also look at this instant. */
  fillAt?: Date;
}

/** The rule sets and controlled-substance list in force: `us-federal` first, then the tenant's. */
export class PrescribingRules {
  private readonly schedules: ReadonlyMap<string, Schedule>;

  constructor(
    controlled: readonly ControlledSubstance[],
    private readonly ruleSets: readonly RuleSet[] = [US_FEDERAL_RULE_SET],
  ) {
    this.schedules = new Map(controlled.map((c) => [c.code, c.schedule]));
  }

  /** Every set applying to the tenant, in order (the built-in one first). */
  ruleSetsFor(tenantId: string): RuleSet[] {
    return this.ruleSets.filter((set) => set.tenants === undefined || set.tenants.includes(tenantId));
  }

  /** The schedule of a medication; a code not on the list is treated as not controlled (`null`). */
  scheduleOf(resource: Pick<MedicationRequestResource, 'medicationCodeableConcept'>): Schedule | null {
    let found: Schedule | null = null;
    for (const code of rxnormCodesOf(resource)) {
      const schedule = this.schedules.get(code);
      // Several RxNorm codings on one medication: the most restrictive schedule wins.
      if (schedule && (found === null || SCHEDULES.indexOf(schedule) < SCHEDULES.indexOf(found))) found = schedule;
    }
    return found;
  }
}

function rxnormCodesOf(resource: Pick<MedicationRequestResource, 'medicationCodeableConcept'>): string[] {
  return (resource.medicationCodeableConcept?.coding ?? []).filter((c) => c.system === RXNORM_SYSTEM && typeof c.code === 'string').map((c) => c.code!);
}

/** Whether a rule applies to the prescription (by schedule or by RxNorm code). */
export function ruleApplies(rule: PrescribingRule, subject: Pick<RuleSubject, 'resource' | 'schedule'>): boolean {
  if (subject.schedule !== null && rule.schedules?.includes(subject.schedule)) return true;
  const codes = rxnormCodesOf(subject.resource);
  return rule.rxnormCodes?.some((code) => codes.includes(code)) ?? false;
}

const REPEATS = 'MedicationRequest.dispenseRequest.numberOfRepeatsAllowed';
const VALIDITY_END = 'MedicationRequest.dispenseRequest.validityPeriod.end';
const AUTHORED_ON = 'MedicationRequest.authoredOn';

/** Every violation of the rule sets by the prescription (empty when it complies). */
export function evaluatePrescribingRules(ruleSets: readonly RuleSet[], subject: RuleSubject): RuleViolation[] {
  const violations: RuleViolation[] = [];
  for (const set of ruleSets) {
    for (const rule of set.rules) {
      if (!ruleApplies(rule, subject)) continue;
      const violation = checkRule(rule, subject);
      if (violation) violations.push({ ruleId: rule.id, ruleSetId: set.id, ...violation });
    }
  }
  return violations;
}

/** The first problem a rule finds (one issue per violated rule, CONTRACT §8). */
function checkRule(rule: PrescribingRule, subject: RuleSubject): { expression: string; diagnostics: string } | undefined {
  const cite = `(${rule.id}, ${rule.citation})`;
  const what = subject.schedule ? `Schedule ${subject.schedule.slice(1)}` : 'this medication';
  if (rule.maxRepeats !== undefined) {
    const repeats = subject.resource.dispenseRequest?.numberOfRepeatsAllowed ?? 0;
    if (repeats > rule.maxRepeats) {
      const allowed = rule.maxRepeats === 0 ? 'no refills' : `at most ${rule.maxRepeats} refills`;
      return { expression: REPEATS, diagnostics: `numberOfRepeatsAllowed is ${repeats}, but ${what} allows ${allowed} ${cite}.` };
    }
  }
  if (rule.maxValidityMonthsFromAuthoredOn !== undefined) {
    const months = rule.maxValidityMonthsFromAuthoredOn;
    const authored = parseInstant(subject.resource.authoredOn, 'start');
    if (authored === null)
      return { expression: AUTHORED_ON, diagnostics: `${what} may be filled only within ${months} months of authoredOn: send authoredOn ${cite}.` };
    const limit = lastFillLimit(authored, months);
    const lastDay = new Date(limit.getTime() - 86_400_000).toISOString().slice(0, 10);
    const end = parseInstant(subject.resource.dispenseRequest?.validityPeriod?.end, 'end');
    if (end !== null && end > limit) {
      return {
        expression: VALIDITY_END,
        diagnostics: `validityPeriod.end is later than ${months} months after authoredOn: ${lastDay} is the last day ${what} may be filled ${cite}.`,
      };
    }
    if (subject.fillAt && subject.fillAt >= limit) {
      return {
        expression: AUTHORED_ON,
        diagnostics: `${what} may not be filled later than ${months} months after authoredOn: the last day was ${lastDay} ${cite}.`,
      };
    }
  }
  return undefined;
}

/** Whether approving the prescription needs two-factor authentication under the rule sets. */
export function approvalRequiresTwoFactor(ruleSets: readonly RuleSet[], subject: Pick<RuleSubject, 'resource' | 'schedule'>): PrescribingRule | undefined {
  for (const set of ruleSets) for (const rule of set.rules) if (rule.approveRequiresTwoFactor && ruleApplies(rule, subject)) return rule;
  return undefined;
}

/**
 * RFC 8176 authentication method references by factor (21 CFR 1311.115: two of something you know,
 * something you have, something you are). `mfa` says the provider already used several factors.
 */
const FACTOR_OF: Readonly<Record<string, 'know' | 'have' | 'are'>> = {
  pwd: 'know',
  pin: 'know',
  kba: 'know',
  otp: 'have',
  hwk: 'have',
  swk: 'have',
  sms: 'have',
  tel: 'have',
  sc: 'have',
  fpt: 'are',
  face: 'are',
  iris: 'are',
  retina: 'are',
  vbm: 'are',
};

/** True when the token's `amr` proves two-factor authentication: `mfa`, or methods of two different factors. */
export function isTwoFactor(amr: readonly string[] | undefined): boolean {
  if (!amr) return false;
  if (amr.includes('mfa')) return true;
  return new Set(amr.map((m) => FACTOR_OF[m]).filter((f) => f !== undefined)).size >= 2;
}

/**
 * The instant fills stop: the end of the calendar day (UTC) `months` months after the day of
 * `authoredOn` — issued on Jan 15, the last day to fill is Jul 15, whole.
 */
export function lastFillLimit(authoredOn: Date, months: number): Date {
  const day = new Date(Date.UTC(authoredOn.getUTCFullYear(), authoredOn.getUTCMonth(), authoredOn.getUTCDate()));
  return new Date(addMonths(day, months).getTime() + 86_400_000);
}

/** `months` calendar months after `from` (UTC), the day clamped to the month's last (Aug 31 + 6 → Feb 28/29). */
export function addMonths(from: Date, months: number): Date {
  const target = new Date(from.getTime());
  const day = from.getUTCDate();
  target.setUTCDate(1);
  target.setUTCMonth(target.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(day, lastDay));
  return target;
}

/**
 * A FHIR date/dateTime as an instant: a partial date at its `start` (authoredOn: the day issued) or
 * just past its `end` (a validity ending on a day covers the whole day, as `validityEndOf`).
 */
function parseInstant(value: string | undefined, side: 'start' | 'end'): Date | null {
  if (typeof value !== 'string') return null;
  const partial = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$/.exec(value);
  if (partial) {
    const [y, m, d] = [Number(partial[1]), partial[2] ? Number(partial[2]) - 1 : undefined, partial[3] ? Number(partial[3]) : undefined];
    if (side === 'start') return new Date(Date.UTC(y, m ?? 0, d ?? 1));
    if (d !== undefined) return new Date(Date.UTC(y, m!, d + 1));
    if (m !== undefined) return new Date(Date.UTC(y, m + 1, 1));
    return new Date(Date.UTC(y + 1, 0, 1));
  }
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : new Date(at);
}

/** The resource with the schedule extension set from the list (a client-sent one is replaced; none when not controlled). */
export function withScheduleExtension<T extends MedicationRequestResource>(resource: T, schedule: Schedule | null): T {
  const others = (resource.extension ?? []).filter((e) => e.url !== CONTROLLED_SUBSTANCE_SCHEDULE_EXTENSION);
  const extension = schedule ? [...others, { url: CONTROLLED_SUBSTANCE_SCHEDULE_EXTENSION, valueCode: schedule }] : others;
  const { extension: _old, ...rest } = resource;
  return (extension.length > 0 ? { ...rest, extension } : rest) as T;
}

/** The schedule a stored prescription shows (its extension). */
export function scheduleExtensionOf(resource: Pick<MedicationRequestResource, 'extension'>): Schedule | null {
  const code = resource.extension?.find((e) => e.url === CONTROLLED_SUBSTANCE_SCHEDULE_EXTENSION)?.valueCode;
  return (SCHEDULES as readonly string[]).includes(code ?? '') ? (code as Schedule) : null;
}
