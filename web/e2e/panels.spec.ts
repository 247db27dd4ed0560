// Issue 16: search with filters and a jump into history, the threads panel
// (archive), and a user's profile popout.
import { expect, test, Api, openChannel, signIn, uniq } from './helpers';
import { servers } from './servers';
import { audit } from './axe';

// axe is injected into the page; its CSP allows only the page's own scripts.
test.use({ bypassCSP: true });

test('search results with from: and in:, jump to a message; threads panel; profile popout; pins panel', async ({ page }) => {
  const { A } = servers();
  const ownerName = uniq('pown');
  const owner = await Api.register(A, ownerName);
  const memberName = uniq('pmem');
  const member = await Api.register(A, memberName);
  await member.call('PATCH', '/users/@me', { bio: 'I like pie', pronouns: 'they/them' });
  const guildName = uniq('Panels');
  const { guild, general } = await owner.createGuild(guildName);
  const news = await owner.call('POST', `/guilds/${guild.id}/channels`, { name: 'news', type: 0 });
  await member.call('POST', `/invites/${await owner.invite(general.id)}`, {});
  const pie = await owner.send(general.id, 'apple pie recipe');
  await owner.send(general.id, 'banana bread');
  await member.send(news.id, 'apple crumble');
  await member.send(general.id, 'hello from the member');
  await owner.call('POST', `/channels/${general.id}/messages/${pie.id}/threads`, { name: 'pie talk' });

  await signIn(page, A, { username: ownerName });
  await openChannel(page, guildName);
  const search = page.getByRole('searchbox', { name: 'Search' });

  await search.fill(`from:${ownerName} apple`);
  await search.press('Enter');
  const results = page.getByRole('complementary', { name: 'Search results' });
  await expect(results.getByRole('status')).toHaveText('1 result');
  await expect(results.getByRole('article')).toHaveCount(1);
  await expect(results.getByRole('article')).toContainText('apple pie recipe');
  expect(await audit(page, '[aria-label="Search results"]'), 'search results').toEqual([]);

  await search.fill('in:news apple');
  await search.press('Enter');
  await expect(results.getByRole('article')).toHaveCount(1);
  const hit = results.getByRole('article').filter({ hasText: 'apple crumble' });
  await expect(hit).toBeVisible();
  await hit.getByRole('button', { name: 'Jump' }).click();
  await expect(page.getByRole('log', { name: 'Messages in #news' }).getByRole('article').filter({ hasText: 'apple crumble' })).toBeVisible();

  await search.fill('has:video');
  await search.press('Enter');
  await expect(results).toContainText('has: takes file or link');

  // Threads: the active one, archived from the panel.
  await page.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: 'general', exact: true }).click();
  await page.getByRole('button', { name: 'Threads', exact: true }).click();
  const threads = page.getByRole('complementary', { name: 'Threads' });
  const active = threads.getByRole('list', { name: 'Active threads' });
  await expect(active.getByRole('link', { name: 'pie talk' })).toBeVisible();
  await active.getByRole('listitem').filter({ hasText: 'pie talk' }).getByRole('button', { name: 'Archive' }).click();
  await expect(threads.getByRole('list', { name: 'Archived threads' }).getByRole('link', { name: 'pie talk' })).toBeVisible();
  await expect(active.getByRole('link', { name: 'pie talk' })).toHaveCount(0);
  expect(await audit(page, '[aria-label="Threads"]'), 'threads panel').toEqual([]);
  await threads.getByRole('button', { name: 'Close threads' }).click();

  // The member's profile from their message.
  const log = page.getByRole('log', { name: 'Messages in #general' });
  await log.getByRole('article').filter({ hasText: 'hello from the member' }).getByRole('button', { name: memberName }).click();
  const profile = page.getByRole('dialog', { name: memberName });
  await expect(profile).toContainText('I like pie');
  await expect(profile).toContainText('they/them');
  await expect(profile.getByRole('list', { name: 'Mutual servers' })).toContainText(guildName);
  expect(await audit(page, 'dialog[open]'), 'profile popout').toEqual([]);
  await profile.getByRole('button', { name: 'Add Friend' }).click();
  await expect(profile).toContainText('Friend request sent');
  await expect.poll(async () => (await member.call<any[]>('GET', '/users/@me/relationships')).map((r) => r.type)).toEqual([3]);
  await profile.getByRole('button', { name: 'Close' }).click();

  // The pins panel: jump to a pinned message, unpin it.
  await owner.call('PUT', `/channels/${general.id}/pins/${pie.id}`);
  await page.getByRole('button', { name: 'Pinned messages', exact: true }).click();
  const pins = page.getByRole('dialog', { name: 'Pinned messages' });
  const pinned = pins.getByRole('article', { name: `Pinned message from ${ownerName}` });
  await expect(pinned).toContainText('apple pie recipe');
  expect(await audit(page, 'dialog[open]'), 'pins').toEqual([]);
  await pinned.getByRole('button', { name: 'Jump' }).click();
  await expect(pins).toHaveCount(0);
  await expect(log.getByRole('article').filter({ hasText: 'apple pie recipe' })).toBeInViewport();
  await page.getByRole('button', { name: 'Pinned messages', exact: true }).click();
  await pinned.getByRole('button', { name: 'Unpin' }).click();
  await expect(pinned).toHaveCount(0);
  await expect.poll(async () => (await owner.call<any[]>('GET', `/channels/${general.id}/pins`)).length).toBe(0);
});

