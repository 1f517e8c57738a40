// EvServer's clock demo: the time, n times, once per interval.
//   curl -N 'http://127.0.0.1:8080/examples/clock?n=5&interval=1000'
// And the same clock as a Comet feed (every transport, through cometView), with
// a page that shows it through static/comet.js: /examples/clock/page
import type { CometContext, MessageSource, SourceListener } from '../server/comet-stream.ts';
import { cometView } from '../server/comet-view.ts';
import { intParam } from '../server/params.ts';
import { sleep } from '../server/sleep.ts';
import { path } from '../server/urls.ts';
import { respond, type ViewRequest } from '../server/views.ts';

export function clock(req: ViewRequest) {
  const n = intParam(req.query, 'n', { min: 1, max: 86_400, fallback: 10 });
  const interval = intParam(req.query, 'interval', { min: 10, max: 60_000, fallback: 1000 });
  async function* ticks() {
    for (let i = 0; i < n; i++) {
      if (i > 0) await sleep(interval, req.signal);
      yield `${new Date().toISOString()}\n`;
    }
  }
  return respond(ticks(), { headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

/** The time once per interval, pushed to one listener; a paused (slow) reader skips ticks rather than queueing them. */
class ClockSource implements MessageSource {
  private listener: SourceListener | null = null;
  private paused = false;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs: number) {
    this.timer = setInterval(() => {
      if (this.listener && !this.paused) this.listener.messages([{ json: JSON.stringify(new Date().toISOString()) }]);
    }, intervalMs);
  }

  listen(listener: SourceListener): void { this.listener = listener; }
  pause(): void { this.paused = true; }
  resume(): void { this.paused = false; }
  take(): null { return null; }
  stop(): void { clearInterval(this.timer); }
}

const clockPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>evcomet clock</title>
<style>body{font:2em/1.4 system-ui,sans-serif;margin:2em}#state{font-size:.5em;color:#666}</style></head>
<body><p>The server's time: <output id="time">…</output></p><p id="state" role="status">connecting</p>
<script src="/static/comet.js"></script>
<script>
var time = document.getElementById('time'), state = document.getElementById('state');
evcomet.connect('comet?interval=1000', { // beside this page
  onMessage: function (iso) { time.value = time.textContent = new Date(iso).toLocaleTimeString(); },
  onStatus: function (s, info) { state.textContent = s + (info && info.transport ? ' (' + info.transport + ')' : ''); }
});
</script></body></html>
`;

export function clockUrls(comet: CometContext) {
  const feed = cometView((req) => {
    const source = new ClockSource(intParam(req.query, 'interval', { min: 100, max: 60_000, fallback: 1000 }));
    return { controls: [], source, release: () => source.stop() };
  }, comet);
  return [
    path('clock', clock, { name: 'clock' }),
    path('clock/comet', feed, { name: 'clock-comet' }),
    path('clock/page', () => respond(clockPage, { headers: { 'content-type': 'text/html; charset=utf-8' } }), { name: 'clock-page' }),
  ];
}
