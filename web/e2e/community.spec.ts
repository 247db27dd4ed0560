// Running a community (issue 16): Server Settings, channel and category order
// by drag and drop (one request, seen live by another member), overwrites that
// hide a channel live, invite links opened on the other homeserver, roles and
// the member context menu, emoji, bans, the audit log, discovery, and an
// axe-core pass over these screens.
import AxeBuilder from '@axe-core/playwright';
import type { Locator, Page } from '@playwright/test';
import { expect, test, Api, hoverMessage, messageLog, openChannel, person, png, signIn, uniq } from './helpers';
import { servers } from './servers';

/** Fails on any serious or critical axe-core violation in what `include` selects. */
async function axe(page: Page, include = 'body') {
  const r = await new AxeBuilder({ page }).include(include).analyze();
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), 'serious or critical axe violations').toEqual([]);
}

async function openSettings(page: Page, section?: string): Promise<Locator> {
  await page.getByRole('button', { name: 'Server settings', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Server Settings' });
  await expect(dialog).toBeVisible();
  if (section) await dialog.getByRole('navigation', { name: 'Server settings sections' }).getByRole('button', { name: section, exact: true }).click();
  return dialog;
}

/** The category toggles of the channel list, in order. */
function categories(page: Page): Locator {
  return page.getByRole('navigation', { name: 'Channels' }).locator('button[aria-expanded]');
}

/** A guild with two extra categories, each with a channel, and a member who joined. */
async function setup(tag: string) {
  const { A } = servers();
  const ownerName = uniq(`${tag}o`);
  const memberName = uniq(`${tag}m`);
  const owner = await Api.register(A, ownerName);
  const member = await Api.register(A, memberName);
  const guildName = uniq(tag);
  const { guild, general } = await owner.createGuild(guildName);
  const alpha = await owner.call('POST', `/guilds/${guild.id}/channels`, { name: 'Alpha', type: 4 });
  const beta = await owner.call('POST', `/guilds/${guild.id}/channels`, { name: 'Beta', type: 4 });
  await owner.call('POST', `/guilds/${guild.id}/channels`, { name: 'a-one', type: 0, parent_id: alpha.id });
  await owner.call('POST', `/guilds/${guild.id}/channels`, { name: 'b-one', type: 0, parent_id: beta.id });
  await member.call('POST', `/invites/${await owner.invite(general.id)}`, {});
  return { A, owner, member, ownerName, memberName, guild, guildName, general };
}

test('the owner reorders categories and moves a channel by drag and drop; a member sees the new order live', async ({ browser }) => {
  const s = await setup('Order');
  const o = await person(browser);
  const m = await person(browser);
  await signIn(m.page, s.A, { username: s.memberName });
  await openChannel(m.page, s.guildName);
  await expect(categories(m.page)).toHaveText([/Text Channels/, /Alpha/, /Beta/]);

  await signIn(o.page, s.A, { username: s.ownerName });
  await openChannel(o.page, s.guildName);
  const patches: string[] = [];
  o.page.on('request', (r) => {
    if (r.method() === 'PATCH' && r.url().endsWith(`/guilds/${s.guild.id}/channels`)) patches.push(r.postData() ?? '');
  });
  const dialog = await openSettings(o.page, 'Channels');
  const order = dialog.getByRole('list', { name: 'Channel order' });
  // Beta dropped on the top edge of Text Channels: first of the categories.
  await order.getByRole('button', { name: 'Beta', exact: true }).dragTo(order.getByRole('button', { name: 'Text Channels', exact: true }), {
    targetPosition: { x: 10, y: 2 },
  });
  await expect(dialog.getByRole('status')).toHaveText('Moved Beta.');
  expect(patches).toHaveLength(1);
  expect(JSON.parse(patches[0]!).map((x: { id: string }) => x.id).length).toBeGreaterThanOrEqual(2);
  await expect(categories(m.page)).toHaveText([/Beta/, /Text Channels/, /Alpha/]);

  // #a-one dropped onto the Beta category: it moves there.
  await order.getByRole('button', { name: '#a-one', exact: true }).dragTo(order.getByRole('button', { name: 'Beta', exact: true }));
  await expect(dialog.getByRole('status')).toHaveText('Moved #a-one.');
  expect(patches).toHaveLength(2);
  const betaList = m.page.getByRole('navigation', { name: 'Channels' }).locator('.cat').filter({ has: m.page.getByRole('button', { name: 'Beta' }) });
  await expect(betaList.getByRole('link')).toHaveText([/b-one\s*$/, /a-one\s*$/]);

  // The keyboard: Alt+Up on #a-one puts it above #b-one.
  await order.getByRole('button', { name: '#a-one', exact: true }).focus();
  await o.page.keyboard.press('Alt+ArrowUp');
  await expect(betaList.getByRole('link')).toHaveText([/a-one\s*$/, /b-one\s*$/]);
  expect(patches).toHaveLength(3);
  await expect(order.getByRole('button', { name: '#a-one', exact: true })).toBeFocused();

  await axe(o.page, 'dialog');
  await o.context.close();
  await m.context.close();
});

test('a permission overwrite hides a channel from a member, who sees it disappear live', async ({ browser }) => {
  const s = await setup('Hide');
  const secret = await s.owner.call('POST', `/guilds/${s.guild.id}/channels`, { name: 'secret', type: 0 });
  const o = await person(browser);
  const m = await person(browser);
  await signIn(m.page, s.A, { username: s.memberName });
  await openChannel(m.page, s.guildName, 'secret');

  await signIn(o.page, s.A, { username: s.ownerName });
  await openChannel(o.page, s.guildName);
  const dialog = await openSettings(o.page, 'Channels');
  await dialog.getByRole('list', { name: 'Channel order' }).getByRole('button', { name: '#secret', exact: true }).click();
  const editor = dialog.getByRole('group', { name: 'Edit #secret' });
  await editor.getByRole('tab', { name: 'Permissions' }).click();
  await editor.getByLabel('Role or member').selectOption({ label: s.memberName });
  await editor.getByRole('radiogroup', { name: 'View Channels' }).getByRole('radio', { name: 'Deny' }).check();
  // The preview shows what the member could do with the draft.
  await editor.getByLabel('Preview a member').selectOption({ label: s.memberName });
  await expect(editor.getByRole('region', { name: `What ${s.memberName} can do here` })).toContainText('cannot see this channel');
  await axe(o.page, 'dialog');
  await editor.getByRole('button', { name: 'Save permissions' }).click();
  await expect(editor.getByRole('status').first()).toContainText('Saved the permissions');

  const nav = m.page.getByRole('navigation', { name: 'Channels' });
  await expect(nav.getByRole('link', { name: 'secret', exact: true })).toHaveCount(0);
  await expect(nav.getByRole('link', { name: 'general', exact: true })).toBeVisible();
  expect((await s.owner.call('GET', `/channels/${secret.id}`)).permission_overwrites).toEqual([
    expect.objectContaining({ type: 1, deny: String(1 << 10) }),
  ]);
  await o.context.close();
  await m.context.close();
});

test('an invite link with max uses and expiry opens the join screen for a user of the other homeserver', async ({ browser }) => {
  const { A, B } = servers();
  const ownerName = uniq('invo');
  const guestName = uniq('invg');
  const owner = await Api.register(A, ownerName);
  await Api.register(B, guestName);
  const guildName = uniq('Inv');
  await owner.createGuild(guildName);

  const o = await person(browser);
  await signIn(o.page, A, { username: ownerName });
  await openChannel(o.page, guildName);
  const dialog = await openSettings(o.page, 'Invites');
  await dialog.getByLabel('Expire after').selectOption({ label: '7 days' });
  await dialog.getByLabel('Max number of uses').selectOption({ label: '5 uses' });
  await dialog.getByRole('button', { name: 'Create invite link' }).click();
  const link = await dialog.getByRole('textbox', { name: 'Invite link' }).inputValue();
  const url = new URL(link);
  expect(url.pathname).toMatch(new RegExp(`^/invite/[A-Za-z0-9]+@${A.host.replace(/\./g, '\\.')}$`));
  const code = url.pathname.split('/')[2]!.split('@')[0]!;
  const row = dialog.getByRole('table', { name: 'Active invites' }).getByRole('row').filter({ hasText: code });
  await expect(row).toContainText('0 / 5');
  await axe(o.page, 'dialog');

  // The guest opens the link's path on their own homeserver's web client.
  const g = await person(browser);
  await signIn(g.page, B, { username: guestName });
  await g.page.goto(`${B.url}${url.pathname}`);
  await g.page.getByRole('button', { name: 'Accept invite' }).click();
  await expect(g.page.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: guildName, exact: true })).toBeVisible({ timeout: 30_000 });

  // The owner sees the use counted after reopening the list, and revokes it.
  await dialog.getByRole('navigation', { name: 'Server settings sections' }).getByRole('button', { name: 'Overview', exact: true }).click();
  await dialog.getByRole('navigation', { name: 'Server settings sections' }).getByRole('button', { name: 'Invites', exact: true }).click();
  await expect(row).toContainText('1 / 5', { timeout: 30_000 });
  await row.getByRole('button', { name: `Revoke ${code}` }).click();
  await expect(row).toHaveCount(0);
  const res = await fetch(`${A.url}/api/v10/invites/${code}`);
  expect(res.status).toBe(404);
  await o.context.close();
  await g.context.close();
});

