import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

export interface Received {
  eventId: string;
  type: string;
  sequence: string;
  event: string | null;
  medicationRequest: { id: string; workflowStatus: string } | null;
  medicationDispense: { id: string } | null;
  task: { id: string; code: string | null } | null;
}

export const EVENTS_QUERY = `subscription Events($filter: PrescriptionEventFilter, $after: String) {
  prescriptionEvents(filter: $filter, after: $after) {
    eventId type sequence event
    medicationRequest { id workflowStatus }
    medicationDispense { id }
    task { id code }
  }
}`;

/** A graphql-ws subscriber over a real websocket, collecting what it receives (`query` selects more fields). */
export function subscriber(url: string, token: string, variables: Record<string, unknown> = {}, query = EVENTS_QUERY) {
  const received: Received[] = [];
  /** When each of `received` arrived (Date.now()), index for index. */
  const receivedAt: number[] = [];
  const errors: Array<{ message?: string; extensions?: { code?: string } }> = [];
  let closeCode: number | undefined;
  const client: Client = createClient({
    url: `${url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    on: { closed: (event) => (closeCode = (event as { code: number }).code) },
  });
  let started!: () => void;
  const ready = new Promise<void>((resolve) => (started = resolve));
  client.on('connected', () => started());
  const dispose = client.subscribe<{ prescriptionEvents: Received }>(
    { query, variables },
    {
      next: (value) => {
        if (value.errors) errors.push(...(value.errors as typeof errors));
        if (value.data) {
          received.push(value.data.prescriptionEvents);
          receivedAt.push(Date.now());
        }
      },
      error: (error) => errors.push(...(Array.isArray(error) ? error : [error])),
      complete: () => undefined,
    },
  );
  return {
    received,
    receivedAt,
    errors,
    closeCode: () => closeCode,
    /** Resolves once the connection is acknowledged (the subscription is then being set up). */
    ready,
    async stop() {
      dispose();
      await client.dispose();
    },
  };
}
