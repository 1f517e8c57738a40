// Every encoder's exact bytes, and proof with a real parser of each wire format
// that hostile data round-trips to exactly the value sent and nothing else.
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { Control, EncodeOptions, Encoder, TransportName, WireMessage } from '../transports/encoder.ts';
import { transportNames } from '../transports/encoder.ts';
import { isValidCallback } from '../transports/escape.ts';
import { encoders, isTransportName } from '../transports/index.ts';
import { MULTIPART_BOUNDARY } from '../transports/multipart.ts';

const sample: WireMessage = { id: 'mhw3k0zq-0a1b', json: '{"text":"hi"}' };
const gap: Control = { control: 'gap', reason: 'expired', since: 'mhw3k0zq-0a19' };
const reconnect: Control = { control: 'reconnect', reason: 'limit' };

interface Bytes {
  headers: Record<string, string>;
  options: EncodeOptions;
  open: string;
  message: string;
  messageNoId: string;
  gap: string;
  reconnect: string;
  heartbeat: string;
  separator: string;
  close: string;
}

const iframeHead =
  '<!DOCTYPE html><html><head><meta charset="utf-8"><title>evcomet</title></head><body><script>function p(m){parent.CALLBACK(m)}</script>';
const iframePadding = `<!--${' '.repeat(1024)}-->\n`;
const mpHead = 'Content-Type: application/json\r\n\r\n';

const expected: Record<TransportName, Bytes> = {
  sse: {
    headers: { 'content-type': 'text/event-stream; charset=utf-8' },
    options: {},
    open: 'retry: 3000\n\n',
    message: 'id: mhw3k0zq-0a1b\ndata: {"text":"hi"}\n\n',
    messageNoId: 'data: {"text":"hi"}\n\n',
    gap: 'event: gap\ndata: {"control":"gap","reason":"expired","since":"mhw3k0zq-0a19"}\n\n',
    reconnect: 'event: reconnect\ndata: {"control":"reconnect","reason":"limit"}\n\n',
    heartbeat: 'event: heartbeat\ndata: {"control":"heartbeat"}\n\n',
    separator: '',
    close: '',
  },
  'xhr-stream': {
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    options: {},
    open: `${' '.repeat(2048)}\n`,
    message: '{"id":"mhw3k0zq-0a1b","data":{"text":"hi"}}\n',
    messageNoId: '{"data":{"text":"hi"}}\n',
    gap: '{"control":"gap","reason":"expired","since":"mhw3k0zq-0a19"}\n',
    reconnect: '{"control":"reconnect","reason":"limit"}\n',
    heartbeat: '\n',
    separator: '',
    close: '',
  },
  chunked: {
    headers: { 'content-type': 'application/x-ndjson; charset=utf-8' },
    options: {},
    open: '',
    message: '{"id":"mhw3k0zq-0a1b","data":{"text":"hi"}}\n',
    messageNoId: '{"data":{"text":"hi"}}\n',
    gap: '{"control":"gap","reason":"expired","since":"mhw3k0zq-0a19"}\n',
    reconnect: '{"control":"reconnect","reason":"limit"}\n',
    heartbeat: '\n',
    separator: '',
    close: '',
  },
  iframe: {
    headers: { 'content-type': 'text/html; charset=utf-8' },
    options: { callback: 'evc.cb' },
    open: iframeHead.replace('CALLBACK', 'evc.cb') + iframePadding,
    message: '<script>p({"id":"mhw3k0zq-0a1b","data":{"text":"hi"}})</script>\n',
    messageNoId: '<script>p({"data":{"text":"hi"}})</script>\n',
    gap: '<script>p({"control":"gap","reason":"expired","since":"mhw3k0zq-0a19"})</script>\n',
    reconnect: '<script>p({"control":"reconnect","reason":"limit"})</script>\n',
    heartbeat: '<script>p()</script>\n',
    separator: '',
    close: '</body></html>',
  },
  multipart: {
    headers: { 'content-type': 'multipart/x-mixed-replace; boundary="evcomet"' },
    options: {},
    open: '--evcomet\r\n',
    message: `${mpHead}{"id":"mhw3k0zq-0a1b","data":{"text":"hi"}}\r\n--evcomet\r\n`,
    messageNoId: `${mpHead}{"data":{"text":"hi"}}\r\n--evcomet\r\n`,
    gap: `${mpHead}{"control":"gap","reason":"expired","since":"mhw3k0zq-0a19"}\r\n--evcomet\r\n`,
    reconnect: `${mpHead}{"control":"reconnect","reason":"limit"}\r\n--evcomet\r\n`,
    heartbeat: `${mpHead}{"control":"heartbeat"}\r\n--evcomet\r\n`,
    separator: '',
    close: '\r\n\r\n--evcomet--\r\n',
  },
  longpoll: {
    headers: { 'content-type': 'application/json; charset=utf-8' },
    options: {},
    open: '[',
    message: '{"id":"mhw3k0zq-0a1b","data":{"text":"hi"}}',
    messageNoId: '{"data":{"text":"hi"}}',
    gap: '{"control":"gap","reason":"expired","since":"mhw3k0zq-0a19"}',
    reconnect: '{"control":"reconnect","reason":"limit"}',
    heartbeat: '',
    separator: ',',
    close: ']',
  },
  jsonp: {
    headers: { 'content-type': 'text/javascript; charset=utf-8' },
    options: { callback: 'evc.cb' },
    open: '/**/evc.cb([',
    message: '{"id":"mhw3k0zq-0a1b","data":{"text":"hi"}}',
    messageNoId: '{"data":{"text":"hi"}}',
    gap: '{"control":"gap","reason":"expired","since":"mhw3k0zq-0a19"}',
    reconnect: '{"control":"reconnect","reason":"limit"}',
    heartbeat: '',
    separator: ',',
    close: ']);',
  },
};

