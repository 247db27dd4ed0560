// What an account needs to live in its guilds (issue 16): read states and
// mention counts, relationships, notification settings, user settings.
// Fed only by the gateway (READY, MESSAGE_CREATE, MESSAGE_ACK,
// RELATIONSHIP_*, USER_GUILD_SETTINGS_UPDATE, USER_SETTINGS_UPDATE) and by
// the answers of its own REST calls; components read it and call its
// actions. Read states are the homeserver's, so every device of the person
// converges through MESSAGE_ACK.

import { SvelteMap } from 'svelte/reactivity';
import { cmpId } from '../snowflake';
import type { AppCommand, Channel, Component, Member, Message, User } from '../types';
import type { SearchQuery } from '../living/search';
import { effective, isUnread, mentionsMe, shouldNotify, type GuildSettings } from '../living/rules';
import type { Account } from './account.svelte';

export interface ReadState {
  last: string;
  mentions: number;
}

/** Discord's relationship object: 1 friend, 2 blocked, 3 incoming, 4 outgoing. */
export interface Relationship {
  id: string;
  type: number;
  user: User;
  since?: string;
}

/** Discord's profile object, as GET /users/{id}/profile answers it. */
export interface Profile {
  user: User & { banner?: string | null; accent_color?: number | null };
  user_profile?: { bio?: string | null; pronouns?: string | null; banner?: string | null; accent_color?: number | null };
  badges?: { id: string; description: string }[];
  guild_badges?: { id: string; description: string }[];
  mutual_guilds?: { id: string; nick?: string | null }[];
  mutual_friends?: User[];
  guild_member?: Member;
}

export const FRIEND = 1;
export const BLOCKED = 2;
export const INCOMING = 3;
export const OUTGOING = 4;

const ACK_DELAY_MS = 250;

export class Living {
  private readonly account: Account;
  readStates = new SvelteMap<string, ReadState>();
  /** The newest message seen live per channel (channels' last_message_id is older). */
  latest = new SvelteMap<string, string>();
  relationships = new SvelteMap<string, Relationship>();
  guildSettings = new SvelteMap<string, GuildSettings>();
  userSettings = $state.raw<Record<string, unknown>>({});
  /** Where the "new" divider goes in a channel: the read state when it was opened. */
  dividers = new SvelteMap<string, string>();
  /** The gateway session, named in interactions so that their answers come back here. */
  sessionId = '';
  /** Interactions sent and not yet answered, by nonce (the composer shows "sending" and failures). */
  interactions = new SvelteMap<string, { label: string; state: 'sending' | 'failed'; channel: string }>();
  /** The last autocomplete answer (its nonce says which question it answers). */
  autocomplete = $state.raw<{ nonce: string; choices: { name: string; value: string | number }[] } | null>(null);
  /** A modal a bot opened for this person (INTERACTION_MODAL_CREATE). */
  modal = $state.raw<{ id: string; custom_id: string; title: string; components: Component[]; application_id: string; channel_id: string; guild_id?: string } | null>(null);
  private interactionNonce = new Map<string, string>();
  private commandIndexes = new Map<string, Promise<AppCommand[]>>();
  private ackTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private acked = new Map<string, string>();
  /** Replaced by the page: is this channel on screen in a focused, visible page? */
  watching: (channel: string) => boolean = (c) =>
    this.account.isOpen(c) && typeof document !== 'undefined' && !document.hidden && document.hasFocus();
  /** Replaced by the page: shows a desktop notification. */
  onNotify: ((a: Account, m: Message, c: Channel | undefined) => void) | null = null;

  /** Each guild's channels, regrouped only when channels change (not on every message). */
  private byGuild = $derived.by(() => {
    const m = new Map<string, Channel[]>();
    for (const c of this.account.channels.values()) {
      if (!c.guild_id || c.type === 4) continue;
      let l = m.get(c.guild_id);
      if (!l) m.set(c.guild_id, (l = []));
      l.push(c);
    }
    return m;
  });

