import { GraphQLJSON } from 'graphql-scalars';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import {
  PRIOR_AUTHORIZATION_CLIENT_EVENTS,
  PRIOR_AUTHORIZATION_STATES,
  type PriorAuthorizationEvent,
  type PriorAuthorizationState,
  URGENCIES,
  type Urgency,
} from '../../../domain/index.js';

/** GraphQL enum names are upper case with `_` for the `-` of lower-case state and event names. */
const enumOf = <T extends string>(values: readonly T[]) => Object.fromEntries(values.map((v) => [v.toUpperCase().replace(/-/g, '_'), v])) as Record<string, T>;

/** The PA workflow's states, derived from its definition (CONTRACT §9). */
export const PriorAuthorizationStateEnum = enumOf<PriorAuthorizationState>(PRIOR_AUTHORIZATION_STATES);
registerEnumType(PriorAuthorizationStateEnum, {
  name: 'PriorAuthorizationState',
  description: 'State of a prior authorization (the workflow of CONTRACT §9).',
});

/** The events a client sends to a PA (`close` is the gateway\'s own). */
export const PriorAuthorizationEventEnum = enumOf<PriorAuthorizationEvent>(PRIOR_AUTHORIZATION_CLIENT_EVENTS);
registerEnumType(PriorAuthorizationEventEnum, {
  name: 'PriorAuthorizationEvent',
  description: 'An event of the prior authorization workflow (CONTRACT §9); the persona follows the event.',
});

export const PriorAuthorizationUrgencyEnum = enumOf<Urgency>(URGENCIES);
registerEnumType(PriorAuthorizationUrgencyEnum, {
  name: 'PriorAuthorizationUrgency',
  description: 'How soon the payer must decide: URGENT (PA_URGENT_SECONDS) or STANDARD (PA_STANDARD_SECONDS).',
});

@ObjectType({ description: 'One recorded move of a prior authorization.' })
export class PriorAuthorizationTransition {
  @Field(() => String, { description: "Lower-case event name, e.g. 'submit', 'review', 'provide-info'." })
  event!: string;

  @Field(() => String, { nullable: true, description: "State before; null for 'submit'." })
  from!: string | null;

  @Field(() => String, { description: 'State after.' })
  to!: string;

  @Field(() => String, {
    description: "The actor: the token's `sub`, or `system` for the gateway's own moves (auto-submission, close, withdrawal by compensation).",
  })
  actor!: string;

  @Field(() => String, { nullable: true, description: 'Why, when the actor said.' })
  reason!: string | null;

  @Field(() => Date, { description: 'When it happened.' })
  at!: Date;
}

@ObjectType('PriorAuthorization', {
  description: "The payer's prior authorization of a prescription (CONTRACT §9); over FHIR the Task with code urn:rxgate:task-code|prior-authorization.",
})
export class PriorAuthorizationType {
  @Field(() => ID, { description: 'Server-assigned id (the FHIR Task id).' })
  id!: string;

  @Field(() => PriorAuthorizationStateEnum, { description: 'Where it stands: the FHIR Task.businessStatus.' })
  state!: PriorAuthorizationState;

  @Field(() => PriorAuthorizationUrgencyEnum, {
    description:
      "URGENT when the prescription's priority is urgent, asap or stat (or the submitter said so), else STANDARD; the FHIR Task.priority (urgent | routine).",
  })
  urgency!: Urgency;

  @Field(() => Date, { description: 'When it was submitted.' })
  submittedAt!: Date;

  @Field(() => Date, { description: 'When the decision is due (submission plus the deadline of its urgency): the FHIR Task.restriction.period.end.' })
  decisionDueAt!: Date;

  @Field(() => String, { description: 'W/"{versionId}": pass it as ifMatch to priorAuthorizationEvent.' })
  etag!: string;

  @Field(() => GraphQLJSON, { description: 'The FHIR Task as served by /fhir.' })
  resource!: Record<string, unknown>;

  /** Not exposed: the prescription to load for `prescription`. */
  prescriptionId!: string;
}
