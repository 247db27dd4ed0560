// The bridged mark and remote avatars in the web client: carol, on a
// homeserver of her own that marks her bridged (as a Discord bridge marks
// its puppets), writes in alice's guild on A. alice's browser shows a
// "BRIDGE" tag beside carol's name, named "Bridged from Discord" for
// assistive technology, and carol's avatar, which A copies from carol's
// server; alice's own messages carry no tag.
import { expect, test, Api, messageLog, messageWith, openChannel, png, say, signIn, uniq } from './helpers';
import { servers, startExtraServer, stopServer } from './servers';

const label = `bridged-${Date.now().toString(36)}`;

test.afterAll(async () => {
  await stopServer(label);
});

test('a bridged user carries a BRIDGE tag and their own server’s avatar', async ({ browser }) => {
  const { A } = servers();
  const X = await startExtraServer(label);
  // The first account of a fresh homeserver administers it, and gives
  // itself the bridged badge through the admin API.
  const carolName = uniq('carol');
  const carol = await Api.register(X, carolName);
  const me = await carol.me();
  await carol.call('PUT', `/admin/users/${me.id}/badges/bridged`);
  const face = png(6, 6, [30, 160, 90]);
  await carol.call('PATCH', '/users/@me', { avatar: `data:image/png;base64,${face.toString('base64')}` });

  const aliceName = uniq('alice');
  const alice = await Api.register(A, aliceName);
  const guildName = uniq('Bridge club');
  const { general } = await alice.createGuild(guildName);
  const code = await alice.invite(general.id);
  await carol.call('POST', `/invites/${code}@${A.host}`);
  const carolText = `from the bridge ${label}`;
  const carolGuild = (await carol.call<any[]>('GET', '/users/@me/guilds')).find((g) => g.name === guildName);
  const carolGeneral = (await carol.call<any[]>('GET', `/guilds/${carolGuild.id}/channels`)).find((c) => c.name === 'general');
  await carol.send(carolGeneral.id, carolText);

  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, A, { username: aliceName });
  await openChannel(page, guildName);
  const log = messageLog(page);
  const fromCarol = messageWith(log, carolText);
  await expect(fromCarol).toHaveCount(1);
  const tag = fromCarol.getByRole('img', { name: 'Bridged from Discord', exact: true });
  await expect(tag).toBeVisible();
  await expect(tag).toHaveText('BRIDGE');
  // carol's avatar is an image A serves, copied from X.
  const avatar = fromCarol.locator('img[src*="/avatars/"]');
  await expect(avatar).toHaveCount(1);
  await expect.poll(() => avatar.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);

  const aliceText = `not bridged ${label}`;
  await say(page, aliceText);
  const fromAlice = messageWith(log, aliceText);
  await expect(fromAlice).toHaveCount(1);
  await expect(fromAlice.getByRole('img', { name: 'Bridged from Discord' })).toHaveCount(0);
  await context.close();
});
