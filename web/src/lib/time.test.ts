import { describe, expect, test } from 'vitest';
import { fmtFull, perMinute } from './time';

describe('per-minute formatting', () => {
  const base = Math.floor(Date.now() / 60_000) * 60_000;

  test('formats once per minute and gives the formatter answer', () => {
    const calls: number[] = [];
    const f = perMinute((d) => {
      calls.push(d.getTime());
      return 'm' + Math.floor(d.getTime() / 60_000);
    });
    expect(f(new Date(base + 1_000))).toBe('m' + base / 60_000);
    expect(f(new Date(base + 59_999))).toBe('m' + base / 60_000);
    expect(f(new Date(base + 60_000))).toBe('m' + (base / 60_000 + 1));
    expect(calls).toEqual([base + 1_000, base + 60_000]);
  });

  test('keeps a bounded number of minutes, dropping the oldest', () => {
    let n = 0;
    const f = perMinute((d) => `${d.getTime()}:${n++}`, 2);
    const a = f(new Date(base));
    f(new Date(base + 60_000));
    f(new Date(base + 120_000)); // drops the first minute
    expect(f(new Date(base + 60_000))).toBe(`${base + 60_000}:1`);
    expect(f(new Date(base))).not.toBe(a);
  });

  test('the full style matches Intl for any second within the minute', () => {
    const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });
    for (const s of [0, 17_000, 59_999]) expect(fmtFull(new Date(base + s))).toBe(full.format(new Date(base + s)));
  });
});
