// Issue 16, "Living in it": unread and mention marks kept across a
// person's browsers, the "new" divider, and acks that clear every device.
import { addAccount, expect, test, Api, openChannel, PASSWORD, person, say, signIn, uniq } from './helpers';
import { servers } from './servers';

test('unread and mention badges appear and clear on both of a user’s browsers', async ({ browser }) => {
  const { A } = servers();
  const ownerName = uniq('own');
  const owner = await Api.register(A, ownerName);
  const userName = uniq('reader');
  const reader = await Api.register(A, userName);
  const me = await reader.me();
  const guildName = uniq('Unread');
  const { guild, general } = await owner.createGuild(guildName);
  const news = await owner.call('POST', `/guilds/${guild.id}/channels`, { name: 'news', type: 0 });
  await reader.call('POST', `/invites/${await owner.invite(general.id)}`, {});

  const one = await person(browser);
  const two = await person(browser);
  for (const p of [one.page, two.page]) {
    await signIn(p, A, { username: userName });
    await openChannel(p, guildName);
  }

  await owner.send(news.id, 'before the mention');
  await owner.send(news.id, `look here <@${me.id}>`);

  for (const p of [one.page, two.page]) {
    const link = p.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: 'news', exact: true });
    await expect(link).toHaveAccessibleDescription('Unread, 1 mention');
    await expect(p.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: guildName, exact: true })).toHaveAccessibleDescription(/1 mention/);
    await expect(p).toHaveTitle('(1) Hearth');
    // The channel being read is neither bold nor counted.
    await expect(p.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: 'general', exact: true })).toHaveAccessibleDescription('');
  }

  // Reading it on the first browser clears both, through the server's MESSAGE_ACK.
  await one.page.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: 'news', exact: true }).click();
  const log = one.page.getByRole('log', { name: 'Messages in #news' });
  await expect(log.getByRole('separator', { name: 'New messages' })).toBeVisible();
  for (const p of [one.page, two.page]) {
    await expect(p.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: 'news', exact: true })).toHaveAccessibleDescription('');
    await expect(p.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: guildName, exact: true })).toHaveAccessibleDescription('');
    await expect(p).toHaveTitle('Hearth');
  }

  // A message while the channel is on screen is read at once: the other browser stays clear.
  await owner.send(news.id, `again <@${me.id}>`);
  await expect(log.getByRole('article').filter({ hasText: 'again' })).toBeVisible();
  // After a reload (a fresh READY) the second browser shows it read: the ack was the server's.
  await two.page.reload();
  await expect(two.page.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: 'news', exact: true })).toHaveAccessibleDescription('');
  await expect(two.page).toHaveTitle('Hearth');

  // One's own message is read everywhere, after a reload too (the sending browser acks it).
  await say(one.page, 'my own words', 'news');
  await expect(log.getByRole('article').filter({ hasText: 'my own words' })).toHaveAttribute('data-message-id', /^\d+$/);
  await two.page.reload();
  await expect(two.page.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: 'news', exact: true })).toHaveAccessibleDescription('');

  await one.context.close();
  await two.context.close();
});

