// The one REST module. Every request of an account goes through its Api:
// the base URL and token come from the account, Discord's error bodies become
// ApiError, and a 429 waits for retry_after and tries again.

import type { WellKnown } from './types';

export interface FieldErrors {
  [field: string]: { _errors?: { code: string; message: string }[] } & FieldErrors;
}

/** A refusal from the server, with Discord's code and message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: number;
  readonly errors?: FieldErrors;
  constructor(status: number, code: number, message: string, errors?: FieldErrors) {
    super(message);
    this.status = status;
    this.code = code;
    this.errors = errors;
  }
  /** The first field error's message, else the error's own message. */
  get reason(): string {
    const first = this.errors ? firstFieldError(this.errors) : undefined;
    return first ?? this.message;
  }
}

function firstFieldError(e: FieldErrors): string | undefined {
  for (const v of Object.values(e)) {
    if (!v || typeof v !== 'object') continue;
    const list = v._errors;
    if (Array.isArray(list) && list[0]?.message) return list[0].message;
    const nested = firstFieldError(v as FieldErrors);
    if (nested) return nested;
  }
  return undefined;
}

/** The network failed or the answer was not what a homeserver sends. */
export class NetworkError extends Error {}

export type Fetcher = typeof fetch;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
  /** How many 429s to wait out before giving up. */
  retries?: number;
}

export class Api {
  readonly base: string;
  token: string;
  /** Called once when the server says the token is no longer valid. */
  onUnauthorized?: () => void;
  /** Called when the server answered: a gateway waiting to reconnect may try now. */
  onReachable?: () => void;
  /** Called while waiting out a rate limit (seconds), for a countdown. */
  onRateLimited?: (seconds: number) => void;
  private readonly fetcher: Fetcher;

  constructor(base: string, token: string, fetcher: Fetcher = (...a) => fetch(...a)) {
    this.base = base.replace(/\/+$/, '');
    this.token = token;
    this.fetcher = fetcher;
  }

  url(path: string, query?: RequestOptions['query']): string {
    let u = this.base + path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
      const s = q.toString();
      if (s) u += '?' + s;
    }
    return u;
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    let retries = opts.retries ?? 3;
    for (;;) {
      const headers: Record<string, string> = {};
      if (this.token) headers['Authorization'] = this.token;
      let body: BodyInit | undefined;
      if (opts.body !== undefined) {
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(opts.body);
      }
      let res: Response;
      try {
        res = await this.fetcher(this.url(path, opts.query), { method, headers, body, signal: opts.signal });
      } catch (e) {
        if (e instanceof DOMException && e.name === 'AbortError') throw e;
        throw new NetworkError('The homeserver could not be reached.');
      }
      if (res.status === 429 && retries > 0 && !(await isSlowmode(res))) {
        retries--;
        const wait = await retryAfter(res);
        this.onRateLimited?.(wait);
        await sleep(wait * 1000);
        continue;
      }
      if (res.status < 500) this.onReachable?.();
      return parseAnswer<T>(res, () => this.onUnauthorized?.());
    }
  }

  get<T>(path: string, query?: RequestOptions['query']) {
    return this.request<T>('GET', path, { query });
  }
  post<T>(path: string, body?: unknown) {
    return this.request<T>('POST', path, { body: body ?? {} });
  }
  patch<T>(path: string, body: unknown) {
    return this.request<T>('PATCH', path, { body });
  }
  put<T>(path: string, body?: unknown) {
    return this.request<T>('PUT', path, { body });
  }
  delete<T>(path: string) {
    return this.request<T>('DELETE', path);
  }

  /** A multipart upload with progress, through XHR (fetch has no upload progress). */
  upload<T>(path: string, form: FormData, onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', this.url(path));
      if (this.token) xhr.setRequestHeader('Authorization', this.token);
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      };
      xhr.onerror = () => reject(new NetworkError('The upload failed: the homeserver could not be reached.'));
      xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
      xhr.onload = () => {
        const res = new Response(xhr.status === 204 ? null : xhr.responseText, {
          status: xhr.status,
          headers: { 'Content-Type': xhr.getResponseHeader('Content-Type') ?? '' },
        });
        parseAnswer<T>(res, () => this.onUnauthorized?.()).then(resolve, reject);
      };
      signal?.addEventListener('abort', () => xhr.abort());
      xhr.send(form);
    });
  }
}

