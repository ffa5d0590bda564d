/** Ports of workflow timers (CONTRACT §7, §10). */

/** A timer to arm: the instance it guards, its name in the definition, and when it is due. */
export interface TimerToArm {
  /** A new id (the runner claims and settles the timer by it). */
  id: string;
  /** Name of the workflow definition, e.g. `prescription`, `prior-authorization`. */
  workflow: string;
  /** The instance (prescription, PA) it guards. */
  instanceId: string;
  /** The timer's name in the definition, e.g. `processingServiceLevel`. */
  name: string;
  /** When it fires, unless dropped first. */
  dueAt: Date;
}

/** An armed timer that has neither fired nor been dropped. */
export interface PendingTimer extends TimerToArm {
  /** The tenant of its instance. */
  tenantId: string;
  /** When it was armed (the database's time). */
  armedAt: Date;
}

/** One tenant's timers inside its transaction: armed, dropped and settled with the changes they follow. */
export interface WorkflowTimerStore {
  /** Arms the timers (pending until settled). */
  arm(timers: readonly TimerToArm[]): Promise<void>;
  /** Settles the instance's pending timers of these names as dropped (the state they guard was left). */
  drop(instanceId: string, names: readonly string[], at: Date): Promise<void>;
  /**
   * Locks a pending timer for the rest of the transaction (`FOR UPDATE SKIP LOCKED`); `undefined`
   * when it is settled or another instance holds it — it then fires there, or has fired.
   */
  claim(id: string): Promise<PendingTimer | undefined>;
  /** Settles the timer as fired (or dropped) at `at`: it is no longer pending. */
  settle(id: string, outcome: 'fired' | 'dropped', at: Date): Promise<void>;
  /** The pending timers of these instances (inspection). */
  pendingOf(instanceIds: readonly string[]): Promise<Map<string, PendingTimer[]>>;
}

/** The timers of every tenant, for the runner that fires them (reads across tenants, like the relay). */
export interface TimerQueue {
  /** Pending timers due at `now`, oldest first. */
  due(now: Date, limit: number): Promise<Array<{ id: string; tenantId: string; dueAt: Date }>>;
  /** When the next pending timer is due; `undefined` when none is pending. */
  nextDueAt(): Promise<Date | undefined>;
  /** How many timers are pending, every tenant (metrics). */
  pendingCount(): Promise<number>;
}