describe('encoders', () => {
  it('has one encoder per transport name, named after it', () => {
    expect(Object.keys(encoders).sort()).toEqual([...transportNames].sort());
    for (const name of transportNames) {
      expect(encoders[name].name).toBe(name);
      expect(isTransportName(name)).toBe(true);
    }
    expect(isTransportName('SSE')).toBe(false);
    expect(isTransportName('')).toBe(false);
    expect(isTransportName('toString')).toBe(false);
  });

  it('streams exactly the transports that hold one long response', () => {
    const streaming = transportNames.filter((n) => encoders[n].streaming).sort();
    expect(streaming).toEqual(['chunked', 'iframe', 'multipart', 'sse', 'xhr-stream']);
  });
});

describe.each(transportNames)('%s: exact bytes', (name) => {
  const encoder = encoders[name];
  const want = expected[name];

  it('headers', () => expect(encoder.headers(want.options)).toEqual(want.headers));
  it('open', () => expect(encoder.open(want.options)).toBe(want.open));
  it('message with an id', () => expect(encoder.message(sample)).toBe(want.message));
  it('message without an id', () => expect(encoder.message({ json: sample.json })).toBe(want.messageNoId));
  it('gap control', () => expect(encoder.control(gap)).toBe(want.gap));
  it('reconnect control', () => expect(encoder.control(reconnect)).toBe(want.reconnect));
  it('heartbeat, separator, close', () => {
    expect(encoder.heartbeat()).toBe(want.heartbeat);
    expect(encoder.separator).toBe(want.separator);
    expect(encoder.close(want.options)).toBe(want.close);
  });
});

