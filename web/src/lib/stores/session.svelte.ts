// The accounts signed in on this browser (several homeservers at once) and
// which one is on screen. Tokens live in localStorage, one entry per account.

import { Api, ApiError, discover } from '../api';
import { Account, type StoredAccount } from './account.svelte';

const KEY = 'hearth.accounts';
const ACTIVE = 'hearth.active';
const LAST_SERVER = 'hearth.homeserver';
const IDLE_MS = 10 * 60 * 1000;

function load(): StoredAccount[] {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? '[]') as StoredAccount[];
    return Array.isArray(v) ? v.filter((a) => a && a.token && a.clientApi && a.gateway) : [];
  } catch {
    return [];
  }
}

export class Session {
  accounts = $state.raw<Account[]>([]);
  activeKey = $state<string | null>(null);
  /** Why the last account went back to sign-in (expired token). */
  notice = $state('');
  /** The homeserver typed last, kept when a token expires. */
  lastHomeserver = $state('');
  private idleTimer: ReturnType<typeof setTimeout> | null = null;

  get active(): Account | null {
    return this.accounts.find((a) => a.key === this.activeKey) ?? this.accounts[0] ?? null;
  }

  init() {
    this.lastHomeserver = localStorage.getItem(LAST_SERVER) ?? '';
    this.accounts = load().map((s) => new Account(s, (a) => this.expired(a)));
    this.activeKey = localStorage.getItem(ACTIVE);
    for (const a of this.accounts) a.start();
    this.watchIdle();
    window.addEventListener('online', () => this.accounts.forEach((a) => a.gateway.poke()));
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) this.accounts.forEach((a) => a.gateway.poke());
    });
  }

  private persist() {
    localStorage.setItem(KEY, JSON.stringify(this.accounts.map((a) => a.stored)));
    if (this.activeKey) localStorage.setItem(ACTIVE, this.activeKey);
  }

  switchTo(key: string) {
    this.activeKey = key;
    this.persist();
  }

  /** Signs in (or registers) on a homeserver; errors are sentences for the form. */
  async signIn(homeserver: string, username: string, password: string, register: boolean): Promise<Account> {
    const wk = await discover(homeserver, location.origin);
    const api = new Api(wk.client_api, '');
    let token: string;
    try {
      const r = register
        ? await api.post<{ token: string }>('/auth/register', { username, password })
        : await api.post<{ token: string }>('/auth/login', { login: username, password });
      if (!r || typeof r.token !== 'string') throw new Error(`${wk.origin} answered the sign-in with something that is not a token.`);
      token = r.token;
    } catch (e) {
      if (e instanceof ApiError) {
        if (e.status === 429) throw new Error('Too many attempts: wait a moment and try again.');
        throw new Error(e.reason);
      }
      throw e;
    }
    api.token = token;
    const me = await api.get<{ id: string; username: string }>('/users/@me');
    const stored: StoredAccount = {
      origin: wk.origin,
      serverName: wk.server_name,
      clientApi: wk.client_api,
      gateway: wk.gateway,
      token,
      userId: me.id,
      username: me.username,
    };
    this.lastHomeserver = homeserver;
    localStorage.setItem(LAST_SERVER, homeserver);
    const acct = new Account(stored, (a) => this.expired(a));
    const existing = this.accounts.find((a) => a.key === acct.key);
    if (existing) existing.stop();
    this.accounts = [...this.accounts.filter((a) => a.key !== acct.key), acct];
    this.activeKey = acct.key;
    this.notice = '';
    this.persist();
    acct.start();
    return acct;
  }

  async logOut(a: Account) {
    await a.logout();
    this.drop(a);
  }

  private drop(a: Account) {
    a.stop();
    this.accounts = this.accounts.filter((x) => x !== a);
    if (this.activeKey === a.key) this.activeKey = this.accounts[0]?.key ?? null;
    this.persist();
    if (!this.accounts.length) localStorage.removeItem(ACTIVE);
  }

  private expired(a: Account) {
    if (!this.accounts.includes(a)) return;
    this.lastHomeserver = a.stored.origin === location.origin ? '' : a.stored.origin;
    if (this.lastHomeserver) localStorage.setItem(LAST_SERVER, this.lastHomeserver);
    this.notice = `Your session on ${a.stored.serverName} has ended. Please sign in again.`;
    this.drop(a);
  }

  /** Idle after 10 minutes without input; back online on input unless set by hand. */
  private watchIdle() {
    const activity = () => {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      for (const a of this.accounts) if (a.autoIdle && a.status === 'idle') a.setStatus('online');
      this.idleTimer = setTimeout(() => {
        for (const a of this.accounts) if (a.status === 'online') a.setStatus('idle', undefined, true);
      }, IDLE_MS);
    };
    for (const ev of ['pointerdown', 'keydown', 'pointermove', 'focus', 'wheel']) window.addEventListener(ev, activity, { passive: true, capture: true });
    activity();
  }
}

export const session = new Session();
