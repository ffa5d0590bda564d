import { DomainError } from './errors.js';
import type { Persona, RequestContext } from './identity.js';
import { PRESCRIPTION_WORKFLOWS } from './workflows/prescription.js';
import { PRIOR_AUTHORIZATION_WORKFLOWS } from './workflows/prior-authorization.js';

/**
 * Write permissions of CONTRACT §1 — the only place that says which persona may write what.
 * Reads are open to every persona of a licensed tenant.
 */
export const WRITE_PERMISSIONS = {
  'medication-request.create': ['ehr-backend'],
  'medication-request.update': ['ehr-backend'],
  'medication-dispense.write': ['pharmacy-backend'],
  'subscription.register': ['ehr-backend', 'pharmacy-backend'],
  'subscription.replay': ['platform-admin'],
  'dead-letter.manage': ['platform-admin'],
  // Not a write, but the one read kept from ordinary personas: the audit trail names every actor.
  'audit.read': ['platform-admin'],
} as const satisfies Record<string, readonly Persona[]>;

export type WriteAction = keyof typeof WRITE_PERMISSIONS;

/** Each action in words, for refusals and the reference docs. */
export const ACTION_LABEL: Readonly<Record<WriteAction, string>> = {
  'medication-request.create': 'create a MedicationRequest',
  'medication-request.update': 'update a MedicationRequest',
  'medication-dispense.write': 'write a MedicationDispense',
  'subscription.register': 'register a Subscription',
  'subscription.replay': 'replay a Subscription',
  'dead-letter.manage': 'list or replay dead letters',
  'audit.read': 'read the audit trail',
};

export function personaMay(persona: Persona | 'system', action: WriteAction): boolean {
  return (WRITE_PERMISSIONS[action] as readonly string[]).includes(persona);
}

/** Throws `FORBIDDEN_WRITE_PERSONA` unless the caller's persona may perform `action`. */
export function assertPersonaMay(ctx: Pick<RequestContext, 'actor'>, action: WriteAction): void {
  if (personaMay(ctx.actor.persona, action)) return;
  const allowed = (WRITE_PERMISSIONS[action] as readonly Persona[]).join(', ');
  throw new DomainError('FORBIDDEN_WRITE_PERSONA', `Persona '${ctx.actor.persona}' may not ${ACTION_LABEL[action]}; allowed: ${allowed}.`);
}

const personasOf = (...actions: WriteAction[]): readonly Persona[] => [...new Set(actions.flatMap((a) => WRITE_PERMISSIONS[a] as readonly Persona[]))];

/**
 * Who writes each resource type at all, whatever the interaction: the actions above, and for a Task
 * the personas of the workflow events. A persona outside the list is refused (403) before the
 * question whether the interaction is offered (405) is asked (CONTRACT §2 order). Types nobody
 * writes (the pharmacy directory, the audit trail) are absent: there every write is simply not offered.
 */
export const RESOURCE_WRITERS: Readonly<Record<string, readonly Persona[]>> = {
  MedicationRequest: personasOf('medication-request.create', 'medication-request.update'),
  MedicationDispense: personasOf('medication-dispense.write'),
  Task: [
    ...new Set([
      ...PRESCRIPTION_WORKFLOWS.flatMap((d) => d.transitions.flatMap((t) => ('task' in t && t.task && t.sender !== 'system' ? [t.sender as Persona] : []))),
      // A prior authorization is a Task moved by PATCH (CONTRACT §9): its senders write it.
      ...PRIOR_AUTHORIZATION_WORKFLOWS.flatMap((d) => d.transitions.flatMap((t) => (t.sender !== 'system' ? [t.sender as Persona] : []))),
    ]),
  ],
  Subscription: personasOf('subscription.register', 'subscription.replay'),
};

/** Throws `FORBIDDEN_WRITE_PERSONA` when the caller's persona writes no `resourceType` at all. */
export function assertPersonaWritesResource(ctx: Pick<RequestContext, 'actor'>, resourceType: string): void {
  const writers = RESOURCE_WRITERS[resourceType];
  if (!writers || (writers as readonly string[]).includes(ctx.actor.persona)) return;
  throw new DomainError('FORBIDDEN_WRITE_PERSONA', `Persona '${ctx.actor.persona}' may not write a ${resourceType}; allowed: ${writers.join(', ')}.`);
}
