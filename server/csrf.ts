// Cross-site request forgery: the chat signs people in by cookie, and its
// forever-frame and JSONP transports exist for pages on other sites, so a post
// must prove it comes from a page we served. Two checks, both must pass:
// - Origin (or, lacking it, Referer) names this host or an allowed origin;
//   browsers that send neither are left to the token;
// - the X-CSRF-Token header carries the token bound to the session, which only
//   our page knows (it is embedded in the page, never in a cookie).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { httpError } from './errors.ts';

/** The token for a session: an HMAC of its id, so nothing is stored per session. */
export function csrfToken(secret: string, sessionId: string): string {
  return createHmac('sha256', secret).update(`csrf:${sessionId}`).digest('base64url');
}

/** Throws `bad_csrf` unless the request's origin and token are right for `sessionId`. */
export function checkCsrf(headers: IncomingHttpHeaders, secret: string, sessionId: string, allowedOrigins: readonly string[]): void {
  checkOrigin(headers, allowedOrigins);
  const given = Buffer.from(String(headers['x-csrf-token'] ?? ''));
  const expected = Buffer.from(csrfToken(secret, sessionId));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw httpError('bad_csrf', 'The X-CSRF-Token header is missing or not this session\'s.');
  }
}

/** Throws `bad_csrf` if the request says it comes from a page of another site (or an opaque one). */
export function checkOrigin(headers: IncomingHttpHeaders, allowedOrigins: readonly string[]): void {
  const source = headers.origin || originOf(headers.referer);
  if (source === undefined) return;
  let host: string | null = null;
  try {
    host = source === 'null' ? null : new URL(source).host;
  } catch {
    host = null;
  }
  if (host === null) throw httpError('bad_csrf', 'The request comes from an opaque origin.');
  if (host !== headers.host && !allowedOrigins.includes(source)) {
    throw httpError('bad_csrf', 'The request comes from a page that is not allowed to post.');
  }
}

function originOf(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return 'null';
  }
}
