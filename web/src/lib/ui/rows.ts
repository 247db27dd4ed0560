// The message list's rows (a top row, day separators, messages) built from a
// channel window. The window is a new array on every message, so the rows
// are rebuilt each time; the builder keeps that cheap and, above all, hands
// back the *same* row object for every row that did not change. The virtual
// list passes each row to its component through a getter: a new object for an
// unchanged row re-ran every visible message's derived state (dates, names,
// formatted times) on each incoming message.

import type { ChatMessage } from '../stores/window';
import { cmpId } from '../snowflake';
import { dayKey, fmtDay } from '../time';

export type Row =
  | { kind: 'top'; key: string; atStart: boolean }
  | { kind: 'day'; key: string; text: string }
  | { kind: 'new'; key: string }
  | { kind: 'msg'; key: string; m: ChatMessage; grouped: boolean };

/** Messages from one author closer than this are grouped under one header. */
export const GROUP_MS = 7 * 60 * 1000;

interface When {
  ts: string;
  ms: number;
  day: number;
}

/** Whether m continues prev's group: same author, same day, close in time, plain messages (a reply always starts a group). */
function continues(prev: ChatMessage | null, pw: When | null, m: ChatMessage, w: When): boolean {
  return (
    !!prev &&
    !!pw &&
    w.day === pw.day &&
    prev.author.id === m.author.id &&
    m.type === 0 &&
    (prev.type === 0 || prev.type === 19) &&
    w.ms - pw.ms < GROUP_MS
  );
}

/**
 * Builds rows, reusing the previous call's row objects (and parsed
 * timestamps) for whatever is unchanged. One builder per list.
 */
export class RowBuilder {
  private when = new WeakMap<ChatMessage, When>();
  private prev = new Map<string, Row>();
  private dayText = new Map<number, string>();

  /** Parsed timestamp of m, parsed once per message object (and again only if its timestamp changes). */
  private at(m: ChatMessage): When {
    const c = this.when.get(m);
    if (c && c.ts === m.timestamp) return c;
    const d = new Date(m.timestamp);
    const w = { ts: m.timestamp, ms: d.getTime(), day: dayKey(d) };
    this.when.set(m, w);
    if (!this.dayText.has(w.day)) this.dayText.set(w.day, fmtDay(d));
    return w;
  }

  /**
   * With `divider` (the last message read), a "new" row goes before the
   * first later message that is not `me`'s own nor still being sent.
   */
  build(msgs: readonly ChatMessage[], atStart: boolean, divider?: string, me?: string): Row[] {
    const old = this.prev;
    const next = new Map<string, Row>();
    const out: Row[] = [];
    const keep = (r: Row) => {
      next.set(r.key, r);
      out.push(r);
    };
    const top = old.get('__top');
    keep(top && top.kind === 'top' && top.atStart === atStart ? top : { kind: 'top', key: '__top', atStart });
    let prev: ChatMessage | null = null;
    let pw: When | null = null;
    for (const m of msgs) {
      const w = this.at(m);
      if (!pw || w.day !== pw.day) {
        const key = 'day:' + w.day;
        const text = this.dayText.get(w.day)!;
        const r = old.get(key);
        keep(r && r.kind === 'day' && r.text === text ? r : { kind: 'day', key, text });
      }
      if (divider !== undefined && !m.state && m.author.id !== me && cmpId(m.id, divider) > 0) {
        keep(old.get('__new') ?? { kind: 'new', key: '__new' });
        divider = undefined;
        prev = null; // the divider starts a new group
      }
      const grouped = continues(prev, pw, m, w);
      const r = old.get(m.key);
      keep(r && r.kind === 'msg' && r.m === m && r.grouped === grouped ? r : { kind: 'msg', key: m.key, m, grouped });
      prev = m;
      pw = w;
    }
    this.prev = next;
    return out;
  }
}
