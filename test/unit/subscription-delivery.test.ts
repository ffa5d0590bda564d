import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createLiveEvents, type LiveEvent } from '../../src/application/live-events.js';
import { openSubscriptionDelivery, type SubscriptionDeliverySink } from '../../src/application/use-cases/subscription-delivery.use-case.js';
import { DomainError, EVENT_TYPES, type RequestContext, type SubscriptionRecord } from '../../src/domain/index.js';
import { createMemoryEventBus } from '../support/memory-event-bus.js';

// The delivery of FHIR Subscriptions to one connection, against an in-memory bus and fake use-cases.

const ctx: RequestContext = { tenantId: 'tenant-a', actor: { sub: 'u', persona: 'pharmacy-backend' }, correlationId: 'corr-1' };

/** A fake criteria language: `patient=X` matches resources whose `patient` is X; `broken` cannot be compiled. */
const compileCriteria = (criteria: string) => {
  if (criteria === 'broken') throw new DomainError('BAD_REQUEST', "unknown search parameter 'broken'");
  const patient = criteria.split('=')[1];
  return (resource: Record<string, unknown>) => resource.patient === patient;
};

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function setUp(subscriptions: Record<string, Partial<SubscriptionRecord> | Error>) {
  const bus = createMemoryEventBus();
  const live = createLiveEvents({ bus, logger: pino({ level: 'silent' }) });
  await live.start();
  closers.push(() => live.stop());
  const calls = { failed: [] as Array<[string, string]>, cursors: [] as Array<[string, string]>, internal: [] as unknown[] };
  const useCases = {
    async getSubscription(_ctx: RequestContext, id: string) {
      const found = subscriptions[id];
      if (found instanceof Error) throw found;
      if (!found) throw new DomainError('NOT_FOUND', `Subscription/${id} does not exist.`);
      return { id, status: 'active', ...found } as SubscriptionRecord;
    },
    async failSubscription(_ctx: RequestContext, id: string, reason: string) {
      calls.failed.push([id, reason]);
    },
    async recordSubscriptionCursor(_ctx: RequestContext, id: string, cursor: string) {
      calls.cursors.push([id, cursor]);
    },
  };
  const heard: string[] = [];
  let cutOff: string | undefined;
  const sink: SubscriptionDeliverySink = {
    bound: (id) => heard.push(`bound ${id}`),
    notify: (id, event: LiveEvent) => heard.push(`ping ${id} ${event.seq}`),
    failed: (id, error) => heard.push(`error ${id} ${error.code} ${error.message}`),
    cutOff: (reason) => (cutOff = reason),
  };
  const delivery = openSubscriptionDelivery(
    { useCases, live, bufferSize: 100, compileCriteria, onInternalError: (error) => calls.internal.push(error), cursorWriteIntervalMs: 60_000 },
    ctx,
    sink,
  );
  closers.unshift(() => delivery.close());

  const publish = async (eventType: string, payload: Record<string, unknown>): Promise<number> => {
    const envelope = { metadata: { eventId: randomUUID(), eventType, tenantId: ctx.tenantId }, payload };
    const ack = await bus.publish({ subject: `${eventType}.${ctx.tenantId}`, msgId: envelope.metadata.eventId, data: Buffer.from(JSON.stringify(envelope)) });
    return ack.seq;
  };
  return {
    delivery,
    heard,
    calls,
    cutOff: () => cutOff,
    /** A change of a prescription of `patient`; answers its stream position. */
    change: (patient: string) => publish(EVENT_TYPES.medicationRequestCreated, { resource: { resourceType: 'MedicationRequest', patient } }),
    /** A platform-admin's `$replay` request (the event `replaySubscription` commits). */
    replay: (subscriptionId: string, from: number) =>
      publish(EVENT_TYPES.subscriptionReplayed, { resource: { resourceType: 'Subscription' }, subscriptionId, from: String(from) }),
  };
}

const pings = (heard: string[], id: string) => heard.filter((line) => line.startsWith(`ping ${id} `));