test('roles, the member context menu, bans, the audit log, emoji and discovery, without serious axe violations', async ({ browser }) => {
  const s = await setup('Run');
  const o = await person(browser);
  await signIn(o.page, s.A, { username: s.ownerName });
  await openChannel(o.page, s.guildName);

  // Overview: rename and list in discovery.
  let dialog = await openSettings(o.page, 'Overview');
  await axe(o.page, 'dialog');
  const renamed = uniq('Renamed');
  await dialog.getByLabel('Server name').fill(renamed);
  await dialog.getByLabel('Description').fill('A place to test');
  await dialog.getByLabel('List this server in discovery').check();
  await dialog.getByLabel('Server icon').setInputFiles({ name: 'icon.png', mimeType: 'image/png', buffer: png(64, 64, [20, 120, 220]) });
  await expect(dialog.getByRole('img', { name: 'New icon' })).toBeVisible();
  await dialog.getByLabel('System messages channel').selectOption({ label: '#a-one' });
  await dialog.getByRole('button', { name: 'Save changes' }).click();
  await expect(dialog.getByRole('status')).toHaveText('Saved.');
  const serverLink = o.page.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: renamed, exact: true });
  await expect(serverLink).toBeVisible();
  await expect(serverLink.locator('img')).toHaveAttribute('src', /\/icons\//);
  const full = await s.owner.call('GET', `/guilds/${s.guild.id}`);
  expect(full).toMatchObject({ name: renamed, description: 'A place to test' });
  expect(full.icon).toBeTruthy();
  expect((await s.owner.call<any[]>('GET', `/guilds/${s.guild.id}/channels`)).find((c) => c.id === full.system_channel_id)?.name).toBe('a-one');

  // Roles: a hoisted role that may kick.
  await dialog.getByRole('navigation', { name: 'Server settings sections' }).getByRole('button', { name: 'Roles', exact: true }).click();
  const roles = dialog.getByRole('region', { name: 'Roles' });
  await roles.getByRole('button', { name: 'Create role' }).click();
  const editor = roles.getByRole('form', { name: 'Edit role new role' });
  await editor.getByLabel('Role name').fill('Moderators');
  await editor.getByLabel('Display members with this role separately').check();
  await editor.getByRole('switch', { name: /^Kick Members/ }).check();
  await axe(o.page, 'dialog');
  await editor.getByRole('button', { name: 'Save role' }).click();
  await expect(roles.getByRole('list', { name: 'Role order' }).getByRole('button', { name: 'Moderators', exact: true })).toBeVisible();
  const saved = (await s.owner.call<any[]>('GET', `/guilds/${s.guild.id}/roles`)).find((r) => r.name === 'Moderators');
  expect(saved.hoist).toBe(true);
  expect(BigInt(saved.permissions) & 2n).toBe(2n);
  await dialog.getByRole('button', { name: 'Close', exact: true }).click();

  // The member context menu: give the role, then a nickname.
  const members = o.page.getByRole('complementary', { name: 'Members' });
  await members.getByRole('listitem', { name: new RegExp(`^${s.memberName}, `) }).click({ button: 'right' });
  let menu = o.page.getByRole('menu', { name: `Actions for ${s.memberName}` });
  await axe(o.page, '[role=menu]');
  await menu.getByRole('menuitem', { name: 'Roles' }).click();
  const rolesOf = o.page.getByRole('dialog', { name: `Roles of ${s.memberName}` });
  await rolesOf.getByRole('checkbox', { name: 'Moderators' }).check();
  await expect.poll(async () => (await s.owner.call('GET', `/guilds/${s.guild.id}/members/${(await s.member.me()).id}`)).roles).toContain(saved.id);
  await rolesOf.getByRole('button', { name: 'Done' }).click();

  await members.getByRole('listitem', { name: new RegExp(`^${s.memberName}, `) }).click({ button: 'right' });
  menu = o.page.getByRole('menu', { name: `Actions for ${s.memberName}` });
  await menu.getByRole('menuitem', { name: 'Change nickname' }).click();
  const nick = o.page.getByRole('dialog', { name: `Nickname of ${s.memberName}` });
  await nick.getByLabel('Nickname').fill('Nicky');
  await nick.getByRole('button', { name: 'Save' }).click();
  await expect(members.getByRole('listitem', { name: /^Nicky, / })).toBeVisible();

  // Ban with an hour of messages deleted; the ban list; the audit log.
  await members.getByRole('listitem', { name: /^Nicky, / }).click({ button: 'right' });
  await o.page.getByRole('menu', { name: 'Actions for Nicky' }).getByRole('menuitem', { name: 'Ban Nicky' }).click();
  const banDialog = o.page.getByRole('dialog', { name: 'Ban Nicky' });
  await banDialog.getByLabel('Delete message history').selectOption({ label: 'Previous hour' });
  await axe(o.page, 'dialog');
  await banDialog.getByRole('button', { name: 'Ban', exact: true }).click();
  await expect(members.getByRole('listitem', { name: /^Nicky, / })).toHaveCount(0);

  dialog = await openSettings(o.page, 'Bans');
  await expect(dialog.getByRole('button', { name: `Revoke ban of ${s.memberName}` })).toBeVisible();
  await axe(o.page, 'dialog');
  await dialog.getByRole('navigation', { name: 'Server settings sections' }).getByRole('button', { name: 'Audit Log', exact: true }).click();
  await dialog.getByLabel('Filter by action').selectOption({ label: 'Member banned' });
  const entries = dialog.getByRole('list', { name: 'Audit log entries' });
  await expect(entries.getByRole('listitem').first()).toContainText('Member banned');
  await expect(entries.getByRole('listitem').filter({ hasText: 'Role created' })).toHaveCount(0);
  await axe(o.page, 'dialog');
  await dialog.getByRole('navigation', { name: 'Server settings sections' }).getByRole('button', { name: 'Bans', exact: true }).click();
  await dialog.getByRole('button', { name: `Revoke ban of ${s.memberName}` }).click();
  await expect(dialog.getByText('No one is banned.')).toBeVisible();

  // Emoji: upload, rename, delete.
  await dialog.getByRole('navigation', { name: 'Server settings sections' }).getByRole('button', { name: 'Emoji', exact: true }).click();
  await dialog.getByLabel('Emoji image').setInputFiles({ name: 'party.png', mimeType: 'image/png', buffer: png(32, 32) });
  await expect(dialog.getByLabel('Emoji name')).toHaveValue('party');
  await dialog.getByRole('button', { name: 'Upload emoji' }).click();
  const list = dialog.getByRole('list', { name: 'Custom emoji' });
  await expect(list.getByRole('img', { name: ':party:' })).toBeVisible();
  await axe(o.page, 'dialog');
  await list.getByLabel('Name of :party:').fill('fiesta');
  await list.getByRole('button', { name: 'Rename :party:' }).click();
  await expect(list.getByRole('img', { name: ':fiesta:' })).toBeVisible();
  await list.getByRole('button', { name: 'Delete :fiesta:' }).click();
  await expect(list.getByRole('img')).toHaveCount(0);
  expect(await s.owner.call('GET', `/guilds/${s.guild.id}/emojis`)).toEqual([]);
  await dialog.getByRole('button', { name: 'Close', exact: true }).click();

  // Discovery: someone else on A finds the listed guild by name and joins.
  const newcomerName = uniq('disc');
  await Api.register(s.A, newcomerName);
  const d = await person(browser);
  await signIn(d.page, s.A, { username: newcomerName });
  await d.page.getByRole('button', { name: 'Explore public servers' }).click();
  const disc = d.page.getByRole('dialog', { name: 'Discover servers' });
  await disc.getByLabel('Search public servers').fill(renamed);
  const results = disc.getByRole('list', { name: 'Public servers' });
  await expect(results.getByRole('listitem')).toHaveCount(1);
  await expect(results).toContainText('A place to test');
  await axe(d.page, 'dialog');
  await results.getByRole('button', { name: `Join ${renamed}` }).click();
  await expect(disc).toHaveCount(0);
  await expect(d.page.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: renamed, exact: true })).toHaveAttribute('aria-current', 'page');
  await o.context.close();
  await d.context.close();
});

