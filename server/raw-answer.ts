// A poll's whole answer, head and body, written to its socket as one buffer
// that is made once for all the polls a message answers. Through Node's
// response API, every answer builds and checks its head again and goes through
// the response's write path. In a fan-out loop of a thousand answers that cost
// about a quarter of the loop (BENCHMARKS.md, session 9).
//
// This is the one place that reaches below Node's public response API. It
// writes the bytes Node would have written. Then it marks the response's head as
// sent (`_header`, `_headerSent`) and ends the response, so Node's server
// finishes it as it finishes any other: 'finish' and 'close', the keep-alive
// timer, the next request on the connection.
//
// Only the plain case takes this path: a kept-alive connection with this
// response next on it, nothing set on the response itself, a status of 200,
// headers with no say in the framing, and Node's fields as this was written
// against (checked once, on a fresh response). Anything else returns false and
// is answered through the public API.
import { IncomingMessage, ServerResponse, validateHeaderName, validateHeaderValue } from 'node:http';
import { Socket } from 'node:net';

/** The fields of Node's ServerResponse (Node 20) that decide how a head is written, or record that it was. */
interface ResponseInternals {
  _header: string | null;
  _headerSent: boolean;
  _hasBody: boolean;
  _defaultKeepAlive: boolean;
  _removedConnection: boolean;
  _expect_continue: boolean;
  _keepAliveTimeout: number;
  _maxRequestsPerSocket: number | undefined;
  shouldKeepAlive: boolean;
}

const internalsKnown = ((): boolean => {
  const res = new ServerResponse(new IncomingMessage(new Socket())) as ServerResponse & Partial<ResponseInternals>;
  return res._header === null && res._headerSent === false && res._hasBody === true && res._defaultKeepAlive === true
    && res._removedConnection === false && res._expect_continue === false && res._keepAliveTimeout === 0
    && typeof res.shouldKeepAlive === 'boolean';
})();

// Headers Node treats specially (framing, connection, date): a list holding one is not plain.
const framingHeaders = new Set(['connection', 'content-length', 'date', 'expect', 'keep-alive', 'trailer', 'transfer-encoding']);

// A header list's lines, made and checked once per list; null for a list that is not plain.
const linesOf = new WeakMap<readonly string[], string | null>();

function headerLines(headers: readonly string[]): string | null {
  let lines = linesOf.get(headers);
  if (lines === undefined) {
    lines = '';
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      const value = headers[i + 1]!;
      validateHeaderName(name);
      validateHeaderValue(name, value);
      if (framingHeaders.has(name.toLowerCase())) {
        lines = null;
        break;
      }
      lines += `${name}: ${value}\r\n`;
    }
    linesOf.set(headers, lines);
  }
  return lines;
}

// Node's Date header: one text for a whole second.
let dateSecond = -1;
let dateLine = '';

function currentDateLine(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = `Date: ${new Date(second * 1000).toUTCString()}\r\n`;
  }
  return dateLine;
}

interface Answer { lines: string; body: Uint8Array; dateLine: string; keepAliveMs: number; head: string; bytes: Buffer }

// The last answer made: a message that answers a thousand polls gives them all one body.
let last: Answer | null = null;

/**
 * Writes a 200 answer of the flat header list `headers` (names and values, as
 * writeHead() takes them, with no length) and `body` to `res`'s socket in one
 * write, and ends `res`. Says false, having done nothing, when `res` is not the
 * plain case; the caller then answers it through Node's API.
 */
export function writeRawAnswer(res: ServerResponse, headers: readonly string[], body: Uint8Array): boolean {
  const internal = res as ServerResponse & ResponseInternals;
  const { socket } = res;
  if (!internalsKnown || !socket || socket.destroyed || internal._header !== null || !internal._hasBody
    || !internal.shouldKeepAlive || !internal._defaultKeepAlive || internal._removedConnection || internal._expect_continue
    || internal._maxRequestsPerSocket || !res.sendDate || res.getHeaderNames().length > 0) return false;
  const lines = headerLines(headers);
  if (lines === null) return false;
  const date = currentDateLine();
  const keepAliveMs = internal._keepAliveTimeout;
  let answer = last;
  if (!answer || answer.body !== body || answer.lines !== lines || answer.dateLine !== date || answer.keepAliveMs !== keepAliveMs) {
    // As Node writes it: the status line, the given headers, the length, then the date and the connection's.
    const keepAlive = keepAliveMs > 0 ? `Keep-Alive: timeout=${Math.floor(keepAliveMs / 1000)}\r\n` : '';
    const head = `HTTP/1.1 200 OK\r\n${lines}content-length: ${body.length}\r\n${date}Connection: keep-alive\r\n${keepAlive}\r\n`;
    answer = last = { lines, body, dateLine: date, keepAliveMs, head, bytes: Buffer.concat([Buffer.from(head, 'latin1'), body]) };
  }
  res.statusCode = 200;
  socket.write(answer.bytes);
  internal._header = answer.head;
  internal._headerSent = true;
  res.end();
  return true;
}
