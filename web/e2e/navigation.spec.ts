// Where a person is survives a reload, and one browser holds accounts on two
// homeservers at once.
import { addAccount, expect, test, Api, messageLog, messageWith, openChannel, signIn, uniq } from './helpers';
import { servers } from './servers';

test('a deep link reloads to the same channel', async ({ page }) => {
  const { A } = servers();
  const name = uniq('alice');
  const api = await Api.register(A, name);
  const guildName = uniq('Deep');
  const { guild } = await api.createGuild(guildName);
  const random = await api.call('POST', `/guilds/${guild.id}/channels`, { name: 'random', type: 0 });
  const marker = `in-random-${Date.now().toString(36)}`;
  await api.send(random.id, marker);

  await signIn(page, A, { username: name });
  await openChannel(page, guildName, 'random');
  await expect(page).toHaveURL(new RegExp(`/channels/${guild.id}/${random.id}$`));
  await page.reload();
  await expect(messageWith(messageLog(page, 'random'), marker)).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`/channels/${guild.id}/${random.id}$`));

  // A link typed into a fresh tab of the same browser lands there too.
  const second = await page.context().newPage();
  await second.goto(`${A.url}/channels/${guild.id}/${random.id}`);
  await expect(messageWith(messageLog(second, 'random'), marker)).toBeVisible();
  await second.close();
});

test('one browser signed in to A and B switches between the accounts', async ({ page }) => {
  const { A, B } = servers();
  const aliceName = uniq('alice');
  const bobName = uniq('bob');
  const alice = await Api.register(A, aliceName);
  const bob = await Api.register(B, bobName);
  const aliceGuild = uniq('On A');
  const bobGuild = uniq('On B');
  await alice.createGuild(aliceGuild);
  await bob.createGuild(bobGuild);
  // Each account is an item of the Accounts menu named name@server.
  const accountItem = (name: string) =>
    page.getByRole('menuitem', { name, exact: true }).or(page.getByRole('menuitemradio', { name, exact: true }));
  const guildLink = (name: string) => page.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name, exact: true });

  await signIn(page, A, { username: aliceName });
  await expect(guildLink(aliceGuild)).toBeVisible();

  await addAccount(page, B, bobName);
  await expect(guildLink(bobGuild)).toBeVisible();
  await expect(guildLink(aliceGuild)).toHaveCount(0);

  await page.getByRole('button', { name: 'Accounts' }).click();
  await accountItem(`${aliceName}@${A.host}`).click();
  await expect(guildLink(aliceGuild)).toBeVisible();
  await expect(guildLink(bobGuild)).toHaveCount(0);

  // Both stay signed in across a reload; switching back needs no password.
  await page.reload();
  await expect(guildLink(aliceGuild)).toBeVisible();
  await page.getByRole('button', { name: 'Accounts' }).click();
  await accountItem(`${bobName}@${B.host}`).click();
  await expect(guildLink(bobGuild)).toBeVisible();
  await openChannel(page, bobGuild);
});