test('the owner transfers ownership, and the new owner deletes the server after typing its name', async ({ browser }) => {
  const s = await setup('Own');
  const o = await person(browser);
  await signIn(o.page, s.A, { username: s.ownerName });
  await openChannel(o.page, s.guildName);
  const dialog = await openSettings(o.page, 'Overview');
  await dialog.getByLabel('New owner').selectOption({ label: s.memberName });
  await dialog.getByRole('button', { name: 'Transfer ownership' }).click();
  // No longer the owner (and without Manage Server): the overview is gone.
  await expect(dialog.getByRole('navigation', { name: 'Server settings sections' }).getByRole('button', { name: 'Overview', exact: true })).toHaveCount(0);
  await expect(dialog.getByRole('button', { name: 'Delete server' })).toHaveCount(0);
  expect((await s.owner.call('GET', `/guilds/${s.guild.id}`)).owner_id).toBe((await s.member.me()).id);
  await o.context.close();

  const m = await person(browser);
  await signIn(m.page, s.A, { username: s.memberName });
  await openChannel(m.page, s.guildName);
  const d2 = await openSettings(m.page, 'Overview');
  const del = d2.getByRole('button', { name: 'Delete server' });
  await d2.getByLabel("Type the server's name to delete it").fill(s.guildName.slice(0, -1));
  await expect(del).toBeDisabled();
  await d2.getByLabel("Type the server's name to delete it").fill(s.guildName);
  await del.click();
  await expect(m.page.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: s.guildName, exact: true })).toHaveCount(0);
  await expect(d2).toHaveCount(0);
  await m.context.close();
});

