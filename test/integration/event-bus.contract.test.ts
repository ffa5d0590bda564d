import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createDataSource, runMigrations } from '../../src/adapters/db/data-source.js';
import { createNatsBus } from '../../src/adapters/events/nats-bus.js';
import { createPostgresBus } from '../../src/adapters/events/postgres-bus.js';
import type { DeliveredMessage, EventBus } from '../../src/ports/index.js';
import { createTestDatabase, natsSettings } from '../support/test-app.js';

/** One contract, every adapter: the embedded bus must behave as JetStream does for rxgate. */
type Opened = { bus: EventBus; cleanup: () => Promise<void>; reopen: () => Promise<EventBus> };

/** Opens a bus, and more on demand (a restarted instance); closes them all, then the rest, at cleanup. */
async function reopenable(open: () => Promise<EventBus>, release: () => Promise<unknown>): Promise<Opened> {
  const opened: EventBus[] = [await open()];
  return {
    bus: opened[0],
    reopen: async () => {
      const bus = await open();
      opened.push(bus);
      return bus;
    },
    cleanup: async () => {
      for (const bus of opened) await bus.close();
      await release();
    },
  };
}

const adapters: Array<[string, () => Promise<Opened>]> = [
  [
    'embedded (PostgreSQL)',
    async () => {
      const database = await createTestDatabase();
      const dataSource = createDataSource({ url: database.url, poolSize: 4 });
      await dataSource.initialize();
      await runMigrations(dataSource);
      const open = async () => {
        const bus = createPostgresBus({ dataSource, databaseUrl: database.url, logger: pino({ level: 'silent' }), pollIntervalMs: 200, redeliveryDelayMs: 50 });
        await bus.start();
        return bus;
      };
      return reopenable(open, async () => {
        await dataSource.destroy();
        await database.drop();
      });
    },
  ],
];
if (inject('natsUrl')) {
  adapters.push([
    'NATS JetStream',
    async () => {
      const nats = natsSettings();
      return reopenable(
        () => createNatsBus({ url: nats.env.NATS_URL, stream: nats.env.NATS_STREAM, subjectPrefix: nats.env.NATS_SUBJECT_PREFIX, redeliveryDelayMs: 50 }),
        () => nats.cleanup(),
      );
    },
  ]);
}

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (m: DeliveredMessage) => new TextDecoder().decode(m.data);

function collector(count: number) {
  const received: DeliveredMessage[] = [];
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return {
    received,
    done,
    handler: (m: DeliveredMessage) => {
      received.push(m);
      if (received.length === count) resolve();
    },
  };
}