describe('exact bytes: per-request options', () => {
  it('iframe defaults the callback to _evcomet and pads its open past 1 KiB', () => {
    const open = encoders.iframe.open({});
    expect(open).toBe(iframeHead.replace('CALLBACK', '_evcomet') + iframePadding);
    expect(Buffer.byteLength(open)).toBeGreaterThanOrEqual(1024);
  });

  it('iframe refuses an invalid callback even though the server checks first', () => {
    expect(() => encoders.iframe.open({ callback: 'alert(1)//' })).toThrow();
  });

  it('jsonp requires a valid callback', () => {
    expect(() => encoders.jsonp.open({})).toThrow();
    expect(() => encoders.jsonp.open({ callback: '' })).toThrow();
    expect(() => encoders.jsonp.open({ callback: 'alert(1);x' })).toThrow();
    expect(() => encoders.jsonp.open({ callback: 'x</script>' })).toThrow();
    expect(encoders.jsonp.open({ callback: 'cb' })).toBe('/**/cb([');
  });

  it('sse refuses an id holding CR, LF or NUL', () => {
    for (const id of ['a\nb', 'a\rb', 'a\r\nb', 'a\0b', '\n\ndata: forged']) {
      expect(() => encoders.sse.message({ id, json: '1' }), JSON.stringify(id)).toThrow();
    }
  });

  it('the multipart boundary is exported', () => expect(MULTIPART_BOUNDARY).toBe('evcomet'));
});

describe('isValidCallback', () => {
  it.each(['cb', '$.x_1', 'a.b.c', '_evcomet', 'jQuery1_2.cb', 'a'.repeat(64)])('accepts %j', (name) => {
    expect(isValidCallback(name)).toBe(true);
  });
  it.each(['', '1a', 'a-b', 'a()', 'a..b', 'a.', 'x</script>', 'a'.repeat(65), 'constructor[0]', '.a', 'a b', 'a\n', 'a.1b', 'new', 'x.import', 'typeof'])(
    'rejects %j',
    (name) => {
      expect(isValidCallback(name)).toBe(false);
    },
  );
});

// ---------------------------------------------------------------------------
// Real parsers of each wire format.

interface SseEvent {
  type: string;
  data: string;
  lastEventId: string;
}