test('channels are created, edited (topic, slowmode, NSFW) and deleted from Server Settings', async ({ browser }) => {
  const s = await setup('Chan');
  const o = await person(browser);
  await signIn(o.page, s.A, { username: s.ownerName });
  await openChannel(o.page, s.guildName);
  const dialog = await openSettings(o.page, 'Channels');
  await dialog.getByLabel('New channel name').fill('news');
  await dialog.getByLabel('Category', { exact: true }).selectOption({ label: 'Beta' });
  await dialog.getByRole('button', { name: 'Create', exact: true }).click();
  const editor = dialog.getByRole('group', { name: 'Edit #news' });
  await expect(editor).toBeVisible();
  const nav = o.page.getByRole('navigation', { name: 'Channels' });
  await expect(nav.getByRole('link', { name: 'news', exact: true })).toBeVisible();

  await editor.getByLabel('Topic').fill('What happened');
  await editor.getByLabel('Slowmode').selectOption({ label: '30 seconds' });
  await editor.getByLabel('Age-restricted channel (NSFW)').check();
  await axe(o.page, 'dialog');
  await editor.getByRole('button', { name: 'Save channel' }).click();
  await expect(dialog.getByRole('status')).toHaveText('Saved.');
  const chans = await s.owner.call<any[]>('GET', `/guilds/${s.guild.id}/channels`);
  const news = chans.find((c) => c.name === 'news');
  expect(news).toMatchObject({ topic: 'What happened', rate_limit_per_user: 30, nsfw: true, parent_id: chans.find((c) => c.name === 'Beta').id });

  o.page.once('dialog', (d) => void d.accept());
  await editor.getByRole('button', { name: 'Delete channel' }).click();
  await expect(nav.getByRole('link', { name: 'news', exact: true })).toHaveCount(0);
  expect((await s.owner.call<any[]>('GET', `/guilds/${s.guild.id}/channels`)).some((c) => c.name === 'news')).toBe(false);
  await o.context.close();
});

