// A guild over the large threshold (250 members) on a homeserver of its own
// without rate limits: its GUILD_CREATE carries only the reader, and the
// member list pages in everyone else over REST. The list is virtualised: a
// guild of thousands keeps a bounded number of rows in the DOM, and scrolling
// reaches the last member.
import { expect, test, Api, openChannel, signIn, uniq } from './helpers';
import { startExtraServer, stopServer } from './servers';

// Over homeserver.LargeThreshold (250), so members arrive in pages, and four times
// the rows the list may hold; kept small because each registration hashes a
// password. HEARTH_E2E_MEMBERS overrides (2000 was run by hand).
const MEMBERS = Number(process.env.HEARTH_E2E_MEMBERS ?? 600);
// Rows in view plus virtua's buffer: far below the member count.
const MAX_ROWS = 150;

test.afterAll(async () => {
  await stopServer('members');
});

test('the member list of a large guild pages in every member and renders only the rows in view', async ({ page }) => {
  test.setTimeout(1_200_000); // registering the members hashes a password each
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
      // Zero-padded: code-unit and locale order agree.
      const name = `m${String(i).padStart(5, '0')}_${run}`;
      names.push(name);
      const api = await Api.register(S, name);
      await api.call('POST', `/invites/${code}`, {});
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));

  await signIn(page, S, { username: ownerName });
  await openChannel(page, guildName);
  const members = page.getByRole('complementary', { name: 'Members' });
  const list = members.getByRole('list', { name: 'Member list' });
  // Everyone else is offline (no sessions); the heading counts them all.
  await expect(members.getByRole('heading', { name: `Offline — ${MEMBERS - 1}` })).toBeVisible({ timeout: 120_000 });
  await expect(members.getByRole('listitem', { name: `${ownerName}, online` })).toBeVisible();
  const rows = list.getByRole('listitem');
  expect(await rows.count()).toBeLessThanOrEqual(MAX_ROWS);

  // Scroll to the end (the list grows as rows are measured, so until the last member shows).
  const last = [...names].sort((a, b) => a.localeCompare(b)).at(-1)!;
  const lastItem = list.getByRole('listitem', { name: `${last}, offline` });
  await expect(async () => {
    await list.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await expect(lastItem).toBeInViewport({ timeout: 2_000 });
  }).toPass({ timeout: 60_000 });
  expect(await rows.count()).toBeLessThanOrEqual(MAX_ROWS);
  // The first members are out of the DOM now; the owner's heading with them.
  await expect(members.getByRole('listitem', { name: `${ownerName}, online` })).toHaveCount(0);
  // Every row is labelled with its place in the whole list.
  await expect(lastItem).toHaveAttribute('aria-posinset', String(MEMBERS + 2));
  await expect(lastItem).toHaveAttribute('aria-setsize', String(MEMBERS + 2));

  // And back to the top by keyboard-free scrolling: the owner is there again.
  await list.evaluate((el) => el.scrollTo({ top: 0 }));
  await expect(members.getByRole('listitem', { name: `${ownerName}, online` })).toBeInViewport();
});
