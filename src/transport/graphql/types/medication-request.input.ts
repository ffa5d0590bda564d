import { Field, InputType } from 'type-graphql';
import type { WorkflowState } from '#domain/index.js';
import { CodeableConceptInput, DispenseRequestInput, DosageInput, IdentifierInput, ReferenceInput } from './fhir-elements.type.js';
import { PrescriptionStatus } from './medication-request.type.js';

@InputType({ description: 'Content of a prescription; mirrors the FHIR MedicationRequest elements.' })
export class MedicationRequestInput {
  @Field(() => ReferenceInput, { description: "The patient, 'Patient/{id}'." })
  subject!: ReferenceInput;

  @Field(() => CodeableConceptInput, { description: 'The medication, coded in RxNorm or ATC.' })
  medication!: CodeableConceptInput;

  @Field(() => ReferenceInput, { nullable: true, description: 'Who writes the prescription.' })
  requester?: ReferenceInput;

  @Field(() => String, { nullable: true, description: 'When it was written (FHIR dateTime); past dates are accepted.' })
  authoredOn?: string;

  @Field(() => [DosageInput], { nullable: true, description: 'How the medication is to be taken.' })
  dosageInstruction?: DosageInput[];

  @Field(() => DispenseRequestInput, { description: 'Dispensing authorisation with the directory pharmacy.' })
  dispenseRequest!: DispenseRequestInput;

  @Field(() => [IdentifierInput], { nullable: true, description: 'Business identifiers.' })
  identifier?: IdentifierInput[];

  @Field(() => [String], { nullable: true, description: 'Notes about the prescription.' })
  note?: string[];
}

@InputType({ description: 'Which prescriptions to list. Ids are accepted bare (p1) or as references (Patient/p1).' })
export class MedicationRequestFilter {
  @Field(() => String, { nullable: true, description: 'The patient.' })
  patient?: string;

  @Field(() => String, { nullable: true, description: 'FHIR status code.' })
  status?: string;

  @Field(() => PrescriptionStatus, { nullable: true, description: 'Workflow state.' })
  workflowStatus?: WorkflowState;

  @Field(() => String, { nullable: true, description: 'The intended pharmacy (Organization id).' })
  pharmacy?: string;

  @Field(() => String, { nullable: true, description: 'Written on or after this FHIR date.' })
  authoredFrom?: string;

  @Field(() => String, { nullable: true, description: 'Written on or before this FHIR date.' })
  authoredTo?: string;
}
