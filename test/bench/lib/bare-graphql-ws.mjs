// The transport baseline: a bare graphql-ws server (graphql-ws + ws, nothing else) that broadcasts
// a given payload to every subscriber when its parent asks (IPC). Run as a child process, like the
// gateway, so that it has a core to itself in the same way.
import { createServer } from 'node:http';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { GraphQLBoolean, GraphQLObjectType, GraphQLSchema } from 'graphql';
import { GraphQLJSON } from 'graphql-scalars';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';

const subscribers = new Set();

/** One subscriber's events, as an async iterator (what a pub/sub gives graphql-ws). */
function subscribe() {
  const queue = [];
  let wake;
  let done = false;
  const sub = {
    push(value) {
      if (wake) {
        wake({ value, done: false });
        wake = undefined;
      } else queue.push(value);
    },
  };
  subscribers.add(sub);
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () =>
      queue.length > 0
        ? Promise.resolve({ value: queue.shift(), done: false })
        : done
          ? Promise.resolve({ value: undefined, done: true })
          : new Promise((resolve) => (wake = resolve)),
    return: () => {
      done = true;
      subscribers.delete(sub);
      wake?.({ value: undefined, done: true });
      return Promise.resolve({ value: undefined, done: true });
    },
  };
}

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLBoolean, resolve: () => true } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: { prescriptionEvents: { type: GraphQLJSON, subscribe: () => subscribe(), resolve: (payload) => payload } },
  }),
});

const server = createServer();
useServer({ schema }, new WebSocketServer({ server, path: '/graphql' }));
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));

process.on('message', async (message) => {
  if (message.count !== undefined) process.send({ subscribers: subscribers.size });
  if (message.publish) {
    const { payload, events, rate } = message.publish;
    const started = Date.now();
    for (let i = 0; i < events; i++) {
      const event = { ...payload, occurredAt: new Date().toISOString(), sequence: String(i + 1) };
      for (const sub of subscribers) sub.push(event);
      // A fixed rate paces by the clock; as fast as possible still lets the sockets be written.
      if (rate) {
        const due = started + ((i + 1) * 1000) / rate;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
      } else await yieldToLoop();
    }
    process.send({ published: events });
  }
});
process.on('disconnect', () => process.exit(0));
