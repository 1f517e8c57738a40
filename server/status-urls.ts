// GET /status (a page for people) and GET /metrics (Prometheus text).
import { renderPrometheus, type Snapshot } from './metrics.ts';
import { renderStatusPage } from './status-page.ts';
import { path } from './urls.ts';
import { respond } from './views.ts';

export function statusUrls(snapshot: () => Snapshot) {
  return [
    path('status', () => respond(renderStatusPage(snapshot()), { headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' } })),
    path('metrics', () => respond(renderPrometheus(snapshot()), { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } })),
  ];
}
