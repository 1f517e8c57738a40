// /status for people and /metrics for Prometheus, reading live numbers.
import { afterEach, describe, expect, it } from 'vitest';
import { startApp, type AppServer } from './helpers/app-server.ts';
import { get, openConnection, waitFor } from './helpers/raw-http.ts';

let server: AppServer;
afterEach(() => server.close());

describe('status and metrics', () => {
  it('count subscribers by transport and channel, messages and bytes', async () => {
    server = await startApp();
    const sse = await openConnection(server.port);
    await sse.request(get('/comet/lobby?transport=sse'));
    const iframe = await openConnection(server.port);
    const frame = await iframe.request(get('/comet/lobby?transport=iframe'));
    await server.publish('lobby', { hi: 1 });
    await waitFor(() => frame.chunks.length >= 2);

    const metrics = await (await fetch(`${server.base}/metrics`)).text();
    expect(metrics).toContain('evcomet_subscribers{transport="sse"} 1');
    expect(metrics).toContain('evcomet_subscribers{transport="iframe"} 1');
    expect(metrics).toContain('evcomet_channel_subscribers{channel="lobby"} 2');
    expect(metrics).toContain('evcomet_messages_in_total 1');
    expect(metrics).toMatch(/evcomet_messages_out_total 2\n/);
    expect(metrics).toMatch(/evcomet_bytes_out_total [1-9]\d+\n/);
    expect(metrics).toContain('evcomet_service_up{service="bus",state="in-process"} 1');
    expect(metrics).toMatch(/# TYPE evcomet_resumes_total counter/);

    const page = await fetch(`${server.base}/status`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    expect(html).toContain('<meta http-equiv="refresh"');
    expect(html).toMatch(/Connections by transport \(2 open\)/);
    expect(html).toContain('<td>lobby</td><td>2</td><td>1</td>');
    sse.close();
    iframe.close();
  });

  it('health answers while serving', async () => {
    server = await startApp();
    const res = await fetch(`${server.base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true });
  });
});
