// Who may publish over HTTP: the holder of PUBLISH_TOKEN, or, with no token set,
// a process on this machine (loopback), which is where the forum's PHP runs.
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { httpError } from './errors.ts';

/** Throws `unauthorized` or `forbidden` unless the request may publish. */
export function checkPublisher(headers: { authorization?: string | undefined }, address: string, token: string | undefined): void {
  if (token !== undefined) {
    const presented = /^Bearer (.+)$/i.exec(headers.authorization ?? '')?.[1] ?? '';
    if (!sameSecret(presented, token)) throw httpError('unauthorized');
    return;
  }
  if (!isLoopback(address)) throw httpError('forbidden');
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function isLoopback(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}
