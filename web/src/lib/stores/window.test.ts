import { describe, expect, test } from 'vitest';
import { cmpId } from '../snowflake';
import type { Message } from '../types';
import { addPending, emptyWindow, insertLive, mergePage, refreshLatest, WINDOW_CAP, type ChatMessage } from './window';

const msg = (id: string, extra: Partial<Message> = {}): Message => ({
  id,
  channel_id: 'c',
  author: { id: 'u', username: 'u' },
  content: 'm' + id,
  timestamp: new Date().toISOString(),
  type: 0,
  ...extra,
});

describe('snowflake order', () => {
  test('compares as numbers, not strings', () => {
    expect(cmpId('9', '10')).toBeLessThan(0);
    expect(cmpId('1000000000000000000', '999999999999999999')).toBeGreaterThan(0);
    const ids = ['1234567890123456789', '999999999999999999', '20', '3'];
    expect([...ids].sort(cmpId)).toEqual([...ids].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0)));
  });
  test('windows sort ids of different length numerically', () => {
    const w = mergePage(emptyWindow(), [msg('100'), msg('99'), msg('1000')], 'latest', 50);
    expect(w.msgs.map((m) => m.id)).toEqual(['99', '100', '1000']);
  });
});

describe('window merge', () => {
  test('latest short page reaches both ends', () => {
    const w = mergePage(emptyWindow(), [msg('3'), msg('2')], 'latest', 50);
    expect(w.atStart).toBe(true);
    expect(w.atEnd).toBe(true);
  });
  test('older pages prepend without duplicates', () => {
    let w = mergePage(emptyWindow(), [msg('30'), msg('20')], 'latest', 2);
    expect(w.atStart).toBe(false);
    w = mergePage(w, [msg('20'), msg('10')], 'before', 2);
    expect(w.msgs.map((m) => m.id)).toEqual(['10', '20', '30']);
    w = mergePage(w, [msg('5')], 'before', 2);
    expect(w.atStart).toBe(true);
  });
  test('cap trims the far end', () => {
    const page = Array.from({ length: 100 }, (_, i) => msg(String(10000 - i)));
    let w = mergePage(emptyWindow(), page, 'latest', 100);
    for (let k = 1; k <= 10; k++) {
      const older = Array.from({ length: 100 }, (_, i) => msg(String(10000 - k * 100 - i)));
      w = mergePage(w, older, 'before', 100);
    }
    expect(w.msgs.length).toBe(WINDOW_CAP);
    expect(w.atEnd).toBe(false);
    expect(w.msgs[0]!.id).toBe(String(10000 - 1099));
  });
  test('live messages go only to a window at the present, once', () => {
    let w = mergePage(emptyWindow(), [msg('2')], 'latest', 50);
    w = insertLive(w, msg('3'));
    w = insertLive(w, msg('3'));
    expect(w.msgs.map((m) => m.id)).toEqual(['2', '3']);
    const stale = { ...w, atEnd: false };
    expect(insertLive(stale, msg('4'))).toBe(stale);
  });
  test('a live message over the cap drops the oldest, unless the window is on screen (no cap)', () => {
    const all = Array.from({ length: WINDOW_CAP }, (_, i) => msg(String(1000 + i)));
    const full = mergePage(emptyWindow(), all, 'latest', WINDOW_CAP + 1);
    expect(full.atStart).toBe(true);
    const capped = insertLive(full, msg('5000'));
    expect(capped.msgs.length).toBe(WINDOW_CAP);
    expect(capped.msgs[0]!.id).toBe('1001');
    expect(capped.atStart).toBe(false);
    const open = insertLive(full, msg('5000'), Infinity);
    expect(open.msgs.length).toBe(WINDOW_CAP + 1);
    expect(open.msgs[0]!.id).toBe('1000');
    expect(open.atStart).toBe(true);
  });
  test('out-of-order live messages are sorted', () => {
    let w = mergePage(emptyWindow(), [msg('10')], 'latest', 50);
    w = insertLive(w, msg('30'));
    w = insertLive(w, msg('20'));
    expect(w.msgs.map((m) => m.id)).toEqual(['10', '20', '30']);
  });
});

describe('nonce reconciliation', () => {
  const pending = (nonce: string): ChatMessage => ({ ...msg(nonce, { nonce }), key: nonce, state: 'sending' });
  test('MESSAGE_CREATE replaces the pending row and keeps its key', () => {
    let w = mergePage(emptyWindow(), [msg('10')], 'latest', 50);
    w = addPending(w, pending('n1'));
    w = insertLive(w, msg('11', { nonce: 'n1' }));
    expect(w.msgs.map((m) => [m.id, m.key, m.state])).toEqual([
      ['10', '10', undefined],
      ['11', 'n1', undefined],
    ]);
  });
  test('REST answer and MESSAGE_CREATE together show the message once', () => {
    let w = mergePage(emptyWindow(), [], 'latest', 50);
    w = addPending(w, pending('n1'));
    w = insertLive(w, msg('11', { nonce: 'n1' }));
    w = insertLive(w, msg('11', { nonce: 'n1' }));
    expect(w.msgs.length).toBe(1);
    expect(w.msgs[0]!.key).toBe('n1');
  });
  test('pending rows stay below confirmed ones', () => {
    let w = mergePage(emptyWindow(), [msg('10')], 'latest', 50);
    w = addPending(w, pending('n1'));
    w = insertLive(w, msg('12'));
    expect(w.msgs.map((m) => m.id)).toEqual(['10', '12', 'n1']);
  });
  test('a page holding the sent message reconciles too', () => {
    let w = mergePage(emptyWindow(), [msg('10')], 'latest', 50);
    w = addPending(w, pending('n1'));
    w = mergePage({ ...w, atEnd: false }, [msg('11', { nonce: 'n1' })], 'after', 50);
    expect(w.msgs.map((m) => [m.id, m.key])).toEqual([
      ['10', '10'],
      ['11', 'n1'],
    ]);
  });
});

describe('newest page fetched while the window lives', () => {
  const pending = (nonce: string): ChatMessage => ({ ...msg(nonce, { nonce }), key: nonce, state: 'sending' });
  test('a send confirmed while the page was on its way stays (a new DM opened and written to at once)', () => {
    const before = undefined;
    let now = addPending({ ...emptyWindow(), atEnd: true }, pending('n1'));
    now = insertLive(now, msg('50', { nonce: 'n1' }));
    const w = refreshLatest(before, now, [], 50);
    expect(w.msgs.map((m) => [m.id, m.key, m.state])).toEqual([['50', 'n1', undefined]]);
    expect(w.atEnd).toBe(true);
  });
  test('live messages after the page are kept, older rows are replaced by the page', () => {
    const before = mergePage(emptyWindow(), [msg('20'), msg('10')], 'latest', 50);
    const now = insertLive(before, msg('40'));
    const w = refreshLatest(before, now, [msg('30'), msg('20')], 50);
    expect(w.msgs.map((m) => m.id)).toEqual(['20', '30', '40']);
  });
  test('a pending send stays pending, once, and a stored one is not shown twice', () => {
    const now = addPending(addPending({ ...emptyWindow(), atEnd: true }, pending('a')), pending('b'));
    const w = refreshLatest(undefined, now, [msg('60', { nonce: 'b' })], 50);
    expect(w.msgs.map((m) => [m.id, m.state ?? 'stored'])).toEqual([
      ['60', 'stored'],
      ['a', 'sending'],
    ]);
  });
});