test('user settings: profile, devices, appearance, notifications and privacy tabs', async ({ page }) => {
  const { A } = servers();
  const name = uniq('setter');
  const api = await Api.register(A, name);
  await signIn(page, A, { username: name });
  await page.getByRole('button', { name: 'User settings' }).click();
  const dialog = page.getByRole('dialog', { name: 'User settings' });
  await expect(dialog.getByRole('tab', { name: 'My Account' })).toHaveAttribute('aria-selected', 'true');
  expect(await audit(page, 'dialog[open]'), 'my account').toEqual([]);

  await dialog.getByRole('tab', { name: 'Profile' }).click();
  await dialog.getByRole('textbox', { name: 'Pronouns' }).fill('she/her');
  await dialog.getByRole('textbox', { name: 'About me' }).fill('Bakes bread');
  await dialog.getByRole('button', { name: 'Save profile' }).click();
  await expect(dialog.getByRole('status')).toHaveText('Profile saved.');
  const prof = await api.call('GET', '/users/@me/profile');
  expect(prof.user_profile).toMatchObject({ bio: 'Bakes bread', pronouns: 'she/her' });
  expect(await audit(page, 'dialog[open]'), 'profile').toEqual([]);

  await dialog.getByRole('tab', { name: 'Devices' }).click();
  // The browser's session and the one the test registered with.
  const devices = dialog.getByRole('list', { name: 'Devices' });
  await expect(devices.getByRole('listitem')).toHaveCount(2);
  await expect(devices.getByRole('listitem').filter({ hasText: 'This device' })).toHaveCount(1);
  await devices.getByRole('listitem').filter({ hasNotText: 'This device' }).getByRole('button', { name: 'Sign out' }).click();
  await expect(devices.getByRole('listitem')).toHaveCount(1);
  await expect(api.me()).rejects.toThrow(/401/);
  expect(await audit(page, 'dialog[open]'), 'devices').toEqual([]);

  await dialog.getByRole('tab', { name: 'Appearance' }).click();
  await dialog.getByRole('radio', { name: 'Dark' }).check();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await dialog.getByRole('slider', { name: /Font size/ }).fill('18');
  await expect(page.locator('html')).toHaveCSS('font-size', '18px');
  expect(await audit(page, 'dialog[open]'), 'appearance').toEqual([]);

  await dialog.getByRole('tab', { name: 'Notifications' }).click();
  await expect(dialog.getByRole('checkbox', { name: 'Show desktop notifications' })).toBeChecked();
  expect(await audit(page, 'dialog[open]'), 'notifications').toEqual([]);

  await dialog.getByRole('tab', { name: 'Privacy' }).click();
  await dialog.getByRole('checkbox', { name: 'Only friends may send me direct messages' }).check();
  await expect(dialog.getByRole('status')).toHaveText('Saved.');
  await expect(dialog.getByRole('checkbox', { name: 'Only friends may send me direct messages' })).toBeChecked();
  expect(await audit(page, 'dialog[open]'), 'privacy').toEqual([]);

  // A new password: this browser stays signed in, the new password logs in.
  await dialog.getByRole('tab', { name: 'My Account' }).click();
  await dialog.getByLabel('Current password').fill('correct horse battery staple');
  await dialog.getByLabel('New password').fill('a brand new passphrase');
  await dialog.getByRole('button', { name: 'Change password' }).click();
  await expect(dialog.getByRole('status')).toHaveText('Password changed; your other devices were signed out.');
  const relog = await new Api(A).call<{ token: string }>('POST', '/auth/login', { login: name, password: 'a brand new passphrase' });
  expect(relog.token).toBeTruthy();

  // Appearance stays after a reload.
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(page.locator('html')).toHaveCSS('font-size', '18px');
});
