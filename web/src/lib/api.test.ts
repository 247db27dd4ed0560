import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { Api, ApiError, discover, homeserverOrigin } from './api';

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

describe('Api', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  test('a 429 waits retry_after and tries again', async () => {
    const answers = [json(429, { message: 'You are being rate limited.', retry_after: 0.5, global: false, code: 0 }), json(200, { ok: 1 })];
    const calls: number[] = [];
    const api = new Api('http://h/api/v10', 'tok', async () => {
      calls.push(Date.now());
      return answers.shift()!;
    });
    const p = api.get<{ ok: number }>('/x');
    await vi.advanceTimersByTimeAsync(499);
    expect(calls.length).toBe(1);
    await vi.advanceTimersByTimeAsync(2);
    await expect(p).resolves.toEqual({ ok: 1 });
    expect(calls.length).toBe(2);
  });

  test('slowmode (20016) is reported, not waited out', async () => {
    let n = 0;
    const api = new Api('http://h/api/v10', 'tok', async () => {
      n++;
      return json(429, { code: 20016, message: 'Slowmode is on: wait 10 seconds.', retry_after: 10 });
    });
    const e = (await api.post('/channels/1/messages', {}).catch((x: unknown) => x)) as ApiError;
    expect(n).toBe(1);
    expect(e.code).toBe(20016);
  });

  test("Discord's error shape becomes ApiError with the field's reason", async () => {
    const api = new Api('http://h/api/v10', 'tok', async () =>
      json(400, { code: 50035, message: 'Invalid Form Body', errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 4000 or fewer in length.' }] } } }),
    );
    const e = (await api.post('/channels/1/messages', { content: 'x' }).catch((x: unknown) => x)) as ApiError;
    expect(e).toBeInstanceOf(ApiError);
    expect(e.code).toBe(50035);
    expect(e.reason).toBe('Must be 4000 or fewer in length.');
  });

  test('401 tells the account its token ended', async () => {
    const api = new Api('http://h/api/v10', 'tok', async () => json(401, { code: 0, message: '401: Unauthorized' }));
    let ended = false;
    api.onUnauthorized = () => (ended = true);
    await api.get('/users/@me').catch(() => {});
    expect(ended).toBe(true);
  });

  test('sends the token and JSON', async () => {
    let seen: RequestInit | undefined;
    const api = new Api('http://h/api/v10/', 'tok', async (_u, init) => {
      seen = init;
      return json(200, {});
    });
    await api.post('/guilds', { name: 'g' });
    expect((seen!.headers as Record<string, string>).Authorization).toBe('tok');
    expect(seen!.body).toBe('{"name":"g"}');
  });
});

describe('discover', () => {
  const wk = { server_name: 'a:1', software: 'hearth', version: '1', client_api: 'http://a:1/api/v10', gateway: 'ws://a:1/gateway' };
  test('reads /.well-known/hearth', async () => {
    const r = await discover('a:1', 'http://page', async (u) => {
      expect(String(u)).toBe('http://a:1/.well-known/hearth');
      return json(200, wk);
    });
    expect(r.client_api).toBe('http://a:1/api/v10');
  });
  test('down, not Hearth, or garbage: one clear sentence each', async () => {
    await expect(discover('a:1', 'http://page', async () => Promise.reject(new TypeError('fetch failed')))).rejects.toThrow(/cannot be reached/);
    await expect(discover('a:1', 'http://page', async () => new Response('<html>', { status: 404 }))).rejects.toThrow(/not a Hearth homeserver/);
    await expect(discover('a:1', 'http://page', async () => new Response('<html>', { status: 200 }))).rejects.toThrow(/not JSON/);
    await expect(discover('a:1', 'http://page', async () => json(200, { software: 'matrix' }))).rejects.toThrow(/does not describe one/);
    await expect(discover('http://a:1', 'https://page', async () => json(200, wk))).rejects.toThrow(/https/);
  });
  test('homeserver field forms', () => {
    expect(homeserverOrigin('', 'http://page:8080')).toBe('http://page:8080');
    expect(homeserverOrigin('example.org', 'https://page')).toBe('https://example.org');
    expect(homeserverOrigin('http://127.0.0.1:18081/some/path', 'http://page')).toBe('http://127.0.0.1:18081');
  });
});
