// Server Settings follow other moderators live (issue 16): the ban list, the
// invite list and the overview form update from GUILD_BAN_ADD/REMOVE,
// INVITE_CREATE/DELETE and GUILD_UPDATE while they are open, without a reload.
// The owner watches in the browser; a moderator acts through the client API.
import type { Locator, Page } from '@playwright/test';
import { expect, test, Api, openChannel, person, signIn, uniq } from './helpers';
import { servers } from './servers';

async function openSettings(page: Page, section: string): Promise<Locator> {
  await page.getByRole('button', { name: 'Server settings', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Server Settings' });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('navigation', { name: 'Server settings sections' }).getByRole('button', { name: section, exact: true }).click();
  return dialog;
}

/** A guild with an owner, a moderator (ban, manage server and channels) and a member. */
async function setup(tag: string) {
  const { A } = servers();
  const ownerName = uniq(`${tag}o`);
  const modName = uniq(`${tag}d`);
  const memberName = uniq(`${tag}m`);
  const owner = await Api.register(A, ownerName);
  const mod = await Api.register(A, modName);
  const member = await Api.register(A, memberName);
  const guildName = uniq(tag);
  const { guild, general } = await owner.createGuild(guildName);
  for (const who of [mod, member]) await who.call('POST', `/invites/${await owner.invite(general.id)}`, {});
  const role = await owner.call('POST', `/guilds/${guild.id}/roles`, { name: 'Mods', permissions: String(4 | 16 | 32) });
  const modId = (await mod.me()).id;
  await owner.call('PUT', `/guilds/${guild.id}/members/${modId}/roles/${role.id}`);
  return { A, owner, mod, member, ownerName, memberName, memberId: (await member.me()).id, guild, guildName, general };
}

test("the ban list follows another moderator's bans and unbans live", async ({ browser }) => {
  const s = await setup('LiveBan');
  const o = await person(browser);
  await signIn(o.page, s.A, { username: s.ownerName });
  await openChannel(o.page, s.guildName);
  const dialog = await openSettings(o.page, 'Bans');
  const bans = dialog.getByRole('region', { name: 'Bans' });
  await expect(bans.getByText('No one is banned.')).toBeVisible();

  // With a reason, which the event does not carry and the list shows.
  const r = await fetch(`${s.A.url}/api/v10/guilds/${s.guild.id}/bans/${s.memberId}`, {
    method: 'PUT',
    headers: { Authorization: s.mod.token, 'Content-Type': 'application/json', 'X-Audit-Log-Reason': 'spam%20links' },
    body: JSON.stringify({ delete_message_seconds: 0 }),
  });
  expect(r.status).toBe(204);
  await expect(bans.getByRole('button', { name: `Revoke ban of ${s.memberName}` })).toBeVisible();
  await expect(bans.getByRole('listitem').filter({ hasText: s.memberName })).toContainText('spam links');

  await s.mod.call('DELETE', `/guilds/${s.guild.id}/bans/${s.memberId}`);
  await expect(bans.getByRole('button', { name: `Revoke ban of ${s.memberName}` })).toHaveCount(0);
  await expect(bans.getByText('No one is banned.')).toBeVisible();
  await o.context.close();
});

test("the invite list follows another moderator's invites created and revoked live", async ({ browser }) => {
  const s = await setup('LiveInv');
  const o = await person(browser);
  await signIn(o.page, s.A, { username: s.ownerName });
  await openChannel(o.page, s.guildName);
  const dialog = await openSettings(o.page, 'Invites');
  const table = dialog.getByRole('table', { name: 'Active invites' });
  await expect(table).toBeVisible();
  const before = await table.getByRole('row').count();

  const inv = await s.mod.call<{ code: string }>('POST', `/channels/${s.general.id}/invites`, { max_uses: 5, max_age: 3600, unique: true });
  const row = table.getByRole('row').filter({ hasText: inv.code });
  await expect(row).toBeVisible();
  await expect(row).toContainText('#general');
  await expect(row).toContainText('0 / 5');
  await expect(table.getByRole('row')).toHaveCount(before + 1);

  await s.mod.call('DELETE', `/invites/${inv.code}`);
  await expect(row).toHaveCount(0);
  await expect(table.getByRole('row')).toHaveCount(before);
  await o.context.close();
});

test("the overview follows another moderator's edits live and keeps what is being typed", async ({ browser }) => {
  const s = await setup('LiveGuild');
  const o = await person(browser);
  await signIn(o.page, s.A, { username: s.ownerName });
  await openChannel(o.page, s.guildName);
  const dialog = await openSettings(o.page, 'Overview');
  const name = dialog.getByRole('textbox', { name: 'Server name' });
  const description = dialog.getByRole('textbox', { name: 'Description' });
  await expect(name).toHaveValue(s.guildName);
  // The owner is halfway through a description when the moderator edits.
  await description.fill('being typed');

  const renamed = uniq('Renamed');
  await s.mod.call('PATCH', `/guilds/${s.guild.id}`, { name: renamed, description: 'from the moderator', discoverable: true });
  await expect(name).toHaveValue(renamed);
  await expect(dialog.getByRole('checkbox', { name: 'List this server in discovery' })).toBeChecked();
  await expect(description).toHaveValue('being typed');
  await expect(dialog.getByRole('heading', { name: renamed })).toBeVisible();

  // An untouched field follows every edit, not only the first.
  await s.mod.call('PATCH', `/guilds/${s.guild.id}`, { system_channel_id: null, discoverable: false });
  await expect(dialog.getByRole('checkbox', { name: 'List this server in discovery' })).not.toBeChecked();
  await expect(dialog.getByLabel('System messages channel')).toHaveValue('');
  await o.context.close();
});

test('a category overwrite reaches the channel synced with it: the preview says so and the member sees it disappear live', async ({ browser }) => {
  const s = await setup('Synced');
  const staff = await s.owner.call('POST', `/guilds/${s.guild.id}/channels`, { name: 'Staff', type: 4 });
  await s.owner.call('POST', `/guilds/${s.guild.id}/channels`, { name: 'synced', type: 0, parent_id: staff.id });
  const own = await s.owner.call('POST', `/guilds/${s.guild.id}/channels`, { name: 'own', type: 0, parent_id: staff.id });
  await s.owner.call('PUT', `/channels/${own.id}/permissions/${s.guild.id}`, { type: 0, allow: '0', deny: String(1 << 6) });

  const m = await person(browser);
  await signIn(m.page, s.A, { username: s.memberName });
  await openChannel(m.page, s.guildName);
  const nav = m.page.getByRole('navigation', { name: 'Channels' });
  await expect(nav.getByRole('link', { name: 'synced', exact: true })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'own', exact: true })).toBeVisible();

  const o = await person(browser);
  await signIn(o.page, s.A, { username: s.ownerName });
  await openChannel(o.page, s.guildName);
  const dialog = await openSettings(o.page, 'Channels');
  const order = dialog.getByRole('list', { name: 'Channel order' });

  // The category: deny the member View Channels; the preview names the synced channel.
  await order.getByRole('button', { name: 'Staff', exact: true }).click();
  let editor = dialog.getByRole('group', { name: 'Edit Staff' });
  await editor.getByRole('tab', { name: 'Permissions' }).click();
  await expect(editor).toContainText('Channels synced with this category follow its permissions: #synced.');
  await editor.getByLabel('Role or member').selectOption({ label: s.memberName });
  await editor.getByRole('radiogroup', { name: 'View Channels' }).getByRole('radio', { name: 'Deny' }).check();
  await editor.getByLabel('Preview a member').selectOption({ label: s.memberName });
  const preview = editor.getByRole('region', { name: `What ${s.memberName} can do here` });
  await expect(preview).toContainText('cannot see this channel');
  await expect(preview).toContainText('the same in #synced, synced with this category');
  await editor.getByRole('button', { name: 'Save permissions' }).click();
  await expect(editor.getByRole('status').first()).toContainText('Saved the permissions');

  // The synced channel follows (the server carries it); the one with its own overwrites does not.
  await expect(nav.getByRole('link', { name: 'synced', exact: true })).toHaveCount(0);
  await expect(nav.getByRole('link', { name: 'own', exact: true })).toBeVisible();

  // The synced channel's own editor says it is synced and previews with the category's overwrites.
  await order.getByRole('button', { name: '#synced', exact: true }).click();
  editor = dialog.getByRole('group', { name: 'Edit #synced' });
  await editor.getByRole('tab', { name: 'Permissions' }).click();
  await expect(editor).toContainText('Permissions synced with the category Staff');
  await editor.getByLabel('Preview a member').selectOption({ label: s.memberName });
  await expect(editor.getByRole('region', { name: `What ${s.memberName} can do here` })).toContainText('cannot see this channel');

  // The other one is not synced until asked; then it hides too.
  await order.getByRole('button', { name: '#own', exact: true }).click();
  editor = dialog.getByRole('group', { name: 'Edit #own' });
  await editor.getByRole('tab', { name: 'Permissions' }).click();
  await expect(editor).toContainText('Not synced with the category Staff');
  await editor.getByLabel('Preview a member').selectOption({ label: s.memberName });
  await expect(editor.getByRole('region', { name: `What ${s.memberName} can do here` })).not.toContainText('cannot see this channel');
  await editor.getByRole('button', { name: 'Sync with Staff' }).click();
  await expect(editor).toContainText('Permissions synced with the category Staff');
  await expect(nav.getByRole('link', { name: 'own', exact: true })).toHaveCount(0);
  await o.context.close();
  await m.context.close();
});
