// One signed-in account: its REST client, its gateway, and the state that
// both feed. Components read this state and call its actions; they never
// fetch. Message arrays live in $state.raw windows replaced as a whole.

import { SvelteMap } from 'svelte/reactivity';
import { Api, ApiError } from '../api';
import { Gateway, type Dispatch, type GatewayState } from '../gateway';
import { cmpId, fakeId } from '../snowflake';
import type { Channel, Emoji, Guild, Invite, Member, Message, Presence, Role, User } from '../types';
import {
  addPending,
  applyReaction,
  emptyWindow,
  insertLive,
  mergePage,
  refreshLatest,
  removeByKey,
  removeMessage,
  setStateByKey,
  trimWindow,
  updateMessage,
  WINDOW_CAP,
  type ChatMessage,
  type Window,
} from './window';
import { Living } from './living.svelte';
import { OutboxFiles } from './outboxfiles';

export interface StoredAccount {
  origin: string;
  serverName: string;
  clientApi: string;
  gateway: string;
  token: string;
  userId: string;
  username: string;
}

export interface GuildInfo {
  id: string;
  name: string;
  icon: string | null;
  ownerId: string;
  roles: readonly Role[];
  emojis: readonly Emoji[];
  memberCount: number;
}

export type Status = 'online' | 'idle' | 'dnd' | 'invisible';

const PAGE = 50;
const OLDER_PAGE = 100;
const MAX_WINDOWS = 25;
const MEMBER_PAGE = 1000;
const MEMBER_PAGES = 25;
const TYPING_MS = 10_000;
const OUTBOX = 'hearth.outbox.';

/** A send not yet answered by the server, kept across reloads. */
export interface OutboxEntry {
  channel: string;
  nonce: string;
  content: string;
  replyTo?: string;
  timestamp: string;
  /** Its files, whose bytes are in IndexedDB (OutboxFiles): enough to draw the row before they are read. */
  files?: { name: string; size: number; type: string }[];
  spoiler?: boolean;
}

export const TEXTUAL = new Set([0, 5, 10, 11, 12]);

export class Account {
  readonly stored: StoredAccount;
  readonly api: Api;
  readonly gateway: Gateway;

  user = $state.raw<User | null>(null);
  connection = $state<GatewayState>('idle');
  ready = $state(false);
  guilds = new SvelteMap<string, GuildInfo>();
  channels = new SvelteMap<string, Channel>();
  dms = new SvelteMap<string, Channel>();
  members = new SvelteMap<string, ReadonlyMap<string, Member>>();
  presences = new SvelteMap<string, Presence>();
  users = new SvelteMap<string, User>();
  windows = new SvelteMap<string, Window>();
  typing = new SvelteMap<string, ReadonlyMap<string, number>>();
  /** Upload progress (0–1) of pending rows with files, by row key. */
  uploads = new SvelteMap<string, number>();
  private aborts = new Map<string, AbortController>();
  status = $state<Status>('online');
  customStatus = $state('');
  /** When a rate limit being waited out ends (ms since the epoch), for a countdown; 0 when none. */
  rateLimitedUntil = $state(0);
  /** Idle set by the idle timer, not by hand: activity brings back online. */
  autoIdle = $state(false);
  /** The channel on screen, for the gap fill after a lost session. */
  openChannel: string | null = null;
  /** The thread open beside it, on screen too. */
  sideChannel: string | null = null;
  /** Guilds whose members were paged in over REST (or are being). */
  private membersPaged = new Set<string>();
  /** Older pages being fetched, so scrolling does not ask twice. */
  private fetching = new Set<string>();
  private typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private lastTypingSent = new Map<string, number>();
  private nonceSeq = 0;
  private onExpired: (a: Account) => void;
  /** Read states, relationships and notification settings (issue 16). */
  readonly living: Living;
  /** Screens that keep state of their own (the settings lists) and follow events the store does not hold. */
  private listeners = new Set<(t: string, d: any) => void>(); // eslint-disable-line @typescript-eslint/no-explicit-any

  constructor(stored: StoredAccount, onExpired: (a: Account) => void) {
    this.stored = stored;
    this.living = new Living(this);
    this.onExpired = onExpired;
    this.api = new Api(stored.clientApi, stored.token);
    this.api.onUnauthorized = () => this.onExpired(this);
    this.api.onRateLimited = (seconds) => {
      this.rateLimitedUntil = Math.max(this.rateLimitedUntil, Date.now() + seconds * 1000);
    };
    this.api.onReachable = () => {
      if (this.connection === 'backoff') this.gateway.poke();
    };
    this.gateway = new Gateway({
      url: stored.gateway,
      token: stored.token,
      onDispatches: (b) => this.apply(b),
      onState: (s) => {
        // Note where each live window stood when the connection went: the gap
        // fill starts there, not after messages our own REST sends added since.
        if (this.connection === 'ready' && s !== 'ready') this.markLoss();
        this.connection = s;
      },
      onAuthFailed: () => this.onExpired(this),
      onFreshSession: (afterLoss) => {
        if (afterLoss) void this.refillAfterLoss();
        this.flushOutbox();
      },
      presence: () => this.presencePayload(),
    });
  }

