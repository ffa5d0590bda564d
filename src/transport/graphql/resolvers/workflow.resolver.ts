import { Ctx, FieldResolver, Query, Resolver, Root } from 'type-graphql';
import type { GraphqlContext } from '../context.js';
import { MedicationRequestType } from '../types/medication-request.type.js';
import { FillsType, WorkflowDefinitionType, WorkflowInstanceType } from '../types/workflow.type.js';

/** Workflow inspection (CONTRACT §10): the definitions, and where each prescription stands in its own. */
@Resolver(() => MedicationRequestType)
export class WorkflowResolver {
  @Query(() => [WorkflowDefinitionType], { description: 'Every workflow definition the gateway runs, every version.' })
  workflowDefinitions(@Ctx() { useCases }: GraphqlContext): WorkflowDefinitionType[] {
    return useCases.workflowDefinitions();
  }

  @FieldResolver(() => WorkflowInstanceType, { description: 'Its workflow: definition and version, state, pending timers, actions and compensations.' })
  async workflow(@Root() request: MedicationRequestType, @Ctx() { loaders }: GraphqlContext): Promise<WorkflowInstanceType | null> {
    return (await loaders.prescriptionWorkflow.load(request.id)) ?? null;
  }

  @FieldResolver(() => FillsType, { description: 'Fills authorized, dispensed and remaining, the next eligible date and the end of validity (CONTRACT §7).' })
  async fills(@Root() request: MedicationRequestType, @Ctx() { loaders, useCases }: GraphqlContext): Promise<FillsType | null> {
    const [record, dispenses] = await Promise.all([loaders.medicationRequest.load(request.id), loaders.dispensesOfPrescription.load(request.id)]);
    if (!record) return null;
    const { nextEligible, ...fills } = useCases.fillsFromDispenses(record, dispenses);
    return { ...fills, nextEligibleAt: nextEligible };
  }
}
