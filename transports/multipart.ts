// multipart/x-mixed-replace: each item a part of an endless multipart body, for
// old Gecko (Firefox 1.5–5), whose XHR fires onload once per part.
import type { Control, Encoder, WireMessage } from './encoder.ts';
import { jsonItem } from './ndjson.ts';

/** The boundary between parts; every part body is one-line JSON, which cannot contain it after a CRLF. */
export const MULTIPART_BOUNDARY = 'evcomet';

const delimiter = `--${MULTIPART_BOUNDARY}\r\n`;

// Every part ends with the NEXT part's boundary line: the browser hands over a
// part only once it sees the boundary after it, so this delivers it at once
// rather than when the next item comes.
// A body is always one line of JSON (jsonItem uses oneLineJson, and JSON.stringify
// escapes CR and LF), so it can never contain `\r\n--evcomet`: no data can end a
// part early or forge one.
function part(body: string): string {
  return `Content-Type: application/json\r\n\r\n${body}\r\n${delimiter}`;
}

const heartbeatPart = part('{"control":"heartbeat"}');

/** multipart: one application/json part per item, each followed by the next boundary. */
export const multipart: Encoder = {
  name: 'multipart',
  streaming: true,
  headers: () => ({ 'content-type': `multipart/x-mixed-replace; boundary="${MULTIPART_BOUNDARY}"` }),
  open: () => delimiter,
  message: (message: WireMessage) => part(jsonItem(message)),
  control: (control: Control) => part(JSON.stringify(control)),
  separator: '',
  heartbeat: () => heartbeatPart,
  // After the last boundary line: no headers, an empty body, then the close delimiter.
  close: () => `\r\n\r\n--${MULTIPART_BOUNDARY}--\r\n`,
};
