// Issue 16, "Living in it": unread and mention marks kept across a
// person's browsers, the "new" divider, and acks that clear every device.
import { expect, test, Api, openChannel, person, signIn, uniq } from './helpers';
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

  await one.context.close();
  await two.context.close();
});
