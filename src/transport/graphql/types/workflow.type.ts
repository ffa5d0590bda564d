import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A state of a workflow definition.' })
export class WorkflowStateInfo {
  @Field(() => String, { description: 'Lower-case state name.' })
  name!: string;

  @Field(() => Boolean, { description: 'No event leaves it.' })
  final!: boolean;
}

@ObjectType({ description: 'One rule of a workflow definition: an event from a state, to a state, by whom, under which guard.' })
export class WorkflowTransitionInfo {
  @Field(() => String, { description: 'The event, lower case.' })
  event!: string;

  @Field(() => String, { description: 'A state it may be sent from.' })
  from!: string;

  @Field(() => String, { description: 'The state it leads to (when its guard holds).' })
  to!: string;

  @Field(() => String, { description: "The persona that may send it, or 'system' (the gateway itself)." })
  persona!: string;

  @Field(() => String, {
    nullable: true,
    description: 'The condition under which this rule decides; among rules of one event, the first whose guard holds wins.',
  })
  guard!: string | null;
}

@ObjectType({ description: 'A workflow definition the gateway runs (CONTRACT §10). Instances keep the version they started under.' })
export class WorkflowDefinitionType {
  @Field(() => String, { description: 'The definition name, e.g. prescription.' })
  name!: string;

  @Field(() => Int, { description: 'Its version; an instance keeps the version it started under.' })
  version!: number;

  @Field(() => String, { description: 'What it is for, in a sentence.' })
  description!: string;

  @Field(() => [WorkflowStateInfo], { description: 'Its states, final ones marked.' })
  states!: WorkflowStateInfo[];

  @Field(() => [WorkflowTransitionInfo], { description: 'Its rules, one per event and state left.' })
  transitions!: WorkflowTransitionInfo[];

  @Field(() => [String], { description: 'Names of its durable timers.' })
  timers!: string[];

  @Field(() => [String], { description: 'Names of its actions and their compensations.' })
  actions!: string[];

  @Field(() => String, { description: 'The definition as a Mermaid stateDiagram-v2 text.' })
  mermaid!: string;
}

@ObjectType({ description: 'A timer armed for an instance and not yet fired or dropped.' })
export class WorkflowTimerView {
  @Field(() => String, { description: 'The timer name in the definition.' })
  name!: string;

  @Field(() => Date, { description: 'When it fires, unless the state it guards is left first.' })
  dueAt!: Date;
}

@ObjectType({ description: "An action (or compensation) of an instance: 'pending' (not run yet), 'done', or 'dead-lettered' (gave up; replayable)." })
export class WorkflowActionView {
  @Field(() => String, { description: 'The action (or compensation) name.' })
  name!: string;

  @Field(() => String, { description: 'pending, done or dead-lettered.' })
  status!: string;

  @Field(() => Int, { description: 'Attempts recorded (0 while pending).' })
  attempts!: number;

  @Field(() => String, { nullable: true, description: 'The last error, for a dead-lettered one.' })
  lastError!: string | null;
}

@ObjectType({ description: 'Where an instance stands in its workflow (CONTRACT §10).' })
export class WorkflowInstanceType {
  @Field(() => String, { description: 'The definition name.' })
  definition!: string;

  @Field(() => Int, { description: 'The definition version the instance started under.' })
  version!: number;

  @Field(() => String, { description: 'The current state, lower case.' })
  state!: string;

  @Field(() => [WorkflowTimerView], { description: 'Timers armed and not yet fired or dropped.' })
  timers!: WorkflowTimerView[];

  @Field(() => [WorkflowActionView], { description: 'Actions its moves triggered, with what became of them.' })
  actions!: WorkflowActionView[];

  @Field(() => [WorkflowActionView], { description: 'Compensations run at a compensating end (the saga undo).' })
  compensations!: WorkflowActionView[];
}

@ObjectType({ description: 'The fills a prescription authorizes and those made (CONTRACT §7), from the dispenses stored.' })
export class FillsType {
  @Field(() => Int, { description: '1 + dispenseRequest.numberOfRepeatsAllowed (1 for prescriptions of workflow version 1).' })
  allowed!: number;

  @Field(() => Int, { description: 'Dispenses created so far (a fill counts from its dispense, not its hand-over).' })
  dispensed!: number;

  @Field(() => Int, { description: 'Fills still authorized.' })
  remaining!: number;

  @Field(() => Date, { nullable: true, description: 'Earliest time the next fill may be processed: the last hand-over plus dispenseInterval.' })
  nextEligibleAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'dispenseRequest.validityPeriod.end: no fill is processed after it.' })
  validUntil!: Date | null;
}
