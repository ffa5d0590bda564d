import type { WorkflowEvent, WorkflowState } from '../../src/domain/index.js';

/** States a client can reach alone (CONTRACT §3); `refillable` needs repeats and `expired` time. */
export type ReachableState = Exclude<WorkflowState, 'refillable' | 'expired'>;

/** Events a client sends (`expire` is the gateway's own). */
export type ClientEvent = Exclude<WorkflowEvent, 'expire'>;

/** Events that lead from a new prescription to each state (CONTRACT §3). */
export const PATH_TO: Record<ReachableState, ClientEvent[]> = {
  requested: [],
  approved: ['approve'],
  rejected: ['reject'],
  cancelled: ['cancel'],
  processing: ['approve', 'process'],
  failed: ['approve', 'process', 'fail'],
  dispensed: ['approve', 'process', 'dispense'],
  completed: ['approve', 'process', 'dispense', 'complete'],
};

/** The persona that sends each client event (CONTRACT §1). */
export const PERSONA_OF: Record<ClientEvent, 'ehr-backend' | 'pharmacy-backend'> = {
  approve: 'ehr-backend',
  reject: 'ehr-backend',
  cancel: 'ehr-backend',
  process: 'pharmacy-backend',
  dispense: 'pharmacy-backend',
  complete: 'pharmacy-backend',
  fail: 'pharmacy-backend',
};
