import type { RequestContext, Schedule } from '../../domain/index.js';
import type { UseCaseDeps } from '../deps.js';

/** A rule set as GraphQL `prescribingRules` shows it (CONTRACT §8). */
export interface RuleSetView {
  id: string;
  version: string;
  description: string | null;
  rules: Array<{
    id: string;
    description: string;
    citation: string;
    schedules: Schedule[];
    rxnormCodes: string[];
    maxRepeats: number | null;
    maxValidityMonthsFromAuthoredOn: number | null;
    approveRequiresTwoFactor: boolean;
    requiresPriorAuthorization: boolean;
  }>;
}

/** The rule sets in force for the caller's tenant: `us-federal`, then the tenant's own. */
export function prescribingRules(deps: UseCaseDeps, ctx: RequestContext): RuleSetView[] {
  return deps.prescribingRules.ruleSetsFor(ctx.tenantId).map((set) => ({
    id: set.id,
    version: set.version,
    description: set.description ?? null,
    rules: set.rules.map((rule) => ({
      id: rule.id,
      description: rule.description,
      citation: rule.citation,
      schedules: rule.schedules ?? [],
      rxnormCodes: rule.rxnormCodes ?? [],
      maxRepeats: rule.maxRepeats ?? null,
      maxValidityMonthsFromAuthoredOn: rule.maxValidityMonthsFromAuthoredOn ?? null,
      approveRequiresTwoFactor: rule.approveRequiresTwoFactor ?? false,
      requiresPriorAuthorization: rule.requiresPriorAuthorization ?? false,
    })),
  }));
}
