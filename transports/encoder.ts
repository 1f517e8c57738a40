// What every transport encoder is. An encoder turns messages into the bytes of
// one Comet wire format and does nothing else: no socket, no timer, no I/O.
// server/comet-stream.ts owns the response and decides when each piece is sent.
//
// Items on the wire are either messages or control frames:
//   message  {"id":"mhw3k0zq-0a1b","data":<the message's JSON>}
//   control  {"control":"gap","reason":"expired","since":"…"}  and the like
// (SSE carries them as `id:`/`data:` lines and `event: <control>` instead.)

export const transportNames = ['sse', 'xhr-stream', 'iframe', 'multipart', 'longpoll', 'jsonp', 'chunked'] as const;
export type TransportName = (typeof transportNames)[number];

/** A message as encoders see it: an optional id and the JSON text of its data. */
export interface WireMessage {
  /** Orders messages within a channel; absent for views that stream data without ids. */
  readonly id?: string | undefined;
  /** The data, already serialized as compact JSON (JSON.stringify). */
  readonly json: string;
}

/**
 * Control frames tell the client something about the stream rather than the channel:
 * - `gap`: the id it resumed from has left the buffer (`expired`) or is not from this
 *   server's history (`unknown`); the recent buffer follows, so the client should
 *   treat what comes next as a fresh start, and resume from `resume` if no message follows.
 * - `reconnect`: the server is ending this response (byte limit, a slow reader,
 *   shutdown); reconnect with your last id and nothing is lost.
 */
export type Control =
  | { control: 'gap'; reason: 'expired' | 'unknown'; since: string; resume?: string }
  | { control: 'reconnect'; reason: 'limit' | 'slow' | 'shutdown' };

/** Per-request choices an encoder may need (only jsonp and iframe use one). */
export interface EncodeOptions {
  /** A validated callback name (see isValidCallback). */
  callback?: string | undefined;
}

export interface Encoder {
  readonly name: TransportName;
  /** true: one long response; false: answered once with a batch (longpoll, jsonp). */
  readonly streaming: boolean;
  /** Headers of this transport; the server adds the no-cache, proxy and nosniff ones. */
  headers(options: EncodeOptions): Record<string, string>;
  /** Bytes that open the response (prelude, padding, boundary, `[` …). */
  open(options: EncodeOptions): string;
  /** One message's frame. Depends on nothing per-request, so it is made once per
   * message and the same bytes go to every subscriber of this transport. */
  message(message: WireMessage): string;
  /** One control frame; like message(), the same for every subscriber. */
  control(control: Control): string;
  /** Between two items of a batch: ',' for the JSON-array transports, else ''. */
  readonly separator: string;
  /** Keeps proxies and the client's watchdog from thinking the stream died (streaming only). */
  heartbeat(): string;
  /** Bytes that end the response (`]`, `);`, a closing boundary, `</body></html>` …). */
  close(options: EncodeOptions): string;
}
