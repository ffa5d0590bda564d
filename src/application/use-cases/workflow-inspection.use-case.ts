import {
  actionsFor,
  type Fills,
  type MedicationDispenseRecord,
  type MedicationRequestRecord,
  type RequestContext,
  statesOf,
  toMermaid,
  WORKFLOW_DEFINITIONS,
  WORKFLOW_LINKS,
  type WorkflowDefinition,
} from '../../domain/index.js';
import type { ActionRun } from '../../ports/index.js';
import type { UseCaseDeps } from '../deps.js';
import { isStoredId } from '../stored-id.js';
import { fillsWith, PRESCRIPTION_SUBJECT } from '../workflow.js';

/** A definition as inspection shows it (CONTRACT §10). */
export interface DefinitionView {
  name: string;
  version: number;
  description: string;
  states: Array<{ name: string; final: boolean }>;
  transitions: Array<{ event: string; from: string; to: string; persona: string; guard: string | null }>;
  timers: string[];
  actions: string[];
  mermaid: string;
}

export type ActionStatus = 'pending' | 'done' | 'dead-lettered';

/** An instance as inspection shows it: where it is, what is armed, and what its side effects did. */
export interface InstanceView {
  definition: string;
  version: number;
  state: string;
  timers: Array<{ name: string; dueAt: Date }>;
  actions: Array<{ name: string; status: ActionStatus; attempts: number; lastError: string | null }>;
  compensations: Array<{ name: string; status: ActionStatus; attempts: number; lastError: string | null }>;
}

export function viewOf(definition: WorkflowDefinition): DefinitionView {
  return {
    name: definition.name,
    version: definition.version,
    description: definition.description,
    states: statesOf(definition).map((name) => ({ name, final: definition.states[name].final === true })),
    transitions: definition.transitions.flatMap((t) =>
      t.from.map((from) => ({ event: t.event, from, to: t.to, persona: t.sender, guard: t.guard?.name ?? null })),
    ),
    timers: definition.timers.map((t) => t.name),
    actions: [...new Set(definition.actions.flatMap((a) => [a.name, ...(a.compensation ? [a.compensation] : [])]))],
    mermaid: toMermaid(definition),
  };
}

/** Every definition this gateway runs, every version (instances of older versions may still be live). Open to every persona. */
export function workflowDefinitions(_deps: UseCaseDeps): DefinitionView[] {
  return WORKFLOW_DEFINITIONS.map(viewOf);
}

/**
 * The workflow view of each prescription (batched: one read of the records, one of the timers, one
 * of the action ledger for the whole page); `undefined` for ids the tenant does not have.
 */
export async function prescriptionWorkflows(deps: UseCaseDeps, ctx: RequestContext, ids: readonly string[]): Promise<Array<InstanceView | undefined>> {
  const stored = ids.filter(isStoredId);
  const [records, transitions] = await deps.uow.read(
    ctx.tenantId,
    async (scope) => [await scope.medicationRequests.findByIds(stored), await scope.history.transitionsOf(stored)] as const,
  );
  const byId = new Map(records.map((r) => [r.id, r]));
  return instanceViews(
    deps,
    ctx,
    ids.map((id) => {
      const record = byId.get(id);
      return (
        record && {
          id,
          definition: PRESCRIPTION_SUBJECT.definitionOf(record) as unknown as WorkflowDefinition,
          state: record.workflowStatus,
          transitions: transitions.get(id) ?? [],
        }
      );
    }),
  );
}

/** An instance of any workflow, as loaded by its subject, for {@link instanceViews}. */
export interface LoadedInstance {
  id: string;
  definition: WorkflowDefinition;
  state: string;
  transitions: ReadonlyArray<{ event: string; from: string | null; to: string }>;
}

/** The views of instances of any workflow: their pending timers and what the action ledger says (one read each for the page). */
export async function instanceViews(
  deps: UseCaseDeps,
  ctx: RequestContext,
  instances: ReadonlyArray<LoadedInstance | undefined>,
): Promise<Array<InstanceView | undefined>> {
  const ids = instances.flatMap((i) => (i ? [i.id] : []));
  const timers = await deps.uow.read(ctx.tenantId, (scope) => scope.timers.pendingOf(ids));
  const runs = await deps.ledger.runsFor(ctx.tenantId, ids);
  return instances.map((instance) => {
    if (!instance) return undefined;
    const { id, definition } = instance;
    const compensationNames = new Set([
      ...definition.actions.flatMap((a) => (a.compensation ? [a.compensation] : [])),
      ...WORKFLOW_LINKS.filter((l) => l.parent === definition.name).map((l) => l.compensation),
    ]);
    const recorded = runs.get(id) ?? [];
    // What the definition says should have run for the moves made so far; the ledger says how it went.
    const expected = instance.transitions.flatMap((t) => actionsFor(definition, { event: t.event, from: t.from, to: t.to }).map((a) => a.name));
    const view = (name: string) =>
      statusOf(
        name,
        recorded.filter((r) => r.handler === name),
      );
    const names = [...new Set([...expected, ...recorded.map((r) => r.handler)])];
    return {
      definition: definition.name,
      version: definition.version,
      state: instance.state,
      timers: (timers.get(id) ?? []).map((t) => ({ name: t.name, dueAt: t.dueAt })),
      actions: names.filter((n) => !compensationNames.has(n)).map(view),
      compensations: names.filter((n) => compensationNames.has(n)).map(view),
    };
  });
}

function statusOf(name: string, runs: ActionRun[]): InstanceView['actions'][number] {
  const latest = runs.at(-1);
  if (!latest) return { name, status: 'pending', attempts: 0, lastError: null };
  return { name, status: latest.status, attempts: runs.reduce((n, r) => n + r.attempts, 0), lastError: latest.lastError };
}

/** The fills of a prescription from its dispenses as already loaded (GraphQL batches them per page). */
export function fillsFromDispenses(_deps: UseCaseDeps, record: MedicationRequestRecord, dispenses: readonly MedicationDispenseRecord[]): Fills {
  const handedOver = dispenses.flatMap((d) => (d.resource.whenHandedOver ? [Date.parse(d.resource.whenHandedOver)] : []));
  const lastHandedOver = handedOver.length > 0 ? new Date(Math.max(...handedOver)) : null;
  return fillsWith(record, { count: dispenses.length, lastHandedOver });
}
