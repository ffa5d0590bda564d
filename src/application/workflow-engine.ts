import {
  assertMove,
  assertTextWithinBounds,
  type EventEnvelope,
  type EventPayload,
  type Facts,
  type Naming,
  type RequestContext,
  timerChanges,
  timerChangesOnEdit,
  type WorkflowDefinition,
} from '../domain/index.js';
import type { TransactionScope } from '../ports/index.js';
import type { UseCaseDeps } from './deps.js';
import { checkIfMatch, retryOnConflict } from './versioned-write.js';
import { moveHooks } from './workflow-links.js';

/**
 * The application's half of the workflow engine (CONTRACT §10): one `move` for every workflow.
 * A transition, its history row, its events and the timers it arms or drops are written in the
 * caller's transaction; the domain's definition decides, the subject's adapter stores.
 */

/** A change the engine made, as the subject records and announces it. */
export interface Change {
  event: string;
  from: string | null;
  to: string;
  reason: string | null;
  at: Date;
}

/**
 * What the engine needs from one kind of instance (a prescription, a prior authorization): a
 * small port, implemented once per workflow beside its use-cases.
 */
export interface WorkflowSubject<R extends { id: string; versionId: number; resource: unknown }, F extends Facts = Facts> {
  naming: Naming;
  /** The definition (name and version) the instance started under. */
  definitionOf(record: R): WorkflowDefinition<string, string, F>;
  stateOf(record: R): string;
  find(scope: TransactionScope, id: string): Promise<R | undefined>;
  /** What guards and timers read; only asked for when one of them needs it. */
  facts(scope: TransactionScope, record: R, now: Date): Promise<F>;
  /**
   * The subject's own rules on a move the definition allows (e.g. a refill's interval): throws the
   * error that refuses it. Runs after the state check, before anything is written.
   */
  beforeMove?(scope: TransactionScope, current: R, change: Change): Promise<void>;
  /**
   * Writes the instance in its new state if its version is still `current.versionId`, with the
   * history row recording `change` and `ctx.actor`; answers the new record, or `undefined` when
   * another writer got there first (nothing written).
   */
  write(scope: TransactionScope, ctx: RequestContext, current: R, change: Change): Promise<R | undefined>;
  /** The events announcing `change` (status_changed, then any specific one such as cancelled). */
  events(ctx: RequestContext, record: R, change: Change, ids: () => string): EventEnvelope[];
}

/**
 * The payload every workflow's change events carry (CONTRACT §10): the resource as it now stands,
 * the move, and which definition, version and instance made it; `context` adds what subscribers
 * filter on (the prescription, its patient and pharmacy).
 */
export function changePayload(
  resource: unknown,
  change: Change,
  workflow: { name: string; version: number; instanceId: string },
  context: Pick<EventPayload, 'medicationRequestId' | 'patientId' | 'pharmacyId'>,
): EventPayload {
  return { resource: resource as EventPayload['resource'], event: change.event, from: change.from, to: change.to, reason: change.reason, workflow, ...context };
}

/**
 * What a linked workflow does when an instance of `workflow` moves (CONTRACT §9, §10): declared
 * beside the linked workflow and listed in `workflow-links.ts`, so the watched workflow's own code
 * stays unaware of it.
 */
export interface MoveHook<R = never> {
  /** The definition name whose instances it watches. */
  workflow: string;
  /** Refuses a move the definition allows (throws), after the move's own checks, before anything is written. */
  before?(deps: UseCaseDeps, scope: TransactionScope, ctx: RequestContext, current: R, change: Change): Promise<void>;
  /** Runs after the move is written, in its transaction; answers the events of what it did. */
  after?(deps: UseCaseDeps, scope: TransactionScope, ctx: RequestContext, record: R, change: Change): Promise<EventEnvelope[]>;
}

export interface MoveRequest<R> {
  id: string;
  event: string;
  /** When given, must be the instance's current version (412 otherwise). */
  ifMatch?: string;
  reason?: string | null;
  /** The existence failure: `NOT_FOUND` for the instance itself, `PRESCRIPTION_NOT_FOUND` when a Task or dispense links it. */
  missing: (id: string) => Error;
  /**
   * Checks on the loaded instance that come before its state (CONTRACT §2: a 403 precedes a 409),
   * e.g. the two-factor authentication that approving a controlled prescription needs.
   */
  admit?: (current: R) => void | Promise<void>;
  /** Extra checks on the loaded instance before it moves (e.g. prior authorization, refill interval). */
  precondition?: (scope: TransactionScope, current: R, to: string) => Promise<void>;
}

export interface Moved<R> {
  record: R;
  previous: R;
  events: EventEnvelope[];
}

/** Durations the definitions' timers read (`settings.slaProcessingSeconds`, …), from configuration. */
export type WorkflowSettings = Readonly<Record<string, number>>;

/**
 * Loads, checks and moves an instance in the caller's transaction, in the order of CONTRACT §2
 * (existence, If-Match, state). A lost race is retried against the new state unless the caller
 * pinned a version with If-Match (then 412).
 */
