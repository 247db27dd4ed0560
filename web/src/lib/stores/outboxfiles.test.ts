// The outbox's kept files against fake-indexeddb, an in-memory implementation
// of the IndexedDB API (Node has none).
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { OutboxFiles } from './outboxfiles';

const file = (name: string, bytes: number, type = 'application/octet-stream') => new File([new Uint8Array(bytes).map((_, i) => i % 251)], name, { type, lastModified: 1_700_000_000_000 });

describe('OutboxFiles', () => {
  it('gives back the bytes, names, types and spoiler of what it kept, from a new instance (a reload)', async () => {
    const idb = new IDBFactory();
    const png = file('pixel.png', 300, 'image/png');
    const txt = file('notes.txt', 12, 'text/plain');
    expect(await new OutboxFiles('t', idb).put('a|n1', [png, txt], true)).toBe(true);

    const got = await new OutboxFiles('t', idb).get('a|n1');
    expect(got?.spoiler).toBe(true);
    expect(got?.files.map((f) => [f.name, f.type, f.size, f.lastModified])).toEqual([
      ['pixel.png', 'image/png', 300, 1_700_000_000_000],
      ['notes.txt', 'text/plain', 12, 1_700_000_000_000],
    ]);
    expect(new Uint8Array(await got!.files[0]!.arrayBuffer())).toEqual(new Uint8Array(await png.arrayBuffer()));
  });

  it('forgets what it is told to, and answers null for what it never kept', async () => {
    const s = new OutboxFiles('t', new IDBFactory());
    await s.put('a|n1', [file('x', 5)]);
    await s.put('a|n2', [file('y', 5)]);
    expect((await s.keys()).sort()).toEqual(['a|n1', 'a|n2']);
    await s.delete('a|n1');
    expect(await s.get('a|n1')).toBeNull();
    expect(await s.get('never')).toBeNull();
    expect(await s.keys()).toEqual(['a|n2']);
  });

  it('refuses a send over its bound and sends that would take the total over it', async () => {
    const s = new OutboxFiles('t', new IDBFactory(), { send: 100, total: 150 });
    expect(await s.put('big', [file('a', 60), file('b', 41)])).toBe(false);
    expect(await s.get('big')).toBeNull();
    expect(await s.put('one', [file('a', 100)])).toBe(true);
    expect(await s.put('two', [file('b', 51)])).toBe(false);
    expect(await s.put('two', [file('b', 50)])).toBe(true);
    // Putting a key again replaces it: its old size does not count twice.
    expect(await s.put('one', [file('a', 100)])).toBe(true);
    // Room comes back when a send is forgotten.
    await s.delete('one');
    expect(await s.put('three', [file('c', 100)])).toBe(true);
    expect((await s.keys()).sort()).toEqual(['three', 'two']);
  });

  it('says no, without throwing, where there is no IndexedDB', async () => {
    const s = new OutboxFiles('t', undefined);
    expect(await s.put('k', [file('a', 1)])).toBe(false);
    expect(await s.get('k')).toBeNull();
    expect(await s.keys()).toEqual([]);
    await s.delete('k');
  });
});
