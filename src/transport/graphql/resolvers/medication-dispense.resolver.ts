import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { GraphqlContext } from '../context.js';
import { dispenseFilterToCriteria, dispenseInputToResource, dispenseToGraphql } from '../medication-dispense.mapper.js';
import { pharmacyToGraphql, recordToGraphql } from '../medication-request.mapper.js';
import { MedicationDispenseConnection, MedicationDispenseFilter, MedicationDispenseInput, MedicationDispenseType } from '../types/medication-dispense.type.js';
import { MedicationRequestType } from '../types/medication-request.type.js';
import { PharmacyType } from '../types/pharmacy.type.js';

@Resolver(() => MedicationDispenseType)
export class MedicationDispenseResolver {
  @Query(() => MedicationDispenseType, { nullable: true, description: 'A dispense by id; null when it does not exist for your tenant.' })
  async medicationDispense(@Arg('id', () => ID) id: string, @Ctx() { loaders }: GraphqlContext): Promise<MedicationDispenseType | null> {
    const record = await loaders.medicationDispense.load(id);
    return record ? dispenseToGraphql(record) : null;
  }

  @Query(() => MedicationDispenseConnection, { description: 'Dispenses of your tenant, oldest first, in pages.' })
  async medicationDispenses(
    @Ctx() { ctx, useCases }: GraphqlContext,
    @Arg('filter', () => MedicationDispenseFilter, { nullable: true, description: 'Which dispenses; all of your tenant when omitted.' })
    filter?: MedicationDispenseFilter,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20, description: 'Page size (at most 200).' }) first: number | null = 20,
    @Arg('after', () => String, { nullable: true, description: 'Cursor of the last item already seen.' }) after?: string,
  ): Promise<MedicationDispenseConnection> {
    const page = await useCases.searchMedicationDispenses(ctx, dispenseFilterToCriteria(filter), {
      limit: first ?? 20,
      cursor: after ?? undefined,
      withTotal: true,
    });
    return {
      edges: page.items.map(({ record, cursor }) => ({ cursor, node: dispenseToGraphql(record) })),
      pageInfo: { hasNextPage: page.nextCursor !== undefined, endCursor: page.items.at(-1)?.cursor ?? null },
      totalCount: page.total ?? 0,
    };
  }

  @Mutation(() => MedicationDispenseType, { description: 'Dispenses a prescription that is processing (the dispense event). Persona: pharmacy-backend.' })
  async createMedicationDispense(
    @Arg('input', () => MedicationDispenseInput) input: MedicationDispenseInput,
    @Ctx() { ctx, useCases }: GraphqlContext,
    @Arg('idempotencyKey', () => String, { nullable: true, description: 'Same key and payload answer the first result again.' }) idempotencyKey?: string,
  ): Promise<MedicationDispenseType> {
    const { dispense } = await useCases.createMedicationDispense(ctx, {
      resource: dispenseInputToResource(input),
      idempotencyKey: idempotencyKey ?? undefined,
      defaultsFromPrescription: true,
    });
    return dispenseToGraphql(dispense);
  }

  @Mutation(() => MedicationDispenseType, {
    description: 'Replaces a dispense’s content; a first whenHandedOver completes the prescription. Persona: pharmacy-backend.',
  })
  async updateMedicationDispense(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => MedicationDispenseInput) input: MedicationDispenseInput,
    @Arg('ifMatch', () => String, { description: 'The etag you last saw.' }) ifMatch: string,
    @Ctx() { ctx, useCases }: GraphqlContext,
  ): Promise<MedicationDispenseType> {
    const current = await useCases.getMedicationDispense(ctx, id);
    const resource = { ...dispenseInputToResource(input) };
    // Elements the input leaves out keep their stored values (medication and quantity default from the dispense).
    resource.medicationCodeableConcept ??= current.resource.medicationCodeableConcept;
    resource.quantity ??= current.resource.quantity;
    const { dispense } = await useCases.updateMedicationDispense(ctx, { id, resource, ifMatch });
    return dispenseToGraphql(dispense);
  }

  @FieldResolver(() => MedicationRequestType, { description: 'The prescription dispensed.' })
  async prescription(@Root() dispense: MedicationDispenseType, @Ctx() { loaders }: GraphqlContext): Promise<MedicationRequestType> {
    const record = await loaders.medicationRequest.load(dispense.prescriptionId);
    if (!record) throw new Error(`prescription ${dispense.prescriptionId} of dispense ${dispense.id} is missing`);
    return recordToGraphql(record);
  }

  @FieldResolver(() => PharmacyType, { nullable: true, description: 'The dispensing pharmacy.' })
  async pharmacy(@Root() dispense: MedicationDispenseType, @Ctx() { loaders }: GraphqlContext): Promise<PharmacyType | null> {
    if (!dispense.pharmacyId) return null;
    const pharmacy = await loaders.pharmacy.load(dispense.pharmacyId);
    return pharmacy ? pharmacyToGraphql(pharmacy) : null;
  }
}