test('a moderator reorders roles below their own by drag and drop, and cannot move those above', async ({ browser }) => {
  const s = await setup('Roles');
  const MANAGE_ROLES = String(1 << 28);
  // New roles take position 1 and push the others up: High 4, Mod 3, Low1 2, Low2 1.
  const high = await s.owner.call('POST', `/guilds/${s.guild.id}/roles`, { name: 'High' });
  const mod = await s.owner.call('POST', `/guilds/${s.guild.id}/roles`, { name: 'Mod', permissions: MANAGE_ROLES });
  const low1 = await s.owner.call('POST', `/guilds/${s.guild.id}/roles`, { name: 'Low1' });
  const low2 = await s.owner.call('POST', `/guilds/${s.guild.id}/roles`, { name: 'Low2' });
  const memberId = (await s.member.me()).id;
  await s.owner.call('PUT', `/guilds/${s.guild.id}/members/${memberId}/roles/${mod.id}`);

  const m = await person(browser);
  await signIn(m.page, s.A, { username: s.memberName });
  await openChannel(m.page, s.guildName);
  const dialog = await openSettings(m.page, 'Roles');
  const order = dialog.getByRole('list', { name: 'Role order' });
  await expect(order.getByRole('button', { name: /^(High|Mod|Low1|Low2|@everyone)$/ })).toHaveText(['High', 'Mod', 'Low1', 'Low2', '@everyone']);
  // Roles at or above one's highest offer no move.
  await expect(order.getByRole('button', { name: 'Move High down' })).toHaveCount(0);
  await expect(order.getByRole('button', { name: 'Move Mod down' })).toHaveCount(0);
  await expect(order.getByRole('listitem').filter({ hasText: 'High' })).toHaveAttribute('draggable', 'false');

  const patches: string[] = [];
  m.page.on('request', (r) => {
    if (r.method() === 'PATCH' && r.url().endsWith(`/guilds/${s.guild.id}/roles`)) patches.push(r.postData() ?? '');
  });
  await order.getByRole('listitem').filter({ hasText: 'Low2' }).dragTo(order.getByRole('listitem').filter({ hasText: 'Low1' }));
  await expect(order.getByRole('button', { name: /^(High|Mod|Low1|Low2)$/ })).toHaveText(['High', 'Mod', 'Low2', 'Low1']);
  expect(patches).toHaveLength(1);
  const roles = await s.owner.call<any[]>('GET', `/guilds/${s.guild.id}/roles`);
  const pos = (id: string) => roles.find((r) => r.id === id).position;
  expect(pos(low2.id)).toBeGreaterThan(pos(low1.id));
  expect(pos(high.id)).toBeGreaterThan(pos(mod.id));
  expect(pos(mod.id)).toBeGreaterThan(pos(low2.id));

  // The keyboard: Alt+Down on Low2 puts it back below Low1.
  await order.getByRole('button', { name: 'Low2', exact: true }).focus();
  await m.page.keyboard.press('Alt+ArrowDown');
  await expect(order.getByRole('button', { name: /^(High|Mod|Low1|Low2)$/ })).toHaveText(['High', 'Mod', 'Low1', 'Low2']);
  await axe(m.page, 'dialog');
  await m.context.close();
});

