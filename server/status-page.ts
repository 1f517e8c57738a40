// The /status page: EvServer's status page, for a person at a browser. It
// refreshes itself; every value placed in it is HTML-escaped.
import type { Snapshot } from './metrics.ts';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

function duration(seconds: number): string {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h ${Math.floor((s % 3600) / 60)}m ${s % 60}s`;
}

function table(head: string[], rows: Array<Array<string | number>>): string {
  const cells = (tag: string, row: Array<string | number>) => row.map((v) => `<${tag}>${escapeHtml(String(v))}</${tag}>`).join('');
  return `<table><tr>${cells('th', head)}</tr>${rows.map((r) => `<tr>${cells('td', r)}</tr>`).join('')}</table>`;
}

export function renderStatusPage(s: Snapshot): string {
  const transports = Object.entries(s.open);
  const total = transports.reduce((n, [, v]) => n + v, 0);
  const channels = [...s.hub.byChannel].sort((a, b) => b.subscribers - a.subscribers).slice(0, 100);
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>evcomet status</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.2em .7em;text-align:left}th{background:#f4f4f4}h2{font-size:1.1em;margin-bottom:0}</style>
</head><body>
<h1>evcomet status</h1>
<p>up ${escapeHtml(duration(s.uptimeSeconds))}; resident memory ${mib(s.memory.rss)}, heap ${mib(s.memory.heapUsed)}; refreshed every 5 s</p>
<h2>Services</h2>${table(['service', 'state'], Object.entries(s.services))}
<p>bus: ${s.bus.reconnects} reconnects, ${s.bus.malformed} malformed messages dropped${s.bus.lastError ? `; last fault: ${escapeHtml(s.bus.lastError)}` : ''}</p>
<h2>Connections by transport (${total} open)</h2>${table(['transport', 'open'], transports)}
<h2>Messages</h2>${table(['published here', 'delivered to subscribers', 'written to clients', 'bytes out', 'resumes', 'gaps', 'slow readers cut'],
    [[s.hub.published, s.hub.delivered, s.messagesOut, s.bytesOut, s.hub.resumes, s.hub.gaps, s.hub.slow]])}
<h2>Forum events</h2>${table(['made into lines', 'unknown type', 'bad', 'shown but not stored'],
    [[s.chat.forumEvents ?? 0, s.chat.forumEventsUnknown ?? 0, s.chat.forumEventsBad ?? 0, s.chat.forumEventsUnstored ?? 0]])}
<h2>Channels (${s.hub.channels}${s.hub.channels > channels.length ? `, the ${channels.length} busiest` : ''})</h2>
${table(['channel', 'subscribers', 'buffered'], channels.map((c) => [c.channel, c.subscribers, c.buffered]))}
</body></html>
`;
}
