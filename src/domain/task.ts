import type { Issue } from './errors.js';
import { isObject, parseReference } from './fhir.js';
import { PRIOR_AUTHORIZATION_TASK_SYSTEM } from './prior-authorization.js';
import { PRESCRIPTION_WORKFLOWS, type WorkflowEvent } from './workflows/prescription.js';

export const TASK_CODE_SYSTEM = 'http://hl7.org/fhir/CodeSystem/task-code';

/** How a FHIR Task moves the workflow (CONTRACT §3): `code` + `status` → event, from the definitions' `task` entries. */
export const TASK_EVENTS: ReadonlyArray<{ code: string; status: string; event: WorkflowEvent }> = PRESCRIPTION_WORKFLOWS.flatMap((d) =>
  d.transitions.flatMap((t) => ('task' in t && t.task ? [{ ...t.task, event: t.event as WorkflowEvent }] : [])),
).filter((entry, i, all) => all.findIndex((e) => e.code === entry.code && e.status === entry.status) === i);

const TASK_CODES = [...new Set(TASK_EVENTS.map((t) => t.code))];

export type TaskResource = fhir4.Task;

export interface TaskRecord {
  id: string;
  tenantId: string;
  versionId: number;
  lastUpdated: Date;
  focusId: string;
  resource: TaskResource;
}

const TASK_STATUSES = [
  'draft',
  'requested',
  'received',
  'accepted',
  'rejected',
  'ready',
  'cancelled',
  'in-progress',
  'on-hold',
  'failed',
  'completed',
  'entered-in-error',
];
const TASK_INTENTS = ['unknown', 'proposal', 'plan', 'order', 'original-order', 'reflex-order', 'filler-order', 'instance-order', 'option'];

/** The Task's code: a workflow Task's (CONTRACT §3) or a prior authorization's (§9, its own system). */
export const taskCodeOf = (task: TaskResource): string | undefined =>
  task.code?.coding?.find((c) => c.system === TASK_CODE_SYSTEM || c.system === PRIOR_AUTHORIZATION_TASK_SYSTEM)?.code;

/** The workflow event a Task asks for, or `undefined` when its code and status move nothing. */
export function taskEvent(task: TaskResource): WorkflowEvent | undefined {
  const code = taskCodeOf(task);
  return TASK_EVENTS.find((t) => t.code === code && t.status === task.status)?.event;
}

/** Structure of a workflow Task (FHIR R4 Task: status and intent are required) and the gateway's rules. */
export function validateTask(input: unknown): Issue[] {
  if (!isObject(input)) return [{ expression: 'Task', diagnostics: 'The body must be a JSON object holding a Task.' }];
  const issues: Issue[] = [];
  const problem = (expression: string, diagnostics: string) => issues.push({ expression, diagnostics });
  if (input.resourceType !== 'Task') problem('Task.resourceType', "resourceType must be 'Task'.");
  if (typeof input.status !== 'string' || !TASK_STATUSES.includes(input.status))
    problem('Task.status', `status is required and must be a FHIR task status (${TASK_STATUSES.join(', ')}).`);
  if (typeof input.intent !== 'string' || !TASK_INTENTS.includes(input.intent)) problem('Task.intent', "intent is required (e.g. 'order').");
  if (!isObject(input.focus) || !parseReference(input.focus.reference, 'MedicationRequest'))
    problem('Task.focus.reference', "focus.reference is required: 'MedicationRequest/{id}'.");
  const codes = isObject(input.code) && Array.isArray(input.code.coding) ? input.code.coding : [];
  const code = codes.find((c: unknown) => isObject(c) && c.system === TASK_CODE_SYSTEM) as { code?: unknown } | undefined;
  if (!code || !TASK_CODES.includes(String(code.code))) problem('Task.code', `code must carry ${TASK_CODE_SYSTEM} ${TASK_CODES.join(', ')}.`);
  if (
    input.statusReason !== undefined &&
    !(isObject(input.statusReason) && (input.statusReason.text === undefined || typeof input.statusReason.text === 'string'))
  ) {
    problem('Task.statusReason', 'statusReason must be a CodeableConcept.');
  }
  if (issues.length === 0 && taskEvent(input as unknown as TaskResource) === undefined) {
    const allowed = TASK_EVENTS.map((t) => `${t.code}+${t.status}`).join(', ');
    problem('Task.status', `code '${String(code!.code)}' with status '${String(input.status)}' does not move a prescription; use one of ${allowed}.`);
  }
  return issues;
}

export const focusIdOf = (task: TaskResource): string => parseReference(task.focus?.reference, 'MedicationRequest')!;

export function materializeTask(input: TaskResource, m: { id: string; versionId: number; lastUpdated: Date }): TaskResource {
  const { resourceType: _t, id: _i, meta, ...rest } = input;
  const { versionId: _v, lastUpdated: _l, ...clientMeta } = meta ?? {};
  return {
    resourceType: 'Task',
    id: m.id,
    meta: { ...clientMeta, versionId: String(m.versionId), lastUpdated: m.lastUpdated.toISOString() },
    ...rest,
    authoredOn: rest.authoredOn ?? m.lastUpdated.toISOString(),
    lastModified: m.lastUpdated.toISOString(),
  };
}
