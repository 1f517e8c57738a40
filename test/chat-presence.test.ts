// Who is in the room: per user, not per connection, with join and leave messages.
import { afterEach, describe, expect, it } from 'vitest';
import { createPresence } from '../server/presence.ts';
import { startApp, type AppServer } from './helpers/app-server.ts';
import { followRoom, localSignIn, openPage, type RoomFeed } from './helpers/chat-client.ts';
import { waitFor } from './helpers/raw-http.ts';

let server: AppServer | undefined;
const feeds: RoomFeed[] = [];
afterEach(async () => {
  for (const feed of feeds.splice(0)) feed.close();
  await server?.close();
  server = undefined;
});

async function follow(room: string, cookie?: string): Promise<RoomFeed> {
  const feed = await followRoom(server!.base, room, cookie ? { cookie } : {});
  feeds.push(feed);
  return feed;
}

const who = async (room: string) => ((await (await fetch(`${server!.base}/chat/${room}/who`)).json()) as { users: Array<{ nick: string }> }).users.map((u) => u.nick);
const presenceOf = (feed: RoomFeed) => feed.messages().filter((m) => m.data.type === 'join' || m.data.type === 'leave').map((m) => `${m.data.type} ${m.data.user.nick}`);

describe('who is in the room', () => {
  it('counts three tabs as one person: one join, and one leave after the last tab and the grace period', async () => {
    server = await startApp({ PRESENCE_GRACE_MS: '200' });
    const watcher = await follow('lobby');
    const alice = await localSignIn(server.base, 'alice');
    const tabs = [await follow('lobby', alice), await follow('lobby', alice), await follow('lobby', alice)];
    await watcher.waitFor(() => presenceOf(watcher).length === 1, 'a join');
    expect(await who('lobby')).toEqual(['alice']);
    expect(await who('elsewhere')).toEqual([]);
    tabs[0]!.close();
    tabs[1]!.close();
    await new Promise((r) => setTimeout(r, 400));
    expect(await who('lobby')).toEqual(['alice']);
    tabs[2]!.close();
    await watcher.waitFor(() => presenceOf(watcher).length === 2, 'a leave');
    expect(presenceOf(watcher)).toEqual(['join alice', 'leave alice']);
    expect(await who('lobby')).toEqual([]);
    expect(watcher.messages()[0]!.data.user).toEqual({ id: 'local:alice', nick: 'alice' });
  });

  it('does not leave and rejoin when a connection is replaced within the grace period (a re-poll)', async () => {
    server = await startApp({ PRESENCE_GRACE_MS: '1000' });
    const watcher = await follow('lobby');
    const bob = await localSignIn(server.base, 'bob');
    const first = await follow('lobby', bob);
    await watcher.waitFor(() => presenceOf(watcher).length === 1, 'a join');
    first.close();
    await new Promise((r) => setTimeout(r, 50));
    await follow('lobby', bob);
    await new Promise((r) => setTimeout(r, 1200));
    expect(presenceOf(watcher)).toEqual(['join bob']);
    expect(await who('lobby')).toEqual(['bob']);
  });

  it('shows who is there in the page, and anonymous readers are nobody', async () => {
    server = await startApp();
    await follow('lobby');
    const carol = await localSignIn(server.base, 'carol');
    await follow('lobby', carol);
    await waitFor(() => server!.presence.who('lobby').length === 1);
    const { page, html } = await openPage(server.base, '/chat/lobby');
    expect(page.who).toEqual([{ id: 'local:carol', nick: 'carol' }]);
    expect(html).toContain('<ul class="evchat-who"><li>carol</li></ul>');
  });

  it('keeps another process\'s users until that process says they left, or stops repeating them', async () => {
    server = await startApp();
    server.presence.observe('chat.lobby', { type: 'join', user: { id: '9', nick: 'remote' }, from: 'other-process' });
    expect(await who('lobby')).toEqual(['remote']);
    server.presence.observe('chat.lobby', { type: 'leave', user: { id: '9', nick: 'remote' }, from: 'other-process' });
    expect(await who('lobby')).toEqual([]);
    server.presence.observe('presence.lobby', { type: 'here', users: [{ id: '9', nick: 'remote' }], from: 'other-process' });
    expect(await who('lobby')).toEqual(['remote']);
  });

  it('announces a user again when another process says they left but they are still connected here', async () => {
    server = await startApp();
    const watcher = await follow('lobby');
    const dan = await localSignIn(server.base, 'dan');
    await follow('lobby', dan);
    await watcher.waitFor(() => presenceOf(watcher).length === 1, 'a join');
    server.presence.observe('chat.lobby', { type: 'leave', user: { id: 'local:dan', nick: 'dan' }, from: 'other-process' });
    await watcher.waitFor(() => presenceOf(watcher).length === 2, 'a second join');
    expect(presenceOf(watcher)).toEqual(['join dan', 'join dan']);
    expect(await who('lobby')).toEqual(['dan']);
  });
});

describe('presence, on its own', () => {
  it('says every user left when its process stops, and ignores its own echoes', () => {
    const sent: Array<[string, unknown]> = [];
    const presence = createPresence({ self: 'me', graceMs: 60_000, refreshMs: 60_000, announce: (channel, data) => sent.push([channel, data]) });
    presence.enter('a', { id: '1', nick: 'one' });
    const release = presence.enter('b', { id: '2', nick: 'two' });
    release();
    presence.observe('chat.a', { type: 'leave', user: { id: '1', nick: 'one' }, from: 'me' });
    expect(presence.who('a')).toEqual([{ id: '1', nick: 'one' }]);
    presence.close();
    expect(sent).toEqual([
      ['chat.a', { type: 'join', user: { id: '1', nick: 'one' }, from: 'me' }],
      ['chat.b', { type: 'join', user: { id: '2', nick: 'two' }, from: 'me' }],
      ['chat.a', { type: 'leave', user: { id: '1', nick: 'one' }, from: 'me' }],
      ['chat.b', { type: 'leave', user: { id: '2', nick: 'two' }, from: 'me' }],
    ]);
    expect(presence.who('a')).toEqual([]);
  });
});
