import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { subjectMatches } from '../../src/adapters/events/subject-filter.js';
import { createLiveEvents, type LiveEvent, type LiveSubscribeOptions } from '../../src/application/live-events.js';
import type { BusSubscription, DeliveredMessage, EventBus, SubscribeOptions } from '../../src/ports/index.js';

/*
 * Issue #18: a subscriber that resumes from a cursor replays from a consumer of its own only until it
 * meets the shared fan-out, then is served by the fan-out. Against a bus whose consumers move only when
 * the test steps them, so every order of the two at the hand-over can be played.
 */

interface SteppedConsumer {
  filter: string;
  handler: (message: DeliveredMessage) => Promise<void> | void;
  /** The position of the last message handed to it. */
  at: number;
  closed: boolean;
  afterSeq: number | undefined;
}

/** One ordered stream; a consumer takes its next message only when `step` says so. */
function steppedBus() {
  const stream: DeliveredMessage[] = [];
  const consumers: SteppedConsumer[] = [];
  const next = (c: SteppedConsumer) => stream.find((m) => m.seq > c.at && subjectMatches(c.filter, m.subject));
  const bus: EventBus = {
    kind: 'embedded',
    publish: async () => {
      throw new Error('publish through the test');
    },
    publishAll: async () => {
      throw new Error('publish through the test');
    },
    async subscribe(filter, handler, options: SubscribeOptions = {}): Promise<BusSubscription> {
      const consumer: SteppedConsumer = { filter, handler, at: options.afterSeq ?? stream.length, closed: false, afterSeq: options.afterSeq };
      consumers.push(consumer);
      return {
        close: async () => void (consumer.closed = true),
        lag: async () => stream.filter((m) => m.seq > consumer.at && subjectMatches(filter, m.subject)).length,
      };
    },
    firstSeq: async () => 1,
    ping: async () => true,
    close: async () => undefined,
  };
  return {
    bus,
    /** Appends an event of a tenant (or, `other`, a message outside the live subjects). */
    publish(tenant: string, patient: string, other = false): number {
      const seq = stream.length + 1;
      const envelope = {
        metadata: { eventId: `e${seq}`, tenantId: tenant, eventType: 'eprescribing.medication_request.created.v1' },
        payload: { patientId: patient },
      };
      const subject = other ? `integration.pharmacy.${tenant}` : `eprescribing.medication_request.created.v1.${tenant}`;
      stream.push({ subject, seq, data: Buffer.from(JSON.stringify(envelope)) });
      return seq;
    },
    get shared() {
      return consumers[0];
    },
    /** Replay consumers still open. */
    replays: () => consumers.slice(1).filter((c) => !c.closed),
    /** Hands the consumer its next message, if it has one; answers whether it had. */
    async step(c: SteppedConsumer): Promise<boolean> {
      const message = c.closed ? undefined : next(c);
      if (!message) return false;
      c.at = message.seq;
      await c.handler(message);
      return true;
    },
    /** Steps every open consumer until none has anything left. */
    async drain() {
      for (let moved = true; moved;) {
        moved = false;
        for (const c of [...consumers]) while (await this.step(c)) moved = true;
      }
    },
  };
}

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function setUp() {
  const bus = steppedBus();
  const live = createLiveEvents({ bus: bus.bus, logger: pino({ level: 'silent' }) });
  await live.start();
  stops.push(() => live.stop());
  return { bus, live };
}

