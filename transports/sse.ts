// Server-Sent Events (text/event-stream): the native EventSource format.
import type { Control, Encoder, WireMessage } from './encoder.ts';
import { oneLineJson } from './escape.ts';

/** SSE: `id:`/`data:` lines per message, `event: <control>` per control and heartbeat. */
export const sse: Encoder = {
  name: 'sse',
  streaming: true,
  headers: () => ({ 'content-type': 'text/event-stream; charset=utf-8' }),
  // Tells EventSource how long to wait before reconnecting; a blank line with no
  // data dispatches nothing.
  open: () => 'retry: 3000\n\n',
  message(message: WireMessage): string {
    const data = `data: ${oneLineJson(message.json)}\n\n`;
    if (message.id === undefined) return data;
    // A line break in the id would end the field and let the rest forge fields or
    // events; a NUL makes EventSource ignore the id. Ids are made by the server, so
    // either is a bug: refuse loudly rather than emit it.
    if (/[\r\n\0]/.test(message.id)) throw new Error(`sse: message id contains CR, LF or NUL: ${JSON.stringify(message.id)}`);
    return `id: ${message.id}\n${data}`;
  },
  // JSON.stringify escapes every line break, so the data line stays one line.
  control: (control: Control) => `event: ${control.control}\ndata: ${JSON.stringify(control)}\n\n`,
  separator: '',
  // An event, not a comment: EventSource hides comments from the page, and
  // comet.js needs to see heartbeats to notice a dead stream. Clients that do not
  // listen for `heartbeat` events ignore them.
  heartbeat: () => 'event: heartbeat\ndata: {"control":"heartbeat"}\n\n',
  close: () => '',
};
