import { Field, Float, InputType, Int, ObjectType } from 'type-graphql';

@ObjectType({ simpleResolvers: true, description: 'A reference to another resource (FHIR Reference).' })
export class Reference {
  @Field(() => String, { nullable: true, description: "Literal reference, e.g. 'Patient/p1'." })
  reference?: string | null;

  @Field(() => String, { nullable: true, description: 'Text alternative for the reference.' })
  display?: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'A code from a terminology (FHIR Coding).' })
export class Coding {
  @Field(() => String, { nullable: true, description: 'Identity of the terminology system (URI).' })
  system?: string | null;

  @Field(() => String, { nullable: true, description: 'Symbol in the system.' })
  code?: string | null;

  @Field(() => String, { nullable: true, description: 'Representation defined by the system.' })
  display?: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'A concept given by codes and/or text (FHIR CodeableConcept).' })
export class CodeableConcept {
  @Field(() => String, { nullable: true, description: 'Plain text representation of the concept.' })
  text?: string | null;

  @Field(() => [Coding], { description: 'Codes defined by terminology systems.' })
  coding!: Coding[];
}

@ObjectType({ simpleResolvers: true, description: 'How the medication is to be taken (FHIR Dosage, text only).' })
export class Dosage {
  @Field(() => String, { nullable: true, description: 'Free-text dosage instructions.' })
  text?: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'A measured amount (FHIR Quantity).' })
export class Quantity {
  @Field(() => Float, { nullable: true, description: 'Numerical value.' })
  value?: number | null;

  @Field(() => String, { nullable: true, description: 'Unit representation.' })
  unit?: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'A time range (FHIR Period).' })
export class Period {
  @Field(() => String, { nullable: true, description: 'Start (FHIR dateTime), inclusive.' })
  start?: string | null;

  @Field(() => String, { nullable: true, description: 'End (FHIR dateTime), inclusive.' })
  end?: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'Dispensing authorisation: how much, how often, where.' })
export class DispenseRequest {
  @Field(() => Quantity, { nullable: true, description: 'Amount to dispense per fill.' })
  quantity?: Quantity | null;

  @Field(() => Int, { nullable: true, description: 'Number of refills authorised after the first fill.' })
  numberOfRepeatsAllowed?: number | null;

  @Field(() => Period, { nullable: true, description: 'Time period the prescription may be dispensed in.' })
  validityPeriod?: Period | null;

  @Field(() => Reference, { nullable: true, description: 'The intended dispensing pharmacy (Organization).' })
  performer?: Reference | null;
}

// ── Inputs ────────────────────────────────────────────────────────────────────────────────

@InputType({ description: 'A reference to another resource.' })
export class ReferenceInput {
  @Field(() => String, { description: "Literal reference, e.g. 'Patient/p1'." })
  reference!: string;

  @Field(() => String, { nullable: true, description: 'Text alternative for the reference.' })
  display?: string;
}

@InputType({ description: 'A code from a terminology.' })
export class CodingInput {
  @Field(() => String, { description: 'Terminology system URI (RxNorm or ATC for medications).' })
  system!: string;

  @Field(() => String, { description: 'Symbol in the system.' })
  code!: string;

  @Field(() => String, { nullable: true, description: 'Representation defined by the system.' })
  display?: string;
}

@InputType({ description: 'A coded concept.' })
export class CodeableConceptInput {
  @Field(() => String, { nullable: true, description: 'Plain text representation.' })
  text?: string;

  @Field(() => [CodingInput], { description: 'At least one coding; medications need RxNorm or ATC.' })
  coding!: CodingInput[];
}

@InputType({ description: 'Dosage instructions.' })
export class DosageInput {
  @Field(() => String, { description: 'Free-text dosage instructions.' })
  text!: string;
}

@InputType({ description: 'A measured amount.' })
export class QuantityInput {
  @Field(() => Float, { description: 'Positive numerical value.' })
  value!: number;

  @Field(() => String, { nullable: true, description: 'Unit representation.' })
  unit?: string;
}

@InputType({ description: 'A time range.' })
export class PeriodInput {
  @Field(() => String, { nullable: true, description: 'Start (FHIR dateTime).' })
  start?: string;

  @Field(() => String, { nullable: true, description: 'End (FHIR dateTime).' })
  end?: string;
}

@InputType({ description: 'Dispensing authorisation.' })
export class DispenseRequestInput {
  @Field(() => QuantityInput, { nullable: true, description: 'Amount to dispense per fill.' })
  quantity?: QuantityInput;

  @Field(() => Int, { nullable: true, description: 'Refills authorised after the first fill (≥ 0).' })
  numberOfRepeatsAllowed?: number;

  @Field(() => PeriodInput, { nullable: true, description: 'Period the prescription may be dispensed in.' })
  validityPeriod?: PeriodInput;

  @Field(() => ReferenceInput, { description: "The directory pharmacy, 'Organization/{id}'." })
  performer!: ReferenceInput;
}

@InputType({ description: 'A business identifier.' })
export class IdentifierInput {
  @Field(() => String, { nullable: true, description: 'Namespace of the identifier (URI).' })
  system?: string;

  @Field(() => String, { description: 'The identifier value.' })
  value!: string;
}
