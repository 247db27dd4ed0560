// Issue 16: a thread opens beside its channel: a side panel (complementary
// "Thread <name>") with the thread's messages and composer, while the
// channel's own log and composer stay in view and live.
import { expect, test, Api, messageLog, messageWith, openChannel, say, signIn, uniq } from './helpers';
import { servers } from './servers';
import { audit } from './axe';

// axe is injected into the page; its CSP allows only the page's own scripts.
test.use({ bypassCSP: true });

test('a thread opens beside its channel, which stays in view and live; closing it leaves the channel', async ({ page }) => {
  const { A } = servers();
  const ownerName = uniq('thown');
  const owner = await Api.register(A, ownerName);
  const member = await Api.register(A, uniq('thmem'));
  const guildName = uniq('Beside');
  const { guild, general } = await owner.createGuild(guildName);
  await member.call('POST', `/invites/${await owner.invite(general.id)}`, {});
  const starter = await owner.send(general.id, 'starter of the thread');
  const threadName = uniq('side');
  const thread = await owner.call('POST', `/channels/${general.id}/messages/${starter.id}/threads`, { name: threadName });
  await member.send(thread.id, 'already in the thread');

  await signIn(page, A, { username: ownerName });
  await openChannel(page, guildName);
  const channelLog = messageLog(page);
  await expect(messageWith(channelLog, 'starter of the thread')).toBeVisible();

  // Opened from the threads panel: beside the channel, not in its place.
  await page.getByRole('button', { name: 'Threads', exact: true }).click();
  await page.getByRole('complementary', { name: 'Threads' }).getByRole('link', { name: threadName }).click();
  const panel = page.getByRole('complementary', { name: `Thread ${threadName}` });
  await expect(panel).toBeVisible();
  const threadLog = panel.getByRole('log', { name: `Messages in #${threadName}` });
  await expect(messageWith(threadLog, 'already in the thread')).toBeVisible();
  await expect(page.getByRole('region', { name: '#general' })).toBeVisible();
  await expect(messageWith(channelLog, 'starter of the thread')).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`/channels/${guild.id}/${thread.id}$`));
  expect(await audit(page, `[aria-label="Thread ${threadName}"]`), 'thread panel').toEqual([]);

  // Both stay live: a message in each, each in its own log only.
  await member.send(general.id, 'meanwhile in general');
  await member.send(thread.id, 'meanwhile in the thread');
  await expect(messageWith(channelLog, 'meanwhile in general')).toBeVisible();
  await expect(messageWith(threadLog, 'meanwhile in the thread')).toBeVisible();
  await expect(messageWith(channelLog, 'meanwhile in the thread')).toHaveCount(0);

  // The thread's composer posts in the thread; the channel's in the channel.
  await say(page, 'typed beside', threadName);
  await expect(messageWith(threadLog, 'typed beside')).toHaveCount(1);
  await expect.poll(async () => (await owner.messages(thread.id)).map((m) => m.content)).toContain('typed beside');
  await say(page, 'typed in the channel');
  await expect(messageWith(channelLog, 'typed in the channel')).toHaveCount(1);
  await expect(messageWith(threadLog, 'typed in the channel')).toHaveCount(0);

  // Closing goes back to the channel alone.
  await panel.getByRole('button', { name: `Close thread ${threadName}` }).click();
  await expect(panel).toHaveCount(0);
  await expect(page).toHaveURL(new RegExp(`/channels/${guild.id}/${general.id}$`));
  await expect(messageWith(channelLog, 'typed in the channel')).toBeVisible();

  // Opened from the channel list, the same.
  await page.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: threadName, exact: true }).click();
  await expect(panel).toBeVisible();
  await expect(messageWith(panel.getByRole('log', { name: `Messages in #${threadName}` }), 'typed beside')).toBeVisible();
  await expect(page.getByRole('region', { name: '#general' })).toBeVisible();
});
