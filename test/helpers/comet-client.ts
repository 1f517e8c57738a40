// Client-side parsers for every transport's wire format, written from
// docs/transports.md: they turn the bytes a client received into the items
// (messages and control frames) it would act on.
import { runInNewContext } from 'node:vm';
import type { TransportName } from '../../transports/encoder.ts';

export type Item =
  | { kind: 'message'; id: string | undefined; data: unknown }
  | { kind: 'control'; control: string; [key: string]: unknown };

function fromObject(o: Record<string, unknown>): Item {
  if (typeof o.control === 'string') return { kind: 'control', ...o } as Item;
  return { kind: 'message', id: o.id as string | undefined, data: o.data };
}

/** SSE, per the WHATWG parsing rules: events are dispatched on blank lines. */
export function parseSse(text: string): Item[] {
  const items: Item[] = [];
  let data: string[] = [];
  let event = '';
  let id: string | undefined;
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') {
      if (data.length > 0) {
        const value = JSON.parse(data.join('\n'));
        items.push(event ? { kind: 'control', ...value } : { kind: 'message', id, data: value });
      }
      data = [];
      event = '';
      id = undefined;
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id') id = value;
  }
  return items;
}

function parseNdjson(text: string): Item[] {
  return text.split('\n').filter((line) => line.trim() !== '').map((line) => fromObject(JSON.parse(line)));
}

function parseIframe(text: string): Item[] {
  const items: Item[] = [];
  for (const m of text.matchAll(/<script>p\(([\s\S]*?)\)<\/script>/g)) {
    if (m[1] === '') continue; // heartbeat
    items.push(fromObject(runInNewContext(`(${m[1]})`)));
  }
  return items;
}

function parseMultipart(text: string): Item[] {
  return text.split('--evcomet').slice(1)
    .map((part) => part.split('\r\n\r\n')[1]?.trim())
    .filter((body): body is string => !!body && body !== '--')
    .map((body) => JSON.parse(body))
    .filter((o) => o.control !== 'heartbeat')
    .map(fromObject);
}

function parseJsonp(text: string): Item[] {
  let received: unknown[] = [];
  runInNewContext(text, { cb: (items: unknown[]) => { received = items; } });
  return received.map((o) => fromObject(o as Record<string, unknown>));
}

/** The items in `text` as the named transport frames them (jsonp's callback must be `cb`). */
export function parseItems(transport: TransportName, text: string): Item[] {
  switch (transport) {
    case 'sse': return parseSse(text);
    case 'chunked':
    case 'xhr-stream': return parseNdjson(text);
    case 'iframe': return parseIframe(text);
    case 'multipart': return parseMultipart(text);
    case 'longpoll': return (JSON.parse(text) as Array<Record<string, unknown>>).map(fromObject);
    case 'jsonp': return parseJsonp(text);
  }
}

export const messagesOf = (items: Item[]) => items.filter((i): i is Extract<Item, { kind: 'message' }> => i.kind === 'message');
