// Discord's permission bits, grouped and explained as Discord's role editor
// groups them, and the computation of what a member may do in a guild and in
// a channel (owner, ADMINISTRATOR, @everyone and roles, then overwrites:
// @everyone's, all role denies, all role allows, the member's own). The
// server decides; this only shows what it would decide, for the settings
// screens and the "what can this member do here" preview.

export const P = {
  CREATE_INSTANT_INVITE: 1n << 0n,
  KICK_MEMBERS: 1n << 1n,
  BAN_MEMBERS: 1n << 2n,
  ADMINISTRATOR: 1n << 3n,
  MANAGE_CHANNELS: 1n << 4n,
  MANAGE_GUILD: 1n << 5n,
  ADD_REACTIONS: 1n << 6n,
  VIEW_AUDIT_LOG: 1n << 7n,
  PRIORITY_SPEAKER: 1n << 8n,
  STREAM: 1n << 9n,
  VIEW_CHANNEL: 1n << 10n,
  SEND_MESSAGES: 1n << 11n,
  SEND_TTS_MESSAGES: 1n << 12n,
  MANAGE_MESSAGES: 1n << 13n,
  EMBED_LINKS: 1n << 14n,
  ATTACH_FILES: 1n << 15n,
  READ_MESSAGE_HISTORY: 1n << 16n,
  MENTION_EVERYONE: 1n << 17n,
  USE_EXTERNAL_EMOJIS: 1n << 18n,
  CONNECT: 1n << 20n,
  SPEAK: 1n << 21n,
  MUTE_MEMBERS: 1n << 22n,
  DEAFEN_MEMBERS: 1n << 23n,
  MOVE_MEMBERS: 1n << 24n,
  USE_VAD: 1n << 25n,
  CHANGE_NICKNAME: 1n << 26n,
  MANAGE_NICKNAMES: 1n << 27n,
  MANAGE_ROLES: 1n << 28n,
  MANAGE_WEBHOOKS: 1n << 29n,
  MANAGE_GUILD_EXPRESSIONS: 1n << 30n,
  USE_APPLICATION_COMMANDS: 1n << 31n,
  MANAGE_THREADS: 1n << 34n,
  CREATE_PUBLIC_THREADS: 1n << 35n,
  CREATE_PRIVATE_THREADS: 1n << 36n,
  SEND_MESSAGES_IN_THREADS: 1n << 38n,
  MODERATE_MEMBERS: 1n << 40n,
  CREATE_GUILD_EXPRESSIONS: 1n << 43n,
} as const;

export type PermName = keyof typeof P;

export interface PermInfo {
  name: PermName;
  label: string;
  help: string;
  /** Meaningful in a channel's overwrites (guild-wide bits are not). */
  channel: boolean;
}

export interface PermGroup {
  title: string;
  perms: PermInfo[];
}

const p = (name: PermName, label: string, help: string, channel = true): PermInfo => ({ name, label, help, channel });

