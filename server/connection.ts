// What evcomet keeps on a connection's socket: its peer's address, which every
// poll on it asks for (server/view-request.ts), and the streams open on it
// (server/stream.ts). Servers that evcomet makes set both as each socket
// connects, so that every socket takes the same shape once. Added poll by poll,
// they left Node's own code on sockets seeing sockets of several shapes, and
// every answer spent about 1,000 instructions more in V8's megamorphic lookups
// (callgrind, BENCHMARKS.md, session 12). A socket of a server that evcomet did
// not make (views mounted on an app's own fastify) gets them on first use.
import type { Socket } from 'node:net';

export const peerAddressKey = Symbol('evcomet.peerAddress');
export const streamsKey = Symbol('evcomet.streams');

/** Gives `socket` evcomet's fields, empty: call it on each socket as it connects. */
export function prepareConnection(socket: Socket & { [peerAddressKey]?: string; [streamsKey]?: unknown }): void {
  socket[peerAddressKey] = undefined;
  socket[streamsKey] = undefined;
}
