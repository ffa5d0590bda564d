import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { WorkflowEvent } from '#domain/index.js';
import type { GraphqlContext } from '../context.js';
import { dispenseToGraphql } from '../medication-dispense.mapper.js';
import { filterToCriteria, inputToResource, pharmacyToGraphql, recordToGraphql } from '../medication-request.mapper.js';
import { MedicationDispenseType, PrescriptionEvent } from '../types/medication-dispense.type.js';
import { MedicationRequestFilter, MedicationRequestInput } from '../types/medication-request.input.js';
import { MedicationRequestConnection, MedicationRequestType, PrescriptionTransition } from '../types/medication-request.type.js';
import { PharmacyType } from '../types/pharmacy.type.js';

/** Prescriptions over GraphQL: each resolver parses, calls one use-case and maps. */
@Resolver(() => MedicationRequestType)
export class MedicationRequestResolver {
  @Query(() => MedicationRequestType, { nullable: true, description: 'A prescription by id; null when it does not exist for your tenant.' })
  async medicationRequest(@Arg('id', () => ID) id: string, @Ctx() { loaders }: GraphqlContext): Promise<MedicationRequestType | null> {
    const record = await loaders.medicationRequest.load(id);
    return record ? recordToGraphql(record) : null;
  }

  @Query(() => MedicationRequestConnection, { description: 'Prescriptions of your tenant, oldest first, in pages.' })
  async medicationRequests(
    @Ctx() { ctx, useCases }: GraphqlContext,
    @Arg('filter', () => MedicationRequestFilter, { nullable: true, description: 'Which prescriptions; all of your tenant when omitted.' })
    filter?: MedicationRequestFilter,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20, description: 'Page size (at most 200).' }) first: number | null = 20,
    @Arg('after', () => String, { nullable: true, description: 'Cursor of the last item already seen.' }) after?: string,
  ): Promise<MedicationRequestConnection> {
    const page = await useCases.searchMedicationRequests(ctx, filterToCriteria(filter), { limit: first ?? 20, cursor: after ?? undefined, withTotal: true });
    return {
      edges: page.items.map(({ record, cursor }) => ({ cursor, node: recordToGraphql(record) })),
      pageInfo: { hasNextPage: page.nextCursor !== undefined, endCursor: page.items.at(-1)?.cursor ?? null },
      totalCount: page.total ?? 0,
    };
  }

  @Mutation(() => MedicationRequestType, { description: 'Writes a new prescription (state requested). Persona: ehr-backend.' })
  async createMedicationRequest(
    @Arg('input', () => MedicationRequestInput) input: MedicationRequestInput,
    @Ctx() { ctx, useCases }: GraphqlContext,
    @Arg('idempotencyKey', () => String, { nullable: true, description: 'Same key and payload answer the first result again.' }) idempotencyKey?: string,
  ): Promise<MedicationRequestType> {
    const { record } = await useCases.createMedicationRequest(ctx, { resource: inputToResource(input), idempotencyKey: idempotencyKey ?? undefined });
    return recordToGraphql(record);
  }

  @Mutation(() => MedicationRequestType, { description: 'Replaces the content of a prescription while requested or approved. Persona: ehr-backend.' })
  async updateMedicationRequest(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => MedicationRequestInput) input: MedicationRequestInput,
    @Arg('ifMatch', () => String, { description: 'The etag you last saw.' }) ifMatch: string,
    @Ctx() { ctx, useCases }: GraphqlContext,
  ): Promise<MedicationRequestType> {
    return recordToGraphql(await useCases.updateMedicationRequest(ctx, { id, resource: inputToResource(input), ifMatch }));
  }

  @Mutation(() => MedicationRequestType, {
    description: 'Moves a prescription through the workflow; DISPENSE dispenses as prescribed. Persona per event (CONTRACT §1).',
  })
  async transitionPrescription(
    @Arg('id', () => ID) id: string,
    @Arg('event', () => PrescriptionEvent) event: WorkflowEvent,
    @Ctx() { ctx, useCases }: GraphqlContext,
    @Arg('ifMatch', () => String, { nullable: true, description: 'When given, must be the current etag.' }) ifMatch?: string,
    @Arg('reason', () => String, { nullable: true, description: 'Why; recorded with the transition.' }) reason?: string,
  ): Promise<MedicationRequestType> {
    return recordToGraphql(
      await useCases.transitionPrescription(ctx, { id, event: event as unknown as WorkflowEvent, ifMatch: ifMatch ?? undefined, reason: reason ?? null }),
    );
  }

  @FieldResolver(() => [MedicationDispenseType], { description: 'Dispenses of this prescription, oldest first.' })
  async dispenses(@Root() request: MedicationRequestType, @Ctx() { loaders }: GraphqlContext): Promise<MedicationDispenseType[]> {
    return (await loaders.dispensesOfPrescription.load(request.id)).map(dispenseToGraphql);
  }

  @FieldResolver(() => PharmacyType, { nullable: true, description: 'The intended pharmacy from the directory.' })
  async pharmacy(@Root() request: MedicationRequestType, @Ctx() { loaders }: GraphqlContext): Promise<PharmacyType | null> {
    if (!request.pharmacyId) return null;
    const pharmacy = await loaders.pharmacy.load(request.pharmacyId);
    return pharmacy ? pharmacyToGraphql(pharmacy) : null;
  }

  @FieldResolver(() => [PrescriptionTransition], { description: 'Every workflow move, oldest first.' })
  async transitions(@Root() request: MedicationRequestType, @Ctx() { loaders }: GraphqlContext): Promise<PrescriptionTransition[]> {
    return (await loaders.transitions.load(request.id)).map((t) => ({ event: t.event, from: t.from, to: t.to, actor: t.actor, reason: t.reason, at: t.at }));
  }
}