export async function move<R extends { id: string; versionId: number; resource: unknown }, F extends Facts>(
  deps: UseCaseDeps,
  scope: TransactionScope,
  ctx: RequestContext,
  subject: WorkflowSubject<R, F>,
  request: MoveRequest<R>,
): Promise<Moved<R>> {
  assertTextWithinBounds(request.reason, `${subject.naming.stateExpression.split('.')[0]}.statusReason.text`);
  return retryOnConflict(async () => {
    const current = await subject.find(scope, request.id);
    if (!current) throw request.missing(request.id);
    checkIfMatch(request.ifMatch, current, { required: false, what: `the ${subject.naming.subject}'s current version` });
    await request.admit?.(current);
    const moved = await moveLoaded(deps, scope, ctx, subject, current, request);
    return moved && { ...moved, previous: current };
  });
}

/** Moves an instance already loaded in this transaction; `undefined` when its version moved on meanwhile. */
export async function moveLoaded<R extends { id: string; versionId: number; resource: unknown }, F extends Facts>(
  deps: UseCaseDeps,
  scope: TransactionScope,
  ctx: RequestContext,
  subject: WorkflowSubject<R, F>,
  current: R,
  request: Pick<MoveRequest<R>, 'event' | 'reason' | 'precondition'>,
): Promise<Omit<Moved<R>, 'previous'> | undefined> {
  const definition = subject.definitionOf(current);
  const from = subject.stateOf(current);
  const now = deps.clock.now();
  const facts = lazy(() => subject.facts(scope, current, now));
  const guarded = definition.transitions.some((t) => t.event === request.event && t.from.includes(from) && t.guard);
  const rule = assertMove(definition, subject.naming, from, request.event, guarded ? await facts() : ({} as F));
  const change: Change = { event: request.event, from, to: rule.to, reason: request.reason ?? null, at: now };
  await subject.beforeMove?.(scope, current, change);
  await request.precondition?.(scope, current, rule.to);
  const hooks = (moveHooks() as ReadonlyArray<MoveHook<R>>).filter((h) => h.workflow === definition.name);
  for (const hook of hooks) await hook.before?.(deps, scope, ctx, current, change);
  const record = await subject.write(scope, ctx, current, change);
  if (!record) return undefined;
  await applyTimerChanges(deps, scope, subject, record, from, rule.to, now);
  const linked: EventEnvelope[] = [];
  for (const hook of hooks) linked.push(...((await hook.after?.(deps, scope, ctx, record, change)) ?? []));
  return { record, events: [...subject.events(ctx, record, change, deps.newId), ...linked] };
}

/**
 * Arms the timers of the state entered and drops those of the state left, in the transition's
 * transaction. `knownFacts` are the instance's facts when the caller has them without asking the
 * store (an instance created in this transaction); otherwise the subject is asked, if a timer needs them.
 */
export async function applyTimerChanges<R extends { id: string; versionId: number; resource: unknown }, F extends Facts>(
  deps: UseCaseDeps,
  scope: TransactionScope,
  subject: WorkflowSubject<R, F>,
  record: R,
  from: string | null,
  to: string,
  now: Date,
  knownFacts?: F,
): Promise<void> {
  const definition = subject.definitionOf(record);
  const { arm, drop } = timerChanges(definition, from, to);
  if (drop.length > 0) await scope.timers.drop(record.id, drop, now);
  if (arm.length === 0) return;
  const facts = knownFacts ?? (await subject.facts(scope, record, now));
  const timers = arm.flatMap((timer) => {
    const dueAt = timer.due({ facts, armedAt: now, settings: deps.workflowSettings });
    return dueAt ? [{ id: deps.newId(), workflow: definition.name, instanceId: record.id, name: timer.name, dueAt }] : [];
  });
  if (timers.length > 0) await scope.timers.arm(timers);
}

/**
 * After an edit of an instance's content in the same state (a prescription's PUT or PATCH), moves
 * the timers whose due instant the edit changed (e.g. `validityPeriod.end` for the expiry), in the
 * edit's transaction: the engine decides which, from the definition and the facts before and after.
 */
export async function applyEditTimerChanges<R extends { id: string; versionId: number; resource: unknown }, F extends Facts>(
  deps: UseCaseDeps,
  scope: TransactionScope,
  subject: WorkflowSubject<R, F>,
  before: R,
  after: R,
  now: Date,
): Promise<void> {
  const definition = subject.definitionOf(after);
  const state = subject.stateOf(after);
  if (!definition.timers.some((t) => t.armedIn.includes(state))) return;
  const pending = (await scope.timers.pendingOf([after.id])).get(after.id) ?? [];
  const { drop, arm } = timerChangesOnEdit(definition, state, {
    before: await subject.facts(scope, before, now),
    after: await subject.facts(scope, after, now),
    pending,
    now,
    settings: deps.workflowSettings,
  });
  if (drop.length > 0) await scope.timers.drop(after.id, drop, now);
  if (arm.length > 0)
    await scope.timers.arm(arm.map(({ timer, dueAt }) => ({ id: deps.newId(), workflow: definition.name, instanceId: after.id, name: timer.name, dueAt })));
}

function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= load());
}
