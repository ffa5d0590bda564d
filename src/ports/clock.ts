/** Port of time. */

export interface Clock {
  now(): Date;
}
