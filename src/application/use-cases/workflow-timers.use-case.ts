import { DomainError, type EventEnvelope, type RequestContext, SYSTEM_ACTOR } from '../../domain/index.js';
import type { PendingTimer, TimerQueue, TransactionScope } from '../../ports/index.js';
import { commitEvents } from '../audit.js';
import type { UseCaseDeps } from '../deps.js';
import { moveLoaded } from '../workflow-engine.js';
import { WORKFLOW_SUBJECTS } from '../workflow-subjects.js';

/** What happened to one due timer. */
export type TimerOutcome = { id: string; outcome: 'fired' | 'dropped'; lateMs: number } | { id: string; outcome: 'taken' };

/**
 * Fires one due timer, exactly once across instances: the claim (`FOR UPDATE SKIP LOCKED`), the
 * effect (a transition, or an emitted event) and the settlement commit in one transaction, so a
 * crash anywhere leaves the timer pending for the next poll and never half-fired. A timer whose
 * guarded state was left is dropped (CONTRACT §7).
 */
export async function fireTimer(deps: UseCaseDeps, due: { id: string; tenantId: string }): Promise<TimerOutcome> {
  return deps.uow.transaction(due.tenantId, async (scope) => {
    const timer = await scope.timers.claim(due.id);
    if (!timer) return { id: due.id, outcome: 'taken' };
    const now = deps.clock.now();
    const ctx: RequestContext = { tenantId: timer.tenantId, actor: SYSTEM_ACTOR, correlationId: `timer:${timer.id}` };
    const events = await effectOf(deps, scope, ctx, timer);
    await scope.timers.settle(timer.id, events ? 'fired' : 'dropped', now);
    if (events) await commitEvents(scope, events);
    return { id: timer.id, outcome: events ? 'fired' : 'dropped', lateMs: Math.max(0, now.getTime() - timer.dueAt.getTime()) };
  });
}

/** The events firing `timer` commits, or `undefined` when it no longer applies (dropped). */
async function effectOf(deps: UseCaseDeps, scope: TransactionScope, ctx: RequestContext, timer: PendingTimer): Promise<EventEnvelope[] | undefined> {
  const workflow = WORKFLOW_SUBJECTS[timer.workflow];
  if (!workflow) throw new Error(`timer ${timer.id}: no workflow named ${timer.workflow}`);
  const { subject } = workflow;
  const record = await subject.find(scope, timer.instanceId);
  if (!record) return undefined;
  const spec = subject.definitionOf(record).timers.find((t) => t.name === timer.name);
  if (!spec || !spec.armedIn.includes(subject.stateOf(record))) return undefined;
  if ('emit' in spec.fires) return [workflow.emittedEvent(ctx, record as never, spec.fires.emit, timer.name, deps.clock.now(), deps.newId)];
  try {
    const moved = await moveLoaded(deps, scope, ctx, subject, record, { event: spec.fires.event });
    // The row is locked by the claim's transaction only for timers; a concurrent writer may still win: fire again next poll.
    if (!moved) throw new DomainError('PRECONDITION_FAILED', `timer ${timer.id}: the instance changed while it fired`);
    return moved.events;
  } catch (error) {
    // A guard said no (e.g. the state allows the event no more): the timer has nothing left to do.
    if (error instanceof DomainError && error.code === 'INVALID_TRANSITION') return undefined;
    throw error;
  }
}

/** Transactions one runner keeps open at once while it fires a batch. */
const FIRING_CONCURRENCY = 4;

/**
 * Fires every timer due now (up to `limit`), one transaction each, a few at a time; answers what
 * happened to each. Every instance reads the same due list: each works through it in its own
 * random order, so two instances mostly claim different timers instead of queueing on the same rows.
 */
export async function fireDueTimers(deps: UseCaseDeps, queue: TimerQueue, limit: number): Promise<TimerOutcome[]> {
  const due = shuffled(await queue.due(deps.clock.now(), limit));
  const outcomes: TimerOutcome[] = [];
  let next = 0;
  const worker = async () => {
    while (next < due.length) outcomes.push(await fireTimer(deps, due[next++]));
  };
  await Promise.all(Array.from({ length: Math.min(FIRING_CONCURRENCY, due.length) }, worker));
  return outcomes;
}

function shuffled<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