describe('openSubscriptionDelivery', () => {
  it('binds, then notifies each live event matching the criteria, and not the others nor replay requests', async () => {
    const s = await setUp({ a: { criteria: 'patient=p1' } });
    s.delivery.bind('a');
    await expect.poll(() => s.heard).toEqual(['bound a']);
    const first = await s.change('p1');
    await s.change('p2');
    await s.replay('other', 0);
    const last = await s.change('p1');
    await expect.poll(() => s.heard).toEqual(['bound a', `ping a ${first}`, `ping a ${last}`]);
  });

  it('delivers one replay after another on one connection, each ending where it was requested, whether or not anything matched', async () => {
    const s = await setUp({ a: { criteria: 'patient=p1' }, b: { criteria: 'patient=p2' }, none: { criteria: 'patient=nobody' } });
    for (const id of ['a', 'b', 'none']) s.delivery.bind(id);
    await expect.poll(() => s.heard.filter((line) => line.startsWith('bound')).length).toBe(3);
    const [x, y, z] = [await s.change('p1'), await s.change('p1'), await s.change('p2')];
    await expect.poll(() => s.heard.length).toBe(6);

    await s.replay('a', 0); // both of a's events again
    await s.replay('a', x); // only the second
    await s.replay('none', 0); // nothing matches: ends at once
    await s.replay('a', 1_000); // from beyond the request: nothing to deliver
    await s.replay('b', 0); // the fence: replays run in order, so everything before has ended
    await expect.poll(() => pings(s.heard, 'b')).toEqual([`ping b ${z}`, `ping b ${z}`]);
    expect(pings(s.heard, 'a')).toEqual([`ping a ${x}`, `ping a ${y}`, `ping a ${x}`, `ping a ${y}`, `ping a ${y}`]);
    expect(pings(s.heard, 'none')).toEqual([]);
    expect(s.heard.filter((line) => line.startsWith('error'))).toEqual([]);
  });

  it('writes the cursor of the last live event, and a replay does not move it back', async () => {
    const s = await setUp({ a: { criteria: 'patient=p1' } });
    s.delivery.bind('a');
    await expect.poll(() => s.heard).toEqual(['bound a']);
    await s.change('p1');
    const last = await s.change('p1');
    await s.replay('a', 0);
    const fence = await s.replay('a', last - 1); // delivers `last` again, after the first replay ended
    await expect.poll(() => pings(s.heard, 'a').length).toBe(5);
    expect(fence).toBeGreaterThan(last);
    await s.delivery.close();
    expect(s.calls.cursors).toEqual([['a', String(last)]]);
  });

  it('binds a Subscription once however often it is asked', async () => {
    const s = await setUp({ a: { criteria: 'patient=p1' } });
    s.delivery.bind('a');
    s.delivery.bind('a');
    await expect.poll(() => s.heard).toEqual(['bound a']);
    s.delivery.bind('a'); // already bound: said again, not bound twice
    const seq = await s.change('p1');
    await expect.poll(() => s.heard).toEqual(['bound a', 'bound a', `ping a ${seq}`]);
  });

  it('puts a Subscription whose criteria can no longer be evaluated in error, and says why', async () => {
    const s = await setUp({ a: { criteria: 'broken' }, off: { criteria: 'patient=p1', status: 'off' } });
    s.delivery.bind('a');
    s.delivery.bind('off');
    s.delivery.bind('missing');
    await expect.poll(() => s.heard.length).toBe(3);
    expect(s.heard.sort()).toEqual([
      "error a BAD_REQUEST criteria can no longer be evaluated: unknown search parameter 'broken'",
      'error missing NOT_FOUND Subscription/missing does not exist.',
      'error off BAD_REQUEST subscription is off',
    ]);
    expect(s.calls.failed).toEqual([['a', "criteria can no longer be evaluated: unknown search parameter 'broken'"]]);
  });

  it('answers an unexpected error with the correlation id to quote, never its text, and reports it', async () => {
    const secret = new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2');
    const s = await setUp({ a: secret });
    s.delivery.bind('a');
    await expect.poll(() => s.heard).toEqual(['error a INTERNAL Binding failed unexpectedly; quote correlation id corr-1 when reporting it.']);
    expect(s.calls.internal).toEqual([secret]);
  });
});
