import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createInProcessBus } from '../../src/adapters/events/in-process-bus.js';
import { createNatsBus } from '../../src/adapters/events/nats-bus.js';
import type { DeliveredMessage, EventBus } from '../../src/ports/index.js';
import { natsSettings } from '../support/test-app.js';

/** One contract, every adapter: the embedded bus must behave as JetStream does for rxgate. */
const adapters: Array<[string, () => Promise<{ bus: EventBus; cleanup: () => Promise<void> }>]> = [
  ['in-process', async () => ({ bus: createInProcessBus(), cleanup: async () => undefined })],
];
if (inject('natsUrl')) {
  adapters.push([
    'NATS JetStream',
    async () => {
      const nats = natsSettings();
      const bus = await createNatsBus({ url: nats.env.NATS_URL, stream: nats.env.NATS_STREAM, subjectPrefix: nats.env.NATS_SUBJECT_PREFIX });
      return { bus, cleanup: async () => { await bus.close(); await nats.cleanup(); } };
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
  const open = async () => {
    const { bus, cleanup } = await make();
    cleanups.push(cleanup);
    return bus;
  };
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

  it('answers ping while open', async () => {
    const bus = await open();
    expect(await bus.ping()).toBe(true);
  });
});