/** The groups of Discord's role editor, in its order. */
export const GROUPS: PermGroup[] = [
  {
    title: 'General',
    perms: [
      p('VIEW_CHANNEL', 'View Channels', 'Members can see channels by default (private channels excepted).'),
      p('MANAGE_CHANNELS', 'Manage Channels', 'Create, edit and delete channels.'),
      p('MANAGE_ROLES', 'Manage Roles', 'Create roles and edit or delete roles below their highest; change channel permissions.'),
      p('CREATE_GUILD_EXPRESSIONS', 'Create Expressions', 'Add custom emoji, and edit or remove their own.', false),
      p('MANAGE_GUILD_EXPRESSIONS', 'Manage Expressions', 'Edit or remove any custom emoji.', false),
      p('VIEW_AUDIT_LOG', 'View Audit Log', 'See who changed what in this server.', false),
      p('MANAGE_WEBHOOKS', 'Manage Webhooks', 'Create, edit and delete webhooks.'),
      p('MANAGE_GUILD', 'Manage Server', "Change the server's name, icon and settings, and see all invites.", false),
    ],
  },
  {
    title: 'Membership',
    perms: [
      p('CREATE_INSTANT_INVITE', 'Create Invite', 'Invite new people to this server.'),
      p('CHANGE_NICKNAME', 'Change Nickname', 'Change their own nickname here.', false),
      p('MANAGE_NICKNAMES', 'Manage Nicknames', "Change other members' nicknames.", false),
      p('KICK_MEMBERS', 'Kick Members', 'Remove members below their highest role; they can come back with an invite.', false),
      p('BAN_MEMBERS', 'Ban Members', 'Remove members for good and delete their recent messages.', false),
      p('MODERATE_MEMBERS', 'Timeout Members', 'Stop members from sending, reacting and speaking for a while.', false),
    ],
  },
  {
    title: 'Text',
    perms: [
      p('SEND_MESSAGES', 'Send Messages', 'Send messages in text channels.'),
      p('SEND_MESSAGES_IN_THREADS', 'Send Messages in Threads', 'Send messages in threads.'),
      p('CREATE_PUBLIC_THREADS', 'Create Public Threads', 'Start threads everyone in the channel can see.'),
      p('CREATE_PRIVATE_THREADS', 'Create Private Threads', 'Start invite-only threads.'),
      p('EMBED_LINKS', 'Embed Links', 'Links they send show a preview.'),
      p('ATTACH_FILES', 'Attach Files', 'Upload files and images.'),
      p('ADD_REACTIONS', 'Add Reactions', 'Add new reactions to messages.'),
      p('USE_EXTERNAL_EMOJIS', 'Use External Emoji', 'Use custom emoji of other servers.'),
      p('MENTION_EVERYONE', 'Mention @everyone, @here and All Roles', 'Notify everyone in the channel at once.'),
      p('MANAGE_MESSAGES', 'Manage Messages', "Delete or pin other members' messages.", true),
      p('MANAGE_THREADS', 'Manage Threads', 'Rename, archive, lock and delete threads.'),
      p('READ_MESSAGE_HISTORY', 'Read Message History', 'Read messages sent before they arrived.'),
      p('SEND_TTS_MESSAGES', 'Send Text-to-Speech Messages', 'Send messages read aloud.'),
      p('USE_APPLICATION_COMMANDS', 'Use Application Commands', "Use bots' slash commands and context menus."),
    ],
  },
  {
    title: 'Voice',
    perms: [
      p('CONNECT', 'Connect', 'Join voice channels.'),
      p('SPEAK', 'Speak', 'Talk in voice channels.'),
      p('STREAM', 'Video', 'Share their camera or screen.'),
      p('USE_VAD', 'Use Voice Activity', 'Talk without push-to-talk.'),
      p('PRIORITY_SPEAKER', 'Priority Speaker', 'Be heard more easily.'),
      p('MUTE_MEMBERS', 'Mute Members', 'Mute others in voice channels.'),
      p('DEAFEN_MEMBERS', 'Deafen Members', 'Deafen others in voice channels.'),
      p('MOVE_MEMBERS', 'Move Members', 'Move others between voice channels.'),
    ],
  },
  {
    title: 'Advanced',
    perms: [
      p(
        'ADMINISTRATOR',
        'Administrator',
        'Every permission, and every channel, whatever the overwrites say. A dangerous permission to grant.',
        false,
      ),
    ],
  },
];

/** Every bit a guild can hold. */
export const ALL = Object.values(P).reduce((a, b) => a | b, 0n);

export function bits(s: string | number | undefined | null): bigint {
  try {
    return BigInt(s ?? 0);
  } catch {
    return 0n;
  }
}

export function has(perms: bigint, bit: bigint): boolean {
  return (perms & P.ADMINISTRATOR) === P.ADMINISTRATOR || (perms & bit) === bit;
}

export interface RoleLike {
  id: string;
  permissions: string;
  position: number;
}

