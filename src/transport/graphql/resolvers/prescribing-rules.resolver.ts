import { Ctx, FieldResolver, Query, Resolver, Root } from 'type-graphql';
import { type MedicationRequestResource, scheduleExtensionOf } from '#domain/index.js';
import type { GraphqlContext } from '../context.js';
import { MedicationRequestType } from '../types/medication-request.type.js';
import { PrescribingRuleSetType } from '../types/prescribing-rules.type.js';

/** Prescribing rules and controlled substances (CONTRACT §8). */
@Resolver(() => MedicationRequestType)
export class PrescribingRulesResolver {
  @Query(() => [PrescribingRuleSetType], {
    description: "The prescribing rule sets in force for the caller's tenant: us-federal first, then the tenant's own.",
  })
  prescribingRules(@Ctx() { useCases, ctx }: GraphqlContext): PrescribingRuleSetType[] {
    return useCases.prescribingRules(ctx);
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'US DEA schedule (CII, CIII, CIV, CV) of the medication; null when its code is not on the controlled-substance list.',
  })
  controlledSubstanceSchedule(@Root() request: MedicationRequestType): string | null {
    return scheduleExtensionOf(request.resource as unknown as MedicationRequestResource);
  }
}
