import {
  approvalRequiresTwoFactor,
  DomainError,
  evaluatePrescribingRules,
  isObject,
  type Issue,
  isTwoFactor,
  type MedicationRequestRecord,
  type MedicationRequestResource,
  pharmacyIdOf,
  type RequestContext,
  type RuleViolation,
  validateMedicationRequest,
  validityEndOf,
  withScheduleExtension,
} from '../../domain/index.js';
import type { UseCaseDeps } from '../deps.js';
import { assertValid, checkCodes, tagDeferred } from '../validation.js';
import type { MoveRequest } from '../workflow-engine.js';

/**
 * Validation (422: gateway rules, FHIR R4 structure, medication codes, then the prescribing rules of
 * the caller's tenant, CONTRACT §8) then the pharmacy routing (422 `PHARMACY_NOT_FOUND`), in the
 * order of CONTRACT §2. Shared by create, update and patch so both transports get the same answer.
 * Answers the resource to store: its controlled-substance schedule shown, tagged when the
 * terminology check was deferred.
 */
export async function assertValidMedicationRequest(deps: UseCaseDeps, ctx: RequestContext, input: unknown): Promise<MedicationRequestResource> {
  const now = deps.clock.now();
  let resource = assertValid<MedicationRequestResource>(deps, 'MedicationRequest', input, (r) => [...validateMedicationRequest(r), ...validityIssues(r, now)]);
  const { deferred } = await checkCodes(deps, resource.medicationCodeableConcept, 'MedicationRequest.medicationCodeableConcept');
  if (deferred) resource = tagDeferred(resource);
  const schedule = deps.prescribingRules.scheduleOf(resource);
  assertPrescribingRules(evaluatePrescribingRules(deps.prescribingRules.ruleSetsFor(ctx.tenantId), { resource, schedule }));
  resource = withScheduleExtension(resource, schedule);
  const pharmacyId = pharmacyIdOf(resource)!;
  if (!(await deps.pharmacyRouter.resolve(pharmacyId))) {
    throw new DomainError('PHARMACY_NOT_FOUND', `Organization/${pharmacyId} is not a pharmacy in the directory; search /fhir/Organization for one.`, {
      issues: [{ expression: 'MedicationRequest.dispenseRequest.performer', diagnostics: `Organization/${pharmacyId} is not in the pharmacy directory.` }],
    });
  }
  return resource;
}

/**
 * CONTRACT §4: dates in the past are accepted (records are imported), except a validity that has
 * already ended: such a prescription could never be filled.
 */
function validityIssues(input: unknown, now: Date): Issue[] {
  if (!isObject(input) || !isObject(input.dispenseRequest)) return [];
  const ends = validityEndOf(input as Pick<MedicationRequestResource, 'dispenseRequest'>);
  if (ends === null || ends > now) return [];
  const end = String((input.dispenseRequest.validityPeriod as { end?: unknown }).end);
  return [
    {
      expression: 'MedicationRequest.dispenseRequest.validityPeriod.end',
      diagnostics: `The validity period ended at ${end}: the prescription could never be filled; send a later end.`,
    },
  ];
}

/** 422 `PRESCRIBING_RULE_VIOLATION` with one issue per violated rule, its id in the issue (CONTRACT §8). */
export function assertPrescribingRules(violations: RuleViolation[]): void {
  if (violations.length === 0) return;
  const summary = violations.map((v) => v.diagnostics).join(' ');
  throw new DomainError(
    'PRESCRIBING_RULE_VIOLATION',
    `The prescription breaks ${violations.length === 1 ? 'a prescribing rule' : `${violations.length} prescribing rules`}: ${summary}`,
    {
      issues: violations.map((v) => ({ expression: v.expression, diagnostics: v.diagnostics, rule: v.ruleId })),
    },
  );
}

/**
 * The prescribing rules on workflow moves (CONTRACT §8):
 * - `approve` (the prescriber's signature) of a controlled prescription needs two-factor `amr`:
 *   403 `EPCS_TWO_FACTOR_REQUIRED`. It needs the loaded prescription (its schedule), so it comes
 *   after existence and If-Match; as a 403 it comes before the state (CONTRACT §2: persona, …,
 *   state) — a caller without the second factor learns nothing about the workflow.
 * - `process` (every fill) re-checks the rules with the fill's time: 422 after the state check,
 *   since only a fill that could start is judged.
 */
export function withPrescribingRules<R extends MoveRequest<MedicationRequestRecord>>(deps: UseCaseDeps, ctx: RequestContext, request: R): R {
  if (request.event === 'approve') {
    const admit = request.admit;
    return {
      ...request,
      async admit(current: MedicationRequestRecord) {
        await admit?.(current);
        assertTwoFactorForApproval(deps, ctx, current);
      },
    };
  }
  if (request.event === 'process') {
    const precondition = request.precondition;
    return {
      ...request,
      async precondition(scope, current, to) {
        await precondition?.(scope, current, to);
        const resource = current.resource;
        assertPrescribingRules(
          evaluatePrescribingRules(deps.prescribingRules.ruleSetsFor(ctx.tenantId), {
            resource,
            schedule: deps.prescribingRules.scheduleOf(resource),
            fillAt: deps.clock.now(),
          }),
        );
      },
    };
  }
  return request;
}

function assertTwoFactorForApproval(deps: UseCaseDeps, ctx: RequestContext, current: MedicationRequestRecord): void {
  const resource = current.resource;
  const rule = approvalRequiresTwoFactor(deps.prescribingRules.ruleSetsFor(ctx.tenantId), { resource, schedule: deps.prescribingRules.scheduleOf(resource) });
  if (!rule || isTwoFactor(ctx.actor.amr)) return;
  const sent = ctx.actor.amr && ctx.actor.amr.length > 0 ? `its amr is [${ctx.actor.amr.join(', ')}]` : 'it carries no amr claim';
  const message = `Approving MedicationRequest/${current.id} (a controlled substance) needs two-factor authentication (${rule.id}, ${rule.citation}): the token's amr must include mfa, or two factors such as pwd with otp, hwk or sms; ${sent}. Sign in with a second factor and approve again.`;
  throw new DomainError('EPCS_TWO_FACTOR_REQUIRED', message, { issues: [{ diagnostics: message, rule: rule.id }] });
}
