// The typed REST calls of the community screens (guild settings, channels,
// roles, members, invites, emoji, moderation, discovery), over an account's
// Api. Kept out of src/lib/api.ts so that only the lazy settings chunks carry
// them. The gateway events they cause (GUILD_UPDATE, CHANNEL_UPDATE,
// GUILD_ROLE_*, GUILD_MEMBER_*, GUILD_EMOJIS_UPDATE) feed the account store.

import type { Api } from '../api';
import type { Channel, Emoji, Member, Role, User } from '../types';
import type { ChannelMove } from './order';

export interface GuildFull {
  id: string;
  name: string;
  icon: string | null;
  description: string | null;
  system_channel_id: string | null;
  owner_id: string;
  discoverable?: boolean;
  features?: string[];
}

export interface GuildPatch {
  name?: string;
  icon?: string | null;
  description?: string | null;
  system_channel_id?: string | null;
  discoverable?: boolean;
  owner_id?: string;
}

export interface AdminChannel extends Channel {
  nsfw?: boolean;
  rate_limit_per_user?: number;
  permission_overwrites?: { id: string; type: number | string; allow: string; deny: string }[];
}

export interface ChannelPatch {
  name?: string;
  type?: number;
  topic?: string | null;
  nsfw?: boolean;
  rate_limit_per_user?: number;
  parent_id?: string | null;
  permission_overwrites?: { id: string; type: number | string; allow: string; deny: string }[];
}

export interface RolePatch {
  name?: string;
  color?: number;
  hoist?: boolean;
  mentionable?: boolean;
  permissions?: string;
}

export interface AdminMember extends Member {
  communication_disabled_until?: string | null;
}

export interface Ban {
  user: User;
  reason: string | null;
}

export interface InviteMeta {
  code: string;
  channel?: { id: string; name?: string };
  inviter?: User;
  uses?: number;
  max_uses?: number;
  max_age?: number;
  created_at?: string;
  expires_at?: string | null;
}

export interface GuildEmoji extends Emoji {
  user?: User;
  roles?: string[];
}

export interface AuditEntry {
  id: string;
  user_id: string | null;
  target_id: string | null;
  action_type: number;
  reason?: string | null;
  changes?: { key: string; old_value?: unknown; new_value?: unknown }[];
}

export interface AuditLog {
  audit_log_entries: AuditEntry[];
  users: User[];
}

export interface Report {
  id: string;
  type: 'message' | 'user';
  reporter: User;
  target_user: User;
  channel_id: string | null;
  message_id: string | null;
  reason: string;
  content: string | null;
  created_at: string;
  resolved_at: string | null;
  resolution: string | null;
}

export interface GuildPreview {
  id: string;
  name: string;
  icon: string | null;
  description: string | null;
  approximate_member_count?: number;
  approximate_presence_count?: number;
}

export const getGuild = (api: Api, id: string) => api.get<GuildFull>(`/guilds/${id}`);
export const updateGuild = (api: Api, id: string, body: GuildPatch) => api.patch<GuildFull>(`/guilds/${id}`, body);
export const deleteGuild = (api: Api, id: string) => api.delete<void>(`/guilds/${id}`);

export const createChannel = (api: Api, guild: string, body: ChannelPatch & { name: string; type: number }) => api.post<AdminChannel>(`/guilds/${guild}/channels`, body);
export const updateChannel = (api: Api, id: string, body: ChannelPatch) => api.patch<AdminChannel>(`/channels/${id}`, body);
export const deleteChannel = (api: Api, id: string) => api.delete<AdminChannel>(`/channels/${id}`);
/** The whole new order in one request (all or nothing on the server). */
export const reorderChannels = (api: Api, guild: string, body: ChannelMove[]) => api.patch<void>(`/guilds/${guild}/channels`, body);
export const setOverwrite = (api: Api, channel: string, target: string, body: { type: number; allow: string; deny: string }) =>
  api.put<void>(`/channels/${channel}/permissions/${target}`, body);
export const deleteOverwrite = (api: Api, channel: string, target: string) => api.delete<void>(`/channels/${channel}/permissions/${target}`);

export const createRole = (api: Api, guild: string, body: RolePatch) => api.post<Role>(`/guilds/${guild}/roles`, body);
export const updateRole = (api: Api, guild: string, role: string, body: RolePatch) => api.patch<Role>(`/guilds/${guild}/roles/${role}`, body);
export const deleteRole = (api: Api, guild: string, role: string) => api.delete<void>(`/guilds/${guild}/roles/${role}`);
export const reorderRoles = (api: Api, guild: string, body: { id: string; position: number }[]) => api.patch<Role[]>(`/guilds/${guild}/roles`, body);

