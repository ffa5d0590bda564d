/**
 * The ports of rxgate: what use-cases need from the outside world, one file per family. Adapters in
 * `src/adapters` implement them; use-cases and transports import only from here and from `src/domain`.
 */
export * from './audit.js';
export * from './bus-commands.js';
export * from './clock.js';
export * from './event-bus.js';
export * from './identity.js';
export * from './operations.js';
export * from './pharmacy-directory.js';
export * from './rate-limiter.js';
export * from './storage.js';
export * from './unit-of-work.js';
export * from './validation.js';
export * from './workflow-actions.js';
export * from './workflow-timers.js';
