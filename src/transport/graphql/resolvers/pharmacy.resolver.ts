import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import type { GraphqlContext } from '../context.js';
import { pharmacyToGraphql } from '../medication-request.mapper.js';
import { PharmacyType } from '../types/pharmacy.type.js';

@Resolver(() => PharmacyType)
export class PharmacyResolver {
  @Query(() => [PharmacyType], { description: 'Directory pharmacies whose name contains `name` (case-insensitive).' })
  async pharmacies(
    @Ctx() { useCases }: GraphqlContext,
    @Arg('name', () => String, { nullable: true, description: 'Part of the name; all pharmacies when omitted.' }) name?: string,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20, description: 'How many (at most 200).' }) first: number | null = 20,
  ): Promise<PharmacyType[]> {
    return (await useCases.searchPharmacies({ name: name ?? undefined, limit: first ?? 20, withTotal: false })).items.map(({ record }) =>
      pharmacyToGraphql(record),
    );
  }
}
