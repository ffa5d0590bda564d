import type { Logger } from 'pino';
import type { TimerOutcome } from '../../application/use-cases/workflow-timers.use-case.js';
import type { TimerQueue } from '../../ports/index.js';

/** What the timer runner fires timers with, and how often it looks (`createTimerRunner`). */
export interface TimerRunnerOptions {
  /** Every tenant's pending timers: when the next one is due. */
  queue: TimerQueue;
  /** Fires the timers due now (at most `limit`), each in its own transaction. */
  fireDue(limit: number): Promise<TimerOutcome[]>;
  /** For rounds that failed (the database away); the runner tries again. */
  logger: Logger;
  /**
   * The longest sleep between looks when nothing is due sooner: a timer armed since the last look,
   * on this instance or another, is seen at most this late (workflow timers are minutes to days ahead).
   * @default 1_000
   */
  maxIdleMs?: number;
  /** Timers fired per round; a full round is followed by another at once. @default 100 */
  batchSize?: number;
  /** Told of every settled timer (metrics). */
  onOutcome?(outcome: TimerOutcome): void;
}

/** The running timer loop of one instance. */
export interface TimerRunner {
  /** Starts the loop (once; a second call changes nothing). */
  start(): void;
  /** Ends the loop after the round in progress. */
  stop(): Promise<void>;
}

/**
 * The door through which time reaches the workflows: sleeps until the nearest due timer (or
 * `maxIdleMs`), fires what is due, and looks again. Every instance runs one; the claim in
 * `fireTimer` makes each timer fire once across them.
 */
export function createTimerRunner(options: TimerRunnerOptions): TimerRunner {
  const maxIdleMs = options.maxIdleMs ?? 1_000;
  const batchSize = options.batchSize ?? 100;
  let stopped = false;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function run(): Promise<void> {
    while (!stopped) {
      let waitMs = maxIdleMs;
      try {
        const outcomes = await options.fireDue(batchSize);
        for (const outcome of outcomes) options.onOutcome?.(outcome);
        if (outcomes.length >= batchSize) continue;
        const next = await options.queue.nextDueAt();
        if (next) waitMs = Math.min(maxIdleMs, Math.max(0, next.getTime() - Date.now()));
      } catch (error) {
        // The database is away (a restart, a failover): the timers wait in it; look again shortly.
        options.logger.warn({ err: error }, 'workflow timers: could not fire due timers; retrying');
      }
      if (!stopped) await sleep(waitMs);
    }
  }

  return {
    start() {
      loop ??= run();
    },
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
