// A guild over the large threshold (250 members) on a homeserver of its own
// without rate limits: its GUILD_CREATE carries only the reader, and the
// member list pages in everyone else over REST.
import { expect, test, Api, openChannel, signIn, uniq } from './helpers';
import { startExtraServer, stopServer } from './servers';

const MEMBERS = 262; // over homeserver.LargeThreshold (250)

test.afterAll(async () => {
  await stopServer('members');
});

test('the member list of a large guild pages in members beyond GUILD_CREATE', async ({ page }) => {
  test.setTimeout(300_000); // registering the members hashes a password each
  const S = await startExtraServer('members', { rateLimit: false });
  const ownerName = uniq('mowner');
  const owner = await Api.register(S, ownerName);
  const guildName = uniq('Large');
  const { general } = await owner.createGuild(guildName);
  const code = await owner.invite(general.id);
  const run = Date.now().toString(36);
  const names: string[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < MEMBERS - 1; i = next++) {
      const name = `m${i}_${run}`;
      names.push(name);
      const api = await Api.register(S, name);
      await api.call('POST', `/invites/${code}`, {});
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));

  await signIn(page, S, { username: ownerName });
  await openChannel(page, guildName);
  const members = page.getByRole('complementary', { name: 'Members' });
  // Everyone is offline (no sessions); the heading counts them all.
  await expect(members.getByRole('heading', { name: `Offline — ${MEMBERS - 1}` })).toBeVisible({ timeout: 60_000 });
  const last = [...names].sort().at(-1)!;
  await expect(members.getByRole('listitem', { name: `${last}, offline` })).toHaveCount(1);
  await expect(members.getByRole('listitem', { name: `${ownerName}, online` })).toHaveCount(1);
  await expect(members.getByRole('listitem')).toHaveCount(MEMBERS);
});