/** Slowmode (20016) is the channel's rule, not a burst: the person is told, not kept waiting. */
async function isSlowmode(res: Response): Promise<boolean> {
  try {
    return ((await res.clone().json()) as { code?: number }).code === 20016;
  } catch {
    return false;
  }
}

async function retryAfter(res: Response): Promise<number> {
  try {
    const j = (await res.clone().json()) as { retry_after?: number };
    if (typeof j.retry_after === 'number' && j.retry_after >= 0) return Math.min(j.retry_after, 60);
  } catch {
    /* fall back to the header */
  }
  const h = Number(res.headers.get('Retry-After'));
  return Number.isFinite(h) && h > 0 ? Math.min(h, 60) : 1;
}

async function parseAnswer<T>(res: Response, unauthorized: () => void): Promise<T> {
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    throw new NetworkError(`The homeserver answered something that is not JSON (HTTP ${res.status}).`);
  }
  if (res.ok) return data as T;
  const e = (data ?? {}) as { code?: number; message?: string; errors?: FieldErrors };
  if (res.status === 401) unauthorized();
  throw new ApiError(res.status, e.code ?? 0, e.message ?? `HTTP ${res.status}`, e.errors);
}

/** Normalises what a person types into the homeserver field into an origin. */
export function homeserverOrigin(input: string, pageOrigin: string): string {
  let s = input.trim();
  if (!s) return pageOrigin;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    const pageProto = pageOrigin.startsWith('https:') ? 'https:' : 'http:';
    s = pageProto + '//' + s;
  }
  const u = new URL(s); // throws on nonsense
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('The homeserver address must start with http:// or https://.');
  return u.origin;
}

/**
 * Reads /.well-known/hearth of a homeserver and says in one sentence what is
 * wrong when it is not a Hearth homeserver.
 */
export async function discover(input: string, pageOrigin: string, fetcher: Fetcher = (...a) => fetch(...a)): Promise<WellKnown & { origin: string }> {
  let origin: string;
  try {
    origin = homeserverOrigin(input, pageOrigin);
  } catch (e) {
    throw new Error(e instanceof Error && e.message.startsWith('The homeserver') ? e.message : `"${input}" is not a homeserver address.`);
  }
  if (pageOrigin.startsWith('https:') && origin.startsWith('http:')) {
    throw new Error('This page is served over https, so it cannot talk to a homeserver over plain http.');
  }
  let res: Response;
  try {
    res = await fetcher(origin + '/.well-known/hearth', { headers: { Accept: 'application/json' } });
  } catch {
    throw new Error(`${origin} cannot be reached: it is down, or it does not allow this page to talk to it.`);
  }
  if (!res.ok) throw new Error(`${origin} is not a Hearth homeserver (it answered HTTP ${res.status} for /.well-known/hearth).`);
  let wk: Partial<WellKnown>;
  try {
    wk = (await res.json()) as Partial<WellKnown>;
  } catch {
    throw new Error(`${origin} is not a Hearth homeserver (its /.well-known/hearth is not JSON).`);
  }
  if (!wk || typeof wk !== 'object' || wk.software !== 'hearth' || typeof wk.client_api !== 'string' || typeof wk.gateway !== 'string') {
    throw new Error(`${origin} is not a Hearth homeserver (its /.well-known/hearth does not describe one).`);
  }
  try {
    new URL(wk.client_api);
    new URL(wk.gateway);
  } catch {
    throw new Error(`${origin} answered a /.well-known/hearth with broken addresses.`);
  }
  return { server_name: wk.server_name ?? origin, software: wk.software, version: wk.version, client_api: wk.client_api, gateway: wk.gateway, origin };
}
