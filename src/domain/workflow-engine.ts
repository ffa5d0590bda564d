import { DomainError } from './errors.js';
import type { Persona } from './identity.js';

/**
 * The workflow engine's pure half (CONTRACT §10): a definition is data plus small pure guards, and
 * these functions answer what a definition allows. Nothing here does I/O; the application's engine
 * (`application/workflow-engine.ts`) applies the answers in one transaction.
 */

/** Who may send an event: a persona of CONTRACT §1, or the gateway itself (timers, compensations). */
export type Sender = Persona | 'system';

/** Facts a guard may read, computed by the subject's adapter inside the transaction. */
export type Facts = Readonly<Record<string, unknown>>;

/** A named condition. The name is what inspection shows; `holds` must be pure. */
export interface Guard<F extends Facts = Facts> {
  name: string;
  holds(facts: F): boolean;
}

export interface TransitionRule<S extends string = string, E extends string = string, F extends Facts = Facts> {
  event: E;
  from: readonly S[];
  to: S;
  /** Who may send it; several rules of one event share the sender. */
  sender: Sender;
  /** When several rules match an event, the first whose guard holds decides the target. */
  guard?: Guard<F>;
  /** The FHIR Task (`code` of http://hl7.org/fhir/CodeSystem/task-code + `status`) that sends the event. */
  task?: { code: string; status: string };
}

export interface StateSpec {
  /** No event leaves a final state. */
  final?: boolean;
  /** Reaching it runs the compensations of the actions that completed (the saga's undo). */
  compensating?: boolean;
  /** The FHIR `status` of the subject's resource in this state (CONTRACT §3). */
  fhirStatus?: string;
  /** The subject's content (not its state) may be updated in this state. */
  contentEditable?: boolean;
}

/**
 * A durable timer: armed when the instance enters one of `armedIn` (in the transition's own
 * transaction), dropped when it leaves them, fired once at `due` when still armed.
 */
export interface TimerSpec<S extends string = string, E extends string = string, F extends Facts = Facts> {
  name: string;
  armedIn: readonly S[];
  /** The instant it is due, from the instance's facts and the moment of arming; `undefined`: not armed. */
  due(input: { facts: F; armedAt: Date; settings: Readonly<Record<string, number>> }): Date | undefined;
  /** What firing does: send an event (actor `system`), or emit an event type and run actions without moving. */
  fires: { event: E } | { emit: string };
}

/**
 * A side effect: runs from the event stream after a transition (or a timer emission) commits,
 * durably, with retries and dead letters. A compensation undoes it when the instance reaches a
 * compensating state.
 */
export type ActionTrigger<S extends string = string, E extends string = string> = { event: E } | { from: S; to: S } | { emitted: string };

export interface ActionSpec<S extends string = string, E extends string = string> {
  name: string;
  /** An event (any transition it causes), a from → to change, or a timer's emission; or several. */
  on: ActionTrigger<S, E> | ReadonlyArray<ActionTrigger<S, E>>;
  compensation?: string;
}

const triggersOf = (action: ActionSpec): ReadonlyArray<ActionTrigger> => (Array.isArray(action.on) ? action.on : [action.on as ActionTrigger]);

export interface WorkflowDefinition<S extends string = string, E extends string = string, F extends Facts = Facts> {
  name: string;
  version: number;
  /** A sentence for inspection and docs. */
  description: string;
  states: Readonly<Record<S, StateSpec>>;
  initial: S;
  /** The event that creates an instance (recorded in its first transition), e.g. `request`. */
  creation: { event: string; sender: Sender };
  transitions: ReadonlyArray<TransitionRule<S, E, F>>;
  timers: ReadonlyArray<TimerSpec<S, E, F>>;
  actions: ReadonlyArray<ActionSpec<S, E>>;
}

/**
 * Checks a definition once, at module load: every state named exists, the initial state is not
 * final, no rule leaves a final state, events keep one sender, actions and compensations are unique.
 * A mistake here is a programming error, reported with the definition's name.
 */
