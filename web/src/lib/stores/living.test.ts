// The living store driven as the gateway drives it: a real Account fed
// dispatches; only the platform's fetch is replaced, to record the acks.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeId } from '../snowflake';
import { Account } from './account.svelte';

const ME = '1000';
const OTHER = '2000';
const G = '3000';
const GENERAL = '3001';
const NEWS = '3002';

const joined = Date.parse('2026-12-01T00:00:00Z');
const id = (offsetMs: number, seq = 0) => fakeId(joined + offsetMs, seq);

let calls: { url: string; body: unknown }[] = [];

beforeEach(() => {
  calls = [];
  vi.useFakeTimers();
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    calls.push({ url, body: init.body ? JSON.parse(String(init.body)) : undefined });
    return new Response(JSON.stringify({ token: null }), { status: 200, headers: { 'Content-Type': 'application/json' } });
  });
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

function account() {
  const a = new Account({ origin: 'http://hs', serverName: 'hs', clientApi: 'http://hs/api/v10', gateway: 'ws://hs/gateway', token: 't', userId: ME, username: 'me' }, () => {});
  const feed = (t: string, d: unknown) => (a as unknown as { apply(b: { t: string; d: unknown }[]): void }).apply([{ t, d }]);
  feed('READY', {
    session_id: 'sess',
    user: { id: ME, username: 'me' },
    private_channels: [],
    guilds: [
      {
        id: G,
        name: 'G',
        channels: [
          { id: GENERAL, type: 0, name: 'general', last_message_id: id(1000) },
          { id: NEWS, type: 0, name: 'news', last_message_id: id(-1000) },
        ],
        members: [{ user: { id: ME, username: 'me' }, roles: [], joined_at: new Date(joined).toISOString() }],
        roles: [],
      },
    ],
    read_state: { version: 1, partial: false, entries: [{ id: GENERAL, last_message_id: id(500), mention_count: 2 }] },
    relationships: [{ id: OTHER, type: 3, user: { id: OTHER, username: 'other' } }],
    user_guild_settings: { version: 1, partial: false, entries: [] },
  });
  return { a, feed };
}

const msg = (channel: string, at: number, content: string, author = OTHER, mentions: string[] = []) => ({
  id: id(at),
  channel_id: channel,
  guild_id: G,
  author: { id: author, username: author === ME ? 'me' : 'other' },
  content,
  timestamp: new Date(joined + at).toISOString(),
  mentions: mentions.map((m) => ({ id: m, username: 'x' })),
  type: 0,
});

describe('living store', () => {
  it('reads READY: unread past the read state, read before joining, mention counts, relationships', () => {
    const { a } = account();
    expect(a.living.unread(GENERAL)).toBe(true);
    expect(a.living.mentions(GENERAL)).toBe(2);
    expect(a.living.unread(NEWS)).toBe(false); // its last message predates joining
    expect(a.living.guildMentions(G)).toBe(2);
    expect(a.living.guildUnread(G)).toBe(true);
    expect(a.living.relationships.get(OTHER)?.type).toBe(3);
    expect(a.living.sessionId).toBe('sess');
  });

  it('counts live mentions, notifies by the settings, and follows MESSAGE_ACK', () => {
    const { a, feed } = account();
    const shown: string[] = [];
    a.living.onNotify = (_a, m) => shown.push(m.content);
    feed('MESSAGE_CREATE', msg(NEWS, 2000, 'hey you', OTHER, [ME]));
    expect(a.living.unread(NEWS)).toBe(true);
    expect(a.living.mentions(NEWS)).toBe(1);
    expect(shown).toEqual(['hey you']);

    feed('USER_GUILD_SETTINGS_UPDATE', { guild_id: G, muted: false, message_notifications: 1, channel_overrides: [{ channel_id: NEWS, muted: true, message_notifications: 3 }] });
    feed('MESSAGE_CREATE', msg(NEWS, 3000, 'muted ping', OTHER, [ME]));
    feed('MESSAGE_CREATE', msg(GENERAL, 3100, 'no mention here'));
    feed('MESSAGE_CREATE', msg(GENERAL, 3200, 'a mention here', OTHER, [ME]));
    expect(shown).toEqual(['hey you', 'a mention here']);
    expect(a.living.guildUnread(G)).toBe(true);

    feed('MESSAGE_ACK', { channel_id: NEWS, message_id: id(3000), mention_count: 0, version: 2 });
    expect(a.living.unread(NEWS)).toBe(false);
    expect(a.living.mentions(NEWS)).toBe(0);
    // An older ack does not move it back.
    feed('MESSAGE_ACK', { channel_id: NEWS, message_id: id(2000), mention_count: 1, version: 3 });
    expect(a.living.mentions(NEWS)).toBe(0);

    a.setStatus('dnd');
    feed('MESSAGE_CREATE', msg(GENERAL, 4000, 'in dnd', OTHER, [ME]));
    expect(shown).toEqual(['hey you', 'a mention here']);
  });

  it('opening a channel places the divider and acks its newest message once', async () => {
    const { a, feed } = account();
    a.openChannel = GENERAL;
    a.living.opened(GENERAL);
    expect(a.living.dividers.get(GENERAL)).toBe(id(500));
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls.map((c) => c.url)).toEqual([`http://hs/api/v10/channels/${GENERAL}/messages/${id(1000)}/ack`]);
    expect(a.living.unread(GENERAL)).toBe(false);
    expect(a.living.mentions(GENERAL)).toBe(0);
    a.living.opened(GENERAL);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(1);
    expect(a.living.dividers.has(GENERAL)).toBe(false);

    // One's own message is read, and the device it was sent from acks it.
    a.openChannel = NEWS;
    feed('MESSAGE_CREATE', msg(NEWS, 5000, 'mine', ME));
    await vi.advanceTimersByTimeAsync(10);
    expect(a.living.unread(NEWS)).toBe(false);
    expect(calls.at(-1)?.url).toBe(`http://hs/api/v10/channels/${NEWS}/messages/${id(5000)}/ack`);
  });

  it('an ack from looking at a channel is dropped once the channel is left, so later messages stay unread', async () => {
    const { a, feed } = account();
    a.openChannel = GENERAL;
    a.living.opened(GENERAL);
    // Moved on before the delayed ack ran; then someone posts there.
    a.openChannel = NEWS;
    feed('MESSAGE_CREATE', msg(GENERAL, 6000, 'posted after leaving'));
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls.filter((c) => c.url.includes(`/channels/${GENERAL}/`))).toEqual([]);
    expect(a.living.unread(GENERAL)).toBe(true);
    // Esc marks it read even when it is not the open channel.
    a.living.markRead(GENERAL);
    await vi.advanceTimersByTimeAsync(10);
    expect(calls.at(-1)?.url).toBe(`http://hs/api/v10/channels/${GENERAL}/messages/${id(6000)}/ack`);
    expect(a.living.unread(GENERAL)).toBe(false);
  });

  it('relationships follow RELATIONSHIP_ADD and RELATIONSHIP_REMOVE', () => {
    const { a, feed } = account();
    feed('RELATIONSHIP_ADD', { id: OTHER, type: 1, user: { id: OTHER, username: 'other' } });
    expect(a.living.relationships.get(OTHER)?.type).toBe(1);
    feed('RELATIONSHIP_REMOVE', { id: OTHER, type: 1 });
    expect(a.living.relationships.has(OTHER)).toBe(false);
  });
});