  constructor(account: Account) {
    this.account = account;
  }

  // ---- gateway ----

  handle(t: string, d: any): void { // eslint-disable-line @typescript-eslint/no-explicit-any
    switch (t) {
      case 'READY': {
        this.readStates.clear();
        for (const e of d.read_state?.entries ?? []) this.readStates.set(e.id, { last: e.last_message_id ?? '0', mentions: e.mention_count ?? 0 });
        this.relationships.clear();
        for (const r of d.relationships ?? []) this.relationships.set(r.id, r as Relationship);
        // Friends' presences (they may share no guild).
        for (const p of d.presences ?? []) if (p?.user?.id) this.account.presences.set(p.user.id, p);
        this.guildSettings.clear();
        for (const s of d.user_guild_settings?.entries ?? []) if (s.guild_id) this.guildSettings.set(s.guild_id, normalise(s));
        this.userSettings = d.user_settings ?? {};
        this.sessionId = d.session_id ?? '';
        // The gap after a lost session: the open channel is read again.
        for (const c of [this.account.openChannel, this.account.sideChannel]) if (c) this.scheduleAck(c);
        break;
      }
      case 'MESSAGE_CREATE':
        this.onMessage(d as Message);
        break;
      case 'MESSAGE_ACK': {
        const cur = this.readStates.get(d.channel_id);
        if (!cur || cmpId(d.message_id, cur.last) >= 0) this.readStates.set(d.channel_id, { last: d.message_id, mentions: d.mention_count ?? 0 });
        break;
      }
      case 'RELATIONSHIP_ADD':
        this.relationships.set(d.id, d as Relationship);
        break;
      case 'RELATIONSHIP_REMOVE': {
        const cur = this.relationships.get(d.id);
        if (cur && (d.type === undefined || cur.type === d.type)) this.relationships.delete(d.id);
        break;
      }
      case 'USER_GUILD_SETTINGS_UPDATE':
        if (d.guild_id) this.guildSettings.set(d.guild_id, normalise(d));
        break;
      case 'INTERACTION_CREATE':
        if (d.nonce) this.interactionNonce.set(d.id, d.nonce);
        break;
      case 'INTERACTION_SUCCESS': {
        const n = d.nonce ?? this.interactionNonce.get(d.id);
        if (n) this.interactions.delete(n);
        this.interactionNonce.delete(d.id);
        break;
      }
      case 'INTERACTION_FAILURE': {
        const n = d.nonce ?? this.interactionNonce.get(d.id);
        const cur = n ? this.interactions.get(n) : undefined;
        if (n && cur) this.interactions.set(n, { ...cur, state: 'failed' });
        this.interactionNonce.delete(d.id);
        break;
      }
      case 'APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE':
        this.autocomplete = { nonce: d.nonce, choices: d.choices ?? [] };
        break;
      case 'INTERACTION_MODAL_CREATE':
        this.modal = d;
        if (d.nonce) this.interactions.delete(d.nonce);
        break;
      case 'USER_SETTINGS_UPDATE':
        this.userSettings = { ...this.userSettings, ...d };
        break;
    }
  }

