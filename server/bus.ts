// What a bus is: the way messages travel between the processes that serve one
// site. The hub knows nothing of buses; the app wires one to the other
// (server/app.ts). Two implementations: the in-process bus (server/memory-bus.ts,
// the embedded default) and RabbitMQ (server/amqp-bus.ts).
//
// A bus has two topics, each a fanout exchange on RabbitMQ:
//   chat    every Comet channel's messages (chat lines, POST /comet/:channel, …)
//   forum   the forum's typed events (`thread.created`, …), which the chat turns
//           into lines
//
// Guarantees every implementation keeps (test/bus-contract.test.ts checks them):
// - publish() resolves only once the message is safe (for RabbitMQ: the broker
//   confirmed it), and rejects with a BusUnavailableError when it cannot take it,
//   so a caller can answer 503 and the publisher retry; nothing it resolved for
//   is lost;
// - every handler of a topic, in every process, gets every message published to
//   it once it is connected, including messages this process published itself;
// - messages from one publisher arrive in the order they were published;
// - an envelope keeps the id it was given when first published, so every process
//   agrees on ids and a client can resume on any of them.

/** A message as it travels on a bus. `id` is a message id (server/message-id.ts). */
export interface Envelope {
  id: string;
  channel: string;
  /** Milliseconds since 1970, when it was first published. */
  time: number;
  data: unknown;
}

export type Topic = 'chat' | 'forum';

export type BusHandler = (envelope: Envelope) => void;

export interface BusState {
  kind: 'in-process' | 'amqp';
  /** `up`: publishing and consuming; `connecting`/`reconnecting`: not now, trying. */
  state: 'up' | 'connecting' | 'reconnecting' | 'closed';
  /** Messages that arrived on the bus and were dropped as malformed. */
  malformed: number;
  /** Times the bus came back after losing its broker. */
  reconnects: number;
  /** The last fault, for /status. */
  lastError?: string;
}

export interface Bus {
  /** Sends `envelope` to every process's handlers of `topic`. See the guarantees above. */
  publish(topic: Topic, envelope: Envelope): Promise<void>;
  /** Calls `handler` with every envelope published to `topic` once the promise
   * resolves (for RabbitMQ: this process's queue is bound; if the broker is away
   * now, at once, and the queue is bound when it comes back). */
  consume(topic: Topic, handler: BusHandler): Promise<void>;
  state(): BusState;
  close(): Promise<void>;
}

/** The bus cannot take a message now (broker down, not confirmed); the caller may retry. */
export class BusUnavailableError extends Error {
  override readonly name = 'BusUnavailableError';
}