/** The WHATWG "event stream interpretation" algorithm, for a complete stream. */
function parseSse(stream: string): SseEvent[] {
  const events: SseEvent[] = [];
  let data = '';
  let type = '';
  let lastEventId = '';
  const text = stream.startsWith('\uFEFF') ? stream.slice(1) : stream;
  // Lines end with CRLF, a lone CR or a lone LF; an unterminated last line is never processed.
  const lines = text.split(/\r\n|\r|\n/);
  lines.pop();
  for (const line of lines) {
    if (line === '') {
      if (data !== '') events.push({ type: type || 'message', data: data.endsWith('\n') ? data.slice(0, -1) : data, lastEventId });
      data = '';
      type = '';
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data += `${value}\n`;
    else if (field === 'event') type = value;
    else if (field === 'id' && !value.includes('\0')) lastEventId = value;
    // retry and unknown fields dispatch nothing; nothing else to check here
  }
  return events;
}

/** NDJSON: one JSON value per line, blank (whitespace-only) lines skipped. */
function parseNdjson(stream: string): unknown[] {
  return stream
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}

/**
 * The scripts of an HTML document as the tokenizer sees them: each <script> element
 * ends at the first `</script` whatever the case, and none may contain `<!--`
 * (which would switch the tokenizer to the escaped states).
 */
function htmlScripts(html: string): string[] {
  const scripts: string[] = [];
  let at = 0;
  for (;;) {
    const start = html.indexOf('<script>', at);
    if (start === -1) return scripts;
    const bodyStart = start + '<script>'.length;
    const end = html.toLowerCase().indexOf('</script', bodyStart);
    expect(end, 'an unterminated <script>').toBeGreaterThan(-1);
    const body = html.slice(bodyStart, end);
    expect(body).not.toContain('<!--');
    scripts.push(body);
    at = end;
  }
}

/** Runs a forever-frame document's scripts in one context; returns what reached the parent callback. */
function runIframe(html: string): unknown[] {
  const got: unknown[] = [];
  const context = vm.createContext({ parent: { _evcomet: (m: unknown) => got.push(m) } });
  for (const script of htmlScripts(html)) vm.runInContext(script, context);
  return got;
}

/** Runs a JSONP body as a classic script; returns the arguments of each callback call. */
function runJsonp(body: string): unknown[][] {
  const calls: unknown[][] = [];
  vm.runInNewContext(body, { evc: { cb: (...args: unknown[]) => calls.push(args) } });
  return calls;
}

interface Part {
  headers: string;
  body: string;
}

/** RFC 2046 multipart body: delimiters are CRLF--boundary; stops at the close delimiter. */
function parseMultipart(stream: string, boundary: string): { parts: Part[]; closed: boolean; epilogue: string } {
  // The first delimiter may open the body without a CRLF before it.
  const pieces = `\r\n${stream}`.split(`\r\n--${boundary}`);
  expect(pieces.shift(), 'preamble').toBe('');
  const parts: Part[] = [];
  for (const [i, piece] of pieces.entries()) {
    if (piece.startsWith('--')) return { parts, closed: true, epilogue: [piece.slice(2), ...pieces.slice(i + 1)].join('') };
    expect(piece.startsWith('\r\n'), 'CRLF after a delimiter').toBe(true);
    const rest = piece.slice(2);
    // Headers end at the first blank line; with no headers the blank line comes first.
    if (rest.startsWith('\r\n')) {
      parts.push({ headers: '', body: rest.slice(2) });
    } else {
      const blank = rest.indexOf('\r\n\r\n');
      expect(blank, 'end of part headers').toBeGreaterThan(-1);
      parts.push({ headers: rest.slice(0, blank), body: rest.slice(blank + 4) });
    }
  }
  return { parts, closed: false, epilogue: '' };
}

// ---------------------------------------------------------------------------
// Hostile data.

const hostileStrings = [
  '</script><script>alert(1)</script>',
  '</SCRIPT ><script>alert(1)</script >',
  '<!--',
  '<!-- <script>',
  '\u2028',
  '\u2029',
  'a\u2028b\u2029c',
  '\r\n',
  '\r\n--evcomet\r\n',
  '\r\n--evcomet--\r\n',
  '\n\ndata: forged\n\n',
  '\r\rid: forged\r\r',
  'x\0y',
  '"]);alert(1);//',
  '&lt;&amp;',
];

const pretty = JSON.stringify({ text: '</script>\n<!--', list: [1, 'two\r\n--evcomet', { three: '\u2028' }], nested: { empty: {} } }, null, 2);

const hostileMessages: Array<{ label: string; message: WireMessage }> = [
  ...hostileStrings.flatMap((s) => [
    { label: `object holding ${JSON.stringify(s)}`, message: { id: 'mhw3k0zq-0a1b', json: JSON.stringify({ text: s }) } },
    { label: `bare string ${JSON.stringify(s)}, no id`, message: { json: JSON.stringify(s) } },
  ]),
  { label: 'pretty-printed JSON with raw newlines', message: { id: 'mhw3k0zq-0a1c', json: pretty } },
  { label: 'raw CR, LF and CRLF as JSON whitespace', message: { id: 'x', json: '{\r\n"a":\r"\\r\\n--evcomet"\n,\n"b"\r:[\r\n]}\r\n' } },
  // Ids are the server's, but the encoders must not trust them to be tame either.
  { label: 'a hostile id (not for sse)', message: { id: '</script><!--\u2028\u2029\r\n--evcomet\r\n', json: '1' } },
  { label: 'an id with script-ish text', message: { id: '</script>\u2028"x', json: 'null' } },
];

const hostileControls: Control[] = [
  { control: 'gap', reason: 'unknown', since: '</script><!--\u2028\r\n--evcomet\r\n\n\ndata: forged\n\n' },
  { control: 'reconnect', reason: 'shutdown' },
];

/** What a client should get for a message: its id (when it has one) and its data's value. */
function itemOf(message: WireMessage): unknown {
  const data: unknown = JSON.parse(message.json);
  return message.id === undefined ? { data } : { id: message.id, data };
}

/** The whole response a streaming client sees for one item. */
/** The events a page sees, less the heartbeats that keep the stream alive. */
const sseEvents = (text: string) => parseSse(text).filter((e) => e.type !== 'heartbeat');

function streamOf(encoder: Encoder, frame: string, options: EncodeOptions = {}): string {
  return encoder.open(options) + frame + encoder.heartbeat() + encoder.close(options);
}

describe.each(hostileMessages)('round trip of $label', ({ message }) => {
  const item = itemOf(message);
  const sseSafeId = message.id === undefined || !/[\r\n\0]/.test(message.id);

  it(sseSafeId ? 'sse: exactly one event with the id and data' : 'sse: the id is refused', () => {
    if (!sseSafeId) {
      expect(() => encoders.sse.message(message)).toThrow();
      return;
    }
    const events = sseEvents(streamOf(encoders.sse, encoders.sse.message(message)));
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event!.type).toBe('message');
    expect(event!.lastEventId).toBe(message.id ?? '');
    expect(JSON.parse(event!.data)).toEqual(JSON.parse(message.json));
  });

  it.each(['xhr-stream', 'chunked'] as const)('%s: exactly one NDJSON item', (name) => {
    const encoder = encoders[name];
    expect(parseNdjson(streamOf(encoder, encoder.message(message)))).toEqual([item]);
  });

  it('iframe: script-safe, and exactly one call with the item', () => {
    const frame = encoders.iframe.message(message);
    const body = /^<script>(.*)<\/script>\n$/s.exec(frame)?.[1];
    expect(body).toBeDefined();
    expect(body!.toLowerCase()).not.toContain('</script');
    expect(body).not.toContain('<!--');
    // Engines before ES2019 end a string at a raw U+2028/U+2029.
    expect(body).not.toMatch(/[\u2028\u2029\r\n]/);
    expect(runIframe(streamOf(encoders.iframe, frame))).toEqual([item, undefined]);
  });

  it('jsonp: exactly one call with a one-item array', () => {
    const options = { callback: 'evc.cb' };
    const body = encoders.jsonp.open(options) + encoders.jsonp.message(message) + encoders.jsonp.close(options);
    expect(body).not.toMatch(/[\u2028\u2029\r\n]/);
    expect(body.toLowerCase()).not.toContain('</script');
    expect(body).not.toContain('<!--');
    expect(runJsonp(body)).toEqual([[[item]]]);
  });

  it('multipart: exactly one JSON part, the heartbeat, then the close', () => {
    const { parts, closed, epilogue } = parseMultipart(streamOf(encoders.multipart, encoders.multipart.message(message)), MULTIPART_BOUNDARY);
    expect(closed).toBe(true);
    expect(epilogue).toBe('\r\n');
    expect(parts).toHaveLength(3);
    expect(parts[0]!.headers).toBe('Content-Type: application/json');
    expect(JSON.parse(parts[0]!.body)).toEqual(item);
    expect(JSON.parse(parts[1]!.body)).toEqual({ control: 'heartbeat' });
    expect(parts[2]).toEqual({ headers: '', body: '' });
  });

  it('longpoll: a one-item array, and a batch with it twice', () => {
    const lp = encoders.longpoll;
    const frame = lp.message(message);
    expect(JSON.parse(lp.open({}) + frame + lp.close({}))).toEqual([item]);
    expect(JSON.parse(lp.open({}) + [frame, lp.control(reconnect), frame].join(lp.separator) + lp.close({}))).toEqual([item, reconnect, item]);
  });
});

