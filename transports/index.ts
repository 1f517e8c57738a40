// Every transport's encoder, by name.
import { chunked } from './chunked.ts';
import type { Encoder, TransportName } from './encoder.ts';
import { transportNames } from './encoder.ts';
import { iframe } from './iframe.ts';
import { jsonp } from './jsonp.ts';
import { longpoll } from './longpoll.ts';
import { multipart } from './multipart.ts';
import { sse } from './sse.ts';
import { xhrStream } from './xhr-stream.ts';

/** The encoder of each transport; encoders[name].name === name. */
export const encoders: Record<TransportName, Encoder> = {
  sse,
  'xhr-stream': xhrStream,
  iframe,
  multipart,
  longpoll,
  jsonp,
  chunked,
};

/** true when s is exactly one of transportNames (case-sensitive). */
export function isTransportName(s: string): s is TransportName {
  return (transportNames as readonly string[]).includes(s);
}
