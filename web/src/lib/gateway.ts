// The one gateway module: a socket per account. HELLO → IDENTIFY (or RESUME
// when a session exists), heartbeats with jitter and missed-ACK detection,
// RECONNECT (op 7), INVALID_SESSION (op 9), jittered backoff capped at 30 s.
// Dispatches are handed over in batches (those that arrive within 4 ms), so
// a RESUME replay of thousands of events is a few renders, not thousands.

export interface Dispatch {
  t: string;
  d: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- payloads are typed by the store per event
}

export type GatewayState = 'idle' | 'connecting' | 'identifying' | 'resuming' | 'ready' | 'backoff' | 'closed';

export interface GatewayOptions {
  url: string;
  token: string;
  /** Batches of dispatches in arrival order. */
  onDispatches: (batch: Dispatch[]) => void;
  onState?: (s: GatewayState) => void;
  /** The token was refused (4004): the account must sign in again. */
  onAuthFailed?: () => void;
  /** A fresh session began after a lost one: the caller refills from REST. */
  onFreshSession?: (afterLoss: boolean) => void;
  presence?: () => { status: string; since: number | null; activities: unknown[]; afk: boolean };
  WebSocketImpl?: typeof WebSocket;
  schedule?: (fn: () => void) => void;
}

const OP = { DISPATCH: 0, HEARTBEAT: 1, IDENTIFY: 2, PRESENCE: 3, RESUME: 6, RECONNECT: 7, INVALID_SESSION: 9, HELLO: 10, ACK: 11 } as const;

export function backoffDelay(attempt: number, rand = Math.random): number {
  // A restart is usually over in seconds: try every ~2 s for the first
  // half minute, then back off exponentially up to 30 s. The jitter (half to
  // all of the step) keeps a restarted server from being hit by every client
  // in the same millisecond.
  const base = attempt < 12 ? Math.min(2000, 500 * (attempt + 1)) : Math.min(30_000, 2000 * 2 ** Math.min(attempt - 11, 4));
  return Math.round(base / 2 + (rand() * base) / 2);
}

export class Gateway {
  state: GatewayState = 'idle';
  private ws: WebSocket | null = null;
  private seq: number | null = null;
  private sessionId: string | null = null;
  private resumeUrl: string | null = null;
  private heartbeatTimer: ReturnType<typeof setTimeout> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private interval = 41250;
  private acked = true;
  private attempt = 0;
  private queue: Dispatch[] = [];
  private flushing = false;
  private hadSession = false;
  private readonly o: GatewayOptions;

  constructor(o: GatewayOptions) {
    this.o = o;
  }

  private set(s: GatewayState) {
    this.state = s;
    this.o.onState?.(s);
  }

