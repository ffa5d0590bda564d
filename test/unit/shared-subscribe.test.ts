import { type ExecutionArgs, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { operationKey } from '../../src/transport/graphql/shared-subscribe.js';

const context = (actor: string) => ({ ctx: { tenantId: 'tenant-a', actor: { sub: actor, persona: 'ehr-backend' } } });
const keyOf = (query: string, variableValues: Record<string, unknown>, actor = 'u1') =>
  operationKey(query, { document: parse(query), variableValues, contextValue: context(actor) } as unknown as ExecutionArgs);

describe('operationKey: what makes two subscribers share an event’s execution', () => {
  const query = 'subscription S($filter: PrescriptionEventFilter, $after: String) { prescriptionEvents(filter: $filter, after: $after) { eventId } }';

  it('leaves the cursor out: subscribers resumed from different positions share executions once on the fan-out (issue #18)', () => {
    expect(keyOf(query, { after: '12' })).toBe(keyOf(query, { after: '977' }));
    expect(keyOf(query, { after: '12' })).toBe(keyOf(query, {}));
    expect(keyOf(query, { filter: { patient: 'p1' }, after: '12' })).toBe(keyOf(query, { filter: { patient: 'p1' } }));
  });

  it('keeps every other variable, the actor, and a cursor variable that is used elsewhere too', () => {
    expect(keyOf(query, { filter: { patient: 'p1' } })).not.toBe(keyOf(query, { filter: { patient: 'p2' } }));
    expect(keyOf(query, {}, 'u1')).not.toBe(keyOf(query, {}, 'u2'));
    const reused = 'subscription S($after: String) { prescriptionEvents(after: $after) { eventId medicationRequest { id note(format: $after) } } }';
    expect(keyOf(reused, { after: '12' })).not.toBe(keyOf(reused, { after: '13' }));
  });
});