test('friends across two homeservers: request, accept, message, block, unblock, refuse', async ({ browser }) => {
  const { A, B } = servers();
  const aliceName = uniq('alice');
  const bobName = uniq('bob');
  const carolName = uniq('carol');
  await Api.register(A, aliceName);
  await Api.register(B, bobName);
  const carol = await Api.register(A, carolName);

  const alice = await person(browser);
  const bob = await person(browser);
  await signIn(alice.page, A, { username: aliceName });
  await signIn(bob.page, B, { username: bobName });

  const friendsOf = (p: typeof alice.page) => p.getByRole('region', { name: 'Friends' });
  for (const p of [alice.page, bob.page]) {
    await p.getByRole('link', { name: 'Friends', exact: true }).click();
    await expect(friendsOf(p)).toBeVisible();
  }

  // Alice asks Bob, of the other homeserver, by name@server.
  const af = friendsOf(alice.page);
  await af.getByRole('tab', { name: 'Add Friend' }).click();
  await af.getByRole('textbox', { name: 'Add friend by name' }).fill(`${bobName}@${B.host}`);
  await af.getByRole('button', { name: 'Send Friend Request' }).click();
  await expect(af.getByRole('status')).toHaveText(`Friend request sent to ${bobName}@${B.host}.`);
  await af.getByRole('tab', { name: 'Pending' }).click();
  await expect(af.getByRole('listitem', { name: new RegExp(bobName) })).toContainText('Outgoing friend request');

  // Bob sees it live and accepts.
  const bf = friendsOf(bob.page);
  await bf.getByRole('tab', { name: /Pending/ }).click();
  const req = bf.getByRole('listitem', { name: new RegExp(aliceName) });
  await expect(req).toContainText('Incoming friend request');
  await req.getByRole('button', { name: 'Accept' }).click();
  await bf.getByRole('tab', { name: 'All' }).click();
  await expect(bf.getByRole('listitem', { name: new RegExp(aliceName) })).toBeVisible();
  await af.getByRole('tab', { name: 'All' }).click();
  const bobRow = af.getByRole('listitem', { name: new RegExp(bobName) });
  await expect(bobRow).toBeVisible();

  // A DM from the friends page.
  await af.getByRole('listitem', { name: new RegExp(bobName) }).getByRole('button', { name: 'Message' }).click();
  await expect(alice.page.getByRole('region', { name: new RegExp(`^@${bobName}`) })).toBeVisible();

  // Block: Bob disappears from Alice's friends into Blocked, and Alice from Bob's list.
  await alice.page.getByRole('link', { name: 'Friends', exact: true }).click();
  await af.getByRole('tab', { name: 'All' }).click();
  await af.getByRole('listitem', { name: new RegExp(bobName) }).getByRole('button', { name: 'Block' }).click();
  await expect(af.getByRole('listitem', { name: new RegExp(bobName) })).toHaveCount(0);
  await expect(bf.getByRole('listitem', { name: new RegExp(aliceName) })).toHaveCount(0);
  await af.getByRole('tab', { name: 'Blocked' }).click();
  await af.getByRole('listitem', { name: new RegExp(bobName) }).getByRole('button', { name: 'Unblock' }).click();
  await expect(af.getByRole('listitem', { name: new RegExp(bobName) })).toHaveCount(0);

  // Refusing a request of someone of one's own homeserver tells them too.
  await carol.call('POST', '/users/@me/relationships', { username: aliceName });
  await af.getByRole('tab', { name: /Pending/ }).click();
  const carolRow = af.getByRole('listitem', { name: new RegExp(carolName) });
  await carolRow.getByRole('button', { name: 'Ignore' }).click();
  await expect(carolRow).toHaveCount(0);
  await expect.poll(async () => (await carol.call<any[]>('GET', '/users/@me/relationships')).length).toBe(0);

  // A friend of the same homeserver who shares no guild shows under Online while signed in.
  const daveName = uniq('dave');
  const dave = await Api.register(A, daveName);
  const aliceApi = new Api(A, (await new Api(A).call<{ token: string }>('POST', '/auth/login', { login: aliceName, password: PASSWORD })).token);
  await aliceApi.call('POST', '/users/@me/relationships', { username: daveName });
  await dave.call('PUT', `/users/@me/relationships/${(await aliceApi.me()).id}`, {});
  await af.getByRole('tab', { name: 'Online' }).click();
  await expect(af.getByRole('listitem', { name: new RegExp(daveName) })).toHaveCount(0);
  const davePage = await person(browser);
  await signIn(davePage.page, A, { username: daveName });
  await expect(af.getByRole('listitem', { name: new RegExp(daveName) })).toContainText('Online');
  await davePage.context.close();
  await expect(af.getByRole('listitem', { name: new RegExp(daveName) })).toHaveCount(0);

  // So does a friend of the other homeserver who shares no guild: their server tells alice's.
  const erinName = uniq('erin');
  const erin = await Api.register(B, erinName);
  await aliceApi.call('POST', '/users/@me/relationships', { username: `${erinName}@${B.host}` });
  // The request was told to erin's server before alice's answered.
  const incoming = (await erin.call<{ id: string; type: number }[]>('GET', '/users/@me/relationships')).find((r) => r.type === 3)!;
  await erin.call('PUT', `/users/@me/relationships/${incoming.id}`, {});
  await expect(af.getByRole('listitem', { name: new RegExp(erinName) })).toHaveCount(0);
  const erinPage = await person(browser);
  await signIn(erinPage.page, B, { username: erinName });
  await expect(af.getByRole('listitem', { name: new RegExp(erinName) })).toContainText('Online');
  await erinPage.context.close();
  await expect(af.getByRole('listitem', { name: new RegExp(erinName) })).toHaveCount(0);

  await alice.context.close();
  await bob.context.close();
});

