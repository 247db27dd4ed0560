import { describe, expect, it } from 'vitest';
import { parseSearch } from './search';

describe('search filters', () => {
  it('splits filters from words', () => {
    const q = parseSearch('from:@alice in:#general has:link before:2026-12-07 after:2026-01-01 hello "big world"');
    expect(q.from).toEqual(['alice']);
    expect(q.in).toEqual(['general']);
    expect(q.has).toEqual(['link']);
    expect(q.before).toBe('2026-12-07T00:00:00.000Z');
    expect(q.after).toBe('2026-01-01T00:00:00.000Z');
    expect(q.content).toBe('hello big world');
    expect(q.problems).toEqual([]);
  });
  it('takes quoted values and reports wrong ones', () => {
    const q = parseSearch('from:"Jane Doe" has:video before:someday x:y');
    expect(q.from).toEqual(['Jane Doe']);
    expect(q.has).toEqual([]);
    expect(q.problems).toHaveLength(2);
    expect(q.content).toBe('x:y');
  });
});
