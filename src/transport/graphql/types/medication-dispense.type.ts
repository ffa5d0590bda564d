import { GraphQLJSON } from 'graphql-scalars';
import { Directive, Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { CLIENT_EVENTS, type WorkflowEvent } from '#domain/index.js';
import { Connection } from './connection.type.js';
import { CodeableConcept, CodeableConceptInput, Quantity, QuantityInput } from './fhir-elements.type.js';

/** The events a client may send, as a GraphQL enum, derived from the workflow's definitions (the gateway's own, like `expire`, are not offered). */
export const PrescriptionEvent = Object.fromEntries(CLIENT_EVENTS.map((e) => [e.toUpperCase(), e])) as Record<Uppercase<WorkflowEvent>, WorkflowEvent>;
registerEnumType(PrescriptionEvent, { name: 'PrescriptionEvent', description: 'A workflow event (CONTRACT §3).' });

@Directive('@key(fields: "id")')
@ObjectType('MedicationDispense', { simpleResolvers: true, description: 'A dispense of a prescription (FHIR MedicationDispense).' })
export class MedicationDispenseType {
  @Field(() => ID, { description: 'Server-assigned id (the FHIR id).' })
  id!: string;

  @Field(() => String, { description: 'Version of this content; 1 at create, one more at each change.' })
  versionId!: string;

  @Field(() => String, { description: 'W/"{versionId}": pass it as ifMatch to update.' })
  etag!: string;

  @Field(() => Date, { description: 'When this version was written.' })
  lastUpdated!: Date;

  @Field(() => String, { description: "FHIR status: 'in-progress' or 'completed'." })
  status!: string;

  @Field(() => CodeableConcept, { nullable: true, description: 'What was dispensed.' })
  medication!: CodeableConcept | null;

  @Field(() => Quantity, { nullable: true, description: 'How much was dispensed.' })
  quantity!: Quantity | null;

  @Field(() => String, { nullable: true, description: 'When it was prepared (FHIR dateTime).' })
  whenPrepared!: string | null;

  @Field(() => String, { nullable: true, description: 'When it was handed over (FHIR dateTime); setting it completes the prescription.' })
  whenHandedOver!: string | null;

  @Field(() => GraphQLJSON, { description: 'The FHIR resource as served by /fhir.' })
  resource!: Record<string, unknown>;

  /** Not exposed: lets field resolvers batch by prescription and pharmacy. */
  prescriptionId!: string;
  pharmacyId!: string | null;
}

@InputType({ description: 'A dispense. The pharmacy is the prescription’s dispenseRequest.performer.' })
export class MedicationDispenseInput {
  @Field(() => ID, { description: 'The prescription dispensed (bare id or MedicationRequest/{id}).' })
  prescriptionId!: string;

  @Field(() => String, { nullable: true, defaultValue: 'completed', description: "'in-progress' or 'completed'." })
  status?: string;

  @Field(() => QuantityInput, { nullable: true, description: "Default: the prescription's quantity." })
  quantity?: QuantityInput;

  @Field(() => CodeableConceptInput, { nullable: true, description: "Default: the prescription's medication." })
  medication?: CodeableConceptInput;

  @Field(() => String, { nullable: true, description: 'When it was prepared (FHIR dateTime).' })
  whenPrepared?: string;

  @Field(() => String, { nullable: true, description: 'When it was handed over; completes the prescription.' })
  whenHandedOver?: string;

  @Field(() => String, { nullable: true, description: 'A note about the dispense.' })
  note?: string;
}

@InputType({ description: 'Which dispenses to list. Ids are accepted bare or as references.' })
export class MedicationDispenseFilter {
  @Field(() => String, { nullable: true, description: 'The prescription.' })
  prescription?: string;

  @Field(() => String, { nullable: true, description: 'The patient.' })
  patient?: string;

  @Field(() => String, { nullable: true, description: 'The dispensing pharmacy.' })
  pharmacy?: string;

  @Field(() => String, { nullable: true, description: 'FHIR status.' })
  status?: string;
}

@ObjectType({ simpleResolvers: true, description: 'A page of dispenses (Relay connection).' })
export class MedicationDispenseConnection extends Connection(MedicationDispenseType, {
  typeName: 'MedicationDispense',
  singular: 'dispense',
  plural: 'dispenses',
}) {}
