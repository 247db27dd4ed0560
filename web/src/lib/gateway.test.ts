import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { backoffDelay, Gateway, type Dispatch } from './gateway';

describe('backoff', () => {
  test('jittered, capped at 30 s', () => {
    for (let a = 0; a < 40; a++) {
      const lo = backoffDelay(a, () => 0);
      const hi = backoffDelay(a, () => 1);
      expect(lo).toBeLessThanOrEqual(hi);
      expect(hi).toBeLessThanOrEqual(30_000);
      expect(lo).toBeGreaterThan(0);
    }
    expect(backoffDelay(100, () => 1)).toBe(30_000);
  });
});

/** A scripted socket: records what the client sends, lets the test play the server. */
class FakeSocket {
  static last: FakeSocket | null = null;
  static all: FakeSocket[] = [];
  readyState = 1;
  sent: { op: number; d: unknown }[] = [];
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  url: string;
  constructor(url: string) {
    this.url = url;
    FakeSocket.last = this;
    FakeSocket.all.push(this);
  }
  send(s: string) {
    this.sent.push(JSON.parse(s));
  }
  close(code = 1000) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
  serve(p: unknown) {
    this.onmessage?.({ data: JSON.stringify(p) });
  }
}

function setup() {
  FakeSocket.all = [];
  const batches: Dispatch[][] = [];
  let fresh: boolean[] = [];
  const gw = new Gateway({
    url: 'ws://x/gateway',
    token: 't',
    onDispatches: (b) => batches.push(b),
    onFreshSession: (afterLoss) => fresh.push(afterLoss),
    WebSocketImpl: FakeSocket as unknown as typeof WebSocket,
    schedule: (fn) => fn(),
  });
  return { gw, batches, fresh: () => fresh, reset: () => (fresh = []) };
}

describe('gateway', () => {
  // Fake timers: the test moves the clock, nothing waits for real time.
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  test('identifies, then resumes with the last sequence after a drop', async () => {
    const { gw, batches } = setup();
    gw.connect();
    const s1 = FakeSocket.last!;
    s1.serve({ op: 10, d: { heartbeat_interval: 100000 } });
    expect(s1.sent[0]!.op).toBe(2);
    s1.serve({ op: 0, t: 'READY', s: 1, d: { session_id: 'abc', resume_gateway_url: 'ws://y/gateway', user: { id: '1' } } });
    s1.serve({ op: 0, t: 'MESSAGE_CREATE', s: 2, d: { id: '5' } });
    expect(batches.flat().map((d) => d.t)).toEqual(['READY', 'MESSAGE_CREATE']);
    s1.close(1006);
    vi.advanceTimersByTime(600);
    const s2 = FakeSocket.last!;
    expect(s2).not.toBe(s1);
    expect(s2.url.startsWith('ws://y/gateway')).toBe(true);
    s2.serve({ op: 10, d: { heartbeat_interval: 100000 } });
    expect(s2.sent[0]).toEqual({ op: 6, d: { token: 't', session_id: 'abc', seq: 2 } });
    gw.close();
  });

  test('INVALID_SESSION leads to a fresh IDENTIFY and a gap fill signal', async () => {
    const { gw, fresh } = setup();
    gw.connect();
    const s1 = FakeSocket.last!;
    s1.serve({ op: 10, d: { heartbeat_interval: 100000 } });
    s1.serve({ op: 0, t: 'READY', s: 1, d: { session_id: 'abc', user: { id: '1' } } });
    expect(fresh()).toEqual([false]);
    s1.close(1006);
    vi.advanceTimersByTime(600);
    const s2 = FakeSocket.last!;
    s2.serve({ op: 10, d: { heartbeat_interval: 100000 } });
    expect(s2.sent[0]!.op).toBe(6);
    s2.serve({ op: 9, d: false });
    vi.advanceTimersByTime(2100);
    expect(s2.sent.some((p) => p.op === 2)).toBe(true);
    s2.serve({ op: 0, t: 'READY', s: 1, d: { session_id: 'def', user: { id: '1' } } });
    expect(fresh()).toEqual([false, true]);
    gw.close();
  });

  test('a missed heartbeat ACK drops the socket and resumes', async () => {
    const { gw } = setup();
    gw.connect();
    const s1 = FakeSocket.last!;
    s1.serve({ op: 10, d: { heartbeat_interval: 40 } });
    s1.serve({ op: 0, t: 'READY', s: 1, d: { session_id: 'abc', user: { id: '1' } } });
    // No op 11 ever comes: the second beat finds the first unanswered.
    vi.advanceTimersByTime(700);
    expect(FakeSocket.all.length).toBeGreaterThan(1);
    gw.close();
  });

  test('RECONNECT (op 7) reconnects and resumes', async () => {
    const { gw } = setup();
    gw.connect();
    const s1 = FakeSocket.last!;
    s1.serve({ op: 10, d: { heartbeat_interval: 100000 } });
    s1.serve({ op: 0, t: 'READY', s: 3, d: { session_id: 'abc', user: { id: '1' } } });
    s1.serve({ op: 7, d: null });
    vi.advanceTimersByTime(600);
    const s2 = FakeSocket.last!;
    s2.serve({ op: 10, d: { heartbeat_interval: 100000 } });
    expect(s2.sent[0]).toEqual({ op: 6, d: { token: 't', session_id: 'abc', seq: 3 } });
    gw.close();
  });
});