test('a moderator times out and kicks from the keyboard context menu, and resolves a report', async ({ browser }) => {
  const s = await setup('Mod');
  const memberId = (await s.member.me()).id;
  const bad = await s.member.send(s.general.id, 'something reportable');
  const third = await Api.register(s.A, uniq('Modr'));
  await third.call('POST', `/invites/${await s.owner.invite(s.general.id)}`, {});
  await third.call('POST', '/reports', { channel_id: s.general.id, message_id: bad.id, reason: 'spam, clearly' });

  const o = await person(browser);
  await signIn(o.page, s.A, { username: s.ownerName });
  await openChannel(o.page, s.guildName);
  const members = o.page.getByRole('complementary', { name: 'Members' });
  const item = members.getByRole('listitem', { name: new RegExp(`^${s.memberName}, `) });
  await expect(item).toBeVisible();
  await axe(o.page); // the whole shell, with the focusable member list and its menu

  // Shift+F10 on the focused member opens the menu; arrows move within it.
  await item.focus();
  await o.page.keyboard.press('Shift+F10');
  const menu = o.page.getByRole('menu', { name: `Actions for ${s.memberName}` });
  await expect(menu.getByRole('menuitem').first()).toBeFocused();
  await menu.getByRole('menuitem', { name: 'Timeout' }).click();
  const t = o.page.getByRole('dialog', { name: `Timeout ${s.memberName}` });
  await t.getByLabel('Duration').selectOption({ label: '1 hour' });
  await axe(o.page, 'dialog');
  await t.getByRole('button', { name: 'Timeout', exact: true }).click();
  await expect(t).toHaveCount(0);
  const until = (await s.owner.call('GET', `/guilds/${s.guild.id}/members/${memberId}`)).communication_disabled_until;
  expect(Date.parse(until)).toBeGreaterThan(Date.now() + 50 * 60_000);

  // The menu now offers to lift it.
  await item.click({ button: 'right' });
  await o.page.getByRole('menu', { name: `Actions for ${s.memberName}` }).getByRole('menuitem', { name: 'Remove timeout' }).click();
  await expect.poll(async () => (await s.owner.call('GET', `/guilds/${s.guild.id}/members/${memberId}`)).communication_disabled_until ?? null).toBeNull();

  const dialog = await openSettings(o.page, 'Reports');
  const reports = dialog.getByRole('region', { name: 'Reports' });
  await expect(reports).toContainText('spam, clearly');
  await expect(reports).toContainText('something reportable');
  await axe(o.page, 'dialog');
  await reports.getByLabel('Resolution').fill('warned');
  await reports.getByRole('button', { name: 'Resolve' }).click();
  await expect(reports.getByText('No reports.')).toBeVisible();
  await dialog.getByRole('button', { name: 'Close', exact: true }).click();

  await item.click({ button: 'right' });
  await o.page.getByRole('menu', { name: `Actions for ${s.memberName}` }).getByRole('menuitem', { name: `Kick ${s.memberName}` }).click();
  await o.page.getByRole('dialog', { name: `Kick ${s.memberName}` }).getByRole('button', { name: 'Kick', exact: true }).click();
  await expect(item).toHaveCount(0);
  await o.context.close();
});

