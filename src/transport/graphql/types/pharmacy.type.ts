import { GraphQLJSON } from 'graphql-scalars';
import { Directive, Field, ID, ObjectType } from 'type-graphql';

@ObjectType({ simpleResolvers: true, description: 'A postal address.' })
export class Address {
  @Field(() => [String], { description: 'Street lines.' })
  line!: string[];

  @Field(() => String, { nullable: true, description: 'City or town.' })
  city!: string | null;

  @Field(() => String, { nullable: true, description: 'Postal code.' })
  postalCode!: string | null;

  @Field(() => String, { nullable: true, description: 'Country (ISO 3166 code or name).' })
  country!: string | null;
}

@Directive('@key(fields: "id")')
@ObjectType('Pharmacy', { simpleResolvers: true, description: 'A pharmacy of the shared directory (FHIR Organization).' })
export class PharmacyType {
  @Field(() => ID, { description: 'The Organization id (the ODS code for the seeded directory).' })
  id!: string;

  @Field(() => String, { description: 'Trading name.' })
  name!: string;

  @Field(() => Address, { nullable: true, description: "The Organization's first address." })
  address!: Address | null;

  @Field(() => GraphQLJSON, { description: 'The FHIR Organization resource.' })
  resource!: Record<string, unknown>;
}
