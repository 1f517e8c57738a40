// EvServer's agentpush demo: every view of the page publishes the viewer's
// User-Agent and Referer on the `agentpush` channel, and every open agentpush
// page shows them live, through whichever transport its browser can use
// (static/comet.js picks). With RabbitMQ, views on every process show up.
// The example knows only a publish function, not which bus carries it.
import { escapeHtml } from '../server/status-page.ts';
import { path } from '../server/urls.ts';
import { respond, type ViewRequest } from '../server/views.ts';

export const AGENTPUSH_CHANNEL = 'agentpush';

/** One page view, as published. */
export interface PageView { userAgent: string; referer: string; time: number }

export interface AgentpushOptions {
  /** Publishes on a channel of the site's bus. */
  publish(channel: string, data: PageView): Promise<unknown>;
  /** The channel's recent messages, oldest first. */
  recent(channel: string, limit: number): Array<{ id: string; data: unknown }>;
}

// A header is the visitor's to choose: long ones are cut, so a page view stays small.
const MAX_FIELD = 300;
const RECENT = 20;

export function agentpushUrls({ publish, recent }: AgentpushOptions) {
  async function page(req: ViewRequest) {
    const before = recent(AGENTPUSH_CHANNEL, RECENT);
    const view: PageView = {
      userAgent: String(req.headers['user-agent'] ?? '').slice(0, MAX_FIELD),
      referer: String(req.headers.referer ?? '').slice(0, MAX_FIELD),
      time: Date.now(),
    };
    // The page shows its own view too: it arrives on the feed, after `since`. A
    // bus that cannot take it now costs the demo one row, not the page.
    await publish(AGENTPUSH_CHANNEL, view).catch(() => undefined);
    const since = before.at(-1)?.id ?? '';
    return respond(renderPage(before.map((m) => m.data as PageView), since), {
      headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
    });
  }
  return [path('agentpush/', page, { name: 'agentpush' })];
}

function row(view: PageView): string {
  return `<tr><td>${escapeHtml(new Date(view.time).toISOString().slice(11, 19))}</td><td>${escapeHtml(view.userAgent)}</td><td>${escapeHtml(view.referer)}</td></tr>`;
}

function renderPage(views: PageView[], since: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>agentpush: who is looking</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}#state{color:#666}</style>
</head><body>
<h1>Who is looking at this page</h1>
<p>Every view of this page is published on the <code>${AGENTPUSH_CHANNEL}</code> channel; open it in another browser and watch it appear. <span id="state" role="status">connecting…</span></p>
<table><thead><tr><th>time (UTC)</th><th>User-Agent</th><th>Referer</th></tr></thead>
<tbody id="views" aria-live="polite">${views.map(row).reverse().join('')}</tbody></table>
<script src="/static/comet.js"></script>
<script>
(function () {
  var body = document.getElementById('views'), state = document.getElementById('state');
  function cell(text) { var td = document.createElement('td'); td.appendChild(document.createTextNode(text)); return td; }
  evcomet.connect('/comet/${AGENTPUSH_CHANNEL}', {
    since: ${JSON.stringify(since) /* an id: [0-9a-z-] only */},
    onMessage: function (view) {
      var tr = document.createElement('tr');
      tr.appendChild(cell(new Date(view.time).toISOString().slice(11, 19)));
      tr.appendChild(cell(String(view.userAgent)));
      tr.appendChild(cell(String(view.referer)));
      body.insertBefore(tr, body.firstChild);
    },
    onStatus: function (s) { state.firstChild ? state.firstChild.nodeValue = s : state.appendChild(document.createTextNode(s)); }
  });
})();
</script>
</body></html>
`;
}
