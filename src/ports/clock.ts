/** Port of time. */

/** Where use-cases read the current time (unit tests move a fake one by hand). */
export interface Clock {
  /** The current time. */
  now(): Date;
}