describe.each(adapters)('EventBus contract: %s', (_name, make) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });
  const openAll = async () => {
    const opened = await make();
    cleanups.push(opened.cleanup);
    return opened;
  };
  const open = async () => (await openAll()).bus;
  const subject = (kind: string) => `eprescribing.medication_request.${kind}.v1.tenant-${randomBytes(3).toString('hex')}`;

  it('delivers in publish order to a filtered subscriber', async () => {
    const bus = await open();
    const s = subject('created');
    const c = collector(20);
    const sub = await bus.subscribe(s, c.handler);
    for (let i = 0; i < 20; i++) await bus.publish({ subject: s, msgId: crypto.randomUUID(), data: encode(String(i)) });
    await bus.publish({ subject: subject('other'), msgId: crypto.randomUUID(), data: encode('x') });
    await c.done;
    expect(c.received.map(decode)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    const seqs = c.received.map((m) => m.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    await sub.close();
  });

  it('replays a backlog in stream order, across digit boundaries of the sequence (9 → 10 → 100)', async () => {
    const bus = await open();
    const s = subject('created');
    const acks = [];
    for (let i = 0; i < 120; i++) acks.push(await bus.publish({ subject: s, msgId: crypto.randomUUID(), data: encode(String(i)) }));
    const c = collector(120);
    const sub = await bus.subscribe(s, c.handler, { afterSeq: acks[0].seq - 1 });
    await c.done;
    expect(c.received.map(decode)).toEqual(Array.from({ length: 120 }, (_, i) => String(i)));
    await sub.close();
  });

  it('drops a second publish with the same message id', async () => {
    const bus = await open();
    const s = subject('updated');
    const id = crypto.randomUUID();
    const first = await bus.publish({ subject: s, msgId: id, data: encode('once') });
    const second = await bus.publish({ subject: s, msgId: id, data: encode('once') });
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.seq).toBe(first.seq);
    const c = collector(2);
    const sub = await bus.subscribe(s, c.handler, { afterSeq: first.seq - 1 });
    await bus.publish({ subject: s, msgId: crypto.randomUUID(), data: encode('after') });
    await c.done;
    expect(c.received.map(decode)).toEqual(['once', 'after']);
    await sub.close();
  });

  it('publishes a batch in its order, a repeat inside it dropped and every message after it still kept in order', async () => {
    const bus = await open();
    const s = subject('created');
    const repeated = crypto.randomUUID();
    const before = await bus.publish({ subject: s, msgId: repeated, data: encode('before') });
    const batch = Array.from({ length: 30 }, (_, i) => ({ subject: s, msgId: i === 10 ? repeated : crypto.randomUUID(), data: encode(`b${i}`) }));
    const acks = await bus.publishAll(batch);
    expect(acks).toHaveLength(30);
    expect(acks[10]).toEqual({ seq: before.seq, duplicate: true });
    const kept = acks.filter((_, i) => i !== 10);
    expect(kept.every((a) => !a.duplicate)).toBe(true);
    expect(kept.map((a) => a.seq)).toEqual(kept.map((a) => a.seq).sort((a, b) => a - b));
    expect(await bus.publishAll([])).toEqual([]);

    const c = collector(30);
    const sub = await bus.subscribe(s, c.handler, { afterSeq: before.seq - 1 });
    await c.done;
    expect(c.received.map(decode)).toEqual(['before', ...batch.filter((_, i) => i !== 10).map((m) => new TextDecoder().decode(m.data))]);
    await sub.close();

    // A message twice in one batch: kept once, the second answered as the first's duplicate.
    const twice = crypto.randomUUID();
    const inner = await bus.publishAll([
      { subject: s, msgId: twice, data: encode('once') },
      { subject: s, msgId: twice, data: encode('again') },
    ]);
    expect(inner).toEqual([
      { seq: inner[0].seq, duplicate: false },
      { seq: inner[0].seq, duplicate: true },
    ]);
  });

  it('delivers the headers a message was published with (the trace context), and none to one published without', async () => {
    const bus = await open();
    const s = subject('created');
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const first = await bus.publish({ subject: s, msgId: crypto.randomUUID(), data: encode('traced'), headers: { traceparent } });
    await bus.publish({ subject: s, msgId: crypto.randomUUID(), data: encode('plain') });
    const c = collector(2);
    const sub = await bus.subscribe(s, c.handler, { afterSeq: first.seq - 1 });
    await c.done;
    expect(c.received.map((m) => [decode(m), m.headers])).toEqual([
      ['traced', { traceparent }],
      ['plain', undefined],
    ]);
    await sub.close();
  });

  it('replays from a stream position, then continues live without a gap', async () => {
    const bus = await open();
    const s = subject('status_changed');
    const acks = [];
    for (let i = 0; i < 5; i++) acks.push(await bus.publish({ subject: s, msgId: crypto.randomUUID(), data: encode(`old-${i}`) }));
    const c = collector(5);
    const sub = await bus.subscribe(s, c.handler, { afterSeq: acks[1].seq });
    await bus.publish({ subject: s, msgId: crypto.randomUUID(), data: encode('new-0') });
    await bus.publish({ subject: s, msgId: crypto.randomUUID(), data: encode('new-1') });
    await c.done;
    expect(c.received.map(decode)).toEqual(['old-2', 'old-3', 'old-4', 'new-0', 'new-1']);
    await sub.close();
  });

  it('a durable consumer resumes after a restart where it acknowledged, and gets a failed message again', async () => {
    const { bus, reopen } = await openAll();
    const s = subject('cancelled');
    const name = `contract-${randomBytes(3).toString('hex')}`;
    const first = collector(2);
    let failures = 0;
    const sub = await bus.subscribe(
      s,
      (m) => {
        if (decode(m) === 'm1' && failures++ < 2) throw new Error('not yet');
        first.handler(m);
      },
      { durable: name },
    );
    for (const text of ['m0', 'm1']) await bus.publish({ subject: s, msgId: crypto.randomUUID(), data: encode(text) });
    await first.done;
    expect(first.received.map(decode)).toEqual(['m0', 'm1']);
    expect(failures).toBe(3);
    await sub.close();

    // Published while no instance consumes; a restarted instance takes up from the acknowledged position.
    for (const text of ['m2', 'm3']) await bus.publish({ subject: s, msgId: crypto.randomUUID(), data: encode(text) });
    const restarted = await reopen();
    const second = collector(2);
    const again = await restarted.subscribe(s, second.handler, { durable: name });
    await second.done;
    expect(second.received.map(decode)).toEqual(['m2', 'm3']);
    await again.close();
  });

  it('a durable shared by two instances hands out one message at a time, in stream order, a failing one holding back those behind it', async () => {
    const { bus, reopen } = await openAll();
    const other = await reopen();
    const s = subject('dispensed');
    const name = `contract-${randomBytes(3).toString('hex')}`;
    const handled: string[] = [];
    let inFlight = 0;
    let most = 0;
    let failures = 0;
    const done = collector(6);
    const handler = () => async (m: DeliveredMessage) => {
      inFlight++;
      most = Math.max(most, inFlight);
      try {
        // Handlers that take a while: a second message handed out meanwhile would overlap this one.
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (decode(m) === 'm2' && failures++ < 2) throw new Error('not yet');
        handled.push(decode(m));
        done.handler(m);
      } finally {
        inFlight--;
      }
    };
    const subs = [await bus.subscribe(s, handler(), { durable: name }), await other.subscribe(s, handler(), { durable: name })];
    for (let i = 0; i < 6; i++) await bus.publish({ subject: s, msgId: crypto.randomUUID(), data: encode(`m${i}`) });
    await done.done;
    expect(handled).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    expect(most).toBe(1);
    expect(failures).toBe(3);
    for (const sub of subs) await sub.close();
  });

  it('reports a consumer’s lag: matching messages not yet handled, durable or not, back to 0 once handled', async () => {
    const bus = await open();
    for (const durable of [undefined, `lag-${randomBytes(3).toString('hex')}`]) {
      const s = subject('lagging');
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const c = collector(3);
      const sub = await bus.subscribe(
        s,
        async (m) => {
          await gate;
          c.handler(m);
        },
        durable ? { durable } : {},
      );
      expect(await sub.lag(), `${durable ?? 'ephemeral'} before any message`).toBe(0);
      for (let i = 0; i < 3; i++) await bus.publish({ subject: s, msgId: crypto.randomUUID(), data: encode(`m${i}`) });
      await bus.publish({ subject: subject('other'), msgId: crypto.randomUUID(), data: encode('not mine') });
      // The first is being handled (held at the gate), the others wait: all three are lag.
      await expect.poll(() => sub.lag(), { timeout: 10_000, message: durable ?? 'ephemeral' }).toBe(3);
      release();
      await c.done;
      await expect.poll(() => sub.lag(), { timeout: 10_000, message: durable ?? 'ephemeral' }).toBe(0);
      await sub.close();
    }
  });

  it('answers ping while open', async () => {
    const bus = await open();
    expect(await bus.ping()).toBe(true);
  });
});

