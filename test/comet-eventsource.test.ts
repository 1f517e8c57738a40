// A real SSE client that nobody here wrote (the `eventsource` package) resumes
// through Last-Event-ID when the server ends the stream at its byte limit.
import { EventSource } from 'eventsource';
import { describe, expect, it } from 'vitest';
import { startApp } from './helpers/app-server.ts';
import { waitFor } from './helpers/raw-http.ts';

describe('eventsource client', () => {
  it('gets every message once, in order, across server-side closes', async () => {
    const server = await startApp({ STREAM_BYTE_LIMIT: '4096' });
    const received: Array<{ id: string; n: number }> = [];
    let opens = 0;
    let reconnects = 0;
    const source = new EventSource(`${server.base}/comet/room`);
    source.addEventListener('open', () => { opens++; });
    source.addEventListener('reconnect', () => { reconnects++; });
    source.addEventListener('message', (event) => {
      received.push({ id: event.lastEventId, n: (JSON.parse(event.data) as { n: number }).n });
    });
    await waitFor(() => opens === 1, 5000, 'the stream to open');

    const ids: string[] = [];
    const payload = 'p'.repeat(900);
    for (let n = 0; n < 10; n++) {
      ids.push(await server.publish('room', { n, payload })); // some land while the client reconnects
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitFor(() => received.length >= 10, 15_000, 'all ten messages');
    source.close();

    expect(opens).toBeGreaterThanOrEqual(2); // the server closed at least once and it came back
    expect(reconnects).toBeGreaterThanOrEqual(1);
    expect(received.map((m) => m.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(received.map((m) => m.id)).toEqual(ids);
    expect(server.hub.stats().resumes).toBeGreaterThanOrEqual(1);
    expect(server.hub.stats().gaps).toBe(0);
    await server.close();
  }, 30_000);
});