test("a moderator reads an edited message's history", async ({ browser }) => {
  const s = await setup('Hist');
  const msg = await s.member.send(s.general.id, 'first words');
  await s.member.call('PATCH', `/channels/${s.general.id}/messages/${msg.id}`, { content: 'second thoughts' });
  const o = await person(browser);
  await signIn(o.page, s.A, { username: s.ownerName });
  await openChannel(o.page, s.guildName);
  const m = await hoverMessage(messageLog(o.page), 'second thoughts');
  await m.getByRole('toolbar', { name: 'Message actions' }).getByRole('button', { name: 'Edit history' }).click();
  const dialog = o.page.getByRole('dialog', { name: 'Message history' });
  const versions = dialog.getByRole('list', { name: 'Versions, oldest first' });
  await expect(versions.getByRole('listitem').first()).toContainText('first words');
  await expect(versions.getByRole('listitem').last()).toContainText('second thoughts');
  await axe(o.page, 'dialog');
  await o.context.close();

  // The author, without Manage Messages, is not offered it.
  const a = await person(browser);
  await signIn(a.page, s.A, { username: s.memberName });
  await openChannel(a.page, s.guildName);
  const own = await hoverMessage(messageLog(a.page), 'second thoughts');
  await expect(own.getByRole('toolbar', { name: 'Message actions' }).getByRole('button', { name: 'Edit', exact: true })).toBeVisible();
  await expect(own.getByRole('button', { name: 'Edit history' })).toHaveCount(0);
  await a.context.close();
});

test('a category reorder reaches a member of the other homeserver live', async ({ browser }) => {
  const s = await setup('Fed');
  const { B } = servers();
  const guestName = uniq('fedg');
  const guest = await Api.register(B, guestName);
  await guest.call('POST', `/invites/${await s.owner.invite(s.general.id)}@${s.A.host}`, {});
  const g = await person(browser);
  await signIn(g.page, B, { username: guestName });
  await openChannel(g.page, s.guildName);
  await expect(categories(g.page)).toHaveText([/Text Channels/, /Alpha/, /Beta/]);

  const o = await person(browser);
  await signIn(o.page, s.A, { username: s.ownerName });
  await openChannel(o.page, s.guildName);
  const dialog = await openSettings(o.page, 'Channels');
  const order = dialog.getByRole('list', { name: 'Channel order' });
  // Dropped on the lower edge of Beta: after it.
  const beta = order.getByRole('button', { name: 'Beta', exact: true });
  const box = (await beta.boundingBox())!;
  await order.getByRole('button', { name: 'Alpha', exact: true }).dragTo(beta, { targetPosition: { x: 10, y: box.height - 2 } });
  await expect(dialog.getByRole('status')).toHaveText('Moved Alpha.');
  await expect(categories(o.page)).toHaveText([/Text Channels/, /Beta/, /Alpha/]);
  await expect(categories(g.page)).toHaveText([/Text Channels/, /Beta/, /Alpha/], { timeout: 30_000 });
  await o.context.close();
  await g.context.close();
});
