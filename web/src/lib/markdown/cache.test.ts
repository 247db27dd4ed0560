import { describe, expect, it } from 'vitest';
import { parseCached, plainParagraph } from './cache';

describe('plainParagraph', () => {
  it.each([
    ['plain words', 'plain words'],
    ['two  spaces and trailing ', 'two  spaces and trailing '],
    ['**bold**', null],
    ['line one\nline two', null],
    ['`code`', null],
    ['<@123>', null],
    ['> quote', null],
    ['# heading', null],
    ['https://example.org', null],
    ['<b>raw html</b>', '<b>raw html</b>'],
  ])('%j → %j', (src, want) => {
    expect(plainParagraph(parseCached(src))).toBe(want);
  });

  it('answers from the tree it was given, once per tree', () => {
    const tree = parseCached('memo me', 'id1:');
    expect(parseCached('memo me', 'id1:')).toBe(tree);
    expect(plainParagraph(tree)).toBe('memo me');
    // An edit has a new key, so a new tree and a new answer.
    expect(plainParagraph(parseCached('**memo** me', 'id1:2026'))).toBeNull();
  });
});
