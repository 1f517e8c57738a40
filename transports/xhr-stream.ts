// XHR streaming: NDJSON read from responseText on each progress event (also
// XDomainRequest in IE 8/9 and fetch streams everywhere else).
import type { Encoder } from './encoder.ts';
import { ndjsonControl, ndjsonMessage } from './ndjson.ts';

// Old XHR and XDomainRequest buffer the first couple of KiB before firing any
// progress event, so a prelude of whitespace gets the stream going.
const prelude = `${' '.repeat(2048)}\n`;

/** xhr-stream: a 2 KiB whitespace prelude, then one JSON item per line. */
export const xhrStream: Encoder = {
  name: 'xhr-stream',
  streaming: true,
  // text/plain, not application/json: old engines would otherwise wait for the end
  // to parse, and some refuse partial responseText for JSON types.
  headers: () => ({ 'content-type': 'text/plain; charset=utf-8' }),
  open: () => prelude,
  message: ndjsonMessage,
  control: ndjsonControl,
  separator: '',
  heartbeat: () => '\n',
  close: () => '',
};