export interface OverwriteLike {
  id: string;
  type: number | string;
  allow: string;
  deny: string;
}

/** The guild-wide permissions of a member with these roles. */
export function basePermissions(guild: { id: string; ownerId: string; roles: readonly RoleLike[] }, userId: string, memberRoles: readonly string[]): bigint {
  if (userId === guild.ownerId) return ALL;
  let perms = 0n;
  for (const r of guild.roles) if (r.id === guild.id || memberRoles.includes(r.id)) perms |= bits(r.permissions);
  if (perms & P.ADMINISTRATOR) return ALL;
  return perms;
}

const isRole = (o: OverwriteLike) => o.type === 0 || o.type === 'role';

/** What a member may do in a channel with these overwrites. */
export function channelPermissions(
  guild: { id: string; ownerId: string; roles: readonly RoleLike[] },
  userId: string,
  memberRoles: readonly string[],
  overwrites: readonly OverwriteLike[],
  timedOut = false,
): bigint {
  let perms = basePermissions(guild, userId, memberRoles);
  if (perms === ALL) return ALL;
  const every = overwrites.find((o) => isRole(o) && o.id === guild.id);
  if (every) perms = (perms & ~bits(every.deny)) | bits(every.allow);
  let allow = 0n;
  let deny = 0n;
  for (const o of overwrites) {
    if (!isRole(o) || o.id === guild.id || !memberRoles.includes(o.id)) continue;
    allow |= bits(o.allow);
    deny |= bits(o.deny);
  }
  perms = (perms & ~deny) | allow;
  const mine = overwrites.find((o) => !isRole(o) && o.id === userId);
  if (mine) perms = (perms & ~bits(mine.deny)) | bits(mine.allow);
  if (!(perms & P.VIEW_CHANNEL)) return 0n;
  if (!(perms & P.SEND_MESSAGES)) perms &= ~(P.MENTION_EVERYONE | P.SEND_TTS_MESSAGES | P.ATTACH_FILES | P.EMBED_LINKS);
  if (timedOut) perms &= P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY;
  return perms;
}

/** The three states of one bit in an overwrite. */
export type Tri = 'allow' | 'neutral' | 'deny';

export function triOf(o: { allow: string; deny: string } | undefined, bit: bigint): Tri {
  if (!o) return 'neutral';
  if (bits(o.allow) & bit) return 'allow';
  if (bits(o.deny) & bit) return 'deny';
  return 'neutral';
}

/** The overwrite with one bit set to a state (the others kept). */
export function setTri(o: { allow: string; deny: string }, bit: bigint, t: Tri): { allow: string; deny: string } {
  let allow = bits(o.allow) & ~bit;
  let deny = bits(o.deny) & ~bit;
  if (t === 'allow') allow |= bit;
  if (t === 'deny') deny |= bit;
  return { allow: allow.toString(), deny: deny.toString() };
}

/** The highest position among a member's roles (0: only @everyone); the owner is above all. */
export function highestPosition(guild: { id: string; ownerId: string; roles: readonly RoleLike[] }, userId: string, memberRoles: readonly string[]): number {
  if (userId === guild.ownerId) return Infinity;
  let top = 0;
  for (const r of guild.roles) if (memberRoles.includes(r.id) && r.position > top) top = r.position;
  return top;
}

/**
 * Whether two overwrite lists say the same, in any order: a channel whose
 * overwrites are its category's is synced with it, and the server carries
 * the category's later changes to it.
 */
export function sameOverwrites(a: readonly OverwriteLike[], b: readonly OverwriteLike[]): boolean {
  if (a.length !== b.length) return false;
  const kind = (o: OverwriteLike) => (isRole(o) ? 0 : 1);
  return b.every((o) => {
    const x = a.find((y) => y.id === o.id);
    return !!x && kind(x) === kind(o) && bits(x.allow) === bits(o.allow) && bits(x.deny) === bits(o.deny);
  });
}
