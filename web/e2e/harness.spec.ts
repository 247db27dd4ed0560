// The harness itself: A and B are real, separate homeservers that serve the
// client, know their own names, and federate with each other.
import { expect, test, Api, uniq } from './helpers';
import { restartServer, servers } from './servers';

test('A and B answer discovery and serve the client', async ({ request }) => {
  const { A, B } = servers();
  expect(A.port).not.toBe(B.port);
  for (const s of [A, B]) {
    const wk = await request.get(`${s.url}/.well-known/hearth`);
    expect(wk.ok()).toBeTruthy();
    const page = await request.get(`${s.url}/`);
    expect(page.ok()).toBeTruthy();
    expect(await page.text()).toContain('<div id="app">');
  }
});

test('a user of B joins a guild of A with code@A (REST)', async () => {
  const { A, B } = servers();
  const alice = await Api.register(A, uniq('alice'));
  const bob = await Api.register(B, uniq('bob'));
  const { guild, general } = await alice.createGuild(uniq('g'));
  const code = await alice.invite(general.id);
  const joined = await bob.call('POST', `/invites/${code}@${A.host}`, {});
  expect(joined).toBeTruthy();
  await expect
    .poll(async () => (await bob.call<any[]>('GET', '/users/@me/guilds')).some((g) => g.name === guild.name))
    .toBe(true);
});

test('restarting A (SIGTERM, then SIGKILL) keeps its port and data', async () => {
  const { A } = servers();
  const alice = await Api.register(A, uniq('alice'));
  const { guild } = await alice.createGuild(uniq('kept'));
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const oldPid = servers().A.pid;
    const again = await restartServer('A', signal);
    expect(again.port).toBe(A.port);
    expect(again.pid).not.toBe(oldPid);
    expect(servers().A.pid).toBe(again.pid);
    const g = await new Api(again, alice.token).call('GET', `/guilds/${guild.id}`);
    expect(g.name).toBe(guild.name);
  }
});
