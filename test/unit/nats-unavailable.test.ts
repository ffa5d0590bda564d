import { JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { isUnavailable } from '../../src/adapters/events/nats-bus.js';

/**
 * Which failures of a JetStream publish mean "NATS is away, try later" (SERVICE_UNAVAILABLE: a workflow
 * action spends no attempt) and which are a refusal of the message (an attempt spent, in the end a
 * dead letter). The "not connected" path is driven end to end in nats-bus-unavailable.test.ts.
 */
describe('a JetStream publish failure: away, or refused', () => {
  it('counts a timeout, a closed or draining connection, no responders and JetStream not ready as away', () => {
    const jetStreamNotReady = Object.assign(new Error('jetstream is not enabled'), { name: 'JetStreamNotEnabled' });
    for (const error of [
      new errors.TimeoutError(),
      new errors.ClosedConnectionError(),
      new errors.DrainingConnectionError(),
      new errors.ConnectionError('connection refused'),
      new errors.NoRespondersError('$JS.API.STREAM.INFO'),
      new errors.RequestError('no responders', { cause: new errors.NoRespondersError('x') }),
      jetStreamNotReady,
    ])
      expect(isUnavailable(error), error.name).toBe(true);
  });

  it('counts a refusal by the stream, another request error and anything else as not away', () => {
    const wrongLast = new JetStreamApiError({ code: 400, err_code: 10071, description: 'wrong last msg ID: 1' });
    for (const error of [wrongLast, new errors.RequestError('bad request'), new Error('boom'), 'text', undefined])
      expect(isUnavailable(error), String((error as Error)?.name ?? error)).toBe(false);
  });
});