export function defineWorkflow<S extends string, E extends string, F extends Facts = Facts>(
  definition: WorkflowDefinition<S, E, F>,
): WorkflowDefinition<S, E, F> {
  const fail = (why: string): never => {
    throw new Error(`workflow ${definition.name} v${definition.version}: ${why}`);
  };
  const states = new Set(Object.keys(definition.states));
  const known = (s: string, where: string) => states.has(s) || fail(`${where} names unknown state '${s}'`);
  known(definition.initial, 'initial');
  if (definition.states[definition.initial].final) fail('the initial state is final');
  const senders = new Map<string, Sender>();
  for (const rule of definition.transitions) {
    rule.from.forEach((s) => known(s, `event ${rule.event}`));
    known(rule.to, `event ${rule.event}`);
    for (const s of rule.from) if (definition.states[s].final) fail(`event ${rule.event} leaves final state '${s}'`);
    const sender = senders.get(rule.event);
    if (sender !== undefined && sender !== rule.sender) fail(`event ${rule.event} has two senders`);
    senders.set(rule.event, rule.sender);
  }
  for (const timer of definition.timers) {
    timer.armedIn.forEach((s) => known(s, `timer ${timer.name}`));
    if ('event' in timer.fires && !senders.has(timer.fires.event)) fail(`timer ${timer.name} sends unknown event '${timer.fires.event}'`);
  }
  const names = new Set<string>();
  for (const action of definition.actions) {
    for (const name of [action.name, action.compensation].filter((n): n is string => n !== undefined)) {
      if (names.has(name)) fail(`action name '${name}' is used twice`);
      names.add(name);
    }
    for (const on of triggersOf(action)) if ('from' in on) [on.from, on.to].forEach((s) => known(s, `action ${action.name}`));
  }
  return definition;
}

/** The events of a definition, in the order of their first rule. */
export const eventsOf = <E extends string>(definition: WorkflowDefinition<string, E>): E[] => [...new Set(definition.transitions.map((t) => t.event))];

export const statesOf = <S extends string>(definition: WorkflowDefinition<S>): S[] => Object.keys(definition.states) as S[];

export const finalStatesOf = <S extends string>(definition: WorkflowDefinition<S>): S[] => statesOf(definition).filter((s) => definition.states[s].final);

export const isFinal = (definition: WorkflowDefinition, state: string): boolean => definition.states[state]?.final === true;

export const senderOf = (definition: WorkflowDefinition, event: string): Sender | undefined => definition.transitions.find((t) => t.event === event)?.sender;

/** Events with at least one rule leaving `state` (guards aside: they depend on facts). */
export function legalEvents<E extends string>(definition: WorkflowDefinition<string, E>, state: string): E[] {
  return eventsOf(definition).filter((event) => definition.transitions.some((t) => t.event === event && t.from.includes(state)));
}

/** The rule that decides `event` from `state` given `facts`: the first matching rule whose guard holds. */
export function decide<S extends string, E extends string, F extends Facts>(
  definition: WorkflowDefinition<S, E, F>,
  state: S,
  event: E,
  facts: F,
): TransitionRule<S, E, F> | undefined {
  return definition.transitions.find((t) => t.event === event && t.from.includes(state) && (t.guard === undefined || t.guard.holds(facts)));
}

/** What a workflow's subject is called in messages ("prescription", "prior authorization"). */
export interface Naming {
  subject: string;
  /** FHIRPath of the element that shows the state, for the OperationOutcome issue. */
  stateExpression: string;
}

/** The target of `event`, or `INVALID_TRANSITION` naming the current state and the legal events (CONTRACT §3). */
export function assertMove<S extends string, E extends string, F extends Facts>(
  definition: WorkflowDefinition<S, E, F>,
  naming: Naming,
  state: S,
  event: E,
  facts: F,
): TransitionRule<S, E, F> {
  const rule = decide(definition, state, event, facts);
  if (rule) return rule;
  const legal = legalEvents(definition, state);
  throw new DomainError(
    'INVALID_TRANSITION',
    `Cannot ${event} a ${naming.subject} that is '${state}'; ${legal.length > 0 ? `legal events from '${state}': ${legal.join(', ')}` : `'${state}' is final`}.`,
    { issues: [{ expression: naming.stateExpression, diagnostics: `current state: ${state}; legal events: ${legal.join(', ') || 'none'}` }] },
  );
}

/** `FORBIDDEN_WRITE_PERSONA` unless `persona` may send `event` (CONTRACT §1); `system` events are never a client's. */
export function assertSender(definition: WorkflowDefinition, naming: Naming, persona: Persona, event: string): void {
  const sender = senderOf(definition, event);
  if (sender === undefined) throw new DomainError('BAD_REQUEST', `'${event}' is not an event of the ${naming.subject} workflow.`);
  if (sender !== persona) {
    const who = sender === 'system' ? 'only the gateway itself' : sender;
    throw new DomainError('FORBIDDEN_WRITE_PERSONA', `Persona '${persona}' may not ${event} a ${naming.subject}; allowed: ${who}.`);
  }
}

