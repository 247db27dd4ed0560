// Issue 16: slash commands and components in the web client, answered by a
// real bot: an HTTP-interactions application (Discord's outgoing-webhook
// mode) served by this test process, which checks the homeserver's ed25519
// signatures as a bot must and answers as Discord's bots do.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test, Api, composer, openChannel, signIn, uniq } from './helpers';
import { servers } from './servers';

const FRUITS = ['apple', 'apricot', 'banana', 'cherry'];

/** The bot: answers PING, /ping (with a button), /secret (ephemeral), /fruit (autocomplete), the button. */
function startBot(key: () => KeyObject | null): Promise<Server> {
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const sig = String(req.headers['x-signature-ed25519'] ?? '');
      const ts = String(req.headers['x-signature-timestamp'] ?? '');
      const k = key();
      let ok = false;
      try {
        ok = !!k && verify(null, Buffer.from(ts + body), k, Buffer.from(sig, 'hex'));
      } catch {
        ok = false;
      }
      if (!ok) {
        res.writeHead(401).end('bad signature');
        return;
      }
      const i = JSON.parse(body);
      const answer = (o: unknown) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(o));
      const who = i.member?.user?.username ?? i.user?.username ?? 'someone';
      if (i.type === 1) return answer({ type: 1 });
      if (i.type === 2 && i.data.name === 'ping') {
        return answer({
          type: 4,
          data: { content: 'Pong!', components: [{ type: 1, components: [{ type: 2, style: 1, label: 'Press me', custom_id: 'press' }] }] },
        });
      }
      if (i.type === 2 && i.data.name === 'secret') return answer({ type: 4, data: { content: 'a secret for you', flags: 64 } });
      if (i.type === 2 && i.data.name === 'fruit') return answer({ type: 4, data: { content: `You chose ${i.data.options[0].value}` } });
      if (i.type === 4) {
        const typed = String(i.data.options.find((o: any) => o.focused)?.value ?? '');
        return answer({ type: 8, data: { choices: FRUITS.filter((f) => f.startsWith(typed)).map((f) => ({ name: f, value: f })) } });
      }
      if (i.type === 3 && i.data.custom_id === 'press') return answer({ type: 7, data: { content: `Pressed by ${who}`, components: [] } });
      if (i.type === 2 && i.data.name === 'pickers') {
        const select = (type: number, custom_id: string, extra: Record<string, unknown> = {}) => ({ type: 1, components: [{ type, custom_id, ...extra }] });
        return answer({
          type: 4,
          data: {
            content: 'Pick some',
            components: [
              select(5, 'who', { placeholder: 'Pick a person' }),
              select(6, 'roles', { placeholder: 'Pick roles', min_values: 1, max_values: 2 }),
              select(7, 'any'),
              select(8, 'where', { placeholder: 'Pick a text channel', channel_types: [0] }),
            ],
          },
        });
      }
      if (i.type === 3 && i.data.component_type >= 5) {
        // What the server resolved for the chosen IDs, as a bot reads it.
        const r = i.data.resolved ?? {};
        const names = (i.data.values as string[]).map((id) => r.users?.[id]?.username ?? r.roles?.[id]?.name ?? r.channels?.[id]?.name ?? `?${id}`);
        return answer({ type: 4, data: { content: `${i.data.custom_id} (${i.data.component_type}): ${names.join(' + ')}` } });
      }
      res.writeHead(400).end();
    });
  });
  return new Promise((ok) => srv.listen(0, '127.0.0.1', () => ok(srv)));
}

let bot: Server | null = null;
const bots: Server[] = [];
test.afterAll(async () => {
  for (const b of bots) await new Promise((ok) => b.close(ok));
});