/** Replaces the Notification API of a page with one that records what it is asked to show. */
async function stubNotifications(page: import('@playwright/test').Page) {
  await page.addInitScript(() => {
    const shown: { title: string; body: string }[] = [];
    (window as any).__notes = shown;
    class Recorder {
      static permission = 'granted';
      static requestPermission = async () => 'granted';
      onclick: (() => void) | null = null;
      constructor(title: string, opts?: { body?: string }) {
        shown.push({ title, body: opts?.body ?? '' });
      }
      close() {}
    }
    (window as any).Notification = Recorder;
  });
}

const notes = (page: import('@playwright/test').Page) => page.evaluate(() => ((window as any).__notes as { title: string; body: string }[]).map((n) => n.body));

test('desktop notifications: fired for a mention, not for the channel in view, not for a muted channel', async ({ browser }) => {
  const { A } = servers();
  const ownerName = uniq('nown');
  const owner = await Api.register(A, ownerName);
  const userName = uniq('notified');
  const reader = await Api.register(A, userName);
  const me = await reader.me();
  const guildName = uniq('Notify');
  const { guild, general } = await owner.createGuild(guildName);
  const news = await owner.call('POST', `/guilds/${guild.id}/channels`, { name: 'news', type: 0 });
  await reader.call('POST', `/invites/${await owner.invite(general.id)}`, {});
  const dm = await owner.call('POST', '/users/@me/channels', { recipient_id: me.id });

  const { context, page } = await person(browser);
  await stubNotifications(page);
  await signIn(page, A, { username: userName });
  await openChannel(page, guildName);

  // The channel in view and focused: read, not notified.
  await owner.send(general.id, `in view <@${me.id}>`);
  await expect(page.getByRole('log', { name: 'Messages in #general' }).getByRole('article').filter({ hasText: 'in view' })).toBeVisible();
  // A mention elsewhere: notified.
  await owner.send(news.id, `ping one <@${me.id}>`);
  await expect.poll(() => notes(page)).toEqual([`ping one <@${me.id}>`]);

  // Mute #news in its notification settings.
  const channels = page.getByRole('navigation', { name: 'Channels' });
  await channels.getByRole('link', { name: 'news', exact: true }).click();
  await page.getByRole('button', { name: 'Notification settings' }).click();
  const dialog = page.getByRole('dialog', { name: 'Notification settings' });
  await dialog.getByRole('checkbox', { name: 'Mute #news' }).check();
  await expect(dialog.getByRole('checkbox', { name: 'Mute #news' })).toBeChecked();
  await dialog.getByRole('button', { name: 'Done' }).click();
  await channels.getByRole('link', { name: 'general', exact: true }).click();
  await expect(channels.getByRole('link', { name: 'news', exact: true })).toHaveAccessibleDescription('Muted');

  // A mention in the muted channel, then a DM: only the DM notifies.
  await owner.send(news.id, `muted ping <@${me.id}>`);
  await owner.send(dm.id, 'a direct message');
  await expect.poll(() => notes(page)).toEqual([`ping one <@${me.id}>`, 'a direct message']);

  // Ctrl+Shift+M in the channel unmutes it again.
  await channels.getByRole('link', { name: 'news', exact: true }).click();
  await expect(page.getByRole('log', { name: 'Messages in #news' })).toBeVisible();
  await page.keyboard.press('Control+Shift+M');
  await expect(page.getByRole('alert')).toHaveText('#news is no longer muted.');
  await expect.poll(async () => (await reader.call<any>('GET', `/users/@me/guilds/${guild.id}/settings`)).channel_overrides.find((o: any) => o.channel_id === news.id)?.muted).toBe(false);
  await context.close();
});

