// The RabbitMQ bus (AMQP_URL set). Topology, per topic:
//
//   publisher ──confirm channel──▶ fanout exchange (durable) ──▶ one queue per process
//                                   `chat` / `forum.events`       evcomet.<host>.<pid>.<tag>.<topic>
//                                                                  (x-expires, not exclusive)
//
// The broker sees one consumer per process, never one per browser: this process
// fans out to its own subscribers. A queue is named for the process and outlives
// a dropped connection for `queueExpiresMs`, so what is published while the
// process reconnects waits for it. When the connection or a channel drops, the
// bus reconnects with backoff and jitter, declares its topology again and goes on
// consuming; meanwhile publish() rejects at once (the caller answers 503).
// The wire format is documented in docs/bus.md.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { BusUnavailableError, type Bus, type BusHandler, type BusState, type Envelope, type Topic } from './bus.ts';
import { parseMessageId } from './message-id.ts';

export interface AmqpBusOptions {
  url: string;
  /** The exchange of each topic. */
  exchanges: Record<Topic, string>;
  /** How long a process's queue outlives its connection. */
  queueExpiresMs: number;
  /** Unacknowledged deliveries in flight per queue. */
  prefetch: number;
  /** A message body larger than this is dropped as malformed. */
  maxMessageBytes: number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** Reconnect delays: from `initialMs`, doubling up to `maxMs`, each with up to half again as jitter. */
  backoff?: { initialMs: number; maxMs: number };
  /** Names this process's connection and queues; host, pid and a random tag if absent. */
  name?: string;
}

export interface AmqpBus extends Bus {
  /** Resolves true once connected, or false after `timeoutMs` (it goes on trying). */
  ready(timeoutMs: number): Promise<boolean>;
  /** The connection_name RabbitMQ shows for this process (tests close it by that name). */
  readonly connectionName: string;
}

const topics: Topic[] = ['chat', 'forum'];

