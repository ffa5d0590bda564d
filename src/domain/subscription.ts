import type { Issue } from './errors.js';
import { isObject } from './fhir.js';

export const SUBSCRIPTION_CURSOR_EXTENSION = 'urn:rxgate:extension:subscription-cursor';
export const SUBSCRIBABLE_TYPES = ['MedicationRequest', 'MedicationDispense', 'Task'] as const;
export type SubscribableType = (typeof SUBSCRIBABLE_TYPES)[number];
export const SUBSCRIPTION_STATUSES = ['requested', 'active', 'error', 'off'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

export type SubscriptionResource = fhir4.Subscription;

export interface SubscriptionRecord {
  id: string;
  tenantId: string;
  versionId: number;
  lastUpdated: Date;
  status: SubscriptionStatus;
  criteria: string;
  error: string | null;
  /** Stream position of the last event delivered. */
  cursor: string | null;
  resource: SubscriptionResource;
}

/** `MedicationRequest?patient=Patient/p1` → type and query; `undefined` when it is not a search on a subscribable type. */
export function splitCriteria(criteria: string): { type: SubscribableType; query: string } | undefined {
  const mark = criteria.indexOf('?');
  const type = mark < 0 ? criteria : criteria.slice(0, mark);
  if (!(SUBSCRIBABLE_TYPES as readonly string[]).includes(type)) return undefined;
  return { type: type as SubscribableType, query: mark < 0 ? '' : criteria.slice(mark + 1) };
}

/** R4 Subscription structure and the gateway's rules: a search on a subscribable type, delivered over a websocket. */
export function validateSubscription(input: unknown): Issue[] {
  if (!isObject(input)) return [{ expression: 'Subscription', diagnostics: 'The body must be a JSON object holding a Subscription.' }];
  const issues: Issue[] = [];
  const problem = (expression: string, diagnostics: string) => issues.push({ expression, diagnostics });
  if (input.resourceType !== 'Subscription') problem('Subscription.resourceType', "resourceType must be 'Subscription'.");
  if (input.status !== undefined && !(SUBSCRIPTION_STATUSES as readonly string[]).includes(String(input.status)))
    problem('Subscription.status', `status must be one of ${SUBSCRIPTION_STATUSES.join(', ')}.`);
  if (typeof input.reason !== 'string' || input.reason.trim() === '') problem('Subscription.reason', 'reason is required (FHIR R4).');
  if (typeof input.criteria !== 'string' || !splitCriteria(input.criteria)) {
    problem('Subscription.criteria', `criteria must be a search on ${SUBSCRIBABLE_TYPES.join(', ')}, e.g. MedicationRequest?patient=Patient/p1.`);
  }
  const channel = input.channel;
  if (!isObject(channel)) problem('Subscription.channel', 'channel is required: { "type": "websocket" }.');
  else if (channel.type !== 'websocket') {
    problem(
      'Subscription.channel.type',
      `channel type '${String(channel.type)}' is not offered: live delivery is over websockets only (no rest-hook, email, sms or message). Use "websocket" and bind on /fhir/websocket.`,
    );
  }
  return issues;
}
