import DataLoader from 'dataloader';
import type { PriorAuthorizationInstance, UseCases } from '../../application/index.js';
import type { LiveEvents } from '../../application/live-events.js';
import type { InstanceView } from '../../application/use-cases/workflow-inspection.use-case.js';
import type { MedicationDispenseRecord, MedicationRequestRecord, PriorAuthorizationTransition, RequestContext, TransitionRecord } from '../../domain/index.js';
import type { Pharmacy } from '../../ports/index.js';
import type { CloseCode } from '../http/websocket-close-code.js';

/** Per-request GraphQL context: the caller and DataLoaders, built fresh for every operation. */
export interface GraphqlContext {
  ctx: RequestContext;
  useCases: UseCases;
  /** Live fan-out, on websocket connections only. */
  live?: LiveEvents;
  subscriberBufferSize?: number;
  /** Closes the websocket connection (slow subscribers). */
  closeConnection?: (code: CloseCode, reason: string) => void;
  loaders: {
    medicationRequest: DataLoader<string, MedicationRequestRecord | undefined>;
    pharmacy: DataLoader<string, Pharmacy | undefined>;
    transitions: DataLoader<string, TransitionRecord[]>;
    medicationDispense: DataLoader<string, MedicationDispenseRecord | undefined>;
    dispensesOfPrescription: DataLoader<string, MedicationDispenseRecord[]>;
    prescriptionWorkflow: DataLoader<string, InstanceView | undefined>;
    priorAuthorization: DataLoader<string, PriorAuthorizationInstance | undefined>;
    priorAuthorizationOfPrescription: DataLoader<string, PriorAuthorizationInstance | undefined>;
    priorAuthorizationTransitions: DataLoader<string, PriorAuthorizationTransition[]>;
    priorAuthorizationWorkflow: DataLoader<string, InstanceView | undefined>;
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
      medicationDispense: new DataLoader((ids) => useCases.getMedicationDispensesByIds(ctx, ids)),
      dispensesOfPrescription: new DataLoader((ids) => useCases.dispensesOfPrescriptions(ctx, ids)),
      prescriptionWorkflow: new DataLoader((ids) => useCases.prescriptionWorkflows(ctx, ids)),
      priorAuthorization: new DataLoader((ids) => useCases.priorAuthorizationsByIds(ctx, ids)),
      priorAuthorizationOfPrescription: new DataLoader((ids) => useCases.priorAuthorizationsOfPrescriptions(ctx, ids)),
      priorAuthorizationTransitions: new DataLoader((ids) => useCases.priorAuthorizationTransitions(ctx, ids)),
      priorAuthorizationWorkflow: new DataLoader((ids) => useCases.priorAuthorizationWorkflows(ctx, ids)),
    },
  };
}
