import type { WorkflowEvent, WorkflowState } from '../../src/domain/index.js';
import { TransitionDocument, type PrescriptionEvent } from '../generated/graphql.js';
import { prescription } from './fixtures.js';
import { graphql } from './graphql.js';
import { request } from './http.js';

/** States a client can reach alone (CONTRACT §3); `refillable` needs repeats and `expired` time. */
export type ReachableState = Exclude<WorkflowState, 'refillable' | 'expired'>;

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

/** Events a client sends (`expire` is the gateway's own). */
export type ClientEvent = Exclude<WorkflowEvent, 'expire'>;

export const PERSONA_OF: Record<ClientEvent, 'ehr-backend' | 'pharmacy-backend'> = {
  approve: 'ehr-backend',
  reject: 'ehr-backend',
  cancel: 'ehr-backend',
  process: 'pharmacy-backend',
  dispense: 'pharmacy-backend',
  complete: 'pharmacy-backend',
  fail: 'pharmacy-backend',
};

export const gqlEvent = (event: WorkflowEvent) => event.toUpperCase() as PrescriptionEvent;

/** Creates a prescription over FHIR and moves it to `state` over GraphQL; answers its id. */
export async function prescriptionIn(url: string, state: ReachableState, tokens: { ehr: string; pharmacy: string }, patient?: string): Promise<string> {
  const created = await request(`${url}/fhir/MedicationRequest`, { token: tokens.ehr, body: prescription({ patient }) });
  if (created.status !== 201) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
  for (const event of PATH_TO[state]) {
    const token = PERSONA_OF[event] === 'ehr-backend' ? tokens.ehr : tokens.pharmacy;
    const moved = await graphql(url, TransitionDocument, { id: created.body.id, event: gqlEvent(event) }, token);
    if (moved.errors) throw new Error(`${event} failed: ${JSON.stringify(moved.errors)}`);
  }
  return created.body.id;
}
