// Two people on two homeservers in one guild: alice of A creates it, bob of
// B joins with `code@A`, and both use it live in their own browser contexts.
// The guild and the two signed-in pages are made once per worker (beforeAll);
// every test leaves them usable for the next, and a failure restarts the
// worker, which builds them again.
import { type BrowserContext, type Page } from '@playwright/test';
import {
  expect,
  test,
  Api,
  composer,
  hoverMessage,
  messageIds,
  messageLog,
  messageWith,
  png,
  say,
  signIn,
  sortedAsSnowflakes,
  uniq,
} from './helpers';
import { servers } from './servers';

let alice: { api: Api; name: string; context: BrowserContext; page: Page };
let bob: { api: Api; name: string; context: BrowserContext; page: Page };
let guildName = '';
let run = '';

test.beforeAll(async ({ browser }) => {
  const { A, B } = servers();
  run = Date.now().toString(36);
  const aliceName = uniq('alice');
  const bobName = uniq('bob');
  const aliceApi = await Api.register(A, aliceName);
  const bobApi = await Api.register(B, bobName);
  const ac = await browser.newContext();
  const bc = await browser.newContext();
  alice = { api: aliceApi, name: aliceName, context: ac, page: await ac.newPage() };
  bob = { api: bobApi, name: bobName, context: bc, page: await bc.newPage() };

  // alice creates the guild through the UI.
  await signIn(alice.page, A, { username: aliceName });
  guildName = uniq('Hearth club');
  await alice.page.getByRole('button', { name: 'Add a server', exact: true }).click();
  await alice.page.getByRole('textbox', { name: 'Server name', exact: true }).fill(guildName);
  await alice.page.getByRole('button', { name: 'Create', exact: true }).click();
  const aliceGuild = alice.page.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: guildName, exact: true });
  await expect(aliceGuild).toBeVisible();
  await aliceGuild.click();
  await alice.page.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: 'general', exact: true }).click();
  await expect(messageLog(alice.page)).toBeVisible();

  // The invite, made by alice's own account over REST.
  const guilds = await aliceApi.call<any[]>('GET', '/users/@me/guilds');
  const g = guilds.find((x) => x.name === guildName);
  const channels = await aliceApi.call<any[]>('GET', `/guilds/${g.id}/channels`);
  const general = channels.find((c) => c.name === 'general');
  const code = await aliceApi.invite(general.id);

  // bob, signed in to B on B's page, joins with code@A.
  await signIn(bob.page, B, { username: bobName });
  await bob.page.getByRole('button', { name: 'Add a server', exact: true }).click();
  await bob.page.getByRole('textbox', { name: 'Invite', exact: true }).fill(`${code}@${A.host}`);
  await bob.page.getByRole('button', { name: 'Join', exact: true }).click();
  const bobGuild = bob.page.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: guildName, exact: true });
  await expect(bobGuild).toBeVisible();
  await bobGuild.click();
  await bob.page.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: 'general', exact: true }).click();
  await expect(messageLog(bob.page)).toBeVisible();
});

test.afterAll(async () => {
  await alice?.context.close().catch(() => {});
  await bob?.context.close().catch(() => {});
});

/** The run-unique tokens (like `m3-xyz`) of the messages in a page's log, in DOM order. */
async function tokens(page: Page, prefix: string): Promise<string[]> {
  const texts = await messageLog(page).getByRole('article').allInnerTexts();
  const re = new RegExp(`${prefix}\\d+-${run}`, 'g');
  return texts.flatMap((t) => t.match(re) ?? []);
}

test('both chat live and see the same messages in the same order', async () => {
  const sent: string[] = [];
  for (let i = 0; i < 8; i++) {
    const who = i % 2 === 0 ? alice : bob;
    const other = i % 2 === 0 ? bob : alice;
    const text = `chat${i}-${run}`;
    sent.push(text);
    await say(who.page, `hello ${text}`);
    await expect(messageWith(messageLog(other.page), text)).toHaveCount(1);
  }
  for (const p of [alice.page, bob.page]) {
    await expect.poll(() => tokens(p, 'chat')).toEqual(sent);
    // Each message once, and the DOM in snowflake order (numbers, not strings).
    const ids = await messageIds(messageLog(p));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(sortedAsSnowflakes(ids));
  }
});

test('bob replies to alice; both see the quoted message', async () => {
  const original = `orig-${run}`;
  const answer = `answer-${run}`;
  await say(alice.page, `question ${original}`);
  const m = await hoverMessage(messageLog(bob.page), original);
  await m.getByRole('button', { name: 'Reply', exact: true }).click();
  await say(bob.page, `reply ${answer}`);
  for (const p of [alice.page, bob.page]) {
    const reply = messageWith(messageLog(p), answer);
    await expect(reply).toHaveCount(1);
    await expect(reply).toContainText(original);
  }
});

