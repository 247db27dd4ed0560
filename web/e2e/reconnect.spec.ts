// A's homeserver goes away under two signed-in screens (alice on A, bob on B
// in a guild of A) and comes back on the same port and data dir: once by a
// graceful stop (SIGTERM), once by a crash (SIGKILL). Both screens carry on:
// everything sent before, during the clients' reconnect and after is shown
// once, in the same order on both.
import { type BrowserContext, type Page } from '@playwright/test';
import { expect, test, Api, messageIds, messageLog, messageWith, openChannel, say, signIn, sortedAsSnowflakes, uniq } from './helpers';
import { restartServer, servers } from './servers';

let alicePage: Page;
let bobPage: Page;
let contexts: BrowserContext[] = [];
let carol: Api; // a third member on A who writes over REST while the screens reconnect
let bobApi: Api;
let channelId = '';
let bobChannelId = ''; // the same channel in B's replica (B's own snowflake)
let guildName = '';
const run = Date.now().toString(36);

test.beforeAll(async ({ browser }) => {
  const { A, B } = servers();
  const aliceName = uniq('alice');
  const bobName = uniq('bob');
  const alice = await Api.register(A, aliceName);
  const bob = await Api.register(B, bobName);
  carol = await Api.register(A, uniq('carol'));
  guildName = uniq('Reconnect');
  const { general } = await alice.createGuild(guildName);
  channelId = general.id;
  const code = await alice.invite(general.id);
  await carol.call('POST', `/invites/${code}`, {});
  await bob.call('POST', `/invites/${code}@${A.host}`, {});
  bobApi = bob;
  const bobGuild = (await bob.call<any[]>('GET', '/users/@me/guilds')).find((g) => g.name === guildName);
  bobChannelId = (await bob.call<any[]>('GET', `/guilds/${bobGuild.id}/channels`)).find((c) => c.name === 'general').id;

  const ac = await browser.newContext();
  const bc = await browser.newContext();
  contexts = [ac, bc];
  alicePage = await ac.newPage();
  bobPage = await bc.newPage();
  await signIn(alicePage, A, { username: aliceName });
  await openChannel(alicePage, guildName);
  await signIn(bobPage, B, { username: bobName });
  await openChannel(bobPage, guildName);
});

test.afterAll(async () => {
  // Closing may race Playwright's trace collection of a failed test; the
  // contexts go with the browser anyway.
  for (const c of contexts) await c.close().catch(() => {});
});

async function tokens(page: Page, prefix: string): Promise<string[]> {
  const texts = await messageLog(page).getByRole('article').allInnerTexts();
  const re = new RegExp(`${prefix}-\\w+-${run}`, 'g');
  return texts.flatMap((t) => t.match(re) ?? []);
}

async function carriesOn(signal: 'SIGTERM' | 'SIGKILL') {
  const p = signal === 'SIGTERM' ? 'term' : 'kill';
  const expected: string[] = [];
  const post = async (page: Page, label: string) => {
    const t = `${p}-${label}-${run}`;
    expected.push(t);
    await say(page, t);
    for (const q of [alicePage, bobPage]) await expect(messageWith(messageLog(q), t)).toHaveCount(1);
  };
  await post(alicePage, 'before1');
  await post(bobPage, 'before2');

  await restartServer('A', signal);

  // Written the moment A is back, while the screens are still reconnecting:
  // they arrive through RESUME's replay or the client's gap fill.
  for (const label of ['gap1', 'gap2', 'gap3']) {
    const t = `${p}-${label}-${run}`;
    expected.push(t);
    await carol.send(channelId, t);
  }
  await post(alicePage, 'after1');
  await post(bobPage, 'after2');

  // The server stored each message once (as REST sees it, oldest first).
  const stored = async (api = carol, channel = channelId) =>
    (await api.messages(channel))
      .map((m) => m.content as string)
      .filter((c) => c.startsWith(`${p}-`))
      .reverse();
  expect(await stored()).toEqual(expected);
  await expect.poll(() => stored(bobApi, bobChannelId), { message: "B's replica" }).toEqual(expected);
  if (process.env.HEARTH_E2E_DEBUG) {
    await new Promise((r) => setTimeout(r, 5000));
    for (const q of [alicePage, bobPage]) console.log(q === alicePage ? 'alice' : 'bob', await tokens(q, p));
  }
  for (const q of [alicePage, bobPage]) {
    await expect.poll(() => tokens(q, p), { timeout: 30_000 }).toEqual(expected);
    const ids = await messageIds(messageLog(q));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(sortedAsSnowflakes(ids));
  }
}

test('A restarts gracefully; both screens carry on, nothing lost or doubled', async () => {
  await carriesOn('SIGTERM');
});

test('A crashes (SIGKILL) and restarts; both screens carry on, nothing lost or doubled', async () => {
  await carriesOn('SIGKILL');
});
