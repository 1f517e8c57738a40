// Message ids: `<ms>-<seq><origin>`, all base 36, e.g. `mhw3k0zq-0a1b`.
//   ms      the publish time in milliseconds since 1970 (so an id carries its time)
//   seq     counts ids the same origin made within one millisecond
//   origin  three characters naming the process that made the id
// Ids order by (ms, seq, origin). Because they carry time rather than a counter
// that restarts, an id stays meaningful across server restarts and across
// processes: any process can tell whether its history reaches back to it.
// They are short on purpose: they ride in every frame on the wire.

export interface MessageIdParts {
  readonly ms: number;
  readonly seq: number;
  readonly origin: string;
}

const originPattern = /^[0-9a-z]{3}$/;

// The last valid id read and its parts. A message answers a wave of held
// polls, and every poll of the next wave resumes from its id, parsed twice (the
// view checks it, the hub places it): a thousand times the same id. Parts are
// shared, hence readonly. Only a valid id is kept, so what stays is short.
let lastId = '';
let lastParts: MessageIdParts | null = null;

/** The parts of an id, or null if it is not one of ours. Read by hand, not by a
 * regular expression: every resume parses one, and a match allocates an array
 * and a string per part. */
export function parseMessageId(id: string): MessageIdParts | null {
  if (id === lastId) return lastParts;
  const parts = readMessageId(id);
  if (parts) {
    lastId = id;
    lastParts = parts;
  }
  return parts;
}

function readMessageId(id: string): MessageIdParts | null {
  const dash = id.indexOf('-');
  const tail = id.length - dash - 1; // seq (1–6 characters) and origin (3)
  if (dash < 1 || dash > 11 || tail < 4 || tail > 9) return null;
  const originAt = id.length - 3;
  const ms = base36(id, 0, dash);
  const seq = base36(id, dash + 1, originAt);
  if (ms < 0 || seq < 0 || base36(id, originAt, id.length) < 0 || !Number.isSafeInteger(ms)) return null;
  return { ms, seq, origin: id.slice(originAt) };
}

/** The value of id[from, to) read as lowercase base 36; -1 if a character is not a digit of it. */
function base36(id: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) {
    const c = id.charCodeAt(i);
    const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 122 ? c - 87 : -1;
    if (digit < 0) return -1;
    value = value * 36 + digit;
  }
  return value;
}

export function formatMessageId({ ms, seq, origin }: MessageIdParts): string {
  return `${ms.toString(36)}-${seq.toString(36)}${origin}`;
}

/** Negative, zero or positive as `a` orders before, with or after `b`. */
export function compareMessageIds(a: MessageIdParts, b: MessageIdParts): number {
  return a.ms - b.ms || a.seq - b.seq || (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0);
}

/** A random origin for this process. */
export function randomOrigin(): string {
  return Math.floor(Math.random() * 36 ** 3).toString(36).padStart(3, '0');
}

/** Makes increasing ids for one origin, even when the clock steps back. */
export function createIdGenerator(origin: string = randomOrigin(), now: () => number = Date.now): () => MessageIdParts {
  if (!originPattern.test(origin)) throw new Error(`message id origin "${origin}" must be 3 characters of [0-9a-z]`);
  let lastMs = 0;
  let seq = 0;
  return () => {
    const ms = now();
    if (ms > lastMs) {
      lastMs = ms;
      seq = 0;
    } else {
      seq += 1;
    }
    return { ms: lastMs, seq, origin };
  };
}

/** A fixed-width string of an id that sorts as the id does (for databases and maps), or null if not an id. */
export function sortableMessageId(id: string): string | null {
  const parts = parseMessageId(id);
  if (!parts) return null;
  return parts.ms.toString(36).padStart(11, '0') + parts.seq.toString(36).padStart(6, '0') + parts.origin;
}