export function createAmqpBus(options: AmqpBusOptions): AmqpBus {
  const name = options.name ?? `evcomet.${hostname()}.${process.pid}.${randomBytes(3).toString('hex')}`;
  const backoff = options.backoff ?? { initialMs: 200, maxMs: 15_000 };
  const handlers: Record<Topic, BusHandler[]> = { chat: [], forum: [] };
  const consuming = new Set<Topic>();
  const status: BusState = { kind: 'amqp', state: 'connecting', malformed: 0, reconnects: 0 };
  let connection: ChannelModel | null = null;
  let consumer: Channel | null = null;
  let publisher: ConfirmChannel | null = null;
  let attempts = 0;
  let retryTimer: NodeJS.Timeout | null = null;
  let closed = false;
  const waiters = new Set<() => void>();

  const queueOf = (topic: Topic) => `${name}.${topic}`;

  async function connect(): Promise<void> {
    retryTimer = null;
    let model: ChannelModel | null = null;
    try {
      // noDelay: with Nagle's algorithm on (amqplib's default) small messages waited for
      // the previous one's ACK, adding milliseconds to every publish and delivery.
      model = await amqp.connect(options.url, { clientProperties: { connection_name: name }, timeout: 5000, noDelay: true });
      // An 'error' without a listener would crash the process; 'close' follows it.
      model.on('error', (err: Error) => { status.lastError = err.message; });
      model.on('close', () => lost(model!));
      if (closed) return void model.close().catch(() => {});
      const channel = await model.createChannel();
      const confirm = await model.createConfirmChannel();
      for (const ch of [channel, confirm]) {
        ch.on('error', (err: Error) => { status.lastError = err.message; });
        // A channel the broker closed (not the connection) is recovered by reconnecting whole.
        ch.on('close', () => { if (connection === model) void model!.close().catch(() => {}); });
      }
      await channel.prefetch(options.prefetch);
      for (const topic of topics) await confirm.assertExchange(options.exchanges[topic], 'fanout', { durable: true });
      connection = model;
      consumer = channel;
      publisher = confirm;
      consuming.clear();
      for (const topic of topics) if (handlers[topic].length > 0) await startConsuming(topic);
      if (connection !== model) return; // dropped while declaring; lost() has scheduled a retry
      if (attempts > 0) status.reconnects++;
      attempts = 0;
      status.state = 'up';
      delete status.lastError;
      options.log.info({ bus: name }, 'connected to RabbitMQ');
      for (const wake of waiters) wake();
    } catch (err) {
      status.lastError = (err as Error).message;
      if (model) {
        lost(model);
        void model.close().catch(() => {});
      }
      scheduleRetry();
    }
  }

  async function startConsuming(topic: Topic): Promise<void> {
    if (!consumer || consuming.has(topic)) return;
    consuming.add(topic);
    const channel = consumer;
    const queue = queueOf(topic);
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-expires': options.queueExpiresMs } });
    await channel.bindQueue(queue, options.exchanges[topic], '');
    await channel.consume(queue, (msg) => {
      if (msg) receive(topic, channel, msg);
    });
  }

  function receive(topic: Topic, channel: Channel, msg: ConsumeMessage): void {
    const envelope = msg.content.length <= options.maxMessageBytes ? parseEnvelope(msg.content) : null;
    if (!envelope) {
      status.malformed++;
      options.log.warn({ topic, bytes: msg.content.length, head: msg.content.subarray(0, 80).toString() }, 'dropped a malformed message from RabbitMQ');
    } else {
      for (const handler of handlers[topic]) {
        try {
          handler(envelope);
        } catch (err) {
          options.log.warn({ err, topic, id: envelope.id }, 'a bus handler failed');
        }
      }
    }
    channel.ack(msg);
  }

  function lost(model: ChannelModel): void {
    if (connection !== model) return;
    connection = consumer = publisher = null;
    consuming.clear();
    if (closed) return;
    status.state = 'reconnecting';
    options.log.warn({ bus: name, err: status.lastError }, 'lost RabbitMQ; reconnecting');
    scheduleRetry();
  }

  function scheduleRetry(): void {
    if (closed || retryTimer) return;
    if (status.state === 'up') status.state = 'reconnecting';
    const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** attempts);
    attempts++;
    retryTimer = setTimeout(() => void connect(), base * (1 + Math.random() / 2));
    retryTimer.unref();
  }

  void connect();

  return {
    connectionName: name,

    publish(topic, envelope) {
      const channel = publisher;
      if (!channel) return Promise.reject(new BusUnavailableError(`RabbitMQ is not connected${status.lastError ? ` (${status.lastError})` : ''}`));
      const { id, channel: name, time, data } = envelope;
      const body = Buffer.from(JSON.stringify({ id, channel: name, time, data }));
      return new Promise((resolve, reject) => {
        try {
          channel.publish(options.exchanges[topic], '', body, {
            contentType: 'application/json', persistent: true, messageId: id, timestamp: Math.floor(time / 1000),
          }, (err) => (err ? reject(new BusUnavailableError('RabbitMQ did not confirm the message')) : resolve()));
        } catch (err) {
          reject(new BusUnavailableError(`RabbitMQ refused the message: ${(err as Error).message}`));
        }
      });
    },

    async consume(topic, handler) {
      handlers[topic].push(handler);
      // A failure here drops the connection, and the reconnect declares the queue again.
      if (connection) await startConsuming(topic).catch((err: Error) => { status.lastError = err.message; });
    },

    state: () => ({ ...status }),

    ready(timeoutMs) {
      if (status.state === 'up') return Promise.resolve(true);
      return new Promise((resolve) => {
        const wake = () => { clearTimeout(timer); waiters.delete(wake); resolve(status.state === 'up'); };
        const timer = setTimeout(wake, timeoutMs);
        waiters.add(wake);
      });
    },

    async close() {
      closed = true;
      status.state = 'closed';
      if (retryTimer) clearTimeout(retryTimer);
      for (const wake of waiters) wake();
      const model = connection;
      const channel = consumer;
      connection = consumer = publisher = null;
      // A process that stops on purpose is not coming back under this name: its
      // queues would only fill until they expire.
      for (const topic of consuming) await channel?.deleteQueue(queueOf(topic)).catch(() => {});
      await model?.close().catch(() => {});
    },
  };
}

/** The envelope in a message body, or null if the body is not one (docs/bus.md). */
export function parseEnvelope(body: Buffer): Envelope | null {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const { id, channel, time, data } = value as Record<string, unknown>;
  if (typeof id !== 'string' || !parseMessageId(id)) return null;
  if (typeof channel !== 'string' || channel.length === 0 || channel.length > 64) return null;
  if (typeof time !== 'number' || !Number.isFinite(time)) return null;
  if (data === undefined) return null;
  return { id, channel, time, data };
}
