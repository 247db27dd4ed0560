import { describe, expect, it } from 'vitest';
import { ALL, GROUPS, P, basePermissions, channelPermissions, highestPosition, sameOverwrites, setTri, triOf } from './perms';

const guild = {
  id: 'g',
  ownerId: 'owner',
  roles: [
    { id: 'g', permissions: String(P.VIEW_CHANNEL | P.SEND_MESSAGES | P.READ_MESSAGE_HISTORY), position: 0 },
    { id: 'mod', permissions: String(P.KICK_MEMBERS), position: 2 },
    { id: 'admin', permissions: String(P.ADMINISTRATOR), position: 3 },
  ],
};

describe('permissions', () => {
  it('gives the owner and administrators everything', () => {
    expect(basePermissions(guild, 'owner', [])).toBe(ALL);
    expect(basePermissions(guild, 'x', ['admin'])).toBe(ALL);
    expect(channelPermissions(guild, 'x', ['admin'], [{ id: 'g', type: 0, allow: '0', deny: String(P.VIEW_CHANNEL) }])).toBe(ALL);
  });

  it('applies @everyone, then role denies and allows, then the member', () => {
    const hideAll = { id: 'g', type: 0, allow: '0', deny: String(P.VIEW_CHANNEL) };
    expect(channelPermissions(guild, 'x', [], [hideAll])).toBe(0n);
    const modSees = { id: 'mod', type: 0, allow: String(P.VIEW_CHANNEL), deny: '0' };
    expect(channelPermissions(guild, 'x', ['mod'], [hideAll, modSees]) & P.VIEW_CHANNEL).toBe(P.VIEW_CHANNEL);
    const memberDenied = { id: 'x', type: 1, allow: '0', deny: String(P.VIEW_CHANNEL) };
    expect(channelPermissions(guild, 'x', ['mod'], [hideAll, modSees, memberDenied])).toBe(0n);
    // Role allows win over role denies.
    const modDenies = { id: 'mod', type: 'role', allow: '0', deny: String(P.SEND_MESSAGES) };
    const other = { id: 'admin2', type: 0, allow: String(P.SEND_MESSAGES), deny: '0' };
    expect(channelPermissions({ ...guild, roles: [...guild.roles, { id: 'admin2', permissions: '0', position: 1 }] }, 'x', ['mod', 'admin2'], [modDenies, other]) & P.SEND_MESSAGES).toBe(P.SEND_MESSAGES);
  });

  it('drops what needs sending when sending is denied, and keeps only reading when timed out', () => {
    const g = { ...guild, roles: [{ id: 'g', permissions: String(P.VIEW_CHANNEL | P.SEND_MESSAGES | P.ATTACH_FILES | P.READ_MESSAGE_HISTORY), position: 0 }] };
    const noSend = { id: 'g', type: 0, allow: '0', deny: String(P.SEND_MESSAGES) };
    expect(channelPermissions(g, 'x', [], [noSend]) & P.ATTACH_FILES).toBe(0n);
    expect(channelPermissions(g, 'x', [], [], true)).toBe(P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY);
  });

  it('keeps three states per bit', () => {
    let o = { allow: '0', deny: '0' };
    expect(triOf(o, P.SEND_MESSAGES)).toBe('neutral');
    o = setTri(o, P.SEND_MESSAGES, 'deny');
    expect(triOf(o, P.SEND_MESSAGES)).toBe('deny');
    o = setTri(o, P.SEND_MESSAGES, 'allow');
    expect(o).toEqual({ allow: String(P.SEND_MESSAGES), deny: '0' });
    expect(setTri(o, P.SEND_MESSAGES, 'neutral')).toEqual({ allow: '0', deny: '0' });
  });

  it('ranks members by their highest role', () => {
    expect(highestPosition(guild, 'x', ['mod'])).toBe(2);
    expect(highestPosition(guild, 'owner', [])).toBe(Infinity);
  });

  it('groups the bits as Discord does, each once', () => {
    expect(GROUPS.map((g) => g.title)).toEqual(['General', 'Membership', 'Text', 'Voice', 'Advanced']);
    const names = GROUPS.flatMap((g) => g.perms.map((p) => p.name));
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('sameOverwrites', () => {
  const a = { id: 'g', type: 0, allow: '0', deny: String(P.VIEW_CHANNEL) };
  const b = { id: 'u', type: 1, allow: String(P.SEND_MESSAGES), deny: '0' };
  it.each([
    ['both empty', [], [], true],
    ['same in another order, legacy type names and number forms', [a, b], [{ ...b, type: 'member' }, { ...a, type: 'role', allow: '00' }], true],
    ['one more', [a], [a, b], false],
    ['another deny', [a], [{ ...a, deny: String(P.SEND_MESSAGES) }], false],
    ['another target', [a], [{ ...a, id: 'h' }], false],
    ['a role against a member of the same id', [a], [{ ...a, type: 1 }], false],
  ] as const)('%s', (_, x, y, want) => {
    expect(sameOverwrites(x, y)).toBe(want);
    expect(sameOverwrites(y, x)).toBe(want);
  });
});
