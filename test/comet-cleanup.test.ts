// A client that goes away leaves nothing behind: 10,000 subscribe/disconnect
// cycles over real sockets, on every transport, end with no subscriber, no
// open stream, no heartbeat registration, no address count and no extra timer.
import { createHook } from 'node:async_hooks';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { transportNames } from '../transports/encoder.ts';
import { startApp } from './helpers/app-server.ts';
import { get, openConnection, waitFor } from './helpers/raw-http.ts';

const CYCLES = 10_000;
const PARALLEL = 100;

const countOf = (kind: string) => process.getActiveResourcesInfo().filter((r) => r === kind).length;
const sourceDirs = ['server', 'transports'].map((dir) => fileURLToPath(new URL(`../${dir}/`, import.meta.url)));

/**
 * Tracks the timers our own code makes from now on, each by the line that made
 * it, until it fires or is cleared. Counting every process timer instead was
 * at the mercy of the test runner's own timers.
 */
function trackOwnTimers(): { live(): string[]; stop(): void } {
  const live = new Map<number, string>();
  const hook = createHook({
    init(id, type) {
      if (type !== 'Timeout') return;
      const maker = new Error().stack?.split('\n').find((line) => sourceDirs.some((dir) => line.includes(dir)));
      if (maker) live.set(id, maker.trim());
    },
    destroy: (id) => live.delete(id),
  }).enable();
  return { live: () => [...live.values()], stop: () => hook.disable() };
}

describe('subscribe/disconnect cycles', () => {
  it(`leaves nothing behind after ${CYCLES} cycles`, async () => {
    const server = await startApp({ LONGPOLL_HOLD_MS: '20000' });
    const timers = trackOwnTimers();
    const socketsBefore = countOf('TCPSocketWrap');
    let cycle = 0;
    const subscribersOf = (channel: string) => server.hub.stats().byChannel.find((c) => c.channel === channel)?.subscribers ?? 0;
    const worker = async (channel: string) => {
      while (cycle < CYCLES) {
        const transport = transportNames[cycle++ % transportNames.length]!;
        const conn = await openConnection(server.port);
        const callback = transport === 'jsonp' ? '&callback=cb' : '';
        conn.socket.write(get(`/comet/${channel}?transport=${transport}${callback}`));
        // Leave only once the server holds the subscription (a poll's head comes only with its answer).
        await waitFor(() => subscribersOf(channel) === 1, 5000, `a subscriber on ${channel}`);
        conn.close();
        await waitFor(() => subscribersOf(channel) === 0, 5000, `${channel}'s subscriber to go`);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, (_, i) => worker(`room-${i}`)));
    await waitFor(() => server.hub.stats().subscribers === 0, 5000, 'every subscriber to go');
    await waitFor(() => Object.values(server.comet.open).every((n) => n === 0), 5000, 'every response to close');
    expect(server.comet.heartbeats.size).toBe(0);
    expect(server.limiter.addresses).toBe(0);
    await waitFor(() => countOf('TCPSocketWrap') <= socketsBefore, 5000, 'every socket to close');
    timers.stop();
    expect(timers.live()).toEqual([]);
    expect(server.hub.stats().resumes).toBe(0);
    await server.close();
  }, 120_000);
});