  connect() {
    if (this.state === 'closed') return;
    this.clearTimers();
    const base = this.sessionId && this.resumeUrl ? this.resumeUrl : this.o.url;
    const u = new URL(base);
    u.searchParams.set('v', '10');
    u.searchParams.set('encoding', 'json');
    const WS = this.o.WebSocketImpl ?? WebSocket;
    this.set('connecting');
    let ws: WebSocket;
    try {
      ws = new WS(u.toString());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      let p: { op: number; d: any; s?: number | null; t?: string | null }; // eslint-disable-line @typescript-eslint/no-explicit-any
      try {
        p = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      this.onPayload(p);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onClose(ev.code);
    };
  }

  /** Ends the connection for good (log out, account removed). */
  close() {
    this.set('closed');
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
  }

  /** Sends op 3 with the current presence. */
  updatePresence() {
    if (this.state !== 'ready' || !this.o.presence) return;
    this.send({ op: OP.PRESENCE, d: this.o.presence() });
  }

  /** Checks the connection now (the browser came back online or to the foreground). */
  poke() {
    if (this.state === 'backoff') {
      this.attempt = 0;
      this.connect();
    } else if (this.state === 'ready') {
      this.heartbeat();
    }
  }

  /** Drops the socket as a lost network would (used when the tab knows it is offline). */
  drop() {
    this.ws?.close(4000);
  }

  private send(p: unknown) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(p));
  }

  private onPayload(p: { op: number; d: any; s?: number | null; t?: string | null }) { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (typeof p.s === 'number') this.seq = p.s;
    switch (p.op) {
      case OP.HELLO: {
        this.interval = Number(p.d?.heartbeat_interval) || 41250;
        this.acked = true;
        // First beat at a random point of the interval, as Discord asks.
        this.heartbeatTimer = setTimeout(() => this.beatLoop(), this.interval * Math.random());
        if (this.sessionId) {
          this.set('resuming');
          this.send({ op: OP.RESUME, d: { token: this.o.token, session_id: this.sessionId, seq: this.seq } });
        } else {
          this.identify();
        }
        break;
      }
      case OP.ACK:
        this.acked = true;
        break;
      case OP.HEARTBEAT:
        this.heartbeat();
        break;
      case OP.RECONNECT:
        this.ws?.close(4000);
        break;
      case OP.INVALID_SESSION:
        if (p.d === true && this.sessionId) {
          this.send({ op: OP.RESUME, d: { token: this.o.token, session_id: this.sessionId, seq: this.seq } });
        } else {
          this.sessionId = null;
          this.seq = null;
          // Discord asks for a 1–5 s wait before identifying again.
          setTimeout(() => this.identify(), 1000 + Math.random() * 1000);
        }
        break;
      case OP.DISPATCH: {
        const t = p.t ?? '';
        if (t === 'READY') {
          this.sessionId = p.d?.session_id ?? null;
          this.resumeUrl = p.d?.resume_gateway_url ?? null;
          this.attempt = 0;
          this.set('ready');
          const afterLoss = this.hadSession;
          this.hadSession = true;
          this.enqueue({ t, d: p.d });
          this.flush();
          this.o.onFreshSession?.(afterLoss);
          return;
        }
        if (t === 'RESUMED') {
          this.attempt = 0;
          this.set('ready');
        }
        this.enqueue({ t, d: p.d });
        break;
      }
    }
  }

  private identify() {
    if (!this.ws) return;
    this.set('identifying');
    this.send({
      op: OP.IDENTIFY,
      d: {
        token: this.o.token,
        properties: { os: 'web', browser: 'hearth-web', device: 'hearth-web' },
        presence: this.o.presence?.(),
        intents: 0x1ffff,
      },
    });
  }

  private beatLoop() {
    if (!this.acked) {
      // No ACK for the last beat: the connection is a zombie.
      this.ws?.close(4000);
      return;
    }
    this.heartbeat();
    this.heartbeatTimer = setTimeout(() => this.beatLoop(), this.interval);
  }

  private heartbeat() {
    this.acked = false;
    this.send({ op: OP.HEARTBEAT, d: this.seq });
  }

  private onClose(code: number) {
    this.clearTimers();
    if (this.state === 'closed') return;
    if (code === 4004) {
      this.set('closed');
      this.o.onAuthFailed?.();
      return;
    }
    if (code === 4007 || code === 4003 || code === 4005) {
      this.sessionId = null;
      this.seq = null;
    }
    if (code >= 4010 && code <= 4014) {
      // Configuration errors: retrying with the same settings cannot help.
      this.set('closed');
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect() {
    this.set('backoff');
    const delay = this.attempt === 0 ? 200 + Math.random() * 300 : backoffDelay(this.attempt);
    this.attempt++;
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private clearTimers() {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.heartbeatTimer = this.reconnectTimer = null;
  }

  private enqueue(d: Dispatch) {
    this.queue.push(d);
    if (!this.flushing) {
      this.flushing = true;
      // A short timer, not the next animation frame: on a busy renderer the
      // frame can be tens of ms away and a live message should not wait
      // for it; the DOM changes still reach the screen at the next frame.
      // Events read in one go (a RESUME replay) still land in one batch.
      const sched = this.o.schedule ?? ((fn: () => void) => setTimeout(fn, typeof document !== 'undefined' && document.hidden ? 16 : 4));
      sched(() => this.flush());
    }
  }

  private flush() {
    this.flushing = false;
    if (!this.queue.length) return;
    const batch = this.queue;
    this.queue = [];
    this.o.onDispatches(batch);
  }
}
