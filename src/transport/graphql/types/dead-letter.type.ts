import { GraphQLJSON } from 'graphql-scalars';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';

@ObjectType('DeadLetter', { description: 'A workflow action that failed after its last attempt, with the event it was for.' })
export class DeadLetterType {
  @Field(() => ID, { description: 'Dead-letter id; pass it to replayDeadLetter.' })
  id!: string;

  @Field(() => String, { description: "The action (handler) that failed, e.g. 'notifyInsurance'." })
  handler!: string;

  @Field(() => ID, { description: 'The event the action was for.' })
  eventId!: string;

  @Field(() => String, { description: 'Its event type.' })
  eventType!: string;

  @Field(() => String, { description: 'The last error.' })
  error!: string;

  @Field(() => Int, { description: 'Attempts so far, replays included.' })
  attempts!: number;

  @Field(() => Date, { description: 'When the action gave up.' })
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'When a replay succeeded; null while open.' })
  resolvedAt!: Date | null;

  @Field(() => GraphQLJSON, { description: 'The event envelope (CONTRACT §6).' })
  event!: Record<string, unknown>;
}

@InputType({ description: 'Which dead letters.' })
export class DeadLetterFilter {
  @Field(() => String, { nullable: true, description: 'Only this action.' })
  handler?: string;

  @Field(() => String, { nullable: true, description: 'Only events of this type.' })
  eventType?: string;

  @Field(() => Boolean, { nullable: true, defaultValue: false, description: 'Include the resolved ones (deadLetters only).' })
  includeResolved?: boolean;
}

@ObjectType({ description: 'What a bulk replay did.' })
export class ReplayResult {
  @Field(() => Int, { description: 'Dead letters replayed.' })
  replayed!: number;

  @Field(() => Int, { description: 'Of those, how many succeeded and left the list.' })
  succeeded!: number;

  @Field(() => Int, { description: 'How many failed again and stay.' })
  failed!: number;
}
