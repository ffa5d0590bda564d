import { GraphQLJSON } from 'graphql-scalars';
import { Directive, Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { type MedicationDispenseRecord, type TransitionRecord, WORKFLOW_STATES, type WorkflowState } from '#domain/index.js';
import type { Pharmacy } from '../../../ports/index.js';
import { Connection } from './connection.type.js';
import { CodeableConcept, DispenseRequest, Dosage, Reference } from './fhir-elements.type.js';

/** The workflow's states as a GraphQL enum (upper-case names, lower-case values), derived from its definitions. */
export const PrescriptionStatus = Object.fromEntries(WORKFLOW_STATES.map((s) => [s.toUpperCase(), s])) as Record<Uppercase<WorkflowState>, WorkflowState>;
registerEnumType(PrescriptionStatus, { name: 'PrescriptionStatus', description: 'Business state of a prescription (the workflow of CONTRACT §3).' });

@ObjectType({ simpleResolvers: true, description: 'One recorded move of a prescription through the workflow.' })
export class PrescriptionTransition {
  @Field(() => String, { description: "Lower-case event name, e.g. 'request', 'approve'." })
  event!: string;

  @Field(() => String, { nullable: true, description: "State before; null for 'request'." })
  from!: string | null;

  @Field(() => String, { description: 'State after.' })
  to!: string;

  @Field(() => String, { description: "The actor: the token's `sub`." })
  actor!: string;

  @Field(() => String, { nullable: true, description: 'Why, when the actor said.' })
  reason!: string | null;

  @Field(() => Date, { description: 'When it happened.' })
  at!: Date;
}

// simpleResolvers (here and on the other types of a page): graphql's default resolver reads the fields;
// type-graphql's own wraps every field read in a closure for middlewares, and rxgate has none.
@Directive('@key(fields: "id")')
@ObjectType('MedicationRequest', { simpleResolvers: true, description: 'A prescription (FHIR MedicationRequest) and its workflow state.' })
export class MedicationRequestType {
  @Field(() => ID, { description: 'Server-assigned id (the FHIR id).' })
  id!: string;

  @Field(() => String, { description: 'Version of this content; 1 at create, one more at each change.' })
  versionId!: string;

  @Field(() => String, { description: 'W/"{versionId}": pass it as ifMatch to update.' })
  etag!: string;

  @Field(() => Date, { description: 'When this version was written.' })
  lastUpdated!: Date;

  @Field(() => String, { description: 'FHIR MedicationRequest.status, derived from the workflow state.' })
  status!: string;

  @Field(() => PrescriptionStatus, { description: 'Business state in the workflow.' })
  workflowStatus!: WorkflowState;

  @Field(() => String, { description: "FHIR intent code; always 'order'." })
  intent!: string;

  @Field(() => CodeableConcept, { description: 'The medication, coded in RxNorm or ATC.' })
  medication!: CodeableConcept;

  @Field(() => Reference, { description: 'The patient (Patient/{id}).' })
  subject!: Reference;

  @Field(() => Reference, { nullable: true, description: 'Who wrote the prescription.' })
  requester!: Reference | null;

  @Field(() => String, { nullable: true, description: 'When it was written (FHIR dateTime).' })
  authoredOn!: string | null;

  @Field(() => [Dosage], { description: 'How the medication is to be taken.' })
  dosageInstruction!: Dosage[];

  @Field(() => DispenseRequest, { nullable: true, description: 'Dispensing authorisation and the intended pharmacy.' })
  dispenseRequest!: DispenseRequest | null;

  @Field(() => GraphQLJSON, { description: 'The FHIR resource as served by /fhir.' })
  resource!: Record<string, unknown>;

  /** Not exposed: lets field resolvers batch by pharmacy without re-parsing the resource. */
  pharmacyId!: string | null;

  /** Not exposed: nested loads a page already settled for the fields it was asked (see the page's resolver). */
  preloaded?: {
    pharmacy?: PromiseSettledResult<Pharmacy | undefined>;
    dispenses?: PromiseSettledResult<MedicationDispenseRecord[]>;
    transitions?: PromiseSettledResult<TransitionRecord[]>;
  };
}

@ObjectType({ simpleResolvers: true, description: 'A page of prescriptions (Relay connection).' })
export class MedicationRequestConnection extends Connection(MedicationRequestType, {
  typeName: 'MedicationRequest',
  singular: 'prescription',
  plural: 'prescriptions',
}) {}