  private onMessage(m: Message) {
    const wasUnread = this.unread(m.channel_id);
    const cur = this.latest.get(m.channel_id);
    if (!cur || cmpId(m.id, cur) > 0) this.latest.set(m.channel_id, m.id);
    const me = this.account.user?.id;
    if (!me) return;
    if (m.author.id === me) {
      // One's own message is read on every device, as on Discord; the
      // device it was sent from tells the server (which does not ack sends).
      this.readStates.set(m.channel_id, { last: m.id, mentions: 0 });
      if (this.account.isOpen(m.channel_id)) void this.postAck(m.channel_id, m.id);
      return;
    }
    const channel = this.account.channels.get(m.channel_id) ?? this.account.dms.get(m.channel_id);
    const guildId = m.guild_id ?? channel?.guild_id;
    const settings = guildId ? this.guildSettings.get(guildId) : undefined;
    const roles = guildId ? (this.account.members.get(guildId)?.get(me)?.roles ?? []) : [];
    const mentioned = mentionsMe(m, me, roles, !guildId, settings);
    const watching = this.watching(m.channel_id);
    // On screen but not looked at (another window in front): the divider marks where reading stopped.
    if (!watching && this.account.isOpen(m.channel_id) && !this.dividers.has(m.channel_id) && !wasUnread)
      this.dividers.set(m.channel_id, this.readStates.get(m.channel_id)?.last ?? '0');
    if (watching) this.scheduleAck(m.channel_id);
    else if (mentioned) {
      const rs = this.readStates.get(m.channel_id) ?? { last: '0', mentions: 0 };
      this.readStates.set(m.channel_id, { ...rs, mentions: rs.mentions + 1 });
    }
    const eff = guildId ? effective(settings, m.channel_id, channel?.parent_id, Date.now()) : { muted: false, level: 0 };
    if (shouldNotify({ mine: false, dnd: this.account.status === 'dnd', watching, muted: eff.muted, level: eff.level, mentioned })) this.onNotify?.(this.account, m, channel);
  }

  // ---- reading ----

  lastOf(channel: string): string | undefined {
    const live = this.latest.get(channel);
    const c = this.account.channels.get(channel) ?? this.account.dms.get(channel);
    const stored = c?.last_message_id ?? undefined;
    if (!live) return stored;
    if (!stored) return live;
    return cmpId(live, stored) > 0 ? live : stored;
  }

  /** When one joined the channel's guild (a channel never acked is read up to then). */
  private since(channel: string): number | undefined {
    const c = this.account.channels.get(channel);
    const me = this.account.user?.id;
    if (!c?.guild_id || !me) return undefined;
    const j = this.account.members.get(c.guild_id)?.get(me)?.joined_at;
    return j ? Date.parse(j) : undefined;
  }

  unread(channel: string): boolean {
    return isUnread(this.lastOf(channel), this.readStates.get(channel)?.last, this.since(channel));
  }

  mentions(channel: string): number {
    return this.readStates.get(channel)?.mentions ?? 0;
  }

  /** Muted and notification level of a guild channel now. */
  effective(channel: Channel): { muted: boolean; level: number } {
    if (!channel.guild_id) return { muted: false, level: 0 };
    return effective(this.guildSettings.get(channel.guild_id), channel.id, channel.parent_id, Date.now());
  }

  guildMuted(guild: string): boolean {
    const s = this.guildSettings.get(guild);
    return !!s && effective(s, '', null, Date.now()).muted;
  }

  guildMentions(guild: string): number {
    let n = 0;
    for (const c of this.byGuild.get(guild) ?? []) n += this.mentions(c.id);
    return n;
  }

  /** Bold in the guild list: an unread channel that is not muted. */
  guildUnread(guild: string): boolean {
    if (this.guildMuted(guild)) return false;
    for (const c of this.byGuild.get(guild) ?? []) if (this.unread(c.id) && !this.effective(c).muted) return true;
    return false;
  }

  dmMentions(): number {
    let n = 0;
    for (const c of this.account.dms.values()) n += this.mentions(c.id);
    return n;
  }

  totalMentions(): number {
    let n = this.dmMentions();
    for (const g of this.account.guilds.keys()) n += this.guildMentions(g);
    return n;
  }

  relationship(user: string): Relationship | undefined {
    return this.relationships.get(user);
  }

  // ---- actions ----

  /** The channel comes on screen: the divider goes where reading stopped, then it is read. */
  opened(channel: string) {
    if (this.unread(channel)) this.dividers.set(channel, this.readStates.get(channel)?.last ?? '0');
    else this.dividers.delete(channel);
    this.scheduleAck(channel);
  }

  /** Marks a channel read up to its newest message (Esc). */
  markRead(channel: string) {
    this.dividers.delete(channel);
    this.scheduleAck(channel, 0, false);
  }

