// The forever frame: an HTML page in a hidden iframe (or IE's htmlfile object)
// that never ends, each item a <script> block calling up to the parent page.
// For IE 6–9 and Konqueror, which have no streaming XHR.
import type { Control, EncodeOptions, Encoder, WireMessage } from './encoder.ts';
import { isValidCallback, scriptSafeJson } from './escape.ts';

/** The callback the frame calls on its parent when the request names none. */
export const DEFAULT_IFRAME_CALLBACK = '_evcomet';

// IE renders (and so runs) nothing of a document before about 1 KiB has arrived.
const padding = `<!--${' '.repeat(1024)}-->\n`;

function callbackOf(options: EncodeOptions): string {
  const callback = options.callback ?? DEFAULT_IFRAME_CALLBACK;
  // The server validates it first; checking again costs nothing and keeps a missed
  // check from becoming script injection into the page.
  if (!isValidCallback(callback)) throw new Error(`iframe: invalid callback name ${JSON.stringify(callback)}`);
  return callback;
}

/** iframe: `<script>p(item)</script>` blocks; `p` (defined by open) calls parent.<callback>. */
export const iframe: Encoder = {
  name: 'iframe',
  streaming: true,
  headers: () => ({ 'content-type': 'text/html; charset=utf-8' }),
  // The callback is bound once here, in `p`, so message and control frames are the
  // same bytes for every subscriber whatever callback each named.
  open: (options: EncodeOptions) =>
    `<!DOCTYPE html><html><head><meta charset="utf-8"><title>evcomet</title></head><body><script>function p(m){parent.${callbackOf(options)}(m)}</script>${padding}`,
  message(message: WireMessage): string {
    // Both the id and the data are placed in a <script>, so both are script-safe:
    // neither can close the element, open a comment, or hold a raw line terminator.
    const data = scriptSafeJson(message.json);
    const item = message.id === undefined ? `{"data":${data}}` : `{"id":${scriptSafeJson(JSON.stringify(message.id))},"data":${data}}`;
    return `<script>p(${item})</script>\n`;
  },
  control: (control: Control) => `<script>p(${scriptSafeJson(JSON.stringify(control))})</script>\n`,
  separator: '',
  // p() with no argument: the parent sees `undefined` and only resets its watchdog.
  heartbeat: () => '<script>p()</script>\n',
  close: () => '</body></html>',
};
