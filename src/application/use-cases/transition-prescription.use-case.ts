import { assertPersonaMayTransition, type MedicationRequestRecord, type RequestContext, type WorkflowEvent } from '../../domain/index.js';
import { commitEvents } from '../audit.js';
import type { UseCaseDeps } from '../deps.js';
import { movePrescription, notFound } from '../workflow.js';
import { dispenseAsPrescribed } from './medication-dispense.use-case.js';

export interface TransitionInput {
  id: string;
  event: WorkflowEvent;
  /** When given, must be the prescription's current ETag (412 otherwise). */
  ifMatch?: string;
  reason?: string | null;
}

/**
 * Moves a prescription through the workflow (GraphQL `transitionPrescription`, FHIR PATCH to
 * cancelled). `dispense` dispenses as prescribed: it creates the MedicationDispense too.
 */
export async function transitionPrescription(deps: UseCaseDeps, ctx: RequestContext, input: TransitionInput): Promise<MedicationRequestRecord> {
  assertPersonaMayTransition(ctx.actor, input.event);
  if (input.event === 'dispense') return (await dispenseAsPrescribed(deps, ctx, input)).prescription;
  return deps.uow.transaction(ctx.tenantId, async (scope) => {
    const moved = await movePrescription(deps, scope, ctx, { ...input, missing: notFound });
    await commitEvents(scope, moved.events);
    return moved.record;
  });
}
