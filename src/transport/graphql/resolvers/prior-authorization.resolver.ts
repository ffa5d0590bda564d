import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { etagOf } from '../../../application/etag.js';
import type { PriorAuthorizationInstance } from '../../../application/index.js';
import type { PriorAuthorizationEvent, Urgency } from '../../../domain/index.js';
import type { GraphqlContext } from '../context.js';
import { recordToGraphql } from '../medication-request.mapper.js';
import { MedicationRequestType } from '../types/medication-request.type.js';
import {
  PriorAuthorizationEventEnum,
  PriorAuthorizationTransition,
  PriorAuthorizationType,
  PriorAuthorizationUrgencyEnum,
} from '../types/prior-authorization.type.js';
import { WorkflowInstanceType } from '../types/workflow.type.js';

export const priorAuthorizationToGraphql = (record: PriorAuthorizationInstance): PriorAuthorizationType => ({
  id: record.id,
  state: record.state,
  urgency: record.urgency,
  submittedAt: record.submittedAt,
  decisionDueAt: record.decisionDueAt,
  etag: etagOf(record.versionId),
  resource: record.resource as unknown as Record<string, unknown>,
  prescriptionId: record.prescriptionId,
});

/** Prior authorizations over GraphQL (CONTRACT §9): each resolver calls one use-case and maps. */
@Resolver(() => PriorAuthorizationType)
export class PriorAuthorizationResolver {
  @Query(() => PriorAuthorizationType, { nullable: true, description: 'A prior authorization by id; null when it does not exist for your tenant.' })
  async priorAuthorization(@Arg('id', () => ID) id: string, @Ctx() { loaders }: GraphqlContext): Promise<PriorAuthorizationType | null> {
    const record = await loaders.priorAuthorization.load(id);
    return record ? priorAuthorizationToGraphql(record) : null;
  }

  @Mutation(() => PriorAuthorizationType, {
    description:
      "Submits the prescription's prior authorization (state submitted). Persona: ehr-backend. Approving a prescription the rules mark submits it automatically.",
  })
  async submitPriorAuthorization(
    @Arg('prescriptionId', () => ID) prescriptionId: string,
    @Ctx() { ctx, useCases }: GraphqlContext,
    @Arg('urgency', () => PriorAuthorizationUrgencyEnum, { nullable: true, description: "Default: from the prescription's priority." }) urgency?: Urgency,
    @Arg('ifMatch', () => String, { nullable: true, description: "When given, must be the prescription's current etag." }) ifMatch?: string,
  ): Promise<PriorAuthorizationType> {
    return priorAuthorizationToGraphql(
      await useCases.submitPriorAuthorization(ctx, { prescriptionId, urgency: urgency ?? undefined, ifMatch: ifMatch ?? undefined }),
    );
  }

  @Mutation(() => PriorAuthorizationType, {
    description:
      'Moves a prior authorization through its workflow. Persona per event (CONTRACT §9): the payer reviews and decides, the EHR provides information, appeals and withdraws.',
  })
  async priorAuthorizationEvent(
    @Arg('id', () => ID) id: string,
    @Arg('event', () => PriorAuthorizationEventEnum) event: PriorAuthorizationEvent,
    @Ctx() { ctx, useCases }: GraphqlContext,
    @Arg('reason', () => String, { nullable: true, description: 'Why; recorded with the transition.' }) reason?: string,
    @Arg('ifMatch', () => String, { nullable: true, description: 'When given, must be the current etag.' }) ifMatch?: string,
  ): Promise<PriorAuthorizationType> {
    return priorAuthorizationToGraphql(await useCases.priorAuthorizationEvent(ctx, { id, event, reason: reason ?? null, ifMatch: ifMatch ?? undefined }));
  }

  @FieldResolver(() => MedicationRequestType, { nullable: true, description: 'The prescription it authorizes (the FHIR Task.focus).' })
  async prescription(@Root() pa: PriorAuthorizationType, @Ctx() { loaders }: GraphqlContext): Promise<MedicationRequestType | null> {
    const record = await loaders.medicationRequest.load(pa.prescriptionId);
    return record ? recordToGraphql(record) : null;
  }

  @FieldResolver(() => [PriorAuthorizationTransition], { description: 'Every move, oldest first, its submission included.' })
  async transitions(@Root() pa: PriorAuthorizationType, @Ctx() { loaders }: GraphqlContext): Promise<PriorAuthorizationTransition[]> {
    return (await loaders.priorAuthorizationTransitions.load(pa.id)).map((t) => ({
      event: t.event,
      from: t.from,
      to: t.to,
      actor: t.actor,
      reason: t.reason,
      at: t.at,
    }));
  }

  @FieldResolver(() => WorkflowInstanceType, {
    nullable: true,
    description: 'Its workflow: definition and version, state, pending timers (decision deadline, appeal window), actions and compensations.',
  })
  async workflow(@Root() pa: PriorAuthorizationType, @Ctx() { loaders }: GraphqlContext): Promise<WorkflowInstanceType | null> {
    return (await loaders.priorAuthorizationWorkflow.load(pa.id)) ?? null;
  }
}

/** The link on the prescription (CONTRACT §9): its newest PA. */
@Resolver(() => MedicationRequestType)
export class MedicationRequestPriorAuthorizationResolver {
  @FieldResolver(() => PriorAuthorizationType, {
    nullable: true,
    description: 'Its prior authorization (the newest, when one was withdrawn and another submitted); null when none was submitted.',
  })
  async priorAuthorization(@Root() request: MedicationRequestType, @Ctx() { loaders }: GraphqlContext): Promise<PriorAuthorizationType | null> {
    const record = await loaders.priorAuthorizationOfPrescription.load(request.id);
    return record ? priorAuthorizationToGraphql(record) : null;
  }
}
