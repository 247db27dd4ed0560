// Real homeservers for the browser tests: started from the built binary on
// free loopback ports, each with a fresh data directory, and found again by
// the test workers through a JSON state file (HEARTH_E2E_STATE). The global
// setup starts A and B; a worker may restart A on the same port and data dir
// (gracefully or by SIGKILL) or start an extra server of its own, and the
// state file then names the new process so that teardown stops it too.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync, renameSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One running homeserver as the tests see it. */
export interface ServerInfo {
  name: string; // A, B, or an extra server's label
  port: number;
  host: string; // 127.0.0.1:PORT, also its federation server name
  url: string; // http://127.0.0.1:PORT
  data: string;
  log: string;
  pid: number;
  rateLimit: boolean;
}

/** The state file's shape. */
export interface State {
  root: string;
  bin: string;
  servers: Record<string, ServerInfo>;
}

const READY_TIMEOUT_MS = 60_000;

/** The binary under test. */
export function hearthBin(): string {
  return resolve(process.env.HEARTH_BIN ?? fileURLToPath(new URL('../../bin/homeserver', import.meta.url)));
}

/** A TCP port the kernel has just handed out on loopback (free at that moment). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => ok(port));
    });
  });
}

/** Whether a process exists and is not a zombie (a zombie has let go of its port and files). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state letter follows the command name in parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitReady(info: ServerInfo, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive(info.pid)) {
      throw new Error(`homeserver ${info.name} (${info.host}) exited before it was ready:\n${tail(info.log)}`);
    }
    try {
      const r = await fetch(`${info.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`homeserver ${info.name} (${info.host}) not ready after ${timeoutMs} ms:\n${tail(info.log)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts the binary on a given port and data dir and waits for /readyz. */
async function launch(
  bin: string,
  name: string,
  port: number,
  data: string,
  log: string,
  rateLimit: boolean,
): Promise<ServerInfo> {
  mkdirSync(data, { recursive: true });
  const fd = openSync(log, 'a');
  const args = ['--listen', `127.0.0.1:${port}`, '--data', data, '--insecure-federation', '--log-level', 'warn'];
  if (!rateLimit) args.push('--rate-limit=false');
  const child = spawn(bin, args, { stdio: ['ignore', fd, fd], env: { ...process.env } });
  closeSync(fd);
  // The server outlives a worker that restarted it; teardown stops it by pid.
  child.unref();
  if (!child.pid) throw new Error(`could not start ${bin}`);
  const info: ServerInfo = {
    name,
    port,
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    data,
    log,
    pid: child.pid,
    rateLimit,
  };
  await waitReady(info);
  return info;
}

/** Starts a homeserver on a fresh free port, trying another port if one was taken meanwhile. */
export async function startServer(state: State, name: string, rateLimit = true): Promise<ServerInfo> {
  const data = join(state.root, name, 'data');
  const log = join(state.root, name, 'server.log');
  let lastErr: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      const info = await launch(state.bin, name, port, data, log, rateLimit);
      state.servers[name] = info;
      return info;
    } catch (e) {
      lastErr = e;
      // Another process may have taken the port between probe and bind: retry on a fresh one.
      if (!/already in use/i.test(String(e))) break;
    }
  }
  throw lastErr;
}

/** Sends a signal and waits until the process is gone. */
export async function stopPid(pid: number, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function statePath(): string {
  const p = process.env.HEARTH_E2E_STATE;
  if (!p) throw new Error('HEARTH_E2E_STATE is not set: run the tests through playwright.config.ts (global setup)');
  return p;
}

export function readState(): State {
  return JSON.parse(readFileSync(statePath(), 'utf8')) as State;
}

export function writeState(state: State, path = statePath()): void {
  writeFileSync(path + '.tmp', JSON.stringify(state, null, 2));
  renameSync(path + '.tmp', path);
}

/** Homeservers A and B as started by the global setup (after any restart). */
export function servers(): { A: ServerInfo; B: ServerInfo } {
  const s = readState();
  return { A: s.servers.A, B: s.servers.B };
}

/**
 * Restarts a server on the same port and data dir: SIGTERM lets it shut down
 * gracefully (gateway sessions told to reconnect), SIGKILL is a crash.
 * `whileDown` runs after the old process is gone and before the new one starts.
 */
export async function restartServer(
  name: string,
  signal: 'SIGTERM' | 'SIGKILL',
  whileDown?: () => Promise<void>,
): Promise<ServerInfo> {
  const state = readState();
  const old = state.servers[name];
  await stopPid(old.pid, signal);
  if (whileDown) await whileDown();
  let lastErr: unknown;
  // The port was ours a moment ago; a bind can still lose a race to the
  // kernel's bookkeeping, so a few attempts on the same port.
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      const info = await launch(state.bin, name, old.port, old.data, old.log, old.rateLimit);
      state.servers[name] = info;
      writeState(state);
      return info;
    } catch (e) {
      lastErr = e;
      if (!/already in use/i.test(String(e))) break;
      await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
    }
  }
  throw lastErr;
}

/** Starts an extra server for one test file (say, without rate limits for seeding); stop it with stopServer. */
export async function startExtraServer(name: string, opts: { rateLimit?: boolean } = {}): Promise<ServerInfo> {
  const state = readState();
  const info = await startServer(state, name, opts.rateLimit ?? true);
  writeState(state);
  return info;
}

export async function stopServer(name: string): Promise<void> {
  const state = readState();
  const info = state.servers[name];
  if (!info) return;
  await stopPid(info.pid, 'SIGTERM');
  delete state.servers[name];
  writeState(state);
}

/** Global setup: A and B on free ports; returns the teardown. */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const bin = hearthBin();
  if (!existsSync(bin)) {
    throw new Error(`no homeserver binary at ${bin}: run \`go build -o bin/homeserver ./cmd/homeserver\` (or make test-web), or set HEARTH_BIN`);
  }
  const root = mkdtempSync(join(tmpdir(), 'hearth-e2e-'));
  const path = join(root, 'state.json');
  const state: State = { root, bin, servers: {} };
  process.env.HEARTH_E2E_STATE = path;
  const teardown = async () => {
    let last: State = state;
    try {
      last = JSON.parse(readFileSync(path, 'utf8')) as State;
    } catch {
      /* setup failed before writing it */
    }
    await Promise.all(Object.values(last.servers).map((s) => stopPid(s.pid, 'SIGTERM')));
    if (!process.env.HEARTH_E2E_KEEP) rmSync(root, { recursive: true, force: true });
    else console.log(`e2e: kept ${root}`);
  };
  try {
    // One at a time: the second start has the machine to itself.
    await startServer(state, 'A');
    await startServer(state, 'B');
    writeState(state, path);
  } catch (e) {
    writeState(state, path);
    await teardown();
    throw e;
  }
  return teardown;
}