test('Ctrl+K goes to a channel; Alt+Up/Down between channels, Alt+Shift+Down to an unread one; Shift+Esc reads the server; Ctrl+/ lists the shortcuts', async ({ page }) => {
  const { A } = servers();
  const userName = uniq('switch');
  const user = await Api.register(A, userName);
  const guildName = uniq('Switch');
  const { guild } = await user.createGuild(guildName);
  await user.call('POST', `/guilds/${guild.id}/channels`, { name: 'zebra-crossing', type: 0 });
  await user.createGuild(uniq('Other'));
  await signIn(page, A, { username: userName });

  await page.keyboard.press('Control+k');
  const dialog = page.getByRole('dialog', { name: 'Quick switcher' });
  const box = dialog.getByRole('combobox', { name: 'Where would you like to go?' });
  await expect(box).toBeFocused();
  await box.fill('zebra');
  await expect(dialog.getByRole('option', { selected: true })).toContainText('zebra-crossing');
  await box.press('Enter');
  await expect(dialog).toHaveCount(0);
  await expect(page.getByRole('log', { name: 'Messages in #zebra-crossing' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: guildName, exact: true })).toHaveAttribute('aria-current', 'page');

  // Alt+Up from the last channel goes to general, Alt+Down wraps back.
  await page.keyboard.press('Alt+ArrowUp');
  await expect(page.getByRole('log', { name: 'Messages in #general' })).toBeVisible();
  await page.keyboard.press('Alt+ArrowDown');
  await expect(page.getByRole('log', { name: 'Messages in #zebra-crossing' })).toBeVisible();

  // Alt+Shift+Down goes to the next unread channel; Shift+Esc marks the whole server read.
  const other = await Api.register(A, uniq('poster'));
  const chans = await user.call<any[]>('GET', `/guilds/${guild.id}/channels`);
  const general = chans.find((c) => c.name === 'general');
  await other.call('POST', `/invites/${await user.invite(general.id)}`, {});
  const yak = await user.call('POST', `/guilds/${guild.id}/channels`, { name: 'yak', type: 0 });
  await user.call('POST', `/guilds/${guild.id}/channels`, { name: 'quiet', type: 0 });
  const nav = page.getByRole('navigation', { name: 'Channels' });
  await expect(nav.getByRole('link', { name: 'quiet', exact: true })).toBeVisible();
  await other.send(yak.id, 'unread over here');
  await other.send(general.id, 'and here');
  await expect(nav.getByRole('link', { name: 'yak', exact: true })).toHaveAccessibleDescription('Unread');
  await expect(nav.getByRole('link', { name: 'general', exact: true })).toHaveAccessibleDescription('Unread');
  await page.keyboard.press('Alt+Shift+ArrowDown');
  await expect(page.getByRole('log', { name: 'Messages in #yak' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'yak', exact: true })).toHaveAccessibleDescription('');
  await page.keyboard.press('Shift+Escape');
  await expect(nav.getByRole('link', { name: 'general', exact: true })).toHaveAccessibleDescription('');
  await page.reload();
  await expect(nav.getByRole('link', { name: 'general', exact: true })).toHaveAccessibleDescription('');
  await expect(nav.getByRole('link', { name: 'quiet', exact: true })).toHaveAccessibleDescription('');

  await page.keyboard.press('Control+/');
  const keys = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await expect(keys.getByRole('cell', { name: 'Open the quick switcher' })).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(keys).toHaveCount(0);
});

test('the quick switcher reaches channels of every signed-in account, switching account', async ({ page }) => {
  const { A, B } = servers();
  const aliceName = uniq('qsa');
  const bobName = uniq('qsb');
  const alice = await Api.register(A, aliceName);
  const bob = await Api.register(B, bobName);
  const aliceGuild = uniq('QA');
  const bobGuild = uniq('QB');
  await alice.createGuild(aliceGuild);
  const { guild } = await bob.createGuild(bobGuild);
  await bob.call('POST', `/guilds/${guild.id}/channels`, { name: 'walrus-den', type: 0 });
  const guildLink = (name: string) => page.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name, exact: true });

  await signIn(page, A, { username: aliceName });
  await addAccount(page, B, bobName);
  await expect(guildLink(bobGuild)).toBeVisible();
  await page.getByRole('button', { name: 'Accounts' }).click();
  await page.getByRole('menuitem', { name: `${aliceName}@${A.host}`, exact: true }).click();
  await expect(guildLink(aliceGuild)).toBeVisible();

  await page.keyboard.press('Control+k');
  const box = page.getByRole('dialog', { name: 'Quick switcher' }).getByRole('combobox', { name: 'Where would you like to go?' });
  await box.fill('walrus');
  await expect(page.getByRole('dialog', { name: 'Quick switcher' }).getByRole('option', { selected: true })).toContainText(`${bobName}@${B.host}`);
  await box.press('Enter');
  await expect(page.getByRole('log', { name: 'Messages in #walrus-den' })).toBeVisible();
  await expect(guildLink(bobGuild)).toHaveAttribute('aria-current', 'page');
});
