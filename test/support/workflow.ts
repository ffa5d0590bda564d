import type { WorkflowEvent } from '../../src/domain/index.js';
import { type PrescriptionEvent, TransitionDocument } from '../generated/graphql.js';
import { prescription } from './fixtures.js';
import { graphql } from './graphql.js';
import { request } from './http.js';
import { PATH_TO, PERSONA_OF, type ReachableState } from './workflow-paths.js';

export { type ClientEvent, PATH_TO, PERSONA_OF, type ReachableState } from './workflow-paths.js';

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
