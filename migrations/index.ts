import { InitialSchema1763700000000 } from './1763700000000-initial-schema.js';
import { EmbeddedBus1763700000001 } from './1763700000001-embedded-bus.js';
import { Workflow1763700000002 } from './1763700000002-workflow.js';
import { LiveEvents1763700000003 } from './1763700000003-live-events.js';
import { RateLimits1763700000004 } from './1763700000004-rate-limits.js';
import { TenantSecurity1763700000005 } from './1763700000005-tenant-security.js';
import { TraceContext1763700000006 } from './1763700000006-trace-context.js';
import { DispensePerformers1763700000007 } from './1763700000007-dispense-performers.js';
import { WorkflowEngine1763700000010 } from './1763700000010-workflow-engine.js';
import { BusCommands1763700000020 } from './1763700000020-bus-commands.js';
import { PriorAuthorization1763700000030 } from './1763700000030-prior-authorization.js';

/** Every migration, in order. Listed explicitly so the same list serves tsc output, vitest and the CLI. */
export const MIGRATIONS = [
  InitialSchema1763700000000,
  EmbeddedBus1763700000001,
  Workflow1763700000002,
  LiveEvents1763700000003,
  RateLimits1763700000004,
  TenantSecurity1763700000005,
  TraceContext1763700000006,
  DispensePerformers1763700000007,
  WorkflowEngine1763700000010,
  BusCommands1763700000020,
  PriorAuthorization1763700000030,
];
