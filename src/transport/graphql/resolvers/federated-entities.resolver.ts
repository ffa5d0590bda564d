import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import type { MedicationRequestCriteria } from '#application/index.js';
import type { GraphqlContext } from '../context.js';
import { filterToCriteria, recordToGraphql } from '../medication-request.mapper.js';
import { PatientType, PractitionerType } from '../types/federated-entities.type.js';
import { MedicationRequestFilter } from '../types/medication-request.input.js';
import { MedicationRequestConnection } from '../types/medication-request.type.js';

async function page(
  context: GraphqlContext,
  criteria: MedicationRequestCriteria,
  first: number | null,
  after: string | undefined,
): Promise<MedicationRequestConnection> {
  const result = await context.useCases.searchMedicationRequests(context.ctx, criteria, { limit: first ?? 20, cursor: after ?? undefined, withTotal: true });
  return {
    edges: result.items.map(({ record, cursor }) => ({ cursor, node: recordToGraphql(record) })),
    pageInfo: { hasNextPage: result.nextCursor !== undefined, endCursor: result.items.at(-1)?.cursor ?? null },
    totalCount: result.total ?? 0,
  };
}

@Resolver(() => PatientType)
export class PatientResolver {
  @FieldResolver(() => MedicationRequestConnection, { description: 'Prescriptions of this patient in your tenant, oldest first.' })
  medicationRequests(
    @Root() patient: PatientType,
    @Ctx() context: GraphqlContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20, description: 'Page size (at most 200).' }) first: number | null = 20,
    @Arg('after', () => String, { nullable: true, description: 'Cursor of the last item already seen.' }) after?: string,
    @Arg('filter', () => MedicationRequestFilter, { nullable: true, description: 'Further conditions; its patient, if any, is replaced by this one.' })
    filter?: MedicationRequestFilter,
  ): Promise<MedicationRequestConnection> {
    return page(context, { ...filterToCriteria(filter), patientId: patient.id }, first, after);
  }
}

@Resolver(() => PractitionerType)
export class PractitionerResolver {
  @FieldResolver(() => MedicationRequestConnection, { description: 'Prescriptions this practitioner wrote in your tenant, oldest first.' })
  medicationRequests(
    @Root() practitioner: PractitionerType,
    @Ctx() context: GraphqlContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20, description: 'Page size (at most 200).' }) first: number | null = 20,
    @Arg('after', () => String, { nullable: true, description: 'Cursor of the last item already seen.' }) after?: string,
    @Arg('filter', () => MedicationRequestFilter, { nullable: true, description: 'Further conditions.' }) filter?: MedicationRequestFilter,
  ): Promise<MedicationRequestConnection> {
    return page(context, { ...filterToCriteria(filter), requester: `Practitioner/${practitioner.id}` }, first, after);
  }
}