test('alice reacts to a message of bob; both see the reaction', async () => {
  const text = `react-${run}`;
  await say(bob.page, `react to ${text}`);
  const m = await hoverMessage(messageLog(alice.page), text);
  await m.getByRole('button', { name: 'Add reaction', exact: true }).click();
  await alice.page.getByRole('dialog').getByRole('button', { name: '👍', exact: true }).first().click();
  for (const p of [alice.page, bob.page]) {
    await expect(messageWith(messageLog(p), text).getByRole('button', { name: /👍.*1/ })).toBeVisible();
  }
  // Toggling it off removes it for both.
  await messageWith(messageLog(alice.page), text).getByRole('button', { name: /👍.*1/ }).click();
  for (const p of [alice.page, bob.page]) {
    await expect(messageWith(messageLog(p), text).getByRole('button', { name: /👍/ })).toHaveCount(0);
  }
});

test('alice edits a message; both see the new text marked (edited)', async () => {
  const before = `tpyo-${run}`;
  const after = `typo-fixed-${run}`;
  await say(alice.page, before);
  await expect(messageWith(messageLog(bob.page), before)).toHaveCount(1);
  const m = await hoverMessage(messageLog(alice.page), before);
  await m.getByRole('button', { name: 'Edit', exact: true }).click();
  const edit = alice.page.getByRole('textbox', { name: 'Edit message' });
  await edit.fill(after);
  await edit.press('Enter');
  for (const p of [alice.page, bob.page]) {
    const edited = messageWith(messageLog(p), after);
    await expect(edited).toHaveCount(1);
    await expect(edited).toContainText('(edited)');
    await expect(messageWith(messageLog(p), before)).toHaveCount(0);
  }
});

test('bob deletes his message after confirming; it disappears for both', async () => {
  const text = `doomed-${run}`;
  await say(bob.page, text);
  await expect(messageWith(messageLog(alice.page), text)).toHaveCount(1);
  const m = await hoverMessage(messageLog(bob.page), text);
  await m.getByRole('button', { name: 'Delete', exact: true }).click();
  await bob.page.getByRole('dialog').getByRole('button', { name: 'Delete', exact: true }).click();
  for (const p of [alice.page, bob.page]) await expect(messageWith(messageLog(p), text)).toHaveCount(0);
});

test('alice uploads an image; both see it', async () => {
  const file = `pixel-${run}.png`;
  const chooser = alice.page.waitForEvent('filechooser');
  await alice.page.getByRole('button', { name: 'Upload a file' }).click();
  await (await chooser).setFiles({ name: file, mimeType: 'image/png', buffer: png(64, 48) });
  await composer(alice.page).fill(`look ${file}`);
  await composer(alice.page).press('Enter');
  for (const p of [alice.page, bob.page]) {
    const img = messageWith(messageLog(p), `look ${file}`).getByRole('img', { name: file });
    await expect(img).toBeVisible();
    await expect.poll(() => img.evaluate((e) => (e as HTMLImageElement).complete && (e as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
  }
});

test('alice sees bob typing and present', async () => {
  await composer(bob.page).click();
  await composer(bob.page).pressSequentially('abc');
  await expect(alice.page.getByRole('status').filter({ hasText: new RegExp(`${bob.name}.*typing`) })).toBeVisible();
  await composer(bob.page).fill('');
  const members = alice.page.getByRole('complementary', { name: 'Members' });
  await expect(members.getByRole('listitem', { name: new RegExp(`${alice.name}.*online`, 'i') })).toBeVisible();
  // A server learns a remote user's presence from its next change (spec §16),
  // so bob changes his: Do Not Disturb, then Online again; alice sees both.
  const setStatus = async (label: string) => {
    await bob.page.getByRole('button', { name: 'Set status', exact: true }).click();
    await bob.page.getByRole('group', { name: 'Status' }).getByRole('button', { name: label, exact: true }).click();
  };
  await setStatus('Do Not Disturb');
  await expect(members.getByRole('listitem', { name: new RegExp(`${bob.name}.*(dnd|do not disturb)`, 'i') })).toBeVisible();
  await setStatus('Online');
  await expect(members.getByRole('listitem', { name: new RegExp(`${bob.name}.*online`, 'i') })).toBeVisible();
});

test('alice opens a DM with bob@B; messages flow both ways', async () => {
  const { B } = servers();
  const hi = `dm-hi-${run}`;
  const back = `dm-back-${run}`;
  await alice.page.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: 'Direct Messages', exact: true }).click();
  await alice.page.getByRole('button', { name: 'New direct message' }).click();
  await alice.page.getByRole('textbox', { name: 'Recipient' }).fill(`${bob.name}@${B.host}`);
  await alice.page.getByRole('button', { name: 'Open', exact: true }).click();
  const aliceBox = alice.page.getByRole('textbox', { name: new RegExp(`^Message @${bob.name}`) });
  await aliceBox.fill(hi);
  await aliceBox.press('Enter');
  await bob.page.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: 'Direct Messages', exact: true }).click();
  const bobDMs = bob.page.getByRole('navigation', { name: 'Direct Messages' });
  await bobDMs.getByRole('link', { name: new RegExp(alice.name) }).click();
  const bobBox = bob.page.getByRole('textbox', { name: new RegExp(`^Message @${alice.name}`) });
  await expect(bob.page.getByRole('article').filter({ hasText: hi })).toHaveCount(1);
  await bobBox.fill(back);
  await bobBox.press('Enter');
  await expect(alice.page.getByRole('article').filter({ hasText: back })).toHaveCount(1);
  await expect(alice.page.getByRole('article').filter({ hasText: hi })).toHaveCount(1);
});
