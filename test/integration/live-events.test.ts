import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource, runMigrations } from '../../src/adapters/db/data-source.js';
import { createPostgresBus } from '../../src/adapters/events/postgres-bus.js';
import { createLiveEvents, type LiveEvent } from '../../src/application/live-events.js';
import { createTestDatabase } from '../support/test-app.js';

const logger = pino({ level: 'silent' });
let cleanup: Array<() => Promise<unknown>> = [];
let bus: ReturnType<typeof createPostgresBus>;

beforeAll(async () => {
  const database = await createTestDatabase();
  const dataSource = createDataSource({ url: database.url, poolSize: 4 });
  await dataSource.initialize();
  await runMigrations(dataSource);
  bus = createPostgresBus({ dataSource, databaseUrl: database.url, logger, pollIntervalMs: 100 });
  await bus.start();
  cleanup = [() => bus.close(), () => dataSource.destroy(), () => database.drop()];
});
afterAll(async () => {
  for (const step of cleanup) await step();
});

const publish = (tenant: string, i: number) =>
  bus.publish({
    subject: `eprescribing.medication_request.created.v1.${tenant}`,
    msgId: crypto.randomUUID(),
    data: Buffer.from(
      JSON.stringify({
        metadata: { eventId: crypto.randomUUID(), tenantId: tenant, eventType: 'eprescribing.medication_request.created.v1' },
        payload: { resource: { resourceType: 'MedicationRequest' }, n: i },
      }),
    ),
  });

describe('live fan-out', () => {
  it('cuts off a stalled subscriber when its buffer overflows; the others are not slowed', async () => {
    const live = createLiveEvents({ bus, logger });
    await live.start();
    let overflowed = 0;
    await live.subscribe({ tenantId: 'tenant-a', matches: () => true, bufferSize: 3, onOverflow: () => overflowed++ }); // never read
    const healthy = await live.subscribe({
      tenantId: 'tenant-a',
      matches: () => true,
      bufferSize: 100,
      onOverflow: () => expect.fail('the healthy subscriber overflowed'),
    });
    const other = await live.subscribe({ tenantId: 'tenant-b', matches: () => true, bufferSize: 100, onOverflow: () => undefined });
    const received: LiveEvent[] = [];
    const reading = (async () => {
      for await (const event of healthy) {
        received.push(event);
        if (received.length === 10) break;
      }
    })();
    for (let i = 0; i < 10; i++) await publish('tenant-a', i);
    await reading;
    expect(received.map((e) => Number(e.envelope.payload.n))).toEqual([...Array(10).keys()]);
    expect(overflowed).toBe(1);
    expect(live.stats().dropped).toBe(1);
    expect(live.stats().subscribers).toBe(1); // the cut-off one is gone, the healthy one stopped reading; tenant-b remains
    await other.close();
    await live.stop();
  });

  it('a resumed subscriber waits for room instead of being cut off while it replays', async () => {
    const first = await publish('tenant-c', 0);
    for (let i = 1; i < 50; i++) await publish('tenant-c', i);
    const live = createLiveEvents({ bus, logger });
    await live.start();
    const resumed = await live.subscribe({
      tenantId: 'tenant-c',
      matches: () => true,
      after: first.seq - 1,
      bufferSize: 5,
      onOverflow: () => expect.fail('a replay must not overflow'),
    });
    const seen: number[] = [];
    for await (const event of resumed) {
      seen.push(Number(event.envelope.payload.n));
      await new Promise((r) => setTimeout(r, 2)); // a slow reader
      if (seen.length === 50) break;
    }
    expect(seen).toEqual([...Array(50).keys()]);
    await live.stop();
  });
  it('resumed subscribers replay until they meet the fan-out, then share it: each event once, in order, with writes racing the hand-over (issue #18)', async () => {
    const live = createLiveEvents({ bus, logger });
    await live.start();
    const first = await publish('tenant-d', 0);
    for (let i = 1; i < 20; i++) await publish(i % 3 === 1 ? 'tenant-e' : 'tenant-d', i);
    await expect.poll(() => live.lag(), { timeout: 10_000 }).toBe(0); // the fan-out is past them
    const cursors = Array.from({ length: 30 }, (_, k) => first.seq - 1 + (k % 20));
    const subscriptions = await Promise.all(
      cursors.map((after) =>
        live.subscribe({ tenantId: 'tenant-d', matches: () => true, after, bufferSize: 100, onOverflow: () => expect.fail('a subscriber overflowed') }),
      ),
    );
    expect(live.stats().subscribers).toBe(30); // on the fan-out from the start, its events held while they replay
    const writing = (async () => {
      for (let i = 20; i < 60; i++) await publish(i % 3 === 1 ? 'tenant-e' : 'tenant-d', i);
    })();
    const received = await Promise.all(
      subscriptions.map(async (subscription) => {
        const got: LiveEvent[] = [];
        for await (const event of subscription) {
          got.push(event);
          if (event.envelope.payload.n === 59) break;
        }
        return got;
      }),
    );
    await writing;
    for (const [k, got] of received.entries()) {
      const expected = Array.from({ length: 60 }, (_, n) => n).filter((n) => n % 3 !== 1 && first.seq + n > cursors[k]);
      expect(got.map((e) => e.envelope.payload.n)).toEqual(expected);
      expect(got.every((e) => e.envelope.metadata.tenantId === 'tenant-d')).toBe(true);
    }
    expect(live.stats().replaying).toBe(0); // each closed its replay consumer once it met the fan-out
    await live.stop();
  });
});
