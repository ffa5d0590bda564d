import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '../../src/adapters/events/nats-bus.js';
import { DomainError } from '../../src/domain/index.js';
import { findBinary, type PrivateNats, privateNats } from '../support/private-services.js';

/**
 * NATS away is "not now", not a refusal of the message: the adapter rejects a publish with
 * SERVICE_UNAVAILABLE, as the database adapter does, so a workflow action whose integration
 * publishes meanwhile spends none of its attempts (a chaos run once ended with a dead letter from
 * five quick attempts inside a NATS restart). On a NATS server of the test's own.
 */
const installed = findBinary('nats-server') !== undefined;

describe.runIf(installed)('the NATS bus while NATS is away', () => {
  let nats: PrivateNats;
  let bus: Awaited<ReturnType<typeof createNatsBus>>;
  beforeAll(async () => {
    nats = await privateNats();
    bus = await createNatsBus({ url: nats.url, stream: 'RXGATE_AWAY' });
  });
  afterAll(async () => {
    await bus?.close();
    await nats?.cleanup();
  });

  const message = (id: string) => ({ subject: 'integration.support.alert.v1', msgId: id, data: Buffer.from('{}') });

  it('rejects a publish with SERVICE_UNAVAILABLE and a retry delay, and publishes again once NATS is back', async () => {
    expect(await bus.publish(message('before'))).toMatchObject({ duplicate: false });
    await nats.stop();
    const refused = await bus.publish(message('meanwhile')).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 1 });

    await nats.start();
    await expect
      .poll(
        () =>
          bus.publish(message('after')).then(
            () => 'kept',
            () => 'refused',
          ),
        { timeout: 15_000, interval: 200 },
      )
      .toBe('kept');
  });
});
