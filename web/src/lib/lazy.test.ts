import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { lazy, ui } from './ui.svelte';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

test('a chunk that fails once is retried', async () => {
  let n = 0;
  const p = lazy(async () => {
    if (n++ === 0) throw new Error('chunk failed');
    return 'ok';
  });
  await vi.runAllTimersAsync();
  await expect(p).resolves.toBe('ok');
  expect(ui.chunkFailed).toBe(false);
});

test('a chunk that keeps failing offers a reload', async () => {
  const p = lazy(async () => {
    throw new Error('chunk failed');
  });
  const caught = p.catch((e) => e);
  await vi.runAllTimersAsync();
  expect(await caught).toBeInstanceOf(Error);
  expect(ui.chunkFailed).toBe(true);
});
