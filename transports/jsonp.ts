// JSONP long polling: a <script src> answered with `callback([items])`, for
// cross-origin clients with neither CORS nor postMessage.
import type { Control, EncodeOptions, Encoder, WireMessage } from './encoder.ts';
import { isValidCallback, scriptSafeJson } from './escape.ts';

/** jsonp: `/**\/callback([item,item,…]);`; open throws unless options.callback is a valid name. */
export const jsonp: Encoder = {
  name: 'jsonp',
  streaming: false,
  headers: () => ({ 'content-type': 'text/javascript; charset=utf-8' }),
  open(options: EncodeOptions): string {
    const { callback } = options;
    // The callback is the one part of the body the requester controls; anything
    // but an identifier path would be script injection.
    if (callback === undefined || !isValidCallback(callback)) {
      throw new Error(`jsonp: missing or invalid callback name ${JSON.stringify(callback)}`);
    }
    // The leading comment keeps the body from starting with requester-chosen bytes,
    // which defuses content-sniffing attacks (a callback posing as a Flash file).
    return `/**/${callback}([`;
  },
  message(message: WireMessage): string {
    // Script-safe because the body runs as a classic script: U+2028/2029 broke
    // older engines and `<!--` starts a comment there (Annex B).
    const data = scriptSafeJson(message.json);
    return message.id === undefined ? `{"data":${data}}` : `{"id":${scriptSafeJson(JSON.stringify(message.id))},"data":${data}}`;
  },
  control: (control: Control) => scriptSafeJson(JSON.stringify(control)),
  separator: ',',
  heartbeat: () => '',
  close: () => ']);',
};
