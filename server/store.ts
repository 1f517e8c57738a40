// What a store is: the chat's memory (the history of every room) and its idea of
// who is who (identity). The chat views know only this interface; server/app.ts
// picks the implementation from the settings: MySQL (server/mysql-store.ts, the
// forum's own database and sign-in) or the embedded store (server/file-store.ts,
// a local file and a local sign-in form).
//
// Guarantees every implementation keeps (test/store-contract.ts checks them):
// - a line is stored once per id; storing an id again changes nothing;
// - a user line posted with an idempotency key is stored once per (user, key):
//   reserving the same key again returns the line stored the first time;
// - a reserved line stays hidden (never in history) until confirm(); discard()
//   removes it. This is how a post is never half-done: a line whose publish
//   failed is discarded, and one left pending by a crash is never shown;
// - history is in id order (message-id order, not string order), without deleted
//   or pending lines;
// - a failure to reach the storage rejects with StoreUnavailableError, so a view
//   can answer 503 and the client retry.

/** A chat line, as stored and as sent on a room's channel. `id` is its message id. */
export interface Line {
  id: string;
  room: string;
  userId: string;
  nick: string;
  text: string;
  /** Milliseconds since 1970 (the id's time). */
  time: number;
  kind: 'user' | 'event';
  /** For forum events: the event's type and link. */
  event?: { type: string; url?: string };
}

/** A signed-in user. `id` is stable (the forum's user id); `nick` comes from the store, never from the client. */
export interface User {
  id: string;
  nick: string;
  moderator: boolean;
  /** The session the user is signed in with; the CSRF token is bound to it. */
  sessionId: string;
}

/** What reserve() found: a new line, or the line an earlier post with the same key made. */
export interface Reservation {
  line: Line;
  /** `new`: stored now, pending; `pending`: an earlier attempt stored it but did not confirm; `shown`: already done. */
  state: 'new' | 'pending' | 'shown';
}

/** Which lines of a room history() returns: at most `limit`, oldest first. */
export interface HistoryQuery {
  /** Lines strictly before this id (older), newest `limit` of them. */
  before?: string;
  /** Lines strictly after this id (newer), oldest `limit` of them. */
  after?: string;
  limit: number;
}

/** Cookies of a request, by name. */
export type Cookies = Record<string, string>;

/** History and identity; see the guarantees at the top of this file. */
export interface Store {
  readonly kind: 'mysql' | 'embedded';
  /** Stores `line` as pending under (line.userId, key), or returns what that key already holds. */
  reserve(line: Line, key: string): Promise<Reservation>;
  /** Makes a reserved line visible in history; false if it is no longer reserved (discarded meanwhile). */
  confirm(id: string): Promise<boolean>;
  /** Removes a reserved line that was never confirmed. */
  discard(id: string): Promise<void>;
  /** Stores a line straight away (forum events); false if its id was stored already. */
  insert(line: Line): Promise<boolean>;
  /** Marks a line deleted (again, harmlessly); false if the room has no such shown line. */
  remove(room: string, id: string): Promise<boolean>;
  /** Lines of a room in id order (see HistoryQuery); without a bound, the newest `limit`. */
  history(room: string, query: HistoryQuery): Promise<Line[]>;
  /** Who the request's cookies sign in, or null (no session, expired, forged). */
  identify(cookies: Cookies): Promise<User | null>;
  /** A secret shared by every process on this store (CSRF tokens, session cookies). */
  secret(): Promise<string>;
  /** `up`, or why not, for /status. */
  state(): string;
  close(): Promise<void>;
}

/** The store cannot be reached now (database down, access revoked); the caller may retry. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}
