import jsonpatch, { type Operation } from 'fast-json-patch';
import { assertPersonaMay, assertPersonaMayTransition, DomainError, isObject, type MedicationRequestRecord, type RequestContext } from '../../domain/index.js';
import { commitEvents } from '../audit.js';
import type { UseCaseDeps } from '../deps.js';
import { canonicalize } from '../idempotency.js';
import { findPrescription, movePrescription, notFound } from '../workflow.js';
import { assertValidMedicationRequest } from './medication-request.rules.js';
import { replaceContent } from './update-medication-request.use-case.js';

export interface PatchInput {
  id: string;
  /** RFC 6902 JSON Patch document. */
  patch: unknown;
  ifMatch: string | undefined;
}

const MANAGED = ['status', 'statusReason', 'meta', 'extension'];
const withoutManaged = (resource: object) => Object.fromEntries(Object.entries(resource).filter(([key]) => !MANAGED.includes(key)));

/**
 * FHIR PATCH of a prescription (CONTRACT §4): the patch is applied to the stored resource. Setting
 * `status` to `cancelled` is the cancel event (reason from `statusReason`); any other status change
 * is an invalid transition; content changes follow the update rules.
 */
export async function patchMedicationRequest(deps: UseCaseDeps, ctx: RequestContext, input: PatchInput): Promise<MedicationRequestRecord> {
  assertPersonaMay(ctx, 'medication-request.update');
  const operations = assertPatchDocument(input.patch);
  return deps.uow.transaction(ctx.tenantId, async (scope) => {
    const current = await findPrescription(scope, input.id);
    if (!current) throw notFound(input.id);
    let patched: Record<string, unknown>;
    try {
      patched = jsonpatch.applyPatch(structuredClone(current.resource), operations, true, false).newDocument as unknown as Record<string, unknown>;
    } catch (error) {
      throw new DomainError(
        'BAD_REQUEST',
        `The JSON Patch does not apply to MedicationRequest/${input.id}: ${(error as Error).message.split('\n')[0].slice(0, 200)}`,
      );
    }
    if (!isObject(patched) || patched.resourceType !== 'MedicationRequest' || patched.id !== current.id)
      throw new DomainError(
        'BAD_REQUEST',
        'A patch must leave a MedicationRequest with the same id (it may not replace the document, its resourceType or its id).',
      );

    const touchesStatus = operations.some((op) => op.path === '/status');
    if (touchesStatus && (patched.status !== current.resource.status || patched.status === 'cancelled')) {
      if (patched.status !== 'cancelled') {
        throw new DomainError(
          'INVALID_TRANSITION',
          `status changes only through workflow events; PATCH status to 'cancelled' cancels (the prescription is '${current.workflowStatus}').`,
        );
      }
      if (canonicalize(withoutManaged(patched)) !== canonicalize(withoutManaged(current.resource))) {
        throw new DomainError('BAD_REQUEST', 'A cancelling patch may change only status and statusReason; send content changes in their own patch.');
      }
      assertPersonaMayTransition(ctx.actor, 'cancel');
      if (input.ifMatch === undefined || input.ifMatch.trim() === '')
        throw new DomainError('PRECONDITION_REQUIRED', 'PATCH needs If-Match with the current version.');
      const reason = (patched.statusReason as { text?: unknown } | undefined)?.text;
      const moved = await movePrescription(deps, scope, ctx, {
        id: current.id,
        event: 'cancel',
        ifMatch: input.ifMatch,
        reason: typeof reason === 'string' ? reason : null,
        missing: notFound,
      });
      await commitEvents(scope, moved.events);
      return moved.record;
    }
    const resource = await assertValidMedicationRequest(deps, ctx, patched);
    return replaceContent(deps, scope, ctx, current, resource, input.ifMatch);
  });
}

export function assertPatchDocument(patch: unknown): Operation[] {
  if (!Array.isArray(patch) || patch.length === 0) throw new DomainError('BAD_REQUEST', 'A JSON Patch is a non-empty array of operations (RFC 6902).');
  const error = jsonpatch.validate(patch as Operation[]);
  if (error) throw new DomainError('BAD_REQUEST', `Invalid JSON Patch operation ${error.index ?? ''}: ${error.name}.`);
  for (const op of patch as Operation[]) {
    if (/(^|\/)(__proto__|constructor|prototype)(\/|$)/.test(op.path) || ('from' in op && /(__proto__|constructor|prototype)/.test(String(op.from)))) {
      throw new DomainError('BAD_REQUEST', `JSON Patch path '${op.path.slice(0, 64)}' is not allowed.`);
    }
  }
  return patch as Operation[];
}
