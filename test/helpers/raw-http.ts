// A raw HTTP/1.x client for tests: writes the request bytes itself and parses the
// response as it arrives, recording when each body chunk came, so that tests can
// see framing, timing and incomplete bodies that a friendlier client would hide.
import { connect, type Socket } from 'node:net';

export interface ChunkArrival { data: string; at: number }

export interface RawResponse {
  statusLine: string;
  status: number;
  headers: Record<string, string>;
  /** Body pieces in arrival order (chunked framing removed). */
  chunks: ChunkArrival[];
  body: string;
  /** The terminating zero chunk arrived (chunked), or the body ended cleanly. */
  complete: boolean;
}

/** An open connection that can send several requests and read each response. */
export interface RawConnection {
  socket: Socket;
  /** Sends a request; resolves with the response head; body pieces keep arriving on it. */
  request(text: string): Promise<RawResponse>;
  /** Resolves when the current response is over (complete, cut, or connection closed). */
  finished(): Promise<RawResponse>;
  close(): void;
}

export function openConnection(port: number, host = '127.0.0.1'): Promise<RawConnection> {
  return new Promise((resolveConn, rejectConn) => {
    const socket = connect({ port, host });
    let buffer = Buffer.alloc(0);
    let current: { res: RawResponse; state: 'head' | 'chunked' | 'raw' | 'length' | 'done'; remaining: number; chunkLeft: number;
      onHead: (r: RawResponse) => void; onDone: Array<(r: RawResponse) => void> } | null = null;

    const finish = () => {
      if (!current) return;
      current.state = 'done';
      current.res.body = current.res.chunks.map((c) => c.data).join('');
      for (const cb of current.onDone) cb(current.res);
      current.onDone = [];
    };

    const parse = () => {
      while (current && current.state !== 'done') {
        const c = current;
        if (c.state === 'head') {
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0) return;
          const lines = buffer.subarray(0, end).toString('latin1').split('\r\n');
          buffer = buffer.subarray(end + 4);
          c.res.statusLine = lines[0]!;
          c.res.status = Number(lines[0]!.split(' ')[1]);
          for (const line of lines.slice(1)) {
            const i = line.indexOf(':');
            c.res.headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
          }
          const te = c.res.headers['transfer-encoding'];
          const cl = c.res.headers['content-length'];
          if (te === 'chunked') c.state = 'chunked';
          else if (cl !== undefined) { c.state = 'length'; c.remaining = Number(cl); }
          else c.state = 'raw';
          c.onHead(c.res);
          if (c.state === 'length' && c.remaining === 0) { c.res.complete = true; finish(); }
        } else if (c.state === 'length' || c.state === 'raw') {
          if (buffer.length === 0) return;
          const take = c.state === 'length' ? Math.min(c.remaining, buffer.length) : buffer.length;
          c.res.chunks.push({ data: buffer.subarray(0, take).toString('utf8'), at: Date.now() });
          buffer = buffer.subarray(take);
          if (c.state === 'length') {
            c.remaining -= take;
            if (c.remaining === 0) { c.res.complete = true; finish(); }
          }
        } else if (c.state === 'chunked') {
          if (c.chunkLeft === 0) {
            const eol = buffer.indexOf('\r\n');
            if (eol < 0) return;
            const size = parseInt(buffer.subarray(0, eol).toString('latin1'), 16);
            if (size === 0) {
              if (buffer.length < eol + 4) return;
              buffer = buffer.subarray(eol + 4);
              c.res.complete = true;
              finish();
              continue;
            }
            buffer = buffer.subarray(eol + 2);
            c.chunkLeft = size + 2; // data and its CRLF
          }
          if (buffer.length === 0) return;
          const take = Math.min(c.chunkLeft, buffer.length);
          const dataPart = Math.min(take, Math.max(0, c.chunkLeft - 2));
          if (dataPart > 0) c.res.chunks.push({ data: buffer.subarray(0, dataPart).toString('utf8'), at: Date.now() });
          buffer = buffer.subarray(take);
          c.chunkLeft -= take;
        }
      }
    };

    socket.on('data', (data) => {
      buffer = Buffer.concat([buffer, data]);
      parse();
    });
    socket.on('close', () => {
      if (current && current.state !== 'done') {
        // A raw (HTTP/1.0) body ends cleanly with the connection; a chunked one does not.
        current.res.complete = current.state === 'raw';
        finish();
      }
    });
    socket.on('error', () => {});
    socket.once('connect', () => {
      resolveConn({
        socket,
        request(text) {
          return new Promise((onHead) => {
            current = { res: { statusLine: '', status: 0, headers: {}, chunks: [], body: '', complete: false },
              state: 'head', remaining: 0, chunkLeft: 0, onHead, onDone: [] };
            socket.write(text);
            parse();
          });
        },
        finished() {
          return new Promise((done) => {
            if (!current) throw new Error('no request sent');
            if (current.state === 'done') done(current.res);
            else current.onDone.push(done);
          });
        },
        close() {
          socket.destroy();
        },
      });
    });
    socket.once('error', rejectConn);
  });
}

/** One request on a fresh connection; resolves with the whole response. */
export async function rawRequest(port: number, text: string): Promise<RawResponse> {
  const conn = await openConnection(port);
  await conn.request(text);
  const res = await conn.finished();
  conn.close();
  return res;
}

/** A GET request's bytes. */
export function get(path: string, { version = '1.1', headers = {} as Record<string, string> } = {}): string {
  const lines = [`GET ${path} HTTP/${version}`, 'Host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return lines.join('\r\n') + '\r\n\r\n';
}

/** Resolves when `check` is true, polling; rejects after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
