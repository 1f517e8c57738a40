// Which transport a request gets: what it asked for, else what its Accept header
// or User-Agent says it can use. Pure; the server passes the request's values in.
import type { TransportName } from './encoder.ts';
import { transportNames } from './encoder.ts';
import { isTransportName } from './index.ts';

/**
 * The User-Agent table, tried in order, first match wins; docs/transports.md shows
 * it and a test checks it. A request whose User-Agent matches nothing gets longpoll,
 * which works everywhere.
 */
export const userAgentTable: ReadonlyArray<{ family: string; pattern: RegExp; transport: TransportName }> = [
  // No streaming XHR before IE 10; the forever frame (htmlfile) is what works.
  { family: 'Internet Explorer 6–9', pattern: /MSIE [6-9]\./, transport: 'iframe' },
  // Before the modern-browser row: IE 11 says "like Gecko", and IE 10 says nothing else it could match.
  { family: 'Internet Explorer 10–11', pattern: /MSIE 10\.|Trident\/7\./, transport: 'xhr-stream' },
  // Before the modern-browser row: KHTML Konqueror says "like Gecko" and later ones "Safari/".
  { family: 'Konqueror', pattern: /Konqueror\//, transport: 'iframe' },
  // Before the modern-browser row, which also matches "Firefox/".
  { family: 'Firefox 1.5–5 (old Gecko)', pattern: /Firefox\/[1-5]\./, transport: 'multipart' },
  // Presto Opera's XHR does not expose partial responses reliably.
  { family: 'Opera (Presto)', pattern: /Opera\/|Presto\//, transport: 'longpoll' },
  { family: 'Chrome, Edge, Firefox, Safari', pattern: /Chrome\/|Firefox\/|Safari\/|Edg\//, transport: 'xhr-stream' },
  {
    family: 'command-line and server clients',
    pattern: /^(curl|Wget|python-requests|Python-urllib|Go-http-client|node|undici|axios|okhttp|libwww-perl|HTTPie)/i,
    transport: 'chunked',
  },
];

/** What chooseTransport decides: a transport, or that the requested one is unknown (with the valid names). */
export type TransportChoice = { ok: true; name: TransportName } | { ok: false; valid: readonly TransportName[] };

/**
 * Rules in order: `requested` (the ?transport= value) if it is present, and then it
 * must be a transport name (even '' counts as present and unknown); else Accept
 * containing text/event-stream → sse; else the first userAgentTable row that
 * matches; else longpoll.
 */
export function chooseTransport(input: { requested?: string | null; accept?: string; userAgent?: string }): TransportChoice {
  const { requested, accept, userAgent } = input;
  if (requested !== undefined && requested !== null) {
    return isTransportName(requested) ? { ok: true, name: requested } : { ok: false, valid: transportNames };
  }
  // Media types are case-insensitive; EventSource always sends exactly this one.
  if (accept !== undefined && accept.toLowerCase().includes('text/event-stream')) return { ok: true, name: 'sse' };
  if (userAgent !== undefined) {
    for (const row of userAgentTable) {
      if (row.pattern.test(userAgent)) return { ok: true, name: row.transport };
    }
  }
  return { ok: true, name: 'longpoll' };
}