/** A guild with the bot's application added and these commands registered. */
async function withBot(tag: string, commands: Record<string, unknown>[]) {
  const { A } = servers();
  const ownerName = uniq(`${tag}o`);
  const owner = await Api.register(A, ownerName);
  const guildName = uniq(tag);
  const { guild, general } = await owner.createGuild(guildName);
  let key: KeyObject | null = null;
  const srv = await startBot(() => key);
  bots.push(srv);
  const app = await owner.call('POST', '/applications', { name: uniq('picker').slice(0, 30) });
  key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(app.verify_key, 'hex').toString('base64url') }, format: 'jwk' });
  await owner.call('PATCH', `/applications/${app.id}`, { interactions_endpoint_url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/interactions` });
  await owner.call('POST', `/oauth2/authorize?client_id=${app.id}&scope=bot&permissions=0`, { guild_id: guild.id, authorize: true });
  for (const c of commands) await owner.call('POST', `/applications/${app.id}/guilds/${guild.id}/commands`, { type: 1, ...c });
  return { A, owner, ownerName, guild, guildName, general };
}

test('a slash command with a button answered by a bot; autocomplete; an ephemeral reply', async ({ page }) => {
  const { A } = servers();
  const ownerName = uniq('cmdown');
  const owner = await Api.register(A, ownerName);
  const guildName = uniq('Cmds');
  const { guild, general } = await owner.createGuild(guildName);

  let key: KeyObject | null = null;
  bot = await startBot(() => key);
  bots.push(bot);
  const app = await owner.call('POST', '/applications', { name: uniq('pinger').slice(0, 30) });
  key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(app.verify_key, 'hex').toString('base64url') }, format: 'jwk' });
  const url = `http://127.0.0.1:${(bot.address() as AddressInfo).port}/interactions`;
  await owner.call('PATCH', `/applications/${app.id}`, { interactions_endpoint_url: url });
  await owner.call('POST', `/oauth2/authorize?client_id=${app.id}&scope=bot&permissions=0`, { guild_id: guild.id, authorize: true });
  for (const c of [
    { name: 'ping', description: 'Answers with a button' },
    { name: 'secret', description: 'Tells only you' },
    { name: 'fruit', description: 'Pick a fruit', options: [{ type: 3, name: 'name', description: 'Which fruit', required: true, autocomplete: true }] },
  ])
    await owner.call('POST', `/applications/${app.id}/guilds/${guild.id}/commands`, { type: 1, ...c });

  await signIn(page, A, { username: ownerName });
  await openChannel(page, guildName);
  const box = composer(page);
  const log = page.getByRole('log', { name: 'Messages in #general' });

  // `/` lists the commands available here.
  await box.fill('/');
  const cmds = page.getByRole('listbox', { name: 'Commands' });
  await expect(cmds.getByRole('option')).toHaveCount(3);
  for (const name of ['/ping', '/secret', '/fruit']) await expect(cmds.getByRole('option', { name: new RegExp(`^${name}`) })).toBeVisible();
  await box.fill('/pi');
  await expect(cmds.getByRole('option')).toHaveCount(1);
  await box.press('Enter'); // chooses /ping
  await expect(box).toHaveValue('/ping ');
  await box.press('Enter'); // runs it
  await expect(box).toHaveValue('');

  const answer = log.getByRole('article').filter({ hasText: 'Pong!' });
  await expect(answer).toBeVisible();
  await expect(answer).toContainText(`${ownerName} used /ping`);
  await answer.getByRole('button', { name: 'Press me' }).click();
  const pressed = log.getByRole('article').filter({ hasText: `Pressed by ${ownerName}` });
  await expect(pressed).toBeVisible();
  await expect(pressed.getByRole('button', { name: 'Press me' })).toHaveCount(0);

  // Autocomplete: the bot's choices for what is typed.
  await box.fill('/fruit ');
  const opts = page.getByRole('listbox', { name: 'Options' });
  await expect(opts.getByRole('option', { name: /name \(required\)/ })).toBeVisible();
  await box.press('Tab');
  await expect(box).toHaveValue('/fruit name:');
  await box.pressSequentially('ap');
  await expect(opts.getByRole('option')).toHaveText(['apple', 'apricot']);
  await box.press('ArrowDown');
  await box.press('Enter');
  await expect(box).toHaveValue('/fruit name:apricot ');
  await box.press('Enter');
  await expect(log.getByRole('article').filter({ hasText: 'You chose apricot' })).toBeVisible();

  // An ephemeral answer is marked, and is not in the channel's history.
  await box.fill('/secret');
  await box.press('Enter');
  await box.press('Enter');
  const secret = log.getByRole('article').filter({ hasText: 'a secret for you' });
  await expect(secret).toContainText('Only you can see this');
  const history = await owner.messages(general.id);
  expect(history.some((m: any) => m.content === 'a secret for you')).toBe(false);
});