describe('embedded bus: waking and closing', () => {
  /** A bus that looks an hour apart unless woken: a wake it lost would hold a test past its timeout. */
  async function withSlowPollingBus(body: (bus: EventBus) => Promise<void>): Promise<void> {
    const database = await createTestDatabase();
    const dataSource = createDataSource({ url: database.url, poolSize: 4 });
    await dataSource.initialize();
    await runMigrations(dataSource);
    const bus = createPostgresBus({ dataSource, databaseUrl: database.url, logger: pino({ level: 'silent' }), pollIntervalMs: 3_600_000 });
    await bus.start();
    try {
      await body(bus);
    } finally {
      await bus.close();
      await dataSource.destroy();
      await database.drop();
    }
  }

  it('a subscription closed while its first read is in flight ends then, not after the poll interval', async () => {
    await withSlowPollingBus(async (bus) => {
      for (const durable of [undefined, `closing-${randomBytes(3).toString('hex')}`]) {
        const sub = await bus.subscribe('eprescribing.>', () => undefined, durable ? { durable } : {});
        await sub.close(); // its loop is reading (no sleep yet to wake) when this is called
      }
    });
  });

  it('a message published while the handler runs is delivered next, not after the poll interval', async () => {
    await withSlowPollingBus(async (bus) => {
      const id = randomBytes(3).toString('hex');
      for (const durable of [undefined, `woken-${id}`]) {
        const [s, fence] = [`eprescribing.woken.${id}.${durable ? 'd' : 'e'}`, `eprescribing.fence.${id}.${durable ? 'd' : 'e'}`];
        const fenced = collector(1);
        const seen = collector(2);
        const subs = [await bus.subscribe(fence, fenced.handler)];
        subs.push(
          await bus.subscribe(
            s,
            async (m) => {
              if (decode(m) === 'first') {
                // The second message's wake reaches this subscription while it is busy here: the fence
                // (published after it, seen by an idle subscription) shows the wake has been handed out.
                await bus.publish({ subject: s, msgId: crypto.randomUUID(), data: encode('second') });
                await bus.publish({ subject: fence, msgId: crypto.randomUUID(), data: encode('fence') });
                await fenced.done;
              }
              seen.handler(m);
            },
            durable ? { durable } : {},
          ),
        );
        await bus.publish({ subject: s, msgId: crypto.randomUUID(), data: encode('first') });
        await seen.done;
        expect(seen.received.map(decode)).toEqual(['first', 'second']);
        for (const sub of subs) await sub.close();
      }
    });
  });
});
