// Pure rules of "living in it" (issue 16): what is unread, what mentions the
// reader, what a guild's notification settings say about one message, and
// the quick switcher's ranking. No state here: the stores feed these.

import { cmpId, fakeId } from '../snowflake';
import type { Message } from '../types';

/** One channel's override inside a guild's notification settings. */
export interface ChannelOverride {
  channel_id: string;
  muted: boolean;
  mute_config?: { end_time?: string | null } | null;
  /** 0 all, 1 mentions, 2 nothing, 3 as the guild says. */
  message_notifications: number;
}

/** A member's notification settings for one guild (Discord's object). */
export interface GuildSettings {
  guild_id: string | null;
  muted: boolean;
  mute_config?: { end_time?: string | null } | null;
  /** 0 all, 1 only mentions, 2 nothing. */
  message_notifications: number;
  suppress_everyone?: boolean;
  suppress_roles?: boolean;
  channel_overrides: ChannelOverride[];
  version?: number;
}

export const NOTIFY_ALL = 0;
export const NOTIFY_MENTIONS = 1;
export const NOTIFY_NOTHING = 2;
export const NOTIFY_INHERIT = 3;

/** A mute holds until its end time, or for good without one. */
export function muteActive(muted: boolean, cfg: { end_time?: string | null } | null | undefined, now: number): boolean {
  if (!muted) return false;
  const end = cfg?.end_time ? Date.parse(cfg.end_time) : NaN;
  return Number.isNaN(end) || end > now;
}

/**
 * What applies to a channel: muted (the guild, the channel, or a thread's
 * parent) and the notification level, the channel's own override first.
 */
export function effective(s: GuildSettings | undefined, channelId: string, parentId: string | null | undefined, now: number): { muted: boolean; level: number } {
  if (!s) return { muted: false, level: NOTIFY_ALL };
  const ov = (id: string | null | undefined) => (id ? s.channel_overrides.find((o) => o.channel_id === id) : undefined);
  const own = ov(channelId);
  const parent = ov(parentId);
  const muted =
    muteActive(s.muted, s.mute_config, now) ||
    (own ? muteActive(own.muted, own.mute_config, now) : false) ||
    (parent ? muteActive(parent.muted, parent.mute_config, now) : false);
  let level = s.message_notifications;
  for (const o of [parent, own]) if (o && o.message_notifications !== NOTIFY_INHERIT && o.message_notifications !== undefined) level = o.message_notifications;
  return { muted, level };
}

/** Whether a message pings the reader, as the server counts mentions. */
export function mentionsMe(m: Pick<Message, 'author' | 'mentions' | 'mention_everyone' | 'mention_roles' | 'guild_id'>, me: string, myRoles: readonly string[], isDM: boolean, s?: GuildSettings): boolean {
  if (m.author.id === me) return false;
  if (isDM) return true;
  if (m.mentions?.some((u) => u.id === me)) return true;
  if (m.mention_everyone && !s?.suppress_everyone) return true;
  if (!s?.suppress_roles && m.mention_roles?.some((r) => myRoles.includes(r))) return true;
  return false;
}

/** Whether a new message deserves a desktop notification. */
export function shouldNotify(o: {
  mine: boolean;
  dnd: boolean;
  /** The channel is on screen in a focused, visible page. */
  watching: boolean;
  muted: boolean;
  level: number;
  mentioned: boolean;
}): boolean {
  if (o.mine || o.dnd || o.watching || o.muted) return false;
  if (o.mentioned) return o.level !== NOTIFY_NOTHING;
  return o.level === NOTIFY_ALL;
}

/**
 * Whether a channel has messages past the reader's place. A channel with no
 * read state counts as read up to the moment one joined (`since`, ms), as on
 * Discord; without it, any message is unread.
 */
export function isUnread(latest: string | null | undefined, readUpTo: string | undefined, since?: number): boolean {
  if (!latest || latest === '0') return false;
  let base = readUpTo;
  if ((base === undefined || base === '0') && since) base = fakeId(since, 0);
  return cmpId(latest, base ?? '0') > 0;
}

/** An entry of the quick switcher. */
export interface SwitchItem {
  kind: 'guild' | 'channel' | 'dm' | 'friend';
  label: string;
  /** Where it is (guild name, homeserver), shown and searched second. */
  hint: string;
  key: string;
}

/**
 * Ranks entries for a query: a label starting with it first, then a word of
 * it, then containing it, then the letters in order; shorter labels first.
 * A query starting with `#`, `@` or `*` keeps channels, people or guilds.
 */
export function rank<T extends SwitchItem>(items: readonly T[], raw: string, limit = 20): T[] {
  let q = raw.trim().toLowerCase();
  let only: SwitchItem['kind'][] | null = null;
  if (q.startsWith('#')) only = ['channel'];
  else if (q.startsWith('@')) only = ['dm', 'friend'];
  else if (q.startsWith('*')) only = ['guild'];
  if (only) q = q.slice(1);
  const scored: { it: T; s: number }[] = [];
  for (const it of items) {
    if (only && !only.includes(it.kind)) continue;
    const l = it.label.toLowerCase();
    let s: number;
    if (!q) s = 4;
    else if (l.startsWith(q)) s = 0;
    else if (wordStart(l, q)) s = 1;
    else if (l.includes(q)) s = 2;
    else if (subsequence(q, l)) s = 3;
    else if (it.hint.toLowerCase().includes(q)) s = 3.5;
    else continue;
    scored.push({ it, s });
  }
  // Plain code-unit order on ties: localeCompare builds a collator on first use (tens of ms).
  scored.sort((a, b) => a.s - b.s || a.it.label.length - b.it.label.length || (a.it.label < b.it.label ? -1 : a.it.label > b.it.label ? 1 : 0));
  return scored.slice(0, limit).map((x) => x.it);
}

function wordStart(l: string, q: string): boolean {
  for (let i = l.indexOf(q); i > 0; i = l.indexOf(q, i + 1)) if (' -_'.includes(l[i - 1]!)) return true;
  return false;
}

function subsequence(q: string, s: string): boolean {
  let i = 0;
  for (const ch of s) if (ch === q[i]) i++;
  return i === q.length;
}

/** The index of the next entry in `ids` after `current`, wrapping, in `dir`. */
export function step(ids: readonly string[], current: string | undefined, dir: 1 | -1): string | undefined {
  if (!ids.length) return undefined;
  const i = current ? ids.indexOf(current) : -1;
  if (i < 0) return dir === 1 ? ids[0] : ids[ids.length - 1];
  return ids[(i + dir + ids.length) % ids.length];
}