export const updateMember = (api: Api, guild: string, user: string, body: { nick?: string | null; roles?: string[]; communication_disabled_until?: string | null }) =>
  api.patch<AdminMember>(`/guilds/${guild}/members/${user}`, body);
export const kick = (api: Api, guild: string, user: string) => api.delete<void>(`/guilds/${guild}/members/${user}`);
export const ban = (api: Api, guild: string, user: string, deleteMessageSeconds: number) =>
  api.put<void>(`/guilds/${guild}/bans/${user}`, { delete_message_seconds: deleteMessageSeconds });
export const unban = (api: Api, guild: string, user: string) => api.delete<void>(`/guilds/${guild}/bans/${user}`);
export const bans = (api: Api, guild: string) => api.get<Ban[]>(`/guilds/${guild}/bans`);
export const getBan = (api: Api, guild: string, user: string) => api.get<Ban>(`/guilds/${guild}/bans/${user}`);

export const createInvite = (api: Api, channel: string, maxUses: number, maxAge: number) =>
  api.post<InviteMeta>(`/channels/${channel}/invites`, { max_uses: maxUses, max_age: maxAge, unique: true });
export const guildInvites = (api: Api, guild: string) => api.get<InviteMeta[]>(`/guilds/${guild}/invites`);
export const revokeInvite = (api: Api, code: string) => api.delete<InviteMeta>(`/invites/${encodeURIComponent(code)}`);

export const emojis = (api: Api, guild: string) => api.get<GuildEmoji[]>(`/guilds/${guild}/emojis`);
export const createEmoji = (api: Api, guild: string, name: string, image: string) => api.post<GuildEmoji>(`/guilds/${guild}/emojis`, { name, image });
export const renameEmoji = (api: Api, guild: string, id: string, name: string) => api.patch<GuildEmoji>(`/guilds/${guild}/emojis/${id}`, { name });
export const deleteEmoji = (api: Api, guild: string, id: string) => api.delete<void>(`/guilds/${guild}/emojis/${id}`);

export const auditLog = (api: Api, guild: string, q: { user_id?: string; action_type?: number; before?: string; limit?: number }) =>
  api.get<AuditLog>(`/guilds/${guild}/audit-logs`, q);
export const reports = (api: Api, guild: string, open: boolean) => api.get<Report[]>(`/guilds/${guild}/reports`, { open: open || undefined });
export const resolveReport = (api: Api, guild: string, id: string, resolution: string) =>
  api.post<Report>(`/guilds/${guild}/reports/${id}/resolve`, { resolution });

export const discover = (api: Api, query: string, after?: string) => api.get<GuildPreview[]>('/discovery/guilds', { query: query || undefined, after, limit: 50 });
export const joinPublic = (api: Api, guild: string) => api.put<AdminMember | undefined>(`/guilds/${guild}/members/@me`);

/** Reads a picked file as a data URI (icons, emoji). */
export function readDataUri(f: File): Promise<string> {
  return new Promise((res, rej) => {
    const r = new FileReader();
    r.onload = () => res(String(r.result));
    r.onerror = () => rej(new Error('The file could not be read.'));
    r.readAsDataURL(f);
  });
}

/** Discord's audit log action types, named. */
export const AUDIT_ACTIONS: Record<number, string> = {
  1: 'Server updated',
  10: 'Channel created',
  11: 'Channel updated',
  12: 'Channel deleted',
  13: 'Permission overwrite created',
  14: 'Permission overwrite updated',
  15: 'Permission overwrite deleted',
  20: 'Member kicked',
  22: 'Member banned',
  23: 'Member unbanned',
  24: 'Member updated',
  25: 'Member roles updated',
  30: 'Role created',
  31: 'Role updated',
  32: 'Role deleted',
  40: 'Invite created',
  41: 'Invite updated',
  42: 'Invite deleted',
  60: 'Emoji created',
  61: 'Emoji updated',
  62: 'Emoji deleted',
  72: 'Messages deleted',
};

/** One earlier version of a message (Hearth: the community keeps its record). */
export interface MessageVersion {
  id: string;
  message_id: string;
  author_id: string;
  editor_id: string | null;
  deleted: boolean;
  content: string;
  timestamp: string;
}

/** Earlier versions, oldest first: MANAGE_MESSAGES in guilds. */
export const messageHistory = (api: Api, channel: string, id: string) => api.get<MessageVersion[]>(`/channels/${channel}/messages/${id}/history`);