  /**
   * Acks a channel after a short delay. An ack that comes from looking at a
   * channel is dropped if the channel is no longer open when it fires: on a
   * busy machine the timer can run after the person moved on and messages
   * arrived that they never saw.
   */
  scheduleAck(channel: string, delay = ACK_DELAY_MS, onlyWhileOpen = true) {
    clearTimeout(this.ackTimers.get(channel));
    this.ackTimers.set(
      channel,
      setTimeout(() => {
        this.ackTimers.delete(channel);
        if (onlyWhileOpen && !this.account.isOpen(channel)) return;
        void this.ack(channel);
      }, delay),
    );
  }

  async ack(channel: string) {
    const last = this.lastOf(channel);
    if (!last || last === '0') return;
    const rs = this.readStates.get(channel);
    if (rs && cmpId(rs.last, last) >= 0 && rs.mentions === 0) return;
    this.readStates.set(channel, { last, mentions: 0 });
    await this.postAck(channel, last);
  }

  private async postAck(channel: string, last: string) {
    if (this.acked.get(channel) === last) return;
    this.acked.set(channel, last);
    try {
      await this.account.api.post(`/channels/${channel}/messages/${last}/ack`, { token: null });
    } catch (e) {
      this.acked.delete(channel);
      console.warn('ack', e);
    }
  }

  /** Marks every channel of a guild read in one request (at most 100 channels a call). */
  async markGuildRead(guild: string) {
    const entries: { channel_id: string; message_id: string }[] = [];
    for (const c of this.account.channels.values()) {
      if (c.guild_id !== guild) continue;
      const last = this.lastOf(c.id);
      if (last && (this.unread(c.id) || this.mentions(c.id))) entries.push({ channel_id: c.id, message_id: last });
    }
    for (let i = 0; i < entries.length; i += 100) {
      const part = entries.slice(i, i + 100);
      for (const e of part) this.readStates.set(e.channel_id, { last: e.message_id, mentions: 0 });
      await this.account.api.post('/read-states/ack-bulk', { read_states: part });
    }
  }

  async updateGuildSettings(guild: string, patch: Record<string, unknown>) {
    const s = await this.account.api.patch<GuildSettings>(`/users/@me/guilds/${guild}/settings`, patch);
    this.guildSettings.set(guild, normalise(s));
    return s;
  }

  /** Mutes or unmutes one channel (Ctrl+Shift+M), for good or until `until`. */
  async muteChannel(channel: Channel, muted: boolean, until?: string | null) {
    if (!channel.guild_id) return;
    await this.updateGuildSettings(channel.guild_id, {
      channel_overrides: { [channel.id]: { muted, mute_config: muted && until ? { end_time: until, selected_time_window: -1 } : null } },
    });
  }

  async addFriend(handle: string) {
    const h = handle.trim().replace(/^@/, '');
    await this.account.api.post('/users/@me/relationships', { username: h });
  }

  async acceptFriend(user: string) {
    await this.account.api.put(`/users/@me/relationships/${user}`, {});
  }

  /** Unfriends, refuses, cancels or unblocks (the server knows which). */
  async removeRelationship(user: string) {
    await this.account.api.delete(`/users/@me/relationships/${user}`);
  }

  async block(user: string) {
    await this.account.api.put(`/users/@me/relationships/${user}`, { type: BLOCKED });
  }

  async updateSettings(patch: Record<string, unknown>) {
    this.userSettings = await this.account.api.patch<Record<string, unknown>>('/users/@me/settings', patch);
  }

  // ---- application commands and interactions (issue 14's routes) ----

  /** The commands one may use in a channel, asked once per channel per page life. */
  commands(channel: string): Promise<AppCommand[]> {
    let p = this.commandIndexes.get(channel);
    if (!p) {
      p = this.account.api
        .get<{ application_commands?: AppCommand[] }>(`/channels/${channel}/application-command-index`)
        .then((r) => r.application_commands ?? []);
      p.catch(() => this.commandIndexes.delete(channel));
      this.commandIndexes.set(channel, p);
    }
    return p;
  }

