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

  await alice.context.close();
  await bob.context.close();
});
