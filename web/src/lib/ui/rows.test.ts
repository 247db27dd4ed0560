import { describe, expect, test } from 'vitest';
import { dayKey } from '../time';
import type { ChatMessage } from '../stores/window';
import { GROUP_MS, RowBuilder, type Row } from './rows';

// Timestamps derived from one base instant: noon local time, so adding
// minutes stays on the same local day.
const base = new Date();
base.setHours(12, 0, 0, 0);
const at = (minutes: number) => new Date(base.getTime() + minutes * 60_000).toISOString();

let seq = 0;
const msg = (author: string, minutes: number, extra: Partial<ChatMessage> = {}): ChatMessage => {
  const id = String(1000 + seq++);
  return { id, key: id, channel_id: 'c', author: { id: author, username: author }, content: 'x', timestamp: at(minutes), type: 0, ...extra };
};
const shape = (rows: Row[]) => rows.map((r) => (r.kind === 'msg' ? `${r.m.id}${r.grouped ? '+' : ''}` : r.kind));

describe('message rows', () => {
  test('a top row, one separator per day, and groups by author within GROUP_MS', () => {
    const a1 = msg('a', 0);
    const a2 = msg('a', 1);
    const b1 = msg('b', 2);
    const b2 = msg('b', 2 + GROUP_MS / 60_000 + 1); // past the group window
    const b3 = msg('b', 24 * 60 + 5); // the next day
    const rows = new RowBuilder().build([a1, a2, b1, b2, b3], true);
    expect(shape(rows)).toEqual(['top', 'day', a1.id, a2.id + '+', b1.id, b2.id, 'day', b3.id]);
    const days = rows.filter((r) => r.kind === 'day').map((r) => r.key);
    expect(days).toEqual(['day:' + dayKey(new Date(a1.timestamp)), 'day:' + dayKey(new Date(b3.timestamp))]);
    expect(rows[0]).toMatchObject({ kind: 'top', atStart: true });
  });

  test('replies and system messages start a group; a plain message after a reply joins it', () => {
    const a1 = msg('a', 0);
    const reply = msg('a', 1, { type: 19 });
    const after = msg('a', 2);
    const sys = msg('a', 3, { type: 7 });
    const last = msg('a', 4);
    expect(shape(new RowBuilder().build([a1, reply, after, sys, last], false))).toEqual(['top', 'day', a1.id, reply.id, after.id + '+', sys.id, last.id]);
  });

  test('an appended message leaves every other row object as it was', () => {
    const b = new RowBuilder();
    const msgs = [msg('a', 0), msg('b', 1), msg('b', 2)];
    const first = b.build(msgs, false);
    const n = msg('c', 3);
    const second = b.build([...msgs, n], false);
    expect(second.length).toBe(first.length + 1);
    for (let i = 0; i < first.length; i++) expect(second[i]).toBe(first[i]);
    expect(second.at(-1)).toMatchObject({ kind: 'msg', m: n, grouped: false });
  });

  test('a changed message, grouping or start flag gets a new row; the rest stay', () => {
    const b = new RowBuilder();
    const m0 = msg('a', 0);
    const m1 = msg('a', 1);
    const m2 = msg('b', 2);
    const first = b.build([m0, m1, m2], false);
    const edited = { ...m2, content: 'edited' };
    const second = b.build([m0, m1, edited], true);
    expect(second[0]).not.toBe(first[0]);
    expect(second[0]).toMatchObject({ atStart: true });
    expect(second[2]).toBe(first[2]);
    expect(second[3]).toBe(first[3]);
    expect(second[4]).not.toBe(first[4]);
    expect(second[4]).toMatchObject({ m: edited });
    // Deleting the first message makes the second one head its group.
    const third = b.build([m1, edited], true);
    expect(third[2]).toMatchObject({ m: m1, grouped: false });
    expect(third[3]).toBe(second[4]);
  });

  test('a message whose timestamp changes is placed by the new one', () => {
    const b = new RowBuilder();
    const m0 = msg('a', 0);
    const m1 = msg('a', 1);
    b.build([m0, m1], false);
    // The same object with a new timestamp (a pending row confirmed later).
    (m1 as { timestamp: string }).timestamp = at(60);
    const rows = b.build([m0, m1], false);
    expect(rows.at(-1)).toMatchObject({ m: m1, grouped: false });
  });

  test('the "new" divider goes before the first later message of someone else, and starts a group', () => {
    const a1 = msg('a', 0);
    const a2 = msg('a', 1);
    const mine = msg('me', 2);
    const a3 = msg('a', 3);
    const a4 = msg('a', 4);
    const b = new RowBuilder();
    const first = b.build([a1, a2, mine, a3, a4], false, a1.id, 'me');
    expect(shape(first)).toEqual(['top', 'day', a1.id, 'new', a2.id, mine.id, a3.id, a4.id + '+']);
    const again = b.build([a1, a2, mine, a3, a4], false, a1.id, 'me');
    expect(again[3]).toBe(first[3]); // the divider's row object is kept
    expect(shape(b.build([a1, a2, mine, a3, a4], false, a4.id, 'me'))).not.toContain('new');
  });
});