  /**
   * Sends an interaction (2 command, 3 component, 4 autocomplete, 5 modal
   * submit) and answers its nonce; the answer arrives over the gateway.
   */
  async interact(type: number, channel: Channel, applicationId: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}, label = ''): Promise<string> {
    const nonce = this.account.newNonce();
    if (type !== 4) this.interactions.set(nonce, { label, state: 'sending', channel: channel.id });
    try {
      await this.account.api.post('/interactions', {
        type,
        application_id: applicationId,
        channel_id: channel.id,
        guild_id: channel.guild_id,
        session_id: this.sessionId,
        nonce,
        data,
        ...extra,
      });
    } catch (e) {
      this.interactions.delete(nonce);
      throw e;
    }
    return nonce;
  }

  // ---- search, threads, profiles ----

  /**
   * Searches a guild's messages with the filters of the search box; names
   * are resolved with the channels and members the account knows, and
   * members the server finds by name.
   */
  async search(guild: string, q: SearchQuery, offset = 0): Promise<{ total_results: number; messages: Message[][] }> {
    const qs = new URLSearchParams();
    if (q.content) qs.set('content', q.content);
    for (const name of q.in) {
      const c = [...this.account.channels.values()].find((x) => x.guild_id === guild && x.name?.toLowerCase() === name.toLowerCase());
      if (!c) throw new Error(`There is no channel #${name} here.`);
      qs.append('channel_id', c.id);
    }
    for (const name of q.from) {
      const lower = name.toLowerCase();
      const known = [...(this.account.members.get(guild)?.values() ?? [])].find((m) => m.user && (m.user.username.toLowerCase() === lower || m.nick?.toLowerCase() === lower || m.user.global_name?.toLowerCase() === lower));
      let id = known?.user?.id;
      if (!id) {
        const found = await this.account.api.get<Member[]>(`/guilds/${guild}/members/search`, { query: name, limit: 1 });
        id = found[0]?.user?.id;
      }
      if (!id) throw new Error(`No member here is called ${name}.`);
      qs.append('author_id', id);
    }
    for (const h of q.has) qs.append('has', h);
    if (q.before) qs.set('before', q.before);
    if (q.after) qs.set('after', q.after);
    if (offset) qs.set('offset', String(offset));
    qs.set('limit', '25');
    const r = await this.account.api.get<{ total_results: number; messages: Message[][] }>(`/guilds/${guild}/messages/search?${qs}`);
    for (const group of r.messages) for (const m of group) if (m.author) this.account.users.set(m.author.id, this.account.users.get(m.author.id) ?? m.author);
    return r;
  }

  archivedThreads(channel: string) {
    return this.account.api.get<{ threads: Channel[] }>(`/channels/${channel}/threads/archived/public`, { limit: 50 });
  }

  async updateThread(thread: string, patch: { archived?: boolean; locked?: boolean }) {
    const c = await this.account.api.patch<Channel>(`/channels/${thread}`, patch);
    if (c.guild_id) this.account.channels.set(c.id, c);
    return c;
  }

  profile(user: string, guild?: string) {
    return this.account.api.get<Profile>(`/users/${user}/profile`, { with_mutual_guilds: true, with_mutual_friends: true, guild_id: guild });
  }

  stop() {
    for (const t of this.ackTimers.values()) clearTimeout(t);
  }
}

function normalise(s: any): GuildSettings { // eslint-disable-line @typescript-eslint/no-explicit-any
  return {
    guild_id: s.guild_id ?? null,
    muted: !!s.muted,
    mute_config: s.mute_config ?? null,
    message_notifications: typeof s.message_notifications === 'number' ? s.message_notifications : 0,
    suppress_everyone: !!s.suppress_everyone,
    suppress_roles: !!s.suppress_roles,
    channel_overrides: Array.isArray(s.channel_overrides)
      ? s.channel_overrides
      : Object.entries(s.channel_overrides ?? {}).map(([channel_id, o]) => ({ channel_id, ...(o as object) })),
    version: s.version,
  } as GuildSettings;
}