/** Timers to arm on entering `to` from `from` (null at creation), and names of those to drop. */
export function timerChanges<S extends string>(definition: WorkflowDefinition<S>, from: S | null, to: S): { arm: TimerSpec<S>[]; drop: string[] } {
  const armedIn = (timer: TimerSpec<S>, state: S | null) => state !== null && timer.armedIn.includes(state);
  return {
    arm: definition.timers.filter((t) => armedIn(t, to) && !armedIn(t, from)) as TimerSpec<S>[],
    drop: definition.timers.filter((t) => armedIn(t, from) && !armedIn(t, to)).map((t) => t.name),
  };
}

/**
 * Timers of `state` that an edit of the instance's content (not its state) moves: those whose due
 * instant differs between the facts before and after the edit. Each is dropped where pending and
 * armed again at its new instant, or not at all when it has none now (e.g. a validity end removed).
 * A timer keeps the moment it was armed (`pending[].armedAt`; `now` for one not pending), so a due
 * time counted from arming (a service level) does not move, and one already fired is not armed again.
 */
export function timerChangesOnEdit<S extends string, F extends Facts>(
  definition: WorkflowDefinition<S, string, F>,
  state: S,
  edit: { before: F; after: F; pending: ReadonlyArray<{ name: string; armedAt: Date }>; now: Date; settings: Readonly<Record<string, number>> },
): { drop: string[]; arm: Array<{ timer: TimerSpec<S, string, F>; dueAt: Date }> } {
  const drop: string[] = [];
  const arm: Array<{ timer: TimerSpec<S, string, F>; dueAt: Date }> = [];
  for (const timer of definition.timers.filter((t) => t.armedIn.includes(state))) {
    const pending = edit.pending.find((p) => p.name === timer.name);
    const armedAt = pending?.armedAt ?? edit.now;
    const before = timer.due({ facts: edit.before, armedAt, settings: edit.settings });
    const after = timer.due({ facts: edit.after, armedAt, settings: edit.settings });
    if (before?.getTime() === after?.getTime()) continue;
    if (pending) drop.push(timer.name);
    if (after) arm.push({ timer, dueAt: after });
  }
  return { drop, arm };
}

/** The actions a committed change (or a timer's emission) triggers. */
export function actionsFor(definition: WorkflowDefinition, change: { event?: string; from?: string | null; to?: string; emitted?: string }): ActionSpec[] {
  return definition.actions.filter((action) =>
    triggersOf(action).some((on) => {
      if ('emitted' in on) return change.emitted === on.emitted;
      if ('event' in on) return change.emitted === undefined && change.event === on.event;
      return change.emitted === undefined && change.from === on.from && change.to === on.to;
    }),
  );
}

/**
 * The compensations to run when an instance reaches a compensating state, given the actions that
 * completed (oldest first): the compensations of those actions, newest first (the saga's undo order).
 */
export function compensationsFor(definition: WorkflowDefinition, to: string, completed: readonly string[]): string[] {
  if (!definition.states[to]?.compensating) return [];
  const byAction = new Map(definition.actions.filter((a) => a.compensation).map((a) => [a.name, a.compensation!]));
  return [...completed]
    .reverse()
    .flatMap((name) => (byAction.has(name) ? [byAction.get(name)!] : []))
    .filter((name, i, all) => all.indexOf(name) === i);
}

/** A Mermaid `stateDiagram-v2` text of the definition: states, transitions (with guard and sender), final states. */
export function toMermaid(definition: WorkflowDefinition): string {
  const id = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '_');
  const lines = ['stateDiagram-v2', `    [*] --> ${id(definition.initial)}: ${definition.creation.event}`];
  for (const rule of definition.transitions) {
    for (const from of rule.from) {
      const guard = rule.guard ? ` [${rule.guard.name}]` : '';
      lines.push(`    ${id(from)} --> ${id(rule.to)}: ${rule.event}${guard} (${rule.sender})`);
    }
  }
  for (const state of finalStatesOf(definition)) lines.push(`    ${id(state)} --> [*]`);
  return `${lines.join('\n')}\n`;
}
