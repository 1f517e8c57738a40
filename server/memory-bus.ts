// The in-process bus: the embedded default when AMQP_URL is unset. One process
// is the whole site, so publishing is handing the envelope to this process's
// handlers, synchronously and in order.
import { BusUnavailableError, type Bus, type BusHandler, type Topic } from './bus.ts';

export function createMemoryBus(): Bus {
  const handlers: Record<Topic, BusHandler[]> = { chat: [], forum: [] };
  let closed = false;
  return {
    async publish(topic, envelope) {
      if (closed) throw new BusUnavailableError('the bus is closed');
      for (const handler of handlers[topic]) handler(envelope);
    },
    async consume(topic, handler) {
      handlers[topic].push(handler);
    },
    state: () => ({ kind: 'in-process', state: closed ? 'closed' : 'up', malformed: 0, reconnects: 0 }),
    async close() {
      closed = true;
    },
  };
}
