import { EVENT_TYPES } from './event-catalog.js';
import type { RequestContext } from './identity.js';

/** Event types the code emits (CONTRACT §6), from `EVENT_CATALOG`. The subject on the bus is `{eventType}.{tenantId}`. */
export { EVENT_TYPES };
export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

export interface EventMetadata {
  eventId: string;
  eventType: EventType;
  eventSource: 'rxgate';
  timestamp: string;
  /** Assigned when the event is published, in outbox order; empty until then. */
  sequence: string;
  tenantId: string;
  correlationId: string;
  causationId: string | null;
  actor: { sub: string; persona: string };
  schemaVersion: 1;
}

export interface EventPayload {
  resource: { resourceType: string; id?: string; [key: string]: unknown };
  event?: string;
  from?: string | null;
  to?: string;
  reason?: string | null;
  /**
   * The prescription (its FHIR resource) as of the event, on events about something else of it (a
   * dispense, a Task): live subscribers get it from the event, not from a read of the database.
   */
  medicationRequest?: { resourceType: 'MedicationRequest'; id?: string; [key: string]: unknown };
  /** The prescription the event concerns, its patient and pharmacy: what subscribers filter on. */
  medicationRequestId?: string;
  patientId?: string | null;
  pharmacyId?: string | null;
  [key: string]: unknown;
}

export interface EventEnvelope {
  metadata: EventMetadata;
  payload: EventPayload;
}

export function buildEvent(
  ctx: RequestContext,
  eventType: EventType,
  payload: EventPayload,
  ids: { eventId: string; timestamp: Date; causationId?: string },
): EventEnvelope {
  return {
    metadata: {
      eventId: ids.eventId,
      eventType,
      eventSource: 'rxgate',
      timestamp: ids.timestamp.toISOString(),
      sequence: '',
      tenantId: ctx.tenantId,
      correlationId: ctx.correlationId,
      causationId: ids.causationId ?? null,
      actor: { sub: ctx.actor.sub, persona: ctx.actor.persona },
      schemaVersion: 1,
    },
    payload,
  };
}

/** The bus subject of an event (CONTRACT §6). */
export const subjectOf = (metadata: Pick<EventMetadata, 'eventType' | 'tenantId'>): string => `${metadata.eventType}.${metadata.tenantId}`;
