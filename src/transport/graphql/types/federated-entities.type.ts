import { Directive, Field, ID, ObjectType } from 'type-graphql';

@Directive('@key(fields: "id")')
@ObjectType('Patient', { description: 'A patient, owned by the patients subgraph; this subgraph adds their prescriptions.' })
export class PatientType {
  @Field(() => ID, { description: 'The patient id: the bare id of MedicationRequest.subject.' })
  id!: string;
}

@Directive('@key(fields: "id")')
@ObjectType('Practitioner', { description: 'A practitioner, owned by the practitioners subgraph; this subgraph adds the prescriptions they wrote.' })
export class PractitionerType {
  @Field(() => ID, { description: 'The practitioner id: the bare id of MedicationRequest.requester.' })
  id!: string;
}
