// Shared steps of the browser tests: unique names, a small REST client for
// seeding through the real client API, and the sign-in flow driven through
// the accessible names of issue 12's table.
import { test as base, expect, type Browser, type BrowserContext, type Locator, type Page } from '@playwright/test';
import { crc32, deflateSync } from 'node:zlib';
import type { ServerInfo } from './servers';

export const PASSWORD = 'correct horse battery staple';

// Uncaught errors of every page a test signed in with: a test whose pages
// threw (a Svelte effect loop, say) fails even when its assertions held.
const pageErrors: string[] = [];
const watched = new WeakSet<Page>();
export function watchErrors(page: Page): void {
  if (watched.has(page)) return;
  watched.add(page);
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
}

/** Playwright's test with one automatic check: no uncaught error in a watched page. */
export const test = base.extend<{ noPageErrors: void }>({
  noPageErrors: [
    async ({}, use) => {
      pageErrors.length = 0;
      await use();
      expect(pageErrors, 'uncaught errors in the page').toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };

let counter = 0;
/** A name no earlier run used: derived from the clock and a counter (2–32 chars of [a-z0-9_]). */
export function uniq(prefix: string): string {
  counter++;
  return `${prefix}_${Date.now().toString(36)}${counter.toString(36)}`.slice(0, 32);
}

/** A REST client of one homeserver, for one token. */
export class Api {
  constructor(
    readonly server: ServerInfo,
    readonly token = '',
  ) {}

  async call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {};
      if (this.token) headers.Authorization = this.token;
      let payload: BodyInit | undefined;
      if (body instanceof FormData) payload = body;
      else if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        payload = JSON.stringify(body);
      }
      const r = await fetch(`${this.server.url}/api/v10${path}`, { method, headers, body: payload });
      const text = await r.text();
      if (r.status === 429 && attempt < 20) {
        // Honour the server's retry_after, as any client must.
        const after = Number(JSON.parse(text || '{}').retry_after ?? 1);
        await new Promise((ok) => setTimeout(ok, Math.max(50, after * 1000)));
        continue;
      }
      if (!r.ok) throw new Error(`${method} ${path} on ${this.server.host}: ${r.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    }
  }

  static async register(server: ServerInfo, username: string, password = PASSWORD): Promise<Api> {
    const r = await new Api(server).call<{ token: string }>('POST', '/auth/register', { username, password });
    return new Api(server, r.token);
  }

  me() {
    return this.call<{ id: string; username: string }>('GET', '/users/@me');
  }

  async createGuild(name: string): Promise<{ guild: any; general: any }> {
    const guild = await this.call('POST', '/guilds', { name });
    const channels = await this.call<any[]>('GET', `/guilds/${guild.id}/channels`);
    const general = channels.find((c) => c.type === 0) ?? channels[0];
    return { guild, general };
  }

  send(channelId: string, content: string, extra: Record<string, unknown> = {}) {
    return this.call<{ id: string; content: string }>('POST', `/channels/${channelId}/messages`, { content, ...extra });
  }

  async invite(channelId: string): Promise<string> {
    const inv = await this.call<{ code: string }>('POST', `/channels/${channelId}/invites`, {});
    return inv.code;
  }

  messages(channelId: string, query = 'limit=100') {
    return this.call<any[]>('GET', `/channels/${channelId}/messages?${query}`);
  }
}

/** A fresh browser context and page for one person. */
export async function person(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  return { context, page };
}

/**
 * Signs in through the form of the page served by `via`: types `server`'s
 * address into Homeserver when it is another homeserver, then registers (or
 * logs in), and waits for the guild list.
 */
export async function signIn(
  page: Page,
  via: ServerInfo,
  opts: { server?: ServerInfo; username: string; password?: string; register?: boolean; path?: string },
): Promise<void> {
  watchErrors(page);
  await page.goto(`${via.url}${opts.path ?? '/'}`);
  await fillSignIn(page, opts.server && opts.server.url !== via.url ? opts.server.host : undefined, opts.username, opts.password ?? PASSWORD);
  await page.getByRole('button', { name: opts.register ? 'Register' : 'Log in', exact: true }).click();
  await expect(page.getByRole('navigation', { name: 'Servers' })).toBeVisible();
}

/** Adds a second account in the same browser through the Accounts menu, and waits for its guild list. */
export async function addAccount(page: Page, server: ServerInfo, username: string): Promise<void> {
  await page.getByRole('button', { name: 'Accounts' }).click();
  await page.getByRole('menuitem', { name: 'Add an account' }).click();
  await fillSignIn(page, server.host, username, PASSWORD);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await expect(page.getByRole('navigation', { name: 'Servers' })).toBeVisible();
}

/** Fills the sign-in form (Homeserver only when given). */
export async function fillSignIn(page: Page, homeserver: string | undefined, username: string, password: string) {
  if (homeserver !== undefined) await page.getByRole('textbox', { name: 'Homeserver', exact: true }).fill(homeserver);
  await page.getByRole('textbox', { name: 'Username', exact: true }).fill(username);
  await page.getByRole('textbox', { name: 'Password', exact: true }).fill(password);
}

/** Opens a guild and one of its channels by their links. */
export async function openChannel(page: Page, guildName: string, channelName = 'general'): Promise<void> {
  await page.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: guildName, exact: true }).click();
  await page.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: channelName, exact: true }).click();
  await expect(page.getByRole('log', { name: `Messages in #${channelName}` })).toBeVisible();
}

export function messageLog(page: Page, channelName = 'general'): Locator {
  return page.getByRole('log', { name: `Messages in #${channelName}` });
}

export function composer(page: Page, channelName = 'general'): Locator {
  return page.getByRole('textbox', { name: `Message #${channelName}`, exact: true });
}

/** Types a message and sends it with Enter. */
export async function say(page: Page, text: string, channelName = 'general'): Promise<void> {
  const box = composer(page, channelName);
  await box.click();
  await box.fill(text);
  await box.press('Enter');
}

/** The message article holding `text` (exactly one). */
export function messageWith(log: Locator, text: string): Locator {
  return log.getByRole('article').filter({ hasText: text });
}

/** The snowflakes of the messages in the log, in DOM order. */
export async function messageIds(log: Locator): Promise<string[]> {
  return log.getByRole('article').evaluateAll((els) =>
    els.map((e) => e.getAttribute('data-message-id') ?? '').filter((id) => /^\d+$/.test(id)),
  );
}

/** Snowflakes compared as numbers (BigInt), never as strings. */
export function sortedAsSnowflakes(ids: string[]): string[] {
  return [...ids].sort((a, b) => {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** Shows a message's action buttons by hovering it and returns the article. */
export async function hoverMessage(log: Locator, text: string): Promise<Locator> {
  const m = messageWith(log, text);
  await m.hover();
  return m;
}

/** A tiny valid PNG of w×h pixels in one colour (no image library needed). */
export function png(w: number, h: number, rgb: [number, number, number] = [200, 60, 40]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  const row = Buffer.alloc(1 + w * 3);
  for (let x = 0; x < w; x++) row.set(rgb, 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A loopback port nobody listens on at this moment (for "server is down"). */
export { freePort as freePortNow } from './servers';