test('user, role, mentionable and channel selects from a bot: rendered from the guild, sent with the interaction, resolved for the bot', async ({ page }) => {
  const s = await withBot('Pick', [{ name: 'pickers', description: 'Answers with selects' }]);
  const friendName = uniq('pickf');
  const friend = await Api.register(s.A, friendName);
  await friend.call('POST', `/invites/${await s.owner.invite(s.general.id)}`, {});
  await s.owner.call('POST', `/guilds/${s.guild.id}/roles`, { name: 'Bakers' });
  await s.owner.call('POST', `/guilds/${s.guild.id}/roles`, { name: 'Cooks' });
  await s.owner.call('POST', `/guilds/${s.guild.id}/channels`, { name: 'kitchen', type: 0 });
  await s.owner.call('POST', `/guilds/${s.guild.id}/channels`, { name: 'Loud', type: 2 });

  await signIn(page, s.A, { username: s.ownerName });
  await openChannel(page, s.guildName);
  const box = composer(page);
  const log = page.getByRole('log', { name: 'Messages in #general' });
  await box.fill('/pickers');
  await expect(page.getByRole('listbox', { name: 'Commands' }).getByRole('option', { name: /^\/pickers/ })).toBeVisible();
  await box.press('Enter'); // chooses /pickers
  await expect(box).toHaveValue('/pickers ');
  await box.press('Enter'); // runs it
  await expect(box).toHaveValue('');
  const msg = log.getByRole('article').filter({ hasText: 'Pick some' });
  await expect(msg).toBeVisible();

  // A user select lists the guild's members.
  const who = msg.getByRole('combobox', { name: 'Pick a person' });
  await expect(who.getByRole('option', { name: friendName })).toHaveCount(1);
  await who.selectOption({ label: friendName });
  await expect(log.getByRole('article').filter({ hasText: `who (5): ${friendName}` })).toBeVisible();

  // A role select (two at most) lists the roles, not @everyone.
  const roles = msg.getByRole('listbox', { name: 'Pick roles' });
  await expect(roles.getByRole('option')).toHaveCount(2);
  expect((await roles.getByRole('option').allTextContents()).sort()).toEqual(['@Bakers', '@Cooks']);
  await roles.selectOption([{ label: '@Bakers' }, { label: '@Cooks' }]);
  await expect(log.getByRole('article').filter({ hasText: /roles \(6\): (Bakers \+ Cooks|Cooks \+ Bakers)/ })).toBeVisible();

  // A mentionable select offers members and roles.
  const any = msg.getByRole('combobox', { name: 'Choose a user or role' });
  await expect(any.getByRole('option', { name: '@Bakers' })).toHaveCount(1);
  await expect(any.getByRole('option', { name: s.ownerName })).toHaveCount(1);
  await any.selectOption({ label: '@Bakers' });
  await expect(log.getByRole('article').filter({ hasText: 'any (7): Bakers' })).toBeVisible();

  // A channel select keeps to the types it names.
  const where = msg.getByRole('combobox', { name: 'Pick a text channel' });
  await expect(where.getByRole('option', { name: '#kitchen' })).toHaveCount(1);
  await expect(where.getByRole('option', { name: '#Loud' })).toHaveCount(0);
  await where.selectOption({ label: '#kitchen' });
  await expect(log.getByRole('article').filter({ hasText: 'where (8): kitchen' })).toBeVisible();
});
