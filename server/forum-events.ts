// Forum events become chat lines: the forum (PHP, a CLI, HTTP) publishes typed
// events on the bus's `forum` topic, and each becomes a line through one
// template per type, SAX's saxSay($type, $who, $what, $where) with names instead
// of magic numbers. Every process receives every event and makes the same line
// (its id is the envelope's id): each stores it idempotently and hands it to its
// own hub, so all processes agree without a second trip through the bus.
// docs/forum-events.md lists the types.
import type { Envelope } from './bus.ts';
import { roomPattern } from './config.ts';
import type { Message } from './hub.ts';
import { parseMessageId } from './message-id.ts';
import type { Line, Store } from './store.ts';

/** A forum event as published: `type` picks the template; `who`, `what`, `where` fill it. */
export interface ForumEvent {
  type: string;
  who: string;
  what?: string;
  where?: string;
  url?: string;
  /** The room it goes to; the FORUM_EVENTS_ROOM setting when absent. */
  room?: string;
}

type Template = (e: ForumEvent) => string | null;
const need = (...values: Array<string | undefined>) => values.every((v) => v !== undefined && v !== '');
const inWhere = (e: ForumEvent) => (e.where ? ` in ${e.where}` : '');

/** One template per type. A template answers null when the event lacks a field it needs. */
export const templates: Record<string, Template> = {
  'thread.created': (e) => (need(e.what) ? `${e.who} started a thread: ${e.what}${inWhere(e)}` : null),
  'post.replied': (e) => (need(e.what) ? `${e.who} replied to ${e.what}${inWhere(e)}` : null),
  'post.edited': (e) => (need(e.what) ? `${e.who} edited a post in ${e.what}` : null),
  'post.deleted': (e) => (need(e.what) ? `${e.who} deleted a post in ${e.what}` : null),
  'topic.moved': (e) => (need(e.what, e.where) ? `${e.who} moved ${e.what} to ${e.where}` : null),
  'topic.locked': (e) => (need(e.what) ? `${e.who} locked ${e.what}` : null),
  'topic.unlocked': (e) => (need(e.what) ? `${e.who} unlocked ${e.what}` : null),
  'topic.deleted': (e) => (need(e.what) ? `${e.who} deleted the thread ${e.what}${inWhere(e)}` : null),
  'user.registered': (e) => `${e.who} joined the forum. Welcome!`,
  'user.banned': (e) => (e.what ? `${e.who} was banned: ${e.what}` : `${e.who} was banned`),
  'news.posted': (e) => (need(e.what) ? `News from ${e.who}: ${e.what}` : null),
  'file.uploaded': (e) => (need(e.what) ? `${e.who} uploaded ${e.what}${inWhere(e)}` : null),
  'message.relayed': (e) => (need(e.what) ? `[${e.where || 'relay'}] <${e.who}> ${e.what}` : null),
};

/** What became of the forum events this process received, for /status and /metrics. */
export type ForumEventCounters = {
  /** Events turned into lines. */
  forumEvents: number;
  /** Events of a type no template knows. */
  forumEventsUnknown: number;
  /** Events that are not events: not an object, no who, a field of the wrong type, a bad id or room. */
  forumEventsBad: number;
  /** Lines that reached clients but could not be stored (the store was down). */
  forumEventsUnstored: number;
};

/** Where event lines go: the store (history) and this process's hub (live). */
export interface ForumEventsOptions {
  store: Store;
  /** Hands a message to this process's hub. */
  deliver(message: Message): void;
  defaultRoom: string;
  log: { warn(obj: object, msg: string): void };
}

const MAX_FIELD = 1000;

/** The line for an event, or why there is none. */
export function lineOfEvent(envelope: Envelope, defaultRoom: string): { line: Line } | { error: 'bad' | 'unknown'; reason: string } {
  const e = envelope.data as Partial<Record<keyof ForumEvent, unknown>> | null;
  if (!parseMessageId(String(envelope.id))) return { error: 'bad', reason: 'the envelope id is not a message id' };
  if (!e || typeof e !== 'object' || Array.isArray(e)) return { error: 'bad', reason: 'the event is not an object' };
  for (const field of ['type', 'who', 'what', 'where', 'url', 'room'] as const) {
    const value = e[field];
    if (value !== undefined && (typeof value !== 'string' || value.length > MAX_FIELD)) return { error: 'bad', reason: `"${field}" is not a string of at most ${MAX_FIELD} characters` };
  }
  const event = e as ForumEvent;
  if (!event.type) return { error: 'bad', reason: 'the event has no type' };
  if (!event.who) return { error: 'bad', reason: 'the event has no who' };
  const template = Object.hasOwn(templates, event.type) ? templates[event.type]! : null;
  if (!template) return { error: 'unknown', reason: `no template for type "${event.type}"` };
  const room = event.room ?? defaultRoom;
  if (!roomPattern.test(room)) return { error: 'bad', reason: `"${room}" is not a room name` };
  const text = template(event);
  if (text === null) return { error: 'bad', reason: `a ${event.type} event needs more fields` };
  const url = event.url && /^https?:\/\//i.test(event.url) ? event.url : undefined;
  return {
    line: {
      id: envelope.id, room, userId: 'forum', nick: event.who, text, time: envelope.time, kind: 'event',
      event: url ? { type: event.type, url } : { type: event.type },
    },
  };
}

/** Makes the `forum` topic's handler and the counters /status shows. */
export function createForumEvents({ store, deliver, defaultRoom, log }: ForumEventsOptions) {
  const counters: ForumEventCounters = { forumEvents: 0, forumEventsUnknown: 0, forumEventsBad: 0, forumEventsUnstored: 0 };
  function handle(envelope: Envelope): void {
    const made = lineOfEvent(envelope, defaultRoom);
    if ('error' in made) {
      if (made.error === 'unknown') counters.forumEventsUnknown++;
      else counters.forumEventsBad++;
      log.warn({ id: envelope.id, reason: made.reason }, 'dropped a forum event');
      return;
    }
    const { line } = made;
    counters.forumEvents++;
    const data = { type: 'line', line };
    deliver({ id: line.id, channel: `chat.${line.room}`, time: line.time, data, json: JSON.stringify(data) });
    store.insert(line).catch((err: unknown) => {
      counters.forumEventsUnstored++;
      log.warn({ err, id: line.id }, 'a forum event line reached clients but not the history');
    });
  }
  return { handle, counters };
}