  get key() {
    return this.stored.userId + '@' + this.stored.serverName;
  }

  start() {
    this.gateway.connect();
  }

  /** Whether a channel is on screen: the open one or the thread beside it. */
  isOpen(channel: string): boolean {
    return channel === this.openChannel || channel === this.sideChannel;
  }

  /**
   * Calls `fn` with every dispatch after the store has applied it, until the
   * returned function is called: for screens whose lists the store does not
   * keep (bans, invites, the settings form), which must follow other
   * moderators' changes live.
   */
  listen(fn: (t: string, d: any) => void): () => void { // eslint-disable-line @typescript-eslint/no-explicit-any
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  stop() {
    this.gateway.close();
    for (const t of this.typingTimers.values()) clearTimeout(t);
    this.living.stop();
  }

  presencePayload() {
    const activities = this.customStatus ? [{ type: 4, name: 'Custom Status', state: this.customStatus }] : [];
    return { status: this.status, since: this.status === 'idle' ? Date.now() : null, activities, afk: this.status === 'idle' };
  }

  setStatus(s: Status, custom?: string, auto = false) {
    this.status = s;
    this.autoIdle = auto;
    if (custom !== undefined) this.customStatus = custom;
    this.gateway.updatePresence();
    if (this.user) this.presences.set(this.user.id, { user: { id: this.user.id }, status: s === 'invisible' ? 'offline' : s, activities: this.presencePayload().activities });
  }

  // ---- gateway events ----

  private apply(batch: Dispatch[]) {
    for (const { t, d } of batch) {
      try {
        this.applyOne(t, d);
        this.living.handle(t, d);
        for (const l of this.listeners) l(t, d);
      } catch (e) {
        console.error('dispatch', t, e);
      }
    }
  }

  private applyOne(t: string, d: any) { // eslint-disable-line @typescript-eslint/no-explicit-any
    switch (t) {
      case 'READY': {
        this.user = d.user as User;
        this.users.set(d.user.id, d.user);
        this.guilds.clear();
        this.dms.clear();
        for (const c of (d.private_channels ?? []) as Channel[]) this.addDM(c);
        for (const g of (d.guilds ?? []) as Guild[]) if (!g.unavailable) this.addGuild(g);
        this.ready = true;
        break;
      }
      case 'GUILD_CREATE':
        this.addGuild(d as Guild);
        break;
      case 'GUILD_UPDATE': {
        const g = this.guilds.get(d.id);
        if (g) this.guilds.set(d.id, { ...g, name: d.name ?? g.name, icon: d.icon ?? null, ownerId: d.owner_id ?? g.ownerId, roles: d.roles ?? g.roles, emojis: d.emojis ?? g.emojis });
        break;
      }
      case 'GUILD_DELETE':
        this.removeGuild(d.id);
        break;
      case 'CHANNEL_CREATE':
      case 'CHANNEL_UPDATE':
      case 'THREAD_CREATE':
      case 'THREAD_UPDATE': {
        const c = d as Channel;
        if (c.guild_id) this.channels.set(c.id, c);
        else this.addDM(c);
        break;
      }
      case 'CHANNEL_RECIPIENT_ADD':
      case 'CHANNEL_RECIPIENT_REMOVE': {
        // Of a group one is in: the one added or removed gets
        // CHANNEL_CREATE or CHANNEL_DELETE instead.
        const c = this.dms.get(d.channel_id);
        if (!c || !d.user) break;
        this.rememberUser(d.user);
        const others = (c.recipients ?? []).filter((u) => u.id !== d.user.id);
        this.dms.set(c.id, { ...c, recipients: t === 'CHANNEL_RECIPIENT_ADD' ? [...others, d.user] : others });
        break;
      }
      case 'CHANNEL_DELETE':
      case 'THREAD_DELETE':
        this.channels.delete(d.id);
        this.dms.delete(d.id);
        this.windows.delete(d.id);
        break;
      case 'GUILD_ROLE_CREATE':
      case 'GUILD_ROLE_UPDATE': {
        const g = this.guilds.get(d.guild_id);
        if (g) this.guilds.set(g.id, { ...g, roles: [...g.roles.filter((r) => r.id !== d.role.id), d.role] });
        break;
      }
      case 'GUILD_ROLE_DELETE': {
        const g = this.guilds.get(d.guild_id);
        if (g) this.guilds.set(g.id, { ...g, roles: g.roles.filter((r) => r.id !== d.role_id) });
        break;
      }
      case 'GUILD_EMOJIS_UPDATE': {
        const g = this.guilds.get(d.guild_id);
        if (g) this.guilds.set(g.id, { ...g, emojis: d.emojis ?? [] });
        break;
      }
      case 'GUILD_MEMBER_ADD':
      case 'GUILD_MEMBER_UPDATE':
        this.putMembers(d.guild_id, [d as Member]);
        break;
      case 'GUILD_MEMBERS_CHUNK':
        this.putMembers(d.guild_id, d.members ?? []);
        break;
      case 'GUILD_MEMBER_REMOVE': {
        const m = this.members.get(d.guild_id);
        if (m && d.user?.id) {
          const n = new Map(m);
          n.delete(d.user.id);
          this.members.set(d.guild_id, n);
        }
        break;
      }
      case 'PRESENCE_UPDATE':
        if (d.user?.id) this.presences.set(d.user.id, d as Presence);
        break;
      case 'USER_UPDATE':
        this.user = { ...(this.user ?? {}), ...d } as User;
        this.users.set(d.id, this.user);
        break;
      case 'MESSAGE_CREATE': {
        const m = d as Message;
        this.rememberUser(m.author);
        this.stopTyping(m.channel_id, m.author.id);
        const w = this.windows.get(m.channel_id);
        // A channel on screen is kept to its cap by its list (keepCap).
        if (w) this.windows.set(m.channel_id, insertLive(w, m, this.isOpen(m.channel_id) ? Infinity : WINDOW_CAP));
        const dm = this.dms.get(m.channel_id);
        if (dm) this.dms.set(dm.id, { ...dm, last_message_id: m.id });
        break;
      }
      case 'MESSAGE_UPDATE': {
        const w = this.windows.get(d.channel_id);
        if (w) this.windows.set(d.channel_id, updateMessage(w, d.id, stripUndefined(d)));
        break;
      }
      case 'MESSAGE_DELETE': {
        const w = this.windows.get(d.channel_id);
        if (w) this.windows.set(d.channel_id, removeMessage(w, d.id));
        break;
      }
      case 'MESSAGE_DELETE_BULK': {
        let w = this.windows.get(d.channel_id);
        if (w) {
          for (const id of d.ids ?? []) w = removeMessage(w, id);
          this.windows.set(d.channel_id, w);
        }
        break;
      }
      case 'MESSAGE_REACTION_ADD':
      case 'MESSAGE_REACTION_REMOVE': {
        const w = this.windows.get(d.channel_id);
        if (!w) break;
        const mine = d.user_id === this.user?.id;
        const delta = t === 'MESSAGE_REACTION_ADD' ? 1 : -1;
        this.windows.set(d.channel_id, updateMessage(w, d.message_id, (m) => applyReaction(m, d.emoji, delta, mine)));
        break;
      }
      case 'MESSAGE_REACTION_REMOVE_ALL': {
        const w = this.windows.get(d.channel_id);
        if (w) this.windows.set(d.channel_id, updateMessage(w, d.message_id, { reactions: [] }));
        break;
      }
      case 'MESSAGE_REACTION_REMOVE_EMOJI': {
        const w = this.windows.get(d.channel_id);
        if (w)
          this.windows.set(
            d.channel_id,
            updateMessage(w, d.message_id, (m) => ({ reactions: (m.reactions ?? []).filter((r) => !(d.emoji.id ? r.emoji.id === d.emoji.id : r.emoji.name === d.emoji.name)) })),
          );
        break;
      }
      case 'TYPING_START': {
        if (d.user_id === this.user?.id) break;
        if (d.member?.user) this.rememberUser(d.member.user);
        const cur = new Map(this.typing.get(d.channel_id) ?? []);
        cur.set(d.user_id, Date.now() + TYPING_MS);
        this.typing.set(d.channel_id, cur);
        const k = d.channel_id + ':' + d.user_id;
        clearTimeout(this.typingTimers.get(k));
        this.typingTimers.set(k, setTimeout(() => this.stopTyping(d.channel_id, d.user_id), TYPING_MS));
        break;
      }
    }
  }

  private stopTyping(channel: string, user: string) {
    const cur = this.typing.get(channel);
    if (!cur?.has(user)) return;
    const n = new Map(cur);
    n.delete(user);
    this.typing.set(channel, n);
    clearTimeout(this.typingTimers.get(channel + ':' + user));
  }

  private rememberUser(u: User | undefined) {
    if (!u?.id) return;
    const prev = this.users.get(u.id);
    if (!prev || prev.username !== u.username || prev.global_name !== u.global_name || prev.avatar !== u.avatar) this.users.set(u.id, u);
  }

  private addDM(c: Channel) {
    for (const u of c.recipients ?? []) this.rememberUser(u);
    this.dms.set(c.id, c);
  }

  private addGuild(g: Guild) {
    this.guilds.set(g.id, {
      id: g.id,
      name: g.name,
      icon: g.icon ?? null,
      ownerId: g.owner_id ?? '',
      roles: g.roles ?? [],
      emojis: g.emojis ?? [],
      memberCount: g.member_count ?? g.members?.length ?? 0,
    });
    for (const c of g.channels ?? []) this.channels.set(c.id, { ...c, guild_id: g.id });
    for (const c of g.threads ?? []) this.channels.set(c.id, { ...c, guild_id: g.id });
    this.members.set(g.id, new Map());
    this.membersPaged.delete(g.id);
    this.putMembers(g.id, g.members ?? []);
    for (const p of g.presences ?? []) this.presences.set(p.user.id, p);
  }

  private removeGuild(id: string) {
    this.guilds.delete(id);
    this.members.delete(id);
    for (const [cid, c] of this.channels) if (c.guild_id === id) {
      this.channels.delete(cid);
      this.windows.delete(cid);
    }
  }

  private putMembers(guild: string, list: Member[]) {
    const n = new Map(this.members.get(guild) ?? []);
    for (const m of list) {
      if (!m.user) continue;
      this.rememberUser(m.user);
      n.set(m.user.id, m);
    }
    this.members.set(guild, n);
  }

  /**
   * Pages in the members GUILD_CREATE left out: a large guild's carries
   * only oneself. Once per guild state; members who join later arrive as
   * GUILD_MEMBER_ADD.
   */
  async loadMembers(guild: string) {
    const g = this.guilds.get(guild);
    if (!g || this.membersPaged.has(guild) || (this.members.get(guild)?.size ?? 0) >= g.memberCount) return;
    this.membersPaged.add(guild);
    try {
      let after = '0';
      for (let i = 0; i < MEMBER_PAGES; i++) {
        const page = await this.api.get<Member[]>(`/guilds/${guild}/members`, { limit: MEMBER_PAGE, after });
        if (!this.guilds.has(guild)) return;
        this.putMembers(guild, page);
        if (page.length < MEMBER_PAGE) break;
        after = page.reduce((a: string, m: Member) => (m.user && cmpId(m.user.id, a) > 0 ? m.user.id : a), after);
      }
    } catch (e) {
      // Asked again the next time the list is shown.
      this.membersPaged.delete(guild);
      console.warn('member list', e);
    }
  }

  // ---- reading ----

  displayName(userId: string, guildId?: string): string {
    if (guildId) {
      const m = this.members.get(guildId)?.get(userId);
      if (m?.nick) return m.nick;
    }
    const u = this.users.get(userId);
    return u ? u.global_name || u.username : 'unknown-user';
  }

  /** A user's status as shown here; one's own comes from this session, not the server's echo. */
  statusOf(userId: string): string {
    if (userId === this.user?.id) return this.status === 'invisible' ? 'offline' : this.status;
    return this.presences.get(userId)?.status ?? 'offline';
  }

  dmName(c: Channel): string {
    if (c.name) return c.name;
    const others = (c.recipients ?? []).filter((u) => u.id !== this.user?.id);
    return others.map((u) => u.username).join(', ') || 'Direct message';
  }

  channelName(c: Channel): string {
    return c.guild_id ? (c.name ?? 'channel') : this.dmName(c);
  }

  roleColor(guildId: string, userId: string): string | null {
    const g = this.guilds.get(guildId);
    const m = this.members.get(guildId)?.get(userId);
    if (!g || !m) return null;
    let best: Role | null = null;
    for (const r of g.roles) if (r.color && m.roles.includes(r.id) && (!best || r.position > best.position)) best = r;
    return best ? '#' + best.color.toString(16).padStart(6, '0') : null;
  }

  avatarUrl(u: User | undefined, size = 64): string | null {
    if (!u?.avatar) return null;
    return `${this.stored.origin}/avatars/${u.id}/${u.avatar}.png?width=${size}&height=${size}`;
  }

  emojiUrl(id: string, animated = false, size = 48): string {
    return `${this.stored.origin}/emojis/${id}.${animated ? 'gif' : 'png'}?width=${size}&height=${size}`;
  }

  // ---- messages ----

  private touchWindow(channel: string, w: Window) {
    // LRU: re-insertion moves the channel to the newest position.
    this.windows.delete(channel);
    this.windows.set(channel, w);
    while (this.windows.size > MAX_WINDOWS) {
      const oldest = this.windows.keys().next().value as string;
      if (this.isOpen(oldest)) break;
      this.windows.delete(oldest);
    }
  }

  async loadLatest(channel: string, force = false) {
    const have = this.windows.get(channel);
    if (have && have.atEnd && !force) {
      this.touchWindow(channel, have);
      return;
    }
    const page = await this.api.get<Message[]>(`/channels/${channel}/messages`, { limit: PAGE });
    // A send or a live message while the page was on its way is not in it.
    let w = refreshLatest(have, this.windows.get(channel), page, PAGE);
    // Sends kept from before a reload show as pending until they land; one
    // already stored (its nonce answered) replaces its row when it does.
    for (const o of this.outbox()) {
      if (o.channel !== channel || w.msgs.some((m) => m.key === o.nonce || m.nonce === o.nonce)) continue;
      w = addPending(w, this.outboxRow(o));
    }
    for (const m of page) this.rememberUser(m.author);
    this.touchWindow(channel, w);
  }

  /** `beforeApply` runs just before the page lands (the list notes its anchor row then; it may wait for a frame first). */
  async loadOlder(channel: string, beforeApply?: () => void | Promise<void>): Promise<boolean> {
    const w = this.windows.get(channel);
    if (!w || w.atStart || this.fetching.has(channel)) return false;
    const first = w.msgs.find((m) => !m.state);
    if (!first) return false;
    this.fetching.add(channel);
    try {
      // Older pages are fetched 100 at a time: half as many prepends (each
      // one a relayout of the list) while scrolling back.
      const page = await this.api.get<Message[]>(`/channels/${channel}/messages`, { before: first.id, limit: OLDER_PAGE });
      for (const m of page) this.rememberUser(m.author);
      await beforeApply?.();
      const cur = this.windows.get(channel) ?? w;
      this.windows.set(channel, mergePage(cur, page, 'before', OLDER_PAGE, Infinity));
      return page.length > 0;
    } finally {
      this.fetching.delete(channel);
    }
  }

  async loadNewer(channel: string): Promise<boolean> {
    const w = this.windows.get(channel);
    if (!w || w.atEnd || this.fetching.has(channel)) return false;
    const last = [...w.msgs].reverse().find((m) => !m.state);
    if (!last) return false;
    this.fetching.add(channel);
    try {
      const page = await this.api.get<Message[]>(`/channels/${channel}/messages`, { after: last.id, limit: PAGE });
      const cur = this.windows.get(channel) ?? w;
      this.windows.set(channel, mergePage(cur, page, 'after', PAGE, Infinity));
      return page.length > 0;
    } finally {
      this.fetching.delete(channel);
    }
  }

  /** Drops messages beyond the cap on the side away from the reader. */
  trim(channel: string, keep: 'start' | 'end') {
    const w = this.windows.get(channel);
    if (w) {
      const t = trimWindow(w, keep);
      if (t !== w) this.windows.set(channel, t);
    }
  }

  /** Loads the messages around one (reply jumps); the window no longer reaches the present. */
  async loadAround(channel: string, id: string) {
    const w = this.windows.get(channel);
    if (w?.msgs.some((m) => m.id === id)) return;
    const page = await this.api.get<Message[]>(`/channels/${channel}/messages`, { around: id, limit: PAGE });
    for (const m of page) this.rememberUser(m.author);
    const fresh = mergePage(emptyWindow(), page, 'before', PAGE);
    this.touchWindow(channel, { ...fresh, atStart: false, atEnd: false });
  }

  private lossMark = new Map<string, string>();

  private markLoss() {
    for (const [id, w] of this.windows) {
      if (!w.atEnd || this.lossMark.has(id)) continue;
      const last = lastConfirmed(w);
      if (last) this.lossMark.set(id, last);
    }
  }

  /** After a lost session: fill the gaps of the channels on screen, forget the others (stale). */
  private async refillAfterLoss() {
    const open = [this.openChannel, this.sideChannel].filter((c): c is string => !!c);
    const marks = this.lossMark;
    this.lossMark = new Map();
    for (const k of [...this.windows.keys()]) if (!open.includes(k)) this.windows.delete(k);
    await Promise.all(open.map((c) => this.refill(c, marks.get(c))));
  }

  private async refill(open: string, mark: string | undefined) {
    const w = this.windows.get(open);
    if (!w || !w.atEnd) return;
    let cursor: string | undefined = mark ?? lastConfirmed(w);
    try {
      if (!cursor) {
        await this.loadLatest(open, true);
        return;
      }
      for (let i = 0; i < 50; i++) {
        const page: Message[] = await this.api.get<Message[]>(`/channels/${open}/messages`, { after: cursor, limit: 100 });
        for (const m of page) this.rememberUser(m.author);
        const cur = this.windows.get(open);
        if (!cur) return;
        // The window stays "at the present": live events keep arriving meanwhile.
        // No cap: the list keeps a channel on screen to it (keepCap).
        this.windows.set(open, { ...mergePage(cur, page, 'after', 100, Infinity), atEnd: true });
        if (page.length < 100) break;
        cursor = page.reduce((a: string, m: Message) => (cmpId(m.id, a) > 0 ? m.id : a), cursor);
      }
    } catch (e) {
      console.warn('gap fill failed', e);
    }
  }

  newNonce(): string {
    return fakeId(Date.now(), this.nonceSeq++);
  }

  /** An optimistic send: a pending row now, reconciled by nonce with the server's answer or MESSAGE_CREATE. */
  async send(channel: string, content: string, opts: { replyTo?: string; files?: File[]; spoiler?: boolean } = {}) {
    const nonce = this.newNonce();
    const me = this.user!;
    const ref = opts.replyTo ? this.windows.get(channel)?.msgs.find((m) => m.id === opts.replyTo) : undefined;
    const row: ChatMessage = {
      id: nonce,
      key: nonce,
      channel_id: channel,
      author: me,
      content,
      timestamp: new Date().toISOString(),
      type: opts.replyTo ? 19 : 0,
      nonce,
      state: 'sending',
      attachments: (opts.files ?? []).map((f, i) => ({ id: nonce + i, filename: f.name, size: f.size, url: '', content_type: f.type })),
      message_reference: opts.replyTo ? { message_id: opts.replyTo } : undefined,
      referenced_message: ref ?? null,
    };
    const w = this.windows.get(channel) ?? { ...emptyWindow(), atEnd: true };
    this.windows.set(channel, addPending(w, row));
    const entry: OutboxEntry = { channel, nonce, content, replyTo: opts.replyTo, timestamp: row.timestamp };
    if (!opts.files?.length) this.keep(entry);
    else {
      // Files are kept before the send starts, so that a send answered
      // quickly is not kept again after it was forgotten. Over the bound, or
      // with no IndexedDB, the send goes without surviving a reload. Known to
      // this page from now on, so flushOutbox's sweep of unclaimed files
      // leaves them alone until the entry is written.
      this.pendingFiles.set(nonce, { files: opts.files, spoiler: opts.spoiler });
      if (await this.outboxFiles.put(this.filesKey(nonce), opts.files, opts.spoiler))
        this.keep({ ...entry, files: opts.files.map((f) => ({ name: f.name, size: f.size, type: f.type })), spoiler: opts.spoiler });
    }
    await this.deliver(channel, row, opts);
  }

  // ---- the outbox: sends survive a reload and are sent again with their
  // nonce (enforce_nonce makes the server answer the stored message instead
  // of storing a second one). Text and nonce are in localStorage; files, which
  // a File does not carry over a reload, are in IndexedDB (OutboxFiles). ----

  private readonly outboxFiles = new OutboxFiles();

  private filesKey(nonce: string) {
    return this.key + '|' + nonce;
  }

  private get outboxKey() {
    return OUTBOX + this.key;
  }

  outbox(): OutboxEntry[] {
    try {
      const v = JSON.parse(localStorage.getItem(this.outboxKey) ?? '[]') as OutboxEntry[];
      return Array.isArray(v) ? v.filter((o) => o && typeof o.nonce === 'string' && typeof o.channel === 'string') : [];
    } catch {
      return [];
    }
  }

  private writeOutbox(list: OutboxEntry[]) {
    try {
      if (list.length) localStorage.setItem(this.outboxKey, JSON.stringify(list));
      else localStorage.removeItem(this.outboxKey);
    } catch {
      /* storage full or refused: the send still goes, it just does not survive a reload */
    }
  }

  private keep(o: OutboxEntry) {
    this.writeOutbox([...this.outbox().filter((x) => x.nonce !== o.nonce), o]);
  }

  private forget(nonce: string | number | null | undefined) {
    if (typeof nonce !== 'string' || !nonce) return;
    const list = this.outbox();
    const o = list.find((x) => x.nonce === nonce);
    if (!o) return;
    this.writeOutbox(list.filter((x) => x.nonce !== nonce));
    if (o.files?.length) void this.outboxFiles.delete(this.filesKey(nonce));
  }

  private outboxRow(o: OutboxEntry): ChatMessage {
    return {
      id: o.nonce,
      key: o.nonce,
      channel_id: o.channel,
      author: this.user ?? ({ id: this.stored.userId, username: this.stored.username } as User),
      content: o.content,
      timestamp: o.timestamp,
      type: o.replyTo ? 19 : 0,
      nonce: o.nonce,
      state: 'sending',
      attachments: (o.files ?? []).map((f, i) => ({ id: o.nonce + i, filename: f.name, size: f.size, url: '', content_type: f.type })),
      message_reference: o.replyTo ? { message_id: o.replyTo } : undefined,
      referenced_message: null,
    };
  }

  private flushing = new Set<string>();

  /** Sends again what a reload interrupted (once per entry per page life). */
  private flushOutbox() {
    const list = this.outbox();
    for (const o of list) {
      if (this.flushing.has(o.nonce)) continue;
      if (this.windows.get(o.channel)?.msgs.some((m) => m.key === o.nonce && m.state)) continue; // being sent now
      this.flushing.add(o.nonce);
      const row = this.outboxRow(o);
      const w = this.windows.get(o.channel);
      if (w && !w.msgs.some((m) => m.key === o.nonce || m.nonce === o.nonce)) this.windows.set(o.channel, addPending(w, row));
      void this.redeliver(o, row).finally(() => this.flushing.delete(o.nonce));
    }
    // Files whose send is in no outbox any more (answered in a tab that was
    // closed before it could forget them): nothing will ask for them.
    const prefix = this.key + '|';
    const live = new Set(list.map((o) => this.filesKey(o.nonce)));
    void this.outboxFiles.keys().then((keys) => {
      for (const k of keys) if (k.startsWith(prefix) && !live.has(k) && this.pendingFilesKeyGone(k)) void this.outboxFiles.delete(k);
    });
  }

  /** Whether a kept-files key belongs to no send of this page either (one being kept right now is not in the outbox yet). */
  private pendingFilesKeyGone(k: string): boolean {
    return !this.pendingFiles.has(k.slice(this.key.length + 1)) && !this.outbox().some((o) => this.filesKey(o.nonce) === k);
  }

  /** Sends an outbox entry again, its files read back first. */
  private async redeliver(o: OutboxEntry, row: ChatMessage) {
    if (o.files?.length && !this.pendingFiles.has(row.key)) {
      const kept = await this.outboxFiles.get(this.filesKey(o.nonce));
      if (!kept) {
        // Cleared by the browser or another tab: sending the text alone would
        // be a different message, so the person decides (Retry sends the text).
        this.forget(o.nonce);
        const w = this.windows.get(o.channel);
        if (w) this.windows.set(o.channel, setStateByKey(w, row.key, { state: 'failed', error: 'The files of this message were not kept.', attachments: [] }));
        return;
      }
      this.pendingFiles.set(row.key, kept);
    }
    await this.deliver(o.channel, row, {});
  }

  private pendingFiles = new Map<string, { files: File[]; spoiler?: boolean }>();

  private async deliver(channel: string, row: ChatMessage, opts: { files?: File[]; spoiler?: boolean; signal?: AbortSignal }) {
    const body: Record<string, unknown> = { content: row.content, nonce: row.nonce, enforce_nonce: true };
    if (row.message_reference?.message_id) body.message_reference = { message_id: row.message_reference.message_id, fail_if_not_exists: false };
    const files = opts.files ?? this.pendingFiles.get(row.key)?.files ?? [];
    const spoiler = opts.spoiler ?? this.pendingFiles.get(row.key)?.spoiler;
    let signal = opts.signal;
    if (files.length) {
      this.pendingFiles.set(row.key, { files, spoiler });
      const ctl = new AbortController();
      this.aborts.set(row.key, ctl);
      signal = ctl.signal;
      this.uploads.set(row.key, 0);
    }
    try {
      let m: Message;
      if (files.length) {
        const form = new FormData();
        body.attachments = files.map((f, i) => ({ id: i, filename: spoiler ? 'SPOILER_' + f.name : f.name }));
        form.append('payload_json', JSON.stringify(body));
        files.forEach((f, i) => form.append(`files[${i}]`, f, spoiler ? 'SPOILER_' + f.name : f.name));
        m = await this.api.upload<Message>(`/channels/${channel}/messages`, form, (f) => this.uploads.set(row.key, f), signal);
      } else {
        m = await this.api.post<Message>(`/channels/${channel}/messages`, body);
      }
      this.pendingFiles.delete(row.key);
      this.uploads.delete(row.key);
      this.aborts.delete(row.key);
      this.forget(row.nonce);
      const w = this.windows.get(channel);
      if (w) this.windows.set(channel, insertLive(w, { ...m, nonce: row.nonce }));
    } catch (e) {
      const w = this.windows.get(channel);
      this.uploads.delete(row.key);
      this.aborts.delete(row.key);
      if (e instanceof DOMException && e.name === 'AbortError') {
        this.pendingFiles.delete(row.key);
        this.forget(row.nonce);
        if (w) this.windows.set(channel, removeByKey(w, row.key));
        return;
      }
      // A refusal is final: shown with Retry/Delete, not sent again after a
      // reload. A network failure or a server error stays in the outbox.
      if (e instanceof ApiError && e.status < 500) this.forget(row.nonce);
      const reason = e instanceof ApiError ? e.reason : e instanceof Error ? e.message : 'The message could not be sent.';
      if (w) this.windows.set(channel, setStateByKey(w, row.key, { state: 'failed', error: reason }));
    }
  }

  cancelUpload(key: string) {
    this.aborts.get(key)?.abort();
  }

  async retry(channel: string, key: string) {
    const w = this.windows.get(channel);
    const row = w?.msgs.find((m) => m.key === key);
    if (!w || !row) return;
    this.windows.set(channel, setStateByKey(w, key, { state: 'sending', error: undefined }));
    await this.deliver(channel, { ...row, state: 'sending' }, {});
  }

  discard(channel: string, key: string) {
    const w = this.windows.get(channel);
    this.pendingFiles.delete(key);
    this.forget(w?.msgs.find((m) => m.key === key)?.nonce ?? key);
    if (w) this.windows.set(channel, removeByKey(w, key));
  }

  async edit(channel: string, id: string, content: string) {
    const m = await this.api.patch<Message>(`/channels/${channel}/messages/${id}`, { content });
    const w = this.windows.get(channel);
    if (w) this.windows.set(channel, updateMessage(w, id, stripUndefined(m)));
  }

  async remove(channel: string, id: string) {
    await this.api.delete(`/channels/${channel}/messages/${id}`);
    const w = this.windows.get(channel);
    if (w) this.windows.set(channel, removeMessage(w, id));
  }

  async react(channel: string, id: string, emoji: string, on: boolean) {
    const path = `/channels/${channel}/messages/${id}/reactions/${encodeURIComponent(emoji)}/@me`;
    if (on) await this.api.put(path);
    else await this.api.delete(path);
  }

  reactors(channel: string, id: string, emoji: string) {
    return this.api.get<User[]>(`/channels/${channel}/messages/${id}/reactions/${encodeURIComponent(emoji)}`, { limit: 25 });
  }

  async pin(channel: string, id: string, on: boolean) {
    if (on) await this.api.put(`/channels/${channel}/pins/${id}`);
    else await this.api.delete(`/channels/${channel}/pins/${id}`);
    const w = this.windows.get(channel);
    if (w) this.windows.set(channel, updateMessage(w, id, { pinned: on }));
  }

  pins(channel: string) {
    return this.api.get<Message[]>(`/channels/${channel}/pins`);
  }

  /** Leaves a thread (it stays listed under its channel; one is just no longer a member). */
  async leaveThread(thread: string) {
    await this.api.delete(`/channels/${thread}/thread-members/@me`);
  }

  async createThread(channel: string, id: string, name: string) {
    const c = await this.api.post<Channel>(`/channels/${channel}/messages/${id}/threads`, { name });
    this.channels.set(c.id, c);
    return c;
  }

  typingNow(channel: string) {
    const last = this.lastTypingSent.get(channel) ?? 0;
    if (Date.now() - last < 8000) return;
    this.lastTypingSent.set(channel, Date.now());
    this.api.post(`/channels/${channel}/typing`).catch(() => {});
  }

  sentMessage(channel: string) {
    this.lastTypingSent.delete(channel);
  }

  // ---- guilds, invites, DMs, profile ----

  async createGuild(name: string) {
    const g = await this.api.post<Guild>('/guilds', { name });
    // The GUILD_CREATE dispatch fills the rest; the answer already names it.
    if (!this.guilds.has(g.id)) this.addGuild(g);
    if (!g.channels?.length) {
      const chans = await this.api.get<Channel[]>(`/guilds/${g.id}/channels`);
      for (const c of chans) this.channels.set(c.id, { ...c, guild_id: g.id });
    }
    return g;
  }

  previewInvite(code: string) {
    return this.api.get<Invite>(`/invites/${encodeURIComponent(code)}`, { with_counts: true });
  }

  async joinInvite(code: string) {
    const inv = await this.api.post<Invite>(`/invites/${encodeURIComponent(code)}`);
    const gid = inv.guild?.id;
    if (gid && !this.guilds.has(gid)) {
      const [g, chans] = await Promise.all([this.api.get<Guild>(`/guilds/${gid}`), this.api.get<Channel[]>(`/guilds/${gid}/channels`)]);
      if (!this.guilds.has(gid)) this.addGuild({ ...g, channels: chans });
    }
    return inv;
  }

  async createInvite(channel: string) {
    return this.api.post<{ code: string }>(`/channels/${channel}/invites`, { max_age: 0 });
  }

  async leaveGuild(id: string) {
    await this.api.delete(`/users/@me/guilds/${id}`);
    this.removeGuild(id);
  }

  async openDM(handle: string) {
    // A bare name is a user of one's own homeserver.
    const full = handle.includes('@') ? handle : `${handle}@${this.stored.serverName}`;
    const body = /^\d+$/.test(handle) ? { recipient_id: handle } : { recipient: full };
    const c = await this.api.post<Channel>('/users/@me/channels', body);
    this.addDM(c);
    return c;
  }

  /**
   * A group DM with several people named by handle (`name`, `name@server`)
   * or ID. Handles go as Hearth's `recipient_handles`, which the server
   * resolves itself (asking other homeservers), so no one-to-one DMs appear.
   */
  async openGroupDM(handles: string[]) {
    const recipients = handles.filter((h) => /^\d+$/.test(h));
    const named = handles.filter((h) => !/^\d+$/.test(h)).map((h) => (h.includes('@') ? h : `${h}@${this.stored.serverName}`));
    const body: Record<string, unknown> = { recipients };
    if (named.length) body.recipient_handles = named;
    const g = await this.api.post<Channel>('/users/@me/channels', body);
    this.addDM(g);
    return g;
  }

  async updateProfile(p: { global_name?: string | null; avatar?: string | null }) {
    const u = await this.api.patch<User>('/users/@me', p);
    this.user = u;
    this.users.set(u.id, u);
  }

  async logout() {
    try {
      await this.api.post('/auth/logout');
    } catch {
      /* the token is dropped here either way */
    }
    this.stop();
  }

  firstTextChannel(guild: string): Channel | undefined {
    return [...this.channels.values()]
      .filter((c) => c.guild_id === guild && (c.type === 0 || c.type === 5))
      .sort((a, b) => (a.position ?? 0) - (b.position ?? 0) || cmpId(a.id, b.id))[0];
  }
}

function lastConfirmed(w: Window): string | undefined {
  for (let i = w.msgs.length - 1; i >= 0; i--) if (!w.msgs[i]!.state) return w.msgs[i]!.id;
  return undefined;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
