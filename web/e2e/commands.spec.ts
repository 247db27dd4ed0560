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
      res.writeHead(400).end();
    });
  });
  return new Promise((ok) => srv.listen(0, '127.0.0.1', () => ok(srv)));
}

let bot: Server | null = null;
test.afterAll(async () => {
  await new Promise((ok) => (bot ? bot.close(ok) : ok(undefined)));
});

test('a slash command with a button answered by a bot; autocomplete; an ephemeral reply', async ({ page }) => {
  const { A } = servers();
  const ownerName = uniq('cmdown');
  const owner = await Api.register(A, ownerName);
  const guildName = uniq('Cmds');
  const { guild, general } = await owner.createGuild(guildName);

  let key: KeyObject | null = null;
  bot = await startBot(() => key);
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