/** A subscriber that reads everything as it comes, recording the positions it got. */
async function reader(live: Awaited<ReturnType<typeof setUp>>['live'], options: Partial<LiveSubscribeOptions> & { tenantId: string }) {
  const got: number[] = [];
  const state = { overflowed: false, got };
  const subscription = await live.subscribe({ matches: () => true, bufferSize: 100, onOverflow: () => (state.overflowed = true), ...options });
  void (async () => {
    for await (const event of subscription) got.push(event.seq);
  })();
  return { ...state, subscription };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('a resumed live subscriber hands over to the shared fan-out (issue #18)', () => {
  it('replays to the fan-out’s position, then the fan-out serves it: its replay consumer is closed', async () => {
    const { bus, live } = await setUp();
    const early = [bus.publish('a', 'p1'), bus.publish('a', 'p1')];
    const lateBefore = [bus.publish('b', 'p1'), bus.publish('a', 'p1')];
    await bus.drain(); // the fan-out is at the last of them
    const resumed = await reader(live, { tenantId: 'a', after: early[0] });
    expect(live.stats()).toMatchObject({ subscribers: 1, replaying: 1 });
    const replay = bus.replays()[0];
    expect(replay.afterSeq).toBe(early[0]);

    // Events committed at the hand-over: the fan-out takes them before the replay reaches its position.
    const atHandOver = [bus.publish('a', 'p1'), bus.publish('a', 'p1')];
    await bus.step(bus.shared);
    await bus.step(bus.shared);
    while (await bus.step(replay));
    await settle();
    expect(resumed.got).toEqual([early[1], lateBefore[1], ...atHandOver]);
    expect(live.stats()).toMatchObject({ subscribers: 1, replaying: 0 });
    expect(bus.replays()).toEqual([]);

    const after = bus.publish('a', 'p1');
    await bus.drain();
    await settle();
    expect(resumed.got).toEqual([early[1], lateBefore[1], ...atHandOver, after]);
  });

  it('the replay ahead of the fan-out: it hands over at the first position past the fan-out’s, and the fan-out repeats nothing', async () => {
    const { bus, live } = await setUp();
    const cursor = bus.publish('a', 'p1');
    await bus.drain();
    const resumed = await reader(live, { tenantId: 'a', after: cursor - 1 });
    const replay = bus.replays()[0];
    const ahead = [bus.publish('a', 'p1'), bus.publish('b', 'p1'), bus.publish('a', 'p1')];
    await bus.step(replay); // the cursor's own event: the fan-out's position, where they meet
    await settle();
    expect(resumed.got).toEqual([cursor]);
    expect(bus.replays()).toEqual([]); // met: nothing more from the replay
    await bus.drain();
    await settle();
    expect(resumed.got).toEqual([cursor, ahead[0], ahead[2]]);
    expect(live.stats().replaying).toBe(0);
  });

  it('a cursor at or past the fan-out’s position joins the fan-out at once, without a replay consumer', async () => {
    const { bus, live } = await setUp();
    const seqs = [bus.publish('a', 'p1'), bus.publish('a', 'p1'), bus.publish('a', 'p1')];
    await bus.step(bus.shared); // the fan-out is at the first; the client (served by another instance) has the second
    const resumed = await reader(live, { tenantId: 'a', after: seqs[1] });
    expect(live.stats().replaying).toBe(0);
    await bus.drain();
    await settle();
    expect(resumed.got).toEqual([seqs[2]]);
  });

  it('joining before the fan-out took anything: they meet at its first message, whatever the replay has reached', async () => {
    const { bus, live } = await setUp();
    const before = bus.publish('a', 'p1'); // not taken by the fan-out yet: it has no position
    const resumed = await reader(live, { tenantId: 'a', after: 0 });
    const replay = bus.replays()[0];
    const more = [bus.publish('a', 'p1'), bus.publish('a', 'p1')];
    await bus.step(replay);
    await bus.step(replay); // the replay is past the fan-out's first message before the fan-out takes it
    await bus.step(bus.shared);
    await bus.step(bus.shared);
    await bus.step(replay);
    await settle();
    expect(bus.replays()).toEqual([]);
    await bus.drain();
    await settle();
    expect(resumed.got).toEqual([before, ...more]);
  });

  it('a tenant with no events after the fan-out’s position: the replay meets it on another tenant’s event', async () => {
    const { bus, live } = await setUp();
    const own = bus.publish('b', 'p1');
    const others = [bus.publish('a', 'p1'), bus.publish('a', 'p1')];
    await bus.drain(); // the fan-out is at a's last event; b has nothing after its own
    const resumed = await reader(live, { tenantId: 'b', after: own - 1 });
    await bus.drain();
    await settle();
    expect(resumed.got).toEqual([own]);
    expect(live.stats().replaying).toBe(0);
    expect(bus.replays()).toEqual([]);
    expect(others).toHaveLength(2);
  });

  it('the fan-out takes its first messages while a replay that joined before them waits for room: nothing twice', async () => {
    const { bus, live } = await setUp();
    const seqs = [bus.publish('a', 'p1'), bus.publish('a', 'p1'), bus.publish('a', 'p1')];
    const resumed = await live.subscribe({ tenantId: 'a', matches: () => true, after: 0, bufferSize: 2, onOverflow: () => expect.fail('overflowed') });
    const replay = bus.replays()[0];
    await bus.step(replay);
    await bus.step(replay); // the buffer is full
    const third = bus.step(replay); // waits for room
    await bus.drain(); // the fan-out's first message fixes where they meet: behind the replay
    const iterator = resumed[Symbol.asyncIterator]();
    const got = [(await iterator.next()).value!.seq];
    await third;
    expect(bus.replays()).toEqual([]);
    for (let i = 0; i < 2; i++) got.push((await iterator.next()).value!.seq);
    const fourth = bus.publish('a', 'p1');
    await bus.drain();
    got.push((await iterator.next()).value!.seq);
    expect(got).toEqual([...seqs, fourth]);
    await resumed.close();
  });

  it('a slow resumed subscriber waits for room while it replays; what the fan-out holds beyond its buffer the replay delivers', async () => {
    const { bus, live } = await setUp();
    const first = bus.publish('a', 'p1');
    for (let i = 0; i < 9; i++) bus.publish('a', 'p1');
    await bus.drain();
    let overflowed = false;
    const resumed = await live.subscribe({ tenantId: 'a', matches: () => true, after: first - 1, bufferSize: 2, onOverflow: () => (overflowed = true) });
    const replay = bus.replays()[0];
    const got: number[] = [];
    const iterator = resumed[Symbol.asyncIterator]();
    // The replay fills the buffer and waits; meanwhile the fan-out takes more than the buffer holds.
    const replaying = (async () => {
      while (await bus.step(replay));
    })();
    for (let i = 0; i < 6; i++) bus.publish('a', 'p1');
    while (await bus.step(bus.shared));
    while (got.length < 16) {
      got.push((await iterator.next()).value!.seq);
      await settle();
    }
    await replaying;
    expect(got).toEqual(Array.from({ length: 16 }, (_, i) => first + i));
    expect(overflowed).toBe(false);
    expect(live.stats().replaying).toBe(0);
    await resumed.close();
  });

  it('any order of fan-out, replays, reads and writes: every subscriber gets each matching event once, in stream order, and ends on the fan-out', async () => {
    let handOvers = 0;
    for (let round = 0; round < 60; round++) {
      let seed = round + 1;
      const random = () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
      const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)];
      const { bus, live } = await setUp();
      const written = new Map<number, { tenant: string; patient: string }>();
      const publish = () => {
        const tenant = pick(['a', 'a', 'b']);
        const patient = pick(['p1', 'p2']);
        const other = random() < 0.15;
        const seq = bus.publish(tenant, patient, other);
        if (!other) written.set(seq, { tenant, patient });
      };
      for (let i = 0; i < 5; i++) publish();
      // Consumers are stepped without waiting for their handlers (a replay may be waiting for room
      // while the fan-out moves on); subscribers read only when told, so their buffers fill.
      const busy = new Set<unknown>();
      const step = (c: ReturnType<typeof bus.replays>[number]) => {
        if (busy.has(c)) return;
        busy.add(c);
        void bus.step(c).finally(() => busy.delete(c));
      };
      interface Reader {
        got: number[];
        overflowed: boolean;
        reading: boolean;
        after: number;
        wants(seq: number): boolean;
        next(): Promise<IteratorResult<LiveEvent>>;
      }
      const subscribers: Reader[] = [];
      const read = (s: Reader) => {
        if (s.reading) return;
        s.reading = true;
        void s.next().then((r) => {
          s.reading = false;
          if (!r.done) s.got.push(r.value.seq);
        });
      };
      const subscribe = async () => {
        const tenant = pick(['a', 'b']);
        const patient = pick([undefined, 'p1']);
        const after = Math.floor(random() * (written.size + 3));
        const s: Reader = {
          got: [],
          overflowed: false,
          reading: false,
          after,
          wants: (seq) => written.get(seq)?.tenant === tenant && (patient === undefined || written.get(seq)?.patient === patient),
          next: () => Promise.reject(new Error('not subscribed yet')),
        };
        const subscription = await live.subscribe({
          tenantId: tenant,
          after,
          bufferSize: 4,
          matches: (e: LiveEvent) => patient === undefined || e.envelope.payload.patientId === patient,
          ...(patient && { indexKey: { field: 'patientId' as const, value: patient } }),
          onOverflow: () => (s.overflowed = true),
        });
        const iterator = subscription[Symbol.asyncIterator]();
        s.next = () => iterator.next();
        subscribers.push(s);
      };
      for (let i = 0; i < 150; i++) {
        const roll = random();
        const replays = bus.replays();
        if (roll < 0.2) publish();
        else if (roll < 0.35) step(bus.shared);
        else if (roll < 0.6 && replays.length) step(pick(replays));
        else if (roll < 0.8 && subscribers.length) read(pick(subscribers));
        else if (roll < 0.88 && subscribers.length < 8) await subscribe();
        else await settle();
        if (replays.length && bus.replays().length < replays.length) handOvers++;
      }
      // The end: every consumer steps and every subscriber reads until nothing moves.
      for (let quiet = 0; quiet < 3;) {
        const before = JSON.stringify([bus.shared.at, bus.replays().map((c) => c.at), subscribers.map((s) => s.got.length)]);
        step(bus.shared);
        for (const c of bus.replays()) step(c);
        for (const s of subscribers) if (!s.overflowed) read(s);
        await settle();
        quiet = JSON.stringify([bus.shared.at, bus.replays().map((c) => c.at), subscribers.map((s) => s.got.length)]) === before ? quiet + 1 : 0;
      }
      const all = [...written.keys()];
      for (const [i, s] of subscribers.entries()) {
        const expected = all.filter((seq) => seq > s.after && s.wants(seq));
        // One that fell behind on the fan-out is cut off (as any live subscriber): what it got is still gapless.
        if (s.overflowed) expect(expected.slice(0, s.got.length), `round ${round}, subscriber ${i} (cut off)`).toEqual(s.got);
        else expect(s.got, `round ${round}, subscriber ${i}`).toEqual(expected);
      }
      expect(live.stats().replaying).toBe(0);
      expect(bus.replays()).toEqual([]);
      await stops.pop()!();
    }
    expect(handOvers).toBeGreaterThan(20); // the rounds did hand over while the fan-out moved
  });
});
