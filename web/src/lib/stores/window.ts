// Per-channel message windows: a contiguous, sorted run of a channel's
// messages with flags saying whether it reaches the channel's start and the
// present. Pure functions over immutable arrays, so the store can hold them in
// $state.raw and a change is one new array.

import { cmpId } from '../snowflake';
import type { Message } from '../types';

export type SendState = 'sending' | 'failed';

export interface ChatMessage extends Message {
  /** Stable list key: the nonce for rows sent from here, else the id. */
  key: string;
  state?: SendState;
  error?: string;
}

export interface Window {
  msgs: readonly ChatMessage[];
  atStart: boolean;
  atEnd: boolean;
}

export const WINDOW_CAP = 1000;

export const emptyWindow = (): Window => ({ msgs: [], atStart: false, atEnd: false });

export function toChat(m: Message, key?: string): ChatMessage {
  return { ...m, key: key ?? m.id };
}

function byId(a: ChatMessage, b: ChatMessage) {
  return cmpId(a.id, b.id);
}

/**
 * Merges a page from REST. `dir` says which way it was fetched: 'before'
 * pages move the start, 'after' pages the end, 'latest' is the newest page.
 * The page is newest first, as Discord answers; `limit` tells whether the
 * page was full (a short page means the end in that direction).
 */
export function mergePage(w: Window, page: readonly Message[], dir: 'before' | 'after' | 'latest', limit: number, cap = WINDOW_CAP): Window {
  const known = new Map<string, ChatMessage>();
  for (const m of w.msgs) known.set(m.id, m);
  const pending = w.msgs.filter((m) => m.state);
  const nonces = new Map<string, ChatMessage>();
  for (const p of pending) if (p.nonce != null) nonces.set(String(p.nonce), p);
  for (const m of page) {
    const prior = known.get(m.id);
    const byNonce = m.nonce != null ? nonces.get(String(m.nonce)) : undefined;
    if (byNonce) {
      known.delete(byNonce.id);
      known.set(m.id, toChat(m, byNonce.key));
    } else {
      known.set(m.id, toChat(m, prior?.key));
    }
  }
  let msgs = [...known.values()].sort(byId);
  const short = page.length < limit;
  let atStart = w.atStart;
  let atEnd = w.atEnd;
  if (dir === 'before' && short) atStart = true;
  if (dir === 'latest') {
    atEnd = true;
    if (short) atStart = true;
  }
  if (dir === 'after' && short) atEnd = true;
  if (msgs.length > cap) {
    if (dir === 'before') {
      msgs = msgs.slice(0, cap);
      atEnd = false;
    } else {
      msgs = msgs.slice(msgs.length - cap);
      atStart = false;
    }
  }
  return { msgs, atStart, atEnd };
}

/**
 * The newest page, fetched while the window went on living: `before` is the
 * window when the fetch began, `now` the window when its answer came. Rows
 * that arrived meanwhile (live messages, one's own sends and their echoes)
 * are not in a page that was read before they were stored, so they are kept
 * on top of it; rows that were there before the fetch are replaced by it.
 */
export function refreshLatest(before: Window | undefined, now: Window | undefined, page: readonly Message[], limit: number): Window {
  let w = mergePage(emptyWindow(), page, 'latest', limit);
  const old = new Set((before?.msgs ?? []).filter((m) => !m.state).map((m) => m.id));
  const inPage = new Set(page.map((m) => m.id));
  for (const m of now?.msgs ?? []) {
    if (m.state) {
      const landed = (x: ChatMessage) => x.key === m.key || (m.nonce != null && x.nonce != null && String(x.nonce) === String(m.nonce));
      if (!w.msgs.some(landed)) w = addPending(w, m);
    } else if (!old.has(m.id) && !inPage.has(m.id)) {
      // As it is, key included, so its row is not remounted.
      w = { ...w, msgs: insertSorted(w.msgs, m) };
    }
  }
  return w;
}

/**
 * Enforces the cap by dropping the side away from the reader. The list calls
 * this apart from a prepend, so the drop never moves what is on screen.
 */
export function trimWindow(w: Window, keep: 'start' | 'end', cap = WINDOW_CAP): Window {
  if (w.msgs.length <= cap) return w;
  if (keep === 'start') return { msgs: w.msgs.slice(0, cap), atStart: w.atStart, atEnd: false };
  return { msgs: w.msgs.slice(w.msgs.length - cap), atStart: false, atEnd: w.atEnd };
}

