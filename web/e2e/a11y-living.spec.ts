// Issue 16: an axe-core pass over the "living in it" screens (friends,
// notification settings, quick switcher, shortcuts, unread marks): no
// serious or critical violation.
import { audit } from './axe';
import { expect, test, Api, openChannel, signIn, uniq } from './helpers';
import { servers } from './servers';

// The page's CSP allows only its own scripts; axe is injected by the test.
test.use({ bypassCSP: true });

test('axe: friends, notification settings, quick switcher, shortcuts and unread marks have no serious violation', async ({ page }) => {
  const { A } = servers();
  const ownerName = uniq('axown');
  const owner = await Api.register(A, ownerName);
  const userName = uniq('axuser');
  const user = await Api.register(A, userName);
  const me = await user.me();
  const guildName = uniq('Axe');
  const { guild, general } = await owner.createGuild(guildName);
  const news = await owner.call('POST', `/guilds/${guild.id}/channels`, { name: 'news', type: 0 });
  await user.call('POST', `/invites/${await owner.invite(general.id)}`, {});
  await owner.call('POST', '/users/@me/relationships', { username: userName });
  const other = await Api.register(A, uniq('axfriend'));
  await other.call('POST', '/users/@me/relationships', { username: userName });
  await user.call('PUT', `/users/@me/relationships/${(await other.me()).id}`, {});

  await signIn(page, A, { username: userName });
  const friends = page.getByRole('region', { name: 'Friends' });
  await page.getByRole('link', { name: 'Friends', exact: true }).click();
  for (const tab of ['All', 'Pending', 'Blocked', 'Add Friend']) {
    await friends.getByRole('tab', { name: new RegExp(`^${tab}`) }).click();
    await expect(friends.getByRole('tab', { name: new RegExp(`^${tab}`) })).toHaveAttribute('aria-selected', 'true');
    expect(await audit(page, '[aria-label="Friends"]'), `Friends, ${tab}`).toEqual([]);
  }

  await openChannel(page, guildName);
  await owner.send(news.id, `hello <@${me.id}>`);
  await expect(page.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: 'news', exact: true })).toHaveAccessibleDescription('Unread, 1 mention');
  expect(await audit(page, 'nav[aria-label="Channels"]'), 'channel list with marks').toEqual([]);
  expect(await audit(page, 'nav[aria-label="Servers"]'), 'guild list with marks').toEqual([]);

  await page.getByRole('button', { name: 'Notification settings' }).click();
  await expect(page.getByRole('dialog', { name: 'Notification settings' })).toBeVisible();
  expect(await audit(page, 'dialog[open]'), 'notification settings').toEqual([]);
  await page.keyboard.press('Escape');

  await page.keyboard.press('Control+k');
  await expect(page.getByRole('dialog', { name: 'Quick switcher' })).toBeVisible();
  await page.getByRole('combobox', { name: 'Where would you like to go?' }).fill('n');
  expect(await audit(page, 'dialog[open]'), 'quick switcher').toEqual([]);
  await page.keyboard.press('Escape');

  await page.keyboard.press('Control+/');
  await expect(page.getByRole('dialog', { name: 'Keyboard shortcuts' })).toBeVisible();
  expect(await audit(page, 'dialog[open]'), 'shortcuts').toEqual([]);
});
