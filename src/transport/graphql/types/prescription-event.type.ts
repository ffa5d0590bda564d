import { GraphQLJSON } from 'graphql-scalars';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Reference } from './fhir-elements.type.js';
import { MedicationDispenseType } from './medication-dispense.type.js';
import { MedicationRequestType } from './medication-request.type.js';

@ObjectType('Task', { description: 'A FHIR Task that moved a prescription (CONTRACT §3).' })
export class TaskType {
  @Field(() => ID, { description: 'Server-assigned id.' })
  id!: string;

  @Field(() => String, { description: "FHIR Task.status, e.g. 'completed'." })
  status!: string;

  @Field(() => String, { nullable: true, description: "Task code: 'approve', 'abort' or 'fulfill'." })
  code!: string | null;

  @Field(() => Reference, { description: 'The prescription it moved.' })
  focus!: Reference;

  @Field(() => GraphQLJSON, { description: 'The FHIR Task.' })
  resource!: Record<string, unknown>;
}

@ObjectType('PrescriptionEventMessage', { description: 'One committed change, as it happened (CONTRACT §5, §6).' })
export class PrescriptionEventMessage {
  @Field(() => ID, { description: 'Event id; redeliveries carry the same one.' })
  eventId!: string;

  @Field(() => String, { description: "Event type, e.g. 'eprescribing.medication_request.status_changed.v1'." })
  type!: string;

  @Field(() => String, { description: 'Position in the event stream: pass it as `after` to resume right after this event.' })
  sequence!: string;

  @Field(() => Date, { description: 'When the change was committed.' })
  occurredAt!: Date;

  @Field(() => String, { description: 'Tenant of the change (always yours).' })
  tenantId!: string;

  @Field(() => String, { nullable: true, description: "Workflow event, for status changes (e.g. 'approve')." })
  event!: string | null;

  @Field(() => String, { nullable: true, description: 'State before, for status changes.' })
  from!: string | null;

  @Field(() => String, { nullable: true, description: 'State after, for status changes.' })
  to!: string | null;

  @Field(() => MedicationRequestType, { nullable: true, description: 'The prescription concerned (as of this event when the event is about it).' })
  medicationRequest!: MedicationRequestType | null;

  @Field(() => MedicationDispenseType, { nullable: true, description: 'The dispense, for dispense events.' })
  medicationDispense!: MedicationDispenseType | null;

  @Field(() => TaskType, { nullable: true, description: 'The Task, for Task events.' })
  task!: TaskType | null;

  /** Not exposed: the prescription to load when the event is not about the prescription itself. */
  medicationRequestId!: string | null;
}

@InputType({ description: 'Which events. Ids are accepted bare (p1) or as references (Patient/p1).' })
export class PrescriptionEventFilter {
  @Field(() => String, { nullable: true, description: 'Only events of this patient.' })
  patient?: string;

  @Field(() => String, { nullable: true, description: 'Only events of prescriptions routed to this pharmacy.' })
  pharmacy?: string;

  @Field(() => String, { nullable: true, description: 'Only events of this prescription.' })
  medicationRequest?: string;

  @Field(() => [String], { nullable: true, description: 'Only these event types.' })
  types?: string[];
}
