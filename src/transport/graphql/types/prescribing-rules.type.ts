import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A prescribing rule (CONTRACT §8): what it checks, and the regulation it comes from.' })
export class PrescribingRuleType {
  @Field(() => String, { description: 'Unique rule id, as in the details.coding (system urn:rxgate:rule) of a PRESCRIBING_RULE_VIOLATION.' })
  id!: string;

  @Field(() => String, { description: 'What the rule requires, in a sentence.' })
  description!: string;

  @Field(() => String, { description: 'The regulation (or policy) the rule comes from, e.g. 21 CFR 1306.12(a).' })
  citation!: string;

  @Field(() => [String], { description: 'DEA schedules (CII…CV) it applies to.' })
  schedules!: string[];

  @Field(() => [String], { description: 'RxNorm codes it applies to.' })
  rxnormCodes!: string[];

  @Field(() => Int, { nullable: true, description: 'numberOfRepeatsAllowed at most this.' })
  maxRepeats!: number | null;

  @Field(() => Int, { nullable: true, description: 'No fill later than this many months after authoredOn.' })
  maxValidityMonthsFromAuthoredOn!: number | null;

  @Field(() => Boolean, { description: 'Approving needs two-factor authentication (the token amr).' })
  approveRequiresTwoFactor!: boolean;

  @Field(() => Boolean, { description: 'Declared for prior authorization.' })
  requiresPriorAuthorization!: boolean;
}

@ObjectType({ description: 'A set of prescribing rules in force: the built-in us-federal set, or a tenant set from RULES_FILE.' })
export class PrescribingRuleSetType {
  @Field(() => String, { description: "Rule set id: 'us-federal' for the built-in set." })
  id!: string;

  @Field(() => String, { description: 'Version of the rule set.' })
  version!: string;

  @Field(() => String, { nullable: true, description: 'What the set is for.' })
  description!: string | null;

  @Field(() => [PrescribingRuleType], { description: 'Its rules, in order.' })
  rules!: PrescribingRuleType[];
}
