// Who may publish over HTTP: the holder of PUBLISH_TOKEN, or, with no token set,
// a process on this machine (loopback), which is where the forum's PHP runs.
// A request that a reverse proxy on this machine relayed also comes from
// loopback, for a client anywhere: one that carries a proxy's forwarding
// header is not taken as local. (A proxy that adds none cannot be told apart:
// behind one, set PUBLISH_TOKEN; the README says so.)
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { httpError } from './errors.ts';

const forwardingHeaders = ['forwarded', 'x-forwarded-for', 'x-real-ip'];

/** Throws `unauthorized` or `forbidden` unless the request may publish. */
export function checkPublisher(headers: IncomingHttpHeaders, address: string, token: string | undefined): void {
  if (token !== undefined) {
    const presented = /^Bearer (.+)$/i.exec(headers.authorization ?? '')?.[1] ?? '';
    if (!sameSecret(presented, token)) throw httpError('unauthorized');
    return;
  }
  if (!isLoopback(address) || forwardingHeaders.some((name) => headers[name] !== undefined)) throw httpError('forbidden');
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
