// EvServer's clock demo: the time, n times, once per interval.
//   curl -N 'http://127.0.0.1:8080/examples/clock?n=5&interval=1000'
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

export const urls = [path('clock', clock, { name: 'clock' })];
