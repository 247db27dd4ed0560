import { describe, expect, it } from 'vitest';
import { fakeId } from '../snowflake';
import { effective, isUnread, mentionsMe, rank, shouldNotify, step, type GuildSettings, type SwitchItem } from './rules';

const base: GuildSettings = { guild_id: 'g', muted: false, message_notifications: 0, channel_overrides: [] };
const now = Date.parse('2026-12-07T10:00:00Z');

describe('effective notification settings', () => {
  it('follows the guild, then the parent, then the channel', () => {
    const s: GuildSettings = {
      ...base,
      message_notifications: 1,
      channel_overrides: [
        { channel_id: 'parent', muted: false, message_notifications: 2 },
        { channel_id: 'c', muted: false, message_notifications: 3 },
      ],
    };
    expect(effective(s, 'other', null, now)).toEqual({ muted: false, level: 1 });
    expect(effective(s, 'c', 'parent', now)).toEqual({ muted: false, level: 2 });
    expect(effective(s, 'parent', null, now)).toEqual({ muted: false, level: 2 });
  });
  it('ends a timed mute at its end time', () => {
    const s: GuildSettings = { ...base, channel_overrides: [{ channel_id: 'c', muted: true, mute_config: { end_time: new Date(now + 60_000).toISOString() }, message_notifications: 3 }] };
    expect(effective(s, 'c', null, now).muted).toBe(true);
    expect(effective(s, 'c', null, now + 120_000).muted).toBe(false);
    expect(effective({ ...base, muted: true }, 'x', null, now).muted).toBe(true);
  });
});

describe('mentions and notifications', () => {
  const m = { author: { id: 'o', username: 'o' }, mentions: [], mention_everyone: false, mention_roles: ['r'] };
  it('counts roles, everyone and DMs as the server does', () => {
    expect(mentionsMe(m, 'me', ['r'], false)).toBe(true);
    expect(mentionsMe(m, 'me', ['r'], false, { ...base, suppress_roles: true })).toBe(false);
    expect(mentionsMe({ ...m, mention_roles: [], mention_everyone: true }, 'me', [], false, { ...base, suppress_everyone: true })).toBe(false);
    expect(mentionsMe({ ...m, mention_roles: [] }, 'me', [], true)).toBe(true);
    expect(mentionsMe({ ...m, author: { id: 'me', username: 'me' } }, 'me', ['r'], true)).toBe(false);
  });
  it('notifies by level, never muted, watching or in do-not-disturb', () => {
    const o = { mine: false, dnd: false, watching: false, muted: false, level: 1, mentioned: true };
    expect(shouldNotify(o)).toBe(true);
    expect(shouldNotify({ ...o, mentioned: false })).toBe(false);
    expect(shouldNotify({ ...o, level: 0, mentioned: false })).toBe(true);
    expect(shouldNotify({ ...o, level: 2 })).toBe(false);
    expect(shouldNotify({ ...o, muted: true })).toBe(false);
    expect(shouldNotify({ ...o, dnd: true })).toBe(false);
    expect(shouldNotify({ ...o, watching: true })).toBe(false);
  });
});

describe('unread', () => {
  it('compares snowflakes as numbers and counts from joining without a read state', () => {
    expect(isUnread('100', '99')).toBe(true);
    expect(isUnread('99', '100')).toBe(false);
    expect(isUnread('1000', '999')).toBe(true);
    expect(isUnread(null, undefined)).toBe(false);
    const before = fakeId(now - 1000);
    const after = fakeId(now + 1000);
    expect(isUnread(before, undefined, now)).toBe(false);
    expect(isUnread(after, '0', now)).toBe(true);
  });
});

describe('quick switcher ranking', () => {
  const items: SwitchItem[] = [
    { kind: 'channel', label: 'general', hint: 'Guild', key: '1' },
    { kind: 'channel', label: 'off-topic', hint: 'Guild', key: '2' },
    { kind: 'guild', label: 'Topical', hint: 'a', key: '3' },
    { kind: 'dm', label: 'tom', hint: 'b', key: '4' },
  ];
  it('puts prefixes first and filters by sigil', () => {
    expect(rank(items, 'to').map((i) => i.key)).toEqual(['4', '3', '2']);
    expect(rank(items, '#to').map((i) => i.key)).toEqual(['2']);
    expect(rank(items, '@').map((i) => i.key)).toEqual(['4']);
    expect(rank(items, 'gnl').map((i) => i.key)).toEqual(['1']);
  });
  it('answers within 50 ms over 1000 entries (the budget names 500)', () => {
    const many = Array.from({ length: 1000 }, (_, i) => ({ kind: 'channel' as const, label: `channel-${i}`, hint: `guild ${i % 500}`, key: String(i) }));
    const t = performance.now();
    rank(many, 'nel-49');
    expect(performance.now() - t).toBeLessThan(50);
  });
  it('steps with wrap-around', () => {
    expect(step(['a', 'b', 'c'], 'c', 1)).toBe('a');
    expect(step(['a', 'b', 'c'], 'a', -1)).toBe('c');
    expect(step(['a', 'b'], undefined, 1)).toBe('a');
  });
});