describe.each(hostileControls)('round trip of control $control', (control) => {
  it('sse: one event named after the control', () => {
    const events = sseEvents(streamOf(encoders.sse, encoders.sse.control(control)));
    expect(events).toHaveLength(1);
    expect(events[0]!.type).toBe(control.control);
    expect(JSON.parse(events[0]!.data)).toEqual(control);
  });

  it.each(['xhr-stream', 'chunked'] as const)('%s: one NDJSON item', (name) => {
    const encoder = encoders[name];
    expect(parseNdjson(streamOf(encoder, encoder.control(control)))).toEqual([control]);
  });

  it('iframe: one call', () => {
    const frame = encoders.iframe.control(control);
    expect(frame.slice(0, -'</script>\n'.length).toLowerCase().indexOf('</script')).toBe(-1);
    expect(runIframe(streamOf(encoders.iframe, frame))).toEqual([control, undefined]);
  });

  it('jsonp: one call', () => {
    const options = { callback: 'evc.cb' };
    const body = encoders.jsonp.open(options) + encoders.jsonp.control(control) + encoders.jsonp.close(options);
    expect(body).not.toMatch(/[\u2028\u2029\r\n]|<!--|<\/script/i);
    expect(runJsonp(body)).toEqual([[[control]]]);
  });

  it('multipart: one part', () => {
    const { parts, closed } = parseMultipart(streamOf(encoders.multipart, encoders.multipart.control(control)), MULTIPART_BOUNDARY);
    expect(closed).toBe(true);
    expect(parts.map((p) => p.body)).toEqual([JSON.stringify(control), '{"control":"heartbeat"}', '']);
    expect(JSON.parse(parts[0]!.body)).toEqual(control);
  });

  it('longpoll: one item', () => {
    const lp = encoders.longpoll;
    expect(JSON.parse(lp.open({}) + lp.control(control) + lp.close({}))).toEqual([control]);
  });
});

