// Publishing on the site: a message gets its id here, where it is first
// published, and reaches this process's hub (and every other's) back through
// the bus, so that all processes see it with the same id.
import type { Bus, Topic } from './bus.ts';
import { messageFromEnvelope, type Hub, type Message } from './hub.ts';
import { parseMessageId } from './message-id.ts';

/**
 * Publishes `data` on `channel` through `topic`, with a fresh id or with `id`
 * (one the hub made earlier, e.g. for a chat line stored before it is
 * published); resolves once the bus has it (RabbitMQ confirmed).
 */
export type Publish = (topic: Topic, channel: string, data: unknown, id?: string) => Promise<Message>;

export function createPublisher(hub: Hub, bus: Bus): Publish {
  return async (topic, channel, data, id) => {
    const message = id === undefined ? hub.createMessage(channel, data)
      : messageFromEnvelope({ id, channel, time: parseMessageId(id)?.ms ?? NaN, data });
    if (!message) throw new Error(`cannot publish "${id}" on "${channel}": not a message id and channel`);
    await bus.publish(topic, message);
    return message;
  };
}
