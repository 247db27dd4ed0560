// The files of sends not yet answered, kept in IndexedDB so that a send with
// attachments survives a reload as a text send does (its text and nonce are
// in localStorage, see Account's outbox). A File does not survive a reload;
// its bytes do, with its name, type and time. Bounded: one send's files and
// all kept files together have a ceiling, and a send over it is simply not
// kept (it still goes; it does not survive a reload).

/** What one send's files may weigh to be kept. */
export const MAX_SEND_BYTES = 25 * 1024 * 1024;
/** What all kept files of this origin may weigh together. */
export const MAX_TOTAL_BYTES = 100 * 1024 * 1024;

// Sizes apart from bytes: the bound is summed from the small records alone.
const FILES = 'files';
const SIZES = 'sizes';

/** Files read back for a send, ready to go in a form again. */
export interface KeptFiles {
  files: File[];
  spoiler?: boolean;
}

interface Kept {
  key: string;
  spoiler?: boolean;
  files: { name: string; type: string; lastModified: number; data: ArrayBuffer }[];
}

interface Size {
  key: string;
  bytes: number;
}

function done<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((ok, fail) => {
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error ?? new Error('IndexedDB request failed'));
  });
}

function committed(tx: IDBTransaction): Promise<void> {
  return new Promise((ok, fail) => {
    tx.oncomplete = () => ok();
    tx.onabort = tx.onerror = () => fail(tx.error ?? new Error('IndexedDB transaction failed'));
  });
}

/** The kept files of one origin's outbox, keyed by account and nonce. */
export class OutboxFiles {
  private db: Promise<IDBDatabase> | null = null;

  constructor(
    private readonly name = 'hearth-outbox',
    private readonly idb: IDBFactory | undefined = globalThis.indexedDB,
    private readonly limits = { send: MAX_SEND_BYTES, total: MAX_TOTAL_BYTES },
  ) {}

  private open(): Promise<IDBDatabase> {
    if (!this.idb) return Promise.reject(new Error('no IndexedDB here'));
    this.db ??= new Promise<IDBDatabase>((ok, fail) => {
      const req = this.idb!.open(this.name, 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore(FILES, { keyPath: 'key' });
        req.result.createObjectStore(SIZES, { keyPath: 'key' });
      };
      req.onsuccess = () => ok(req.result);
      req.onerror = () => fail(req.error ?? new Error('IndexedDB open failed'));
    }).catch((e: unknown) => {
      this.db = null; // a later call may try again (private mode, a blocked upgrade)
      throw e;
    });
    return this.db;
  }

  /**
   * Keeps files under key. False when they are over a bound or the browser
   * refuses (no IndexedDB, quota): the caller then does not keep the send.
   */
  async put(key: string, files: readonly File[], spoiler?: boolean): Promise<boolean> {
    const bytes = files.reduce((a, f) => a + f.size, 0);
    if (bytes > this.limits.send) return false;
    try {
      const rec: Kept = {
        key,
        spoiler,
        files: await Promise.all(files.map(async (f) => ({ name: f.name, type: f.type, lastModified: f.lastModified, data: await f.arrayBuffer() }))),
      };
      const db = await this.open();
      const tx = db.transaction([FILES, SIZES], 'readwrite');
      const ok = committed(tx);
      // The bound is checked in the transaction that writes, so two sends at
      // once cannot both squeeze under it.
      const others = ((await done(tx.objectStore(SIZES).getAll())) as Size[]).filter((r) => r.key !== key);
      if (others.reduce((a, r) => a + r.bytes, 0) + bytes > this.limits.total) {
        tx.abort();
        await ok.catch(() => {});
        return false;
      }
      tx.objectStore(FILES).put(rec);
      tx.objectStore(SIZES).put({ key, bytes } satisfies Size);
      await ok;
      return true;
    } catch {
      return false;
    }
  }

  /** The files kept under key, or null when none are (cleared, never kept, over a bound). */
  async get(key: string): Promise<KeptFiles | null> {
    try {
      const db = await this.open();
      const rec = (await done(db.transaction(FILES).objectStore(FILES).get(key))) as Kept | undefined;
      if (!rec) return null;
      return { spoiler: rec.spoiler, files: rec.files.map((f) => new File([f.data], f.name, { type: f.type, lastModified: f.lastModified })) };
    } catch {
      return null;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      const db = await this.open();
      const tx = db.transaction([FILES, SIZES], 'readwrite');
      tx.objectStore(FILES).delete(key);
      tx.objectStore(SIZES).delete(key);
      await committed(tx);
    } catch {
      /* nothing kept, or storage gone: nothing to delete */
    }
  }

  /** Every key kept, for dropping files whose send is no longer in any outbox. */
  async keys(): Promise<string[]> {
    try {
      const db = await this.open();
      return ((await done(db.transaction(SIZES).objectStore(SIZES).getAllKeys())) as IDBValidKey[]).map(String);
    } catch {
      return [];
    }
  }
}