describe('a whole stream of many items', () => {
  const messages = hostileMessages.map((h) => h.message).filter((m) => m.id === undefined || !/[\r\n\0]/.test(m.id));
  const items = messages.map(itemOf);

  it('sse: one event per message, in order, none forged', () => {
    const sse = encoders.sse;
    const stream = sse.open({}) + messages.map((m) => sse.message(m) + sse.heartbeat()).join('') + sse.control(hostileControls[0]!);
    const events = sseEvents(stream);
    expect(events).toHaveLength(messages.length + 1);
    expect(events.slice(0, -1).map((e) => JSON.parse(e.data) as unknown)).toEqual(messages.map((m) => JSON.parse(m.json) as unknown));
    expect(events.at(-1)!.type).toBe('gap');
  });

  it('chunked, xhr-stream, iframe, multipart and longpoll keep every item apart', () => {
    for (const name of ['chunked', 'xhr-stream'] as const) {
      const e = encoders[name];
      expect(parseNdjson(e.open({}) + messages.map((m) => e.message(m)).join(e.heartbeat()) + e.close({}))).toEqual(items);
    }
    const f = encoders.iframe;
    expect(runIframe(f.open({}) + messages.map((m) => f.message(m)).join('') + f.close({}))).toEqual(items);
    const mp = encoders.multipart;
    const { parts, closed } = parseMultipart(mp.open({}) + messages.map((m) => mp.message(m)).join('') + mp.close({}), MULTIPART_BOUNDARY);
    expect(closed).toBe(true);
    expect(parts.slice(0, -1).map((p) => JSON.parse(p.body) as unknown)).toEqual(items);
    const lp = encoders.longpoll;
    expect(JSON.parse(lp.open({}) + messages.map((m) => lp.message(m)).join(lp.separator) + lp.close({}))).toEqual(items);
    const jp = encoders.jsonp;
    const options = { callback: 'evc.cb' };
    expect(runJsonp(jp.open(options) + messages.map((m) => jp.message(m)).join(jp.separator) + jp.close(options))).toEqual([[items]]);
  });
});
