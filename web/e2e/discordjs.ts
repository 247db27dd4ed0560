// An unmodified discord.js bot for the browser tests: the harness of
// bots/discordjs (run.mjs and its scenarios, the one the Go bot tests use),
// run as a child process against a test homeserver. Its node_modules is
// used where installed (make test runs npm ci there); otherwise the
// harness is copied to a temporary directory and installed there once.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ServerInfo } from './servers';

const SOURCE = fileURLToPath(new URL('../../bots/discordjs', import.meta.url));

let prepared: { dir: string; tmp: string | null } | null = null;

/** The harness directory with discord.js installed. */
export async function harness(): Promise<string> {
  if (prepared) return prepared.dir;
  if (existsSync(join(SOURCE, 'node_modules', 'discord.js', 'package.json'))) {
    prepared = { dir: SOURCE, tmp: null };
    return SOURCE;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'hearth-e2e-discordjs-'));
  cpSync(SOURCE, tmp, { recursive: true });
  await promisify(execFile)('npm', ['ci', '--no-audit', '--no-fund'], { cwd: tmp, timeout: 300_000 });
  prepared = { dir: tmp, tmp };
  return tmp;
}

/** Removes a temporary installation, if one was made. */
export function cleanHarness(): void {
  if (prepared?.tmp) rmSync(prepared.tmp, { recursive: true, force: true });
  prepared = null;
}

/** One running scenario: its `HEARTH {...}` steps, waited on by name. */
export class JsBot {
  private events: Record<string, any>[] = [];
  private waiters: (() => void)[] = [];
  private out = '';
  private err = '';
  private exit: number | null = null;

  constructor(private readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.out += chunk;
      let nl: number;
      while ((nl = this.out.indexOf('\n')) >= 0) {
        const line = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        if (!line.startsWith('HEARTH ')) continue;
        try {
          this.events.push(JSON.parse(line.slice(7)));
        } catch {
          continue;
        }
        this.wake();
      }
    });
    // discord.js's debug log, for the failure report; only the tail is kept.
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.err = (this.err + chunk).slice(-8000)));
    child.on('exit', (code) => {
      this.exit = code ?? -1;
      this.wake();
    });
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The first step named `event`; fails on the scenario's error, its exit, or the time limit. */
  async next(event: string, timeoutMs = 60_000): Promise<Record<string, any>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.find((x) => x.event === event);
      if (e) return e;
      const bad = this.events.find((x) => x.event === 'error');
      if (bad) throw new Error(`discord.js scenario failed in ${bad.where}: ${bad.message}\n${this.err}`);
      if (this.exit !== null) throw new Error(`discord.js exited (${this.exit}) before "${event}"\n${this.err}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no "${event}" from discord.js; steps: ${JSON.stringify(this.events)}\n${this.err}`);
      await new Promise<void>((ok) => {
        const t = setTimeout(ok, left);
        this.waiters.push(() => {
          clearTimeout(t);
          ok();
        });
      });
    }
  }

  stop(): void {
    if (this.exit === null) this.child.kill('SIGTERM');
  }
}

/** Starts scenario (bots/discordjs/scenarios/<name>.mjs) as the bot with this token. */
export async function runScenario(server: ServerInfo, token: string, scenario: string, args: Record<string, unknown>): Promise<JsBot> {
  const dir = await harness();
  const child = spawn('node', ['run.mjs', scenario], {
    cwd: dir,
    env: { ...process.env, HEARTH_API: `${server.url}/api`, HEARTH_TOKEN: token, HEARTH_ARGS: JSON.stringify(args), HEARTH_TIMEOUT_MS: '120000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new JsBot(child);
}
