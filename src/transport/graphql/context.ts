import DataLoader from 'dataloader';
import type { UseCases } from '../../application/index.js';
import type { MedicationRequestRecord, RequestContext, TransitionRecord } from '../../domain/index.js';
import type { Pharmacy } from '../../ports/index.js';

/** Per-request GraphQL context: the caller and DataLoaders, built fresh for every operation. */
export interface GraphqlContext {
  ctx: RequestContext;
  useCases: UseCases;
  loaders: {
    medicationRequest: DataLoader<string, MedicationRequestRecord | undefined>;
    pharmacy: DataLoader<string, Pharmacy | undefined>;
    transitions: DataLoader<string, TransitionRecord[]>;
  };
}

export function createGraphqlContext(useCases: UseCases, ctx: RequestContext): GraphqlContext {
  return {
    ctx,
    useCases,
    loaders: {
      medicationRequest: new DataLoader((ids) => useCases.getMedicationRequestsByIds(ctx, ids)),
      pharmacy: new DataLoader((ids) => useCases.getPharmaciesByIds(ids)),
      transitions: new DataLoader((ids) => useCases.transitionsOf(ctx, ids)),
    },
  };
}
