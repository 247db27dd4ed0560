// Screen state shared by components that are far apart in the tree (the
// message actions and the composer), kept out of the data stores.

export interface Target {
  channel: string;
  id: string;
}

class UI {
  replyTo = $state<Target | null>(null);
  editing = $state<Target | null>(null);
  /** The message to scroll to and highlight (reply jump). */
  highlight = $state<Target | null>(null);
  picker = $state<(Target & { x: number; y: number }) | null>(null);
  confirmDelete = $state<Target | null>(null);
  threadFor = $state<(Target & { name: string }) | null>(null);
  /** A lazy chunk failed twice: offer a reload. */
  chunkFailed = $state(false);
  memberListOpen = $state(true);
  /** The user whose profile popout is open (issue 16), in a guild's context or not. */
  profile = $state<{ user: string; guild?: string } | null>(null);
  toast = $state('');
  private toastTimer: ReturnType<typeof setTimeout> | null = null;

  say(msg: string) {
    this.toast = msg;
    if (this.toastTimer) clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => (this.toast = ''), 6000);
  }
}

export const ui = new UI();

/** Imports a lazy chunk, retrying twice; then the page offers a reload. */
export async function lazy<T>(load: () => Promise<T>, tries = 3): Promise<T> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      return await load();
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 300 * (i + 1)));
    }
  }
  ui.chunkFailed = true;
  throw last;
}

export function errorText(e: unknown): string {
  if (e && typeof e === 'object' && 'reason' in e && typeof (e as { reason: unknown }).reason === 'string') return (e as { reason: string }).reason;
  if (e instanceof Error) return e.message;
  return 'Something went wrong.';
}
