// chooseTransport: ?transport= first, then Accept, then the User-Agent table,
// which docs/transports.md shows row for row.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chooseTransport, userAgentTable } from '../transports/choose.ts';
import { transportNames } from '../transports/encoder.ts';

const ua = {
  ie6: 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)',
  ie8: 'Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)',
  ie9: 'Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)',
  ie10: 'Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; Trident/6.0)',
  ie11: 'Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko',
  konqueror: 'Mozilla/5.0 (compatible; Konqueror/4.5; Linux) KHTML/4.5.4 (like Gecko)',
  firefox15: 'Mozilla/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.8.0.1) Gecko/20060111 Firefox/1.5.0.1',
  firefox36: 'Mozilla/5.0 (Windows; U; Windows NT 6.1; en-US; rv:1.9.2.13) Gecko/20101203 Firefox/3.6.13',
  firefox10: 'Mozilla/5.0 (Windows NT 6.1; rv:10.0) Gecko/20100101 Firefox/10.0',
  firefox: 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  opera: 'Opera/9.80 (Windows NT 6.1; U; en) Presto/2.10.289 Version/12.00',
  chrome: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  edge: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51',
  safari: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  curl: 'curl/8.0',
  wget: 'Wget/1.21.4',
  pythonRequests: 'python-requests/2.31.0',
  node: 'node',
  goHttp: 'Go-http-client/1.1',
  unknown: 'SomeMonitor/1.0 (+https://example.com/bot)',
};

describe('chooseTransport: User-Agent table', () => {
  it.each([
    ['ie6', 'iframe'],
    ['ie8', 'iframe'],
    ['ie9', 'iframe'],
    ['ie10', 'xhr-stream'],
    ['ie11', 'xhr-stream'],
    ['konqueror', 'iframe'],
    ['firefox15', 'multipart'],
    ['firefox36', 'multipart'],
    ['firefox10', 'xhr-stream'],
    ['firefox', 'xhr-stream'],
    ['opera', 'longpoll'],
    ['chrome', 'xhr-stream'],
    ['edge', 'xhr-stream'],
    ['safari', 'xhr-stream'],
    ['curl', 'chunked'],
    ['wget', 'chunked'],
    ['pythonRequests', 'chunked'],
    ['node', 'chunked'],
    ['goHttp', 'chunked'],
    ['unknown', 'longpoll'],
  ] as const)('%s → %s', (key, name) => {
    expect(chooseTransport({ userAgent: ua[key] })).toEqual({ ok: true, name });
  });

  it('falls back to longpoll with no or an empty User-Agent', () => {
    expect(chooseTransport({})).toEqual({ ok: true, name: 'longpoll' });
    expect(chooseTransport({ userAgent: '' })).toEqual({ ok: true, name: 'longpoll' });
  });

  it('matches command-line clients case-insensitively, and only at the start', () => {
    expect(chooseTransport({ userAgent: 'CURL/7.1' })).toEqual({ ok: true, name: 'chunked' });
    expect(chooseTransport({ userAgent: 'not-curl/1.0' })).toEqual({ ok: true, name: 'longpoll' });
  });

  it('exports the table in order, each row a known transport', () => {
    expect(userAgentTable.map((r) => r.transport)).toEqual(['iframe', 'xhr-stream', 'iframe', 'multipart', 'longpoll', 'xhr-stream', 'chunked']);
    for (const row of userAgentTable) {
      expect(transportNames).toContain(row.transport);
      expect(row.family).not.toBe('');
    }
  });
});

describe('chooseTransport: ?transport= and Accept', () => {
  it('Accept: text/event-stream → sse, whatever the User-Agent', () => {
    expect(chooseTransport({ accept: 'text/event-stream' })).toEqual({ ok: true, name: 'sse' });
    expect(chooseTransport({ accept: 'text/html, Text/Event-Stream;q=0.9', userAgent: ua.ie6 })).toEqual({ ok: true, name: 'sse' });
    expect(chooseTransport({ accept: '*/*', userAgent: ua.curl })).toEqual({ ok: true, name: 'chunked' });
  });

  it('?transport= wins over Accept and User-Agent', () => {
    expect(chooseTransport({ requested: 'longpoll', accept: 'text/event-stream', userAgent: ua.chrome })).toEqual({ ok: true, name: 'longpoll' });
    for (const name of transportNames) {
      expect(chooseTransport({ requested: name, userAgent: ua.curl })).toEqual({ ok: true, name });
    }
  });

  it('an unknown ?transport= is not ok and lists all seven names', () => {
    for (const requested of ['websocket', 'SSE', '', 'toString']) {
      const choice = chooseTransport({ requested, accept: 'text/event-stream' });
      expect(choice.ok).toBe(false);
      if (choice.ok) continue;
      expect([...choice.valid].sort()).toEqual(['chunked', 'iframe', 'jsonp', 'longpoll', 'multipart', 'sse', 'xhr-stream']);
    }
  });

  it('a null ?transport= (absent from the query) falls through', () => {
    expect(chooseTransport({ requested: null, accept: 'text/event-stream' })).toEqual({ ok: true, name: 'sse' });
    expect(chooseTransport({ requested: null, userAgent: ua.ie6 })).toEqual({ ok: true, name: 'iframe' });
  });
});

describe('docs/transports.md', () => {
  it('shows every row of the User-Agent table, in order', () => {
    const doc = readFileSync(new URL('../docs/transports.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^ *\| (.+?) \| `(.+?)`(?: \(case-insensitive\))? \| `([a-z-]+)` \|$/gm)].map((m) => ({
      family: m[1],
      source: m[2]!.replaceAll('\\|', '|'),
      transport: m[3],
    }));
    expect(rows).toEqual(userAgentTable.map((r) => ({ family: r.family, source: r.pattern.source, transport: r.transport })));
  });
});
