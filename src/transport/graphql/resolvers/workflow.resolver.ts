import { Ctx, FieldResolver, Query, Resolver, Root } from 'type-graphql';
import type { GraphqlContext } from '../context.js';
import { MedicationRequestType } from '../types/medication-request.type.js';
import { WorkflowDefinitionType, WorkflowInstanceType } from '../types/workflow.type.js';

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
}
