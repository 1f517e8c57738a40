// Long polling: the request is held until there is something to say, then
// answered once with a JSON array of items; the client asks again.
import type { Control, Encoder, WireMessage } from './encoder.ts';
import { jsonItem } from './ndjson.ts';

/** longpoll: one JSON array per response, `[item,item,…]`; `[]` when nothing came. */
export const longpoll: Encoder = {
  name: 'longpoll',
  streaming: false,
  headers: () => ({ 'content-type': 'application/json; charset=utf-8' }),
  open: () => '[',
  message: (message: WireMessage) => jsonItem(message),
  control: (control: Control) => JSON.stringify(control),
  separator: ',',
  // One answer per request and no stream to keep alive.
  heartbeat: () => '',
  close: () => ']',
};
