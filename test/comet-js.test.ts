// static/comet.js without a browser: it parses as ES3 (so old browsers can run
// it), and its incremental parsers give the same items however the bytes are
// split, down to every single position, as the real encoders produce them.
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { parse } from 'acorn';
import { describe, expect, it } from 'vitest';
import type { WireMessage } from '../transports/encoder.ts';
import { encoders } from '../transports/index.ts';

const source = readFileSync(new URL('../static/comet.js', import.meta.url), 'utf8');

interface Parsers {
  ndjson(onItem: (item: unknown) => void): { push(text: string): void };
  sse(onItem: (item: unknown) => void): { push(text: string): void };
  batch(text: string): unknown[];
}

function loadParsers(): Parsers {
  const window: Record<string, unknown> = { JSON, location: { protocol: 'http:', host: 'example' } };
  runInNewContext(source, { window, document: {} });
  return (window.evcomet as { _parsers: Parsers })._parsers;
}

const messages: WireMessage[] = [
  { id: 'mhw3k0zq-0a1b', json: JSON.stringify({ text: 'hi\nthere', n: 1 }) },
  { id: 'mhw3k0zq-1a1b', json: JSON.stringify({ text: '</script><!-- \u2028 ünï €', crlf: '\r\n--evcomet' }) },
  { id: 'mhw3k0zr-0a1b', json: JSON.stringify([1, 'two', null]) },
];
const expected = [
  ...messages.map((m) => ({ id: m.id, data: JSON.parse(m.json) })),
  { control: 'gap', reason: 'expired', since: 'mhw3k0zq-0a19', resume: 'mhw3k0zq-0a1a' },
];

function streamOf(name: 'sse' | 'xhr-stream' | 'chunked'): string {
  const e = encoders[name];
  return e.open({}) + e.heartbeat() + messages.map((m) => e.message(m)).join('') + e.heartbeat()
    + e.control({ control: 'gap', reason: 'expired', since: 'mhw3k0zq-0a19', resume: 'mhw3k0zq-0a1a' });
}

describe('comet.js', () => {
  it('is ES3 (no let, arrow functions, classes or trailing commas), so IE 6 can run it', () => {
    expect(() => parse(source, { ecmaVersion: 3 })).not.toThrow();
  });

  for (const [transport, parser] of [['sse', 'sse'], ['xhr-stream', 'ndjson'], ['chunked', 'ndjson']] as const) {
    it(`parses ${transport} the same however its bytes are split (every position, and byte by byte)`, () => {
      const parsers = loadParsers();
      const text = streamOf(transport);
      const run = (pieces: string[]) => {
        const items: unknown[] = [];
        const isHeartbeat = (item: unknown) => item === null || (item as { control?: string }).control === 'heartbeat';
        const p = parsers[parser]((item) => { if (!isHeartbeat(item)) items.push(item); });
        for (const piece of pieces) p.push(piece);
        return items;
      };
      const whole = run([text]);
      expect(whole).toEqual(expected);
      for (let at = 0; at <= text.length; at++) expect(run([text.slice(0, at), text.slice(at)])).toEqual(expected);
      expect(run(text.split(''))).toEqual(expected);
    });
  }

  it('counts heartbeats as items of their own (null), which keep the watchdog fed', () => {
    const parsers = loadParsers();
    const beats: unknown[] = [];
    const p = parsers.ndjson((item) => beats.push(item));
    p.push(encoders['xhr-stream'].open({}) + '\n\n');
    expect(beats).toEqual([null, null, null]);
    const sse: unknown[] = [];
    parsers.sse((item) => sse.push(item)).push('retry: 3000\n\n:\n\r\n');
    expect(sse).toEqual([null, null]);
  });

  it('reads a long-poll batch', () => {
    const e = encoders.longpoll;
    const text = e.open({}) + messages.map((m) => e.message(m)).join(e.separator) + e.close({});
    expect(loadParsers().batch(text)).toEqual(expected.slice(0, 3));
  });
});
