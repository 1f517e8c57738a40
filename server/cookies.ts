// Reading the Cookie header; the chat signs people in from cookies only.
import type { Cookies } from './store.ts';

/** The cookies of a `Cookie` header, by name (the first of a repeated name wins, as browsers send the most specific first). */
export function parseCookies(header: string | undefined): Cookies {
  const cookies: Cookies = {};
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!name || name in cookies) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    try {
      cookies[name] = decodeURIComponent(value);
    } catch {
      cookies[name] = value;
    }
  }
  return cookies;
}
