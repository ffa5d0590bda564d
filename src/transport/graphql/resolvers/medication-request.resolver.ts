import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { WorkflowEvent } from '#domain/index.js';
import type { GraphqlContext } from '../context.js';
import { dispenseToGraphql } from '../medication-dispense.mapper.js';
import { filterToCriteria, inputToResource, pharmacyToGraphql, recordToGraphql } from '../medication-request.mapper.js';
import { fromPreloaded, selectedFieldsAt } from '../preload.js';
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
    @Ctx() { ctx, useCases, loaders }: GraphqlContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('filter', () => MedicationRequestFilter, { nullable: true, description: 'Which prescriptions; all of your tenant when omitted.' })
    filter?: MedicationRequestFilter,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20, description: 'Page size (at most 200).' }) first: number | null = 20,
    @Arg('after', () => String, { nullable: true, description: 'Cursor of the last item already seen.' }) after?: string,
  ): Promise<MedicationRequestConnection> {
    const page = await useCases.searchMedicationRequests(ctx, filterToCriteria(filter), { limit: first ?? 20, cursor: after ?? undefined, withTotal: true });
    const edges = page.items.map(({ record, cursor }) => ({ cursor, node: recordToGraphql(record) }));
    await preloadNested(
      edges.map((e) => e.node),
      selectedFieldsAt(info, ['edges', 'node']),
      loaders,
    );
    return {
      edges,
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
  dispenses(@Root() request: MedicationRequestType, @Ctx() { loaders }: GraphqlContext): MedicationDispenseType[] | Promise<MedicationDispenseType[]> {
    return fromPreloaded(
      request.preloaded?.dispenses,
      () => loaders.dispensesOfPrescription.load(request.id),
      (records) => records.map(dispenseToGraphql),
    );
  }

  @FieldResolver(() => PharmacyType, { nullable: true, description: 'The intended pharmacy from the directory.' })
  pharmacy(@Root() request: MedicationRequestType, @Ctx() { loaders }: GraphqlContext): PharmacyType | null | Promise<PharmacyType | null> {
    const pharmacyId = request.pharmacyId;
    if (!pharmacyId) return null;
    return fromPreloaded(
      request.preloaded?.pharmacy,
      () => loaders.pharmacy.load(pharmacyId),
      (pharmacy) => (pharmacy ? pharmacyToGraphql(pharmacy) : null),
    );
  }

  @FieldResolver(() => [PrescriptionTransition], { description: 'Every workflow move, oldest first.' })
  transitions(@Root() request: MedicationRequestType, @Ctx() { loaders }: GraphqlContext): PrescriptionTransition[] | Promise<PrescriptionTransition[]> {
    return fromPreloaded(
      request.preloaded?.transitions,
      () => loaders.transitions.load(request.id),
      (transitions) => transitions.map((t) => ({ event: t.event, from: t.from, to: t.to, actor: t.actor, reason: t.reason, at: t.at })),
    );
  }
}

/**
 * Starts, for every prescription of a page, the loads of the nested fields the document selects on
 * its items, and waits until they settle: the same batched statements (and audit entries) the
 * field resolvers' own loads would cause, but the items then complete without a promise per field,
 * which was most of a page's CPU. Fields not selected are not loaded.
 */
async function preloadNested(nodes: MedicationRequestType[], selected: Set<string>, loaders: GraphqlContext['loaders']): Promise<void> {
  const settleEach = async <T>(field: 'pharmacy' | 'dispenses' | 'transitions', load: (node: MedicationRequestType) => Promise<T> | undefined) => {
    if (!selected.has(field)) return;
    const loading = nodes.map((node) => ({ node, promise: load(node) })).filter((l): l is { node: MedicationRequestType; promise: Promise<T> } => !!l.promise);
    const outcomes = await Promise.allSettled(loading.map((l) => l.promise));
    loading.forEach(({ node }, i) => ((node.preloaded ??= {})[field] = outcomes[i] as never));
  };
  await Promise.all([
    settleEach('pharmacy', (node) => (node.pharmacyId ? loaders.pharmacy.load(node.pharmacyId) : undefined)),
    settleEach('dispenses', (node) => loaders.dispensesOfPrescription.load(node.id)),
    settleEach('transitions', (node) => loaders.transitions.load(node.id)),
  ]);
}