/**
 * A live MESSAGE_CREATE. A row sent from here with the same nonce is replaced
 * in place (its key is kept, so the row is not remounted). A message already
 * shown is not shown twice. A window that does not reach the present ignores
 * it: the message is fetched when the reader gets there. Over the cap the
 * oldest rows go; a channel on screen passes no cap (Infinity), since only
 * its list knows whether the reader is at the top, where they must not go.
 */
export function insertLive(w: Window, m: Message, cap = WINDOW_CAP): Window {
  if (m.nonce != null) {
    const n = String(m.nonce);
    const i = w.msgs.findIndex((x) => x.state !== undefined && x.nonce != null && String(x.nonce) === n);
    if (i >= 0) {
      const rest = w.msgs.filter((_, j) => j !== i && w.msgs[j]!.id !== m.id);
      const key = w.msgs[i]!.key;
      return { ...w, msgs: insertSorted(rest, toChat(m, key)) };
    }
  }
  const j = w.msgs.findIndex((x) => x.id === m.id);
  if (j >= 0) {
    const msgs = w.msgs.slice();
    msgs[j] = { ...toChat(m, msgs[j]!.key) };
    return { ...w, msgs };
  }
  if (!w.atEnd) return w;
  let msgs = insertSorted(w.msgs, toChat(m));
  let atStart = w.atStart;
  if (msgs.length > cap) {
    msgs = msgs.slice(msgs.length - cap);
    atStart = false;
  }
  return { ...w, msgs, atStart };
}

function insertSorted(list: readonly ChatMessage[], m: ChatMessage): ChatMessage[] {
  // Pending rows stay last: they have no server order yet.
  const out = list.slice();
  let i = out.length;
  while (i > 0) {
    const prev = out[i - 1]!;
    if (!prev.state && cmpId(prev.id, m.id) <= 0) break;
    if (prev.state && m.state) break;
    i--;
  }
  out.splice(i, 0, m);
  return out;
}

/** Adds an optimistic row for a send from here. */
export function addPending(w: Window, m: ChatMessage): Window {
  return { ...w, msgs: [...w.msgs, m] };
}

export function updateMessage(w: Window, id: string, patch: Partial<Message> | ((m: ChatMessage) => Partial<ChatMessage>)): Window {
  const i = w.msgs.findIndex((x) => x.id === id);
  if (i < 0) return w;
  const msgs = w.msgs.slice();
  const cur = msgs[i]!;
  msgs[i] = { ...cur, ...(typeof patch === 'function' ? patch(cur) : patch) } as ChatMessage;
  return { ...w, msgs };
}

export function setStateByKey(w: Window, key: string, patch: Partial<ChatMessage>): Window {
  const i = w.msgs.findIndex((x) => x.key === key);
  if (i < 0) return w;
  const msgs = w.msgs.slice();
  msgs[i] = { ...msgs[i]!, ...patch };
  return { ...w, msgs };
}

export function removeMessage(w: Window, id: string): Window {
  const msgs = w.msgs.filter((x) => x.id !== id);
  if (msgs.length === w.msgs.length) return w;
  // Replies to it now quote a deleted message, as on Discord.
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i]!;
    if (m.referenced_message && m.referenced_message.id === id) msgs[i] = { ...m, referenced_message: null };
  }
  return { ...w, msgs };
}

export function removeByKey(w: Window, key: string): Window {
  return { ...w, msgs: w.msgs.filter((x) => x.key !== key) };
}

/** Reaction add/remove on a message, as the gateway reports it. */
export function applyReaction(m: ChatMessage, emoji: { id: string | null; name: string | null }, delta: 1 | -1, mine: boolean): Partial<ChatMessage> {
  const same = (e: { id: string | null; name: string | null }) => (emoji.id ? e.id === emoji.id : !e.id && e.name === emoji.name);
  const list = (m.reactions ?? []).map((r) => ({ ...r }));
  const r = list.find((x) => same(x.emoji));
  if (r) {
    if (mine && delta === 1 && r.me) return {};
    if (mine && delta === -1 && !r.me) return {};
    r.count += delta;
    if (mine) r.me = delta === 1;
  } else if (delta === 1) {
    list.push({ count: 1, me: mine, emoji: { id: emoji.id, name: emoji.name } });
  }
  return { reactions: list.filter((x) => x.count > 0) };
}
