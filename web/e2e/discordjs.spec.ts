// Issue 16: a slash command answered by an unmodified discord.js bot, driven
// from the web client's `/` menu: the bot registers /greet through
// discord.js, a person picks it from the menu, fills its option, runs it,
// and presses the bot's button; the bot sees both and updates its message.
import { expect, test, Api, composer, openChannel, signIn, uniq } from './helpers';
import { cleanHarness, harness, runScenario, type JsBot } from './discordjs';
import { servers } from './servers';

let bot: JsBot | null = null;
test.beforeAll(async () => {
  // The first run may have to install discord.js (npm ci in a copy of the harness).
  test.setTimeout(360_000);
  await harness();
});
test.afterAll(() => {
  bot?.stop();
  cleanHarness();
});

test('a discord.js bot registers a command, answers it from the / menu and its button', async ({ page }) => {
  const { A } = servers();
  const ownerName = uniq('djsown');
  const owner = await Api.register(A, ownerName);
  const guildName = uniq('DJS');
  const { guild } = await owner.createGuild(guildName);
  const app = await owner.call('POST', '/applications', { name: uniq('greeter').slice(0, 30) });
  const { token } = await owner.call<{ token: string }>('POST', `/applications/${app.id}/bot/reset`);
  await owner.call('POST', `/oauth2/authorize?client_id=${app.id}&scope=bot&permissions=${1 << 11}`, { guild_id: guild.id, authorize: true });

  bot = await runScenario(A, `${token}`, 'web-slash', { guild: guild.id });
  expect((await bot.next('registered')).guild).toEqual(['greet']);

  await signIn(page, A, { username: ownerName });
  await openChannel(page, guildName);
  const box = composer(page);
  const log = page.getByRole('log', { name: 'Messages in #general' });

  await box.fill('/gr');
  const cmds = page.getByRole('listbox', { name: 'Commands' });
  await expect(cmds.getByRole('option', { name: /^\/greet/ })).toBeVisible();
  await box.press('Enter'); // chooses /greet
  await expect(box).toHaveValue('/greet ');
  await expect(page.getByRole('listbox', { name: 'Options' }).getByRole('option', { name: /name \(required\)/ })).toBeVisible();
  await box.press('Tab');
  await expect(box).toHaveValue('/greet name:');
  await box.pressSequentially('Ada');
  await box.press('Enter');
  await expect(box).toHaveValue('');

  const cmd = await bot.next('command');
  expect(cmd).toMatchObject({ name: 'Ada', user: ownerName });
  const answer = log.getByRole('article').filter({ hasText: 'Hello Ada, from discord.js' });
  await expect(answer).toBeVisible();
  await expect(answer).toContainText(`${ownerName} used /greet`);

  await answer.getByRole('button', { name: 'Wave back' }).click();
  expect((await bot.next('button')).user).toBe(ownerName);
  const waved = log.getByRole('article').filter({ hasText: `${ownerName} waved back` });
  await expect(waved).toBeVisible();
  await expect(waved.getByRole('button', { name: 'Wave back' })).toHaveCount(0);
  await bot.next('done');
});
