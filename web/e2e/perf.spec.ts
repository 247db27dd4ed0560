// Benchmarks of the web client (not timed tests: they record figures and
// assert nothing about time). Run through `make bench-web` (HEARTH_PERF=1);
// results are printed as a table and written to bin/web-bench.json for
// docs/benchmarks.md. Each figure is the median of several runs; browser
// (renderer) CPU comes from the DevTools protocol, the homeserver's from
// /proc/<pid>/stat over the same interval.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { type CDPSession, type Page } from '@playwright/test';
import { expect, test, Api, messageLog, openChannel, signIn, uniq } from './helpers';
import { startExtraServer, stopServer, type ServerInfo } from './servers';

test.describe.configure({ mode: 'serial' });
// No trace or screenshots here: the tracer snapshots the whole DOM in the
// renderer before and after every action (each wheel turn, each probe), which
// a CPU profile of the scroll showed as 3.6 s of 20 s busy; the figures are
// the client's, not the tracer's.
test.use({ trace: 'off', screenshot: 'off' });

const RUNS = Number(process.env.HEARTH_PERF_RUNS ?? 5);
const LONG = Number(process.env.HEARTH_PERF_MESSAGES ?? 10_000);
const FLOOD_RATE = 50; // messages per second
const FLOOD_SECONDS = Number(process.env.HEARTH_PERF_FLOOD_SECONDS ?? 10);
const run = Date.now().toString(36);
const results: Record<string, unknown> = {};
let S: ServerInfo;
let reader: { name: string; api: Api };
let writer: Api;
let guildName = '';
let longChannel = '';
let shortChannel = '';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** CPU seconds (user+system) a process has used so far. */
function procCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = 100; // USER_HZ on Linux
  return (Number(f[11]) + Number(f[12])) / ticks;
}

/** Renderer CPU seconds (main-thread task time) from the DevTools protocol. */
async function rendererCpu(cdp: CDPSession): Promise<number> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return metrics.find((m) => m.name === 'TaskDuration')?.value ?? NaN;
}

/**
 * Load-insensitive counters from the DevTools protocol: renderer CPU seconds,
 * layouts and style recalculations so far, and the DOM's node count.
 */
async function counters(cdp: CDPSession): Promise<{ cpu: number; layouts: number; styles: number; nodes: number }> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const v = (n: string) => metrics.find((m) => m.name === n)?.value ?? NaN;
  return { cpu: v('TaskDuration'), layouts: v('LayoutCount'), styles: v('RecalcStyleCount'), nodes: v('Nodes') };
}

/**
 * CPU seconds the browser's renderer processes have used (all threads, from
 * the OS). Unlike TaskDuration, which is wall time of the main thread's tasks
 * and grows when a loaded machine takes the core away mid-task, this counts
 * only time on a CPU.
 */
async function rendererProcCpu(page: Page): Promise<number> {
  const b = await page.context().browser()!.newBrowserCDPSession();
  try {
    const { processInfo } = (await b.send('SystemInfo.getProcessInfo')) as { processInfo: { type: string; cpuTime: number }[] };
    return processInfo.filter((p) => p.type === 'renderer').reduce((a, p) => a + p.cpuTime, 0);
  } finally {
    await b.detach();
  }
}

/** HEARTH_PERF_PROFILE=1: a renderer CPU profile around f, written to bin/<name>.cpuprofile (open in DevTools). */
async function profiled<T>(cdp: CDPSession, name: string, f: () => Promise<T>): Promise<T> {
  if (!process.env.HEARTH_PERF_PROFILE) return f();
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  try {
    return await f();
  } finally {
    const { profile } = await cdp.send('Profiler.stop');
    mkdirSync('../bin', { recursive: true });
    writeFileSync(`../bin/${name}.cpuprofile`, JSON.stringify(profile));
  }
}

async function heapMB(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  return (metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? NaN) / 1e6;
}

async function seed(api: Api, channel: string, count: number, text: (i: number) => string) {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) await api.send(channel, text(i));
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

// Recorders injected before the app runs: frame deltas, long tasks, and the
// moment (performance.now()) each message token first appears in the page.
function recorders() {
  const w = window as unknown as Record<string, unknown>;
  const frames: number[] = [];
  const longTasks: { start: number; duration: number }[] = [];
  const seen: Record<string, number> = {};
  w.__frames = frames;
  w.__longTasks = longTasks;
  w.__seen = seen;
  w.__recordFrames = false;
  let last = 0;
  const tick = (t: number) => {
    if (w.__recordFrames && last) frames.push(t - last);
    last = t;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  try {
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  } catch {
    /* not supported */
  }
  const re = /\b(tok[\dx]+-\w+)\b/g;
  const scan = (n: Node) => {
    const text = n.textContent ?? '';
    if (!text.includes('tok')) return;
    for (const m of text.matchAll(re)) if (!(m[1]! in seen)) seen[m[1]!] = performance.timeOrigin + performance.now();
  };
  // Messages mounted per mutation batch (one batch per task's DOM update):
  // how much one task has to build, whatever the machine's load.
  const mounts: { t: number; n: number }[] = [];
  w.__mounts = mounts;
  new MutationObserver((muts) => {
    let n = 0;
    for (const mu of muts)
      for (const a of Array.from(mu.addedNodes)) {
        scan(a);
        if (a instanceof Element) n += a.tagName === 'ARTICLE' ? 1 : a.getElementsByTagName('article').length;
      }
    if (n && w.__recordFrames) mounts.push({ t: performance.now(), n });
  }).observe(document, { subtree: true, childList: true });
}

test.beforeAll(async () => {
  test.setTimeout(900_000);
  S = await startExtraServer('perf', { rateLimit: false });
  const name = uniq('reader');
  reader = { name, api: await Api.register(S, name) };
  writer = await Api.register(S, uniq('writer'));
  guildName = uniq('Bench');
  const { guild, general } = await reader.api.createGuild(guildName);
  shortChannel = general.id;
  const long = await reader.api.call('POST', `/guilds/${guild.id}/channels`, { name: 'long', type: 0 });
  longChannel = long.id;
  await writer.call('POST', `/invites/${await reader.api.invite(general.id)}`, {});
  const t0 = Date.now();
  const cpu0 = procCpu(S.pid);
  // The first and last messages are sent alone, so they are first and last
  // in the channel whatever order the concurrent ones land in.
  await writer.send(longChannel, 'seedfirst the very first message');
  await seed(writer, longChannel, LONG - 2, (i) => `seed${i} ${'lorem ipsum dolor sit amet '.repeat(1 + (i % 5))}${i % 7 === 0 ? '\n**bold** `code` line two' : ''}`);
  await writer.send(longChannel, 'seedlast the newest message');
  results.seed = { messages: LONG, seconds: round((Date.now() - t0) / 1000), serverCpuSeconds: round(procCpu(S.pid) - cpu0) };
  await seed(writer, shortChannel, 200, (i) => `short${i} hello`);
});

/** Writes what has been measured so far (a long run that is cut short keeps its figures). */
function save(print = false) {
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${execFileSync('uname', ['-sr']).toString().trim()}, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;
  const out = { machine, chromium: process.env.CHROMIUM_PATH || '/usr/bin/chromium', date: new Date().toISOString(), runs: RUNS, ...results };
  mkdirSync('../bin', { recursive: true });
  writeFileSync('../bin/web-bench.json', JSON.stringify(out, null, 2));
  if (print) console.log(JSON.stringify(out, null, 2));
}

test.afterEach(() => save());

test.afterAll(async () => {
  await stopServer('perf');
  save(true);
});

test('entry JS and CSS, gzip @perf', async () => {
  const r = JSON.parse(execFileSync('node', ['scripts/size-budget.mjs', '--json']).toString());
  results.size = { eagerJsKB: round(r.jsEager / 1000), eagerCssKB: round(r.cssEager / 1000), allJsKB: round(r.jsAll / 1000) };
});

test('signed-in reload to the last channel messages on screen @perf', async ({ page }) => {
  await page.addInitScript(recorders);
  await signIn(page, S, { username: reader.name });
  await openChannel(page, guildName, 'general');
  const marker = `tok${Date.now()}-last`;
  await writer.send(shortChannel, marker);
  await expect(messageLog(page).getByRole('article').filter({ hasText: marker })).toBeVisible();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await page.reload();
    await expect(messageLog(page).getByRole('article').filter({ hasText: marker })).toBeVisible();
    // The moment the marker entered the page, from navigation start.
    const t = await page.evaluate((m) => {
      const seen = (window as unknown as { __seen: Record<string, number> }).__seen;
      return seen[m]! - performance.timeOrigin;
    }, marker);
    times.push(t);
  }
  results.reload = { medianMs: round(median(times)), maxMs: round(Math.max(...times)), runsMs: times.map((t) => round(t)) };
});

/** What the message list shows, read from the DOM (cheap: a few queries). */
function listState() {
  const log = document.querySelector<HTMLElement>('[role=log]');
  const arts = log ? log.querySelectorAll<HTMLElement>('article[data-id]') : [];
  const first = arts[0];
  // virtua's scroller is the log itself.
  return {
    articles: arts.length,
    oldestId: first?.dataset.id ?? '',
    oldestText: (first?.textContent ?? '').replace(/\s+/g, ' ').slice(0, 40),
    scrollTop: log ? Math.round(log.scrollTop) : -1,
    scrollHeight: log?.scrollHeight ?? -1,
    clientHeight: log?.clientHeight ?? -1,
    loadingRow: !!log?.querySelector('.loading'),
    startRow: !!log?.querySelector('.start'),
    alert: document.querySelector('[role=alert]')?.textContent ?? '',
  };
}

/**
 * Watches a scroll back: which older pages (`before=` cursors) the page asked
 * for and which are still pending. Progress is a new cursor asked for or a
 * page answered; a stall is STALL_MS without progress and with no page
 * pending (the client stopped asking), or PENDING_MS with one pending (the
 * answer never came). Either fails the test with what was loaded and what
 * is pending, instead of hanging until a global timeout.
 */
class ScrollWatch {
  static STALL_MS = Number(process.env.HEARTH_PERF_STALL_MS ?? 60_000);
  static PENDING_MS = 180_000;
  static STEP_MS = 90_000;
  pages = 0;
  private cursors = new Set<string>();
  private pending = new Map<object, { before: string; since: number }>();
  private lastProgress = Date.now();
  private lastLog = Date.now();
  private readonly onRequest = (req: import('@playwright/test').Request) => {
    const before = this.before(req.url());
    if (before === null) return;
    this.pending.set(req, { before, since: Date.now() });
    if (!this.cursors.has(before)) {
      this.cursors.add(before);
      this.lastProgress = Date.now();
    }
  };
  private readonly onDone = (req: import('@playwright/test').Request) => {
    if (!this.pending.delete(req)) return;
    this.pages++;
    this.lastProgress = Date.now();
  };
  /** Uncaught errors and console errors or warnings of the page meanwhile (a broken effect stops a list). */
  private errors: string[] = [];
  private readonly onError = (e: Error) => this.errors.push(`pageerror: ${e.message}`);
  private readonly onConsole = (m: import('@playwright/test').ConsoleMessage) => {
    if (m.type() === 'error' || m.type() === 'warning') this.errors.push(`console.${m.type()}: ${m.text().slice(0, 300)}`);
  };
  constructor(
    private readonly page: Page,
    private readonly t0: number,
    readonly name: string,
  ) {
    page.on('request', this.onRequest);
    page.on('requestfinished', this.onDone);
    page.on('requestfailed', this.onDone);
    page.on('pageerror', this.onError);
    page.on('console', this.onConsole);
  }
  private before(url: string): string | null {
    const u = new URL(url);
    return /\/channels\/\d+\/messages$/.test(u.pathname) ? u.searchParams.get('before') : null;
  }
  stop() {
    void this.debugger?.detach().catch(() => {});
    this.page.off('request', this.onRequest);
    this.page.off('requestfinished', this.onDone);
    this.page.off('requestfailed', this.onDone);
    this.page.off('pageerror', this.onError);
    this.page.off('console', this.onConsole);
  }
  async describe(): Promise<string> {
    const st = await this.page.evaluate(listState);
    const now = Date.now();
    const pend = [...this.pending.values()].map((p) => `before=${p.before} for ${((now - p.since) / 1000).toFixed(0)} s`);
    return `${this.name} at ${((now - this.t0) / 1000).toFixed(0)} s: ${this.pages} older pages answered, ${this.cursors.size} asked; pending: ${pend.join(', ') || 'none'}; list: ${JSON.stringify(st)}; errors: ${this.errors.slice(-5).join(' | ') || 'none'}`;
  }
  /**
   * One step of the scroll (a wheel turn, a probe) that does not come back
   * in STEP_MS means the renderer's main thread is stuck: the error carries
   * its JavaScript stack when it is running JavaScript.
   */
  async guard<T>(what: string, p: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((ok) => (timer = setTimeout(() => ok('late'), ScrollWatch.STEP_MS)));
    try {
      const r = await Promise.race([p, late]);
      if (r !== 'late') return r as T;
    } finally {
      clearTimeout(timer);
    }
    throw new Error(`scroll back stalled: ${what} did not come back in ${ScrollWatch.STEP_MS / 1000} s; the renderer is at: ${await this.stack()}; ${this.pages} older pages answered, ${this.cursors.size} asked; errors: ${this.errors.slice(-5).join(' | ') || 'none'}`);
  }
  /**
   * Where the renderer's main thread is, from a debugger pause (10 s at
   * most). The debugger is enabled before the scroll (start()): a main
   * thread spinning in JavaScript answers a pause but not an enable.
   */
  private debugger: CDPSession | undefined;
  async start() {
    this.debugger = await this.page.context().newCDPSession(this.page);
    await this.debugger.send('Debugger.enable');
  }
  private async stack(): Promise<string> {
    const cdp = this.debugger;
    if (!cdp) return 'no debugger';
    const paused = new Promise<{ callFrames: { functionName: string; url: string; location: { lineNumber: number; columnNumber?: number } }[] }>((ok) => cdp.once('Debugger.paused', ok));
    const give = new Promise<null>((ok) => setTimeout(() => ok(null), 10_000));
    try {
      const ev = await Promise.race([cdp.send('Debugger.pause').then(() => paused), give]);
      if (!ev) return 'no answer to a debugger pause in 10 s (busy outside JavaScript, or hung)';
      await cdp.send('Debugger.resume').catch(() => {});
      return ev.callFrames
        .slice(0, 15)
        .map((f) => `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\//, '')}:${f.location.lineNumber + 1}:${(f.location.columnNumber ?? 0) + 1}`)
        .join(' < ');
    } catch (e) {
      return `debugger: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  async check() {
    const now = Date.now();
    if (now - this.lastLog > 10_000) {
      this.lastLog = now;
      console.log(await this.describe());
    }
    const quiet = now - this.lastProgress;
    const oldestPending = Math.min(...[...this.pending.values()].map((p) => p.since));
    if (this.pending.size === 0 && quiet > ScrollWatch.STALL_MS) {
      throw new Error(`scroll back stalled: no older page asked for in ${(quiet / 1000).toFixed(0)} s with none pending. ${await this.describe()}`);
    }
    if (this.pending.size > 0 && now - oldestPending > ScrollWatch.PENDING_MS) {
      throw new Error(`scroll back stalled: an older page has been pending for ${((now - oldestPending) / 1000).toFixed(0)} s. ${await this.describe()}`);
    }
  }
}

test('scroll back through the long channel: frames, long tasks, heap @perf', async ({ page }) => {
  test.setTimeout(1_800_000);
  await page.addInitScript(recorders);
  await signIn(page, S, { username: reader.name });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  // HEARTH_PERF_CPU_THROTTLE=4: the renderer runs 4 times slower, as on a
  // loaded machine (to look for races that only a slow renderer shows).
  const throttle = Number(process.env.HEARTH_PERF_CPU_THROTTLE ?? 1);
  if (throttle > 1) await cdp.send('Emulation.setCPUThrottlingRate', { rate: throttle });
  // HEARTH_PERF_PAGE_DELAY_MS=2000: each older page is answered after a
  // random delay up to that long (slow server, out-of-step answers).
  const delay = Number(process.env.HEARTH_PERF_PAGE_DELAY_MS ?? 0);
  if (delay > 0)
    await page.route(/\/messages\?.*before=/, async (route) => {
      await new Promise((ok) => setTimeout(ok, Math.random() * delay));
      await route.continue();
    });
  const runs: { p95: number; over50: number; frames: number; longTasks: number; maxLongTask: number; seconds: number; heapMB: number; rendererCpu: number; serverCpu: number; layouts: number; styles: number; maxNodes: number; os: number; maxMounted: number; p95Mounted: number }[] = [];
  const scrollRuns = Number(process.env.HEARTH_PERF_SCROLL_RUNS ?? Math.max(1, Math.min(RUNS, 3)));
  for (let r = 0; r < scrollRuns; r++) {
    await page.goto(S.url);
    await openChannel(page, guildName, 'long');
    const log = messageLog(page, 'long');
    await expect(log.getByRole('article').filter({ hasText: 'seedlast' })).toBeVisible();
    await log.hover();
    const cpuR0 = await rendererCpu(cdp);
    const cpuS0 = procCpu(S.pid);
    await page.evaluate(() => {
      const w = window as unknown as { __frames: number[]; __longTasks: unknown[]; __recordFrames: boolean };
      w.__frames.length = 0;
      w.__longTasks.length = 0;
      (w as unknown as { __mounts: unknown[] }).__mounts.length = 0;
      w.__recordFrames = true;
    });
    const t0 = Date.now();
    const c0 = await counters(cdp);
    const os0 = await rendererProcCpu(page);
    // The wheel as a person would turn it: 1000 px every 50 ms, until the first
    // message shows. The probe is one plain DOM query: a role locator computed
    // every element's role and visibility in the renderer on each turn, which
    // the scroll's own figures then carried.
    const probe = () => Array.from(document.querySelectorAll('[role=log] article')).some((a) => a.textContent?.includes('seedfirst'));
    // HEARTH_PERF_TRACE=1: a Chromium trace of the first scroll in bin/web-scroll.trace.json.
    const tracing = !!process.env.HEARTH_PERF_TRACE && r === 0;
    if (tracing) await page.context().browser()!.startTracing(page, { path: '../bin/web-scroll.trace.json', categories: ['devtools.timeline', 'blink', 'disabled-by-default-devtools.timeline'] });
    const watch = new ScrollWatch(page, t0, `scroll ${r + 1}/${scrollRuns}`);
    try {
      await watch.start();
      await profiled(cdp, r === 0 ? 'web-scroll' : `web-scroll-${r}`, async () => {
        for (;;) {
          await watch.guard('a wheel turn', page.mouse.wheel(0, -1000));
          if (await watch.guard('the probe for the first message', page.evaluate(probe))) break;
          await watch.guard('reading the list', watch.check());
          await page.waitForTimeout(50);
        }
      });
    } finally {
      watch.stop();
    }
    console.log(`${watch.name}: reached the first message in ${((Date.now() - t0) / 1000).toFixed(1)} s after ${watch.pages} older pages`);
    if (tracing) await page.context().browser()!.stopTracing();
    const c1 = await counters(cdp);
    const os1 = await rendererProcCpu(page);
    const seconds = (Date.now() - t0) / 1000;
    const { frames, longTasks, mounts, debug } = await page.evaluate(() => {
      const w = window as unknown as { __frames: number[]; __longTasks: { start: number; duration: number }[]; __recordFrames: boolean; __mounts: { t: number; n: number }[] };
      w.__recordFrames = false;
      return { frames: [...w.__frames], longTasks: w.__longTasks.map((l) => l.duration), mounts: w.__mounts.map((x) => x.n), debug: w.__longTasks.map((l) => ({ ...l, mounted: w.__mounts.filter((x) => x.t >= l.start && x.t <= l.start + l.duration).map((x) => x.n) })) };
    });
    if (process.env.HEARTH_PERF_DEBUG) console.log(JSON.stringify({ longTasks: debug, mounts }));
    // After a forced GC (heapMB), so that the count is of live nodes only.
    const heap = await heapMB(cdp);
    const nodesAfterGc = (await counters(cdp)).nodes;
    runs.push({
      p95: pct(frames, 95),
      over50: frames.filter((f) => f > 50).length / Math.max(1, frames.length),
      frames: frames.length,
      longTasks: longTasks.length,
      maxLongTask: longTasks.length ? Math.max(...longTasks) : 0,
      seconds,
      heapMB: heap,
      rendererCpu: (await rendererCpu(cdp)) - cpuR0,
      serverCpu: procCpu(S.pid) - cpuS0,
      layouts: c1.layouts - c0.layouts,
      styles: c1.styles - c0.styles,
      maxNodes: nodesAfterGc,
      maxMounted: mounts.length ? Math.max(...mounts) : 0,
      p95Mounted: pct(mounts, 95),
      os: os1 - os0,
    });
  }
  const m = (k: keyof (typeof runs)[number]) => round(median(runs.map((x) => x[k])), 2);
  results.scroll = {
    messages: LONG,
    runs: runs.length,
    p95FrameMs: m('p95'),
    framesOver50msShare: m('over50'),
    longTasksOver50ms: m('longTasks'),
    maxLongTaskMs: m('maxLongTask'),
    seconds: m('seconds'),
    heapAfterMB: m('heapMB'),
    browserCpuSeconds: m('rendererCpu'),
    serverCpuSeconds: m('serverCpu'),
    // Load-insensitive: per 1,000 messages scrolled through.
    browserCpuMsPer1000Messages: round((median(runs.map((x) => x.rendererCpu)) * 1e6) / LONG, 0),
    rendererProcessCpuSeconds: m('os'),
    layouts: m('layouts'),
    styleRecalcs: m('styles'),
    domNodesAfterGc: m('maxNodes'),
    messagesMountedAtOnceMax: m('maxMounted'),
    messagesMountedAtOnceP95: m('p95Mounted'),
  };
});

test('another user message on screen while the channel receives 50 msg/s @perf', async ({ page }) => {
  test.setTimeout(600_000);
  await page.addInitScript(recorders);
  await signIn(page, S, { username: reader.name });
  await openChannel(page, guildName, 'general');
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const p50s: number[] = [];
  const p99s: number[] = [];
  const missing: number[] = [];
  const rest: number[] = [];
  const mounted: number[] = [];
  const cpu: { browser: number; os: number; server: number; layouts: number; styles: number }[] = [];
  const floodRuns = Math.max(1, Math.min(RUNS, 3));
  const total = FLOOD_RATE * FLOOD_SECONDS;
  // HEARTH_PERF_PROFILE=1: a CPU profile of the renderer over the flood runs,
  // in bin/web-flood.cpuprofile (open in Chromium's DevTools).
  // The same page left alone as long as a flood lasts: what the renderer
  // spends with no message arriving (the recorders' frame loop included), to
  // tell per-message work from per-second work.
  const idle0 = await counters(cdp);
  const idleOs0 = await rendererProcCpu(page);
  await page.waitForTimeout(FLOOD_SECONDS * 1000);
  const idle1 = await counters(cdp);
  const idleOs1 = await rendererProcCpu(page);
  // HEARTH_PERF_TRACE=1: a Chromium trace of the flood (rendering steps by
  // name: style, layout, paint) in bin/web-flood.trace.json.
  const browser = page.context().browser()!;
  if (process.env.HEARTH_PERF_TRACE) await browser.startTracing(page, { path: '../bin/web-flood.trace.json', categories: ['devtools.timeline', 'blink', 'disabled-by-default-devtools.timeline'] });
  await profiled(cdp, 'web-flood', async () => {
    for (let r = 0; r < floodRuns; r++) {
      const sent: Record<string, number> = {};
      await page.evaluate(() => {
        const w = window as unknown as { __mounts: unknown[]; __recordFrames: boolean };
        w.__mounts.length = 0;
        w.__recordFrames = true;
      });
      const c0 = await counters(cdp);
      const os0 = await rendererProcCpu(page);
      const cpuS0 = procCpu(S.pid);
      const start = Date.now();
      const inflight: Promise<unknown>[] = [];
      // A steady 50 msg/s schedule: message i leaves at start + i × 20 ms.
      for (let i = 0; i < total; i++) {
        const due = start + (i * 1000) / FLOOD_RATE;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((ok) => setTimeout(ok, wait));
        const tok = `tok${r}x${i}-${run}`;
        sent[tok] = Date.now();
        inflight.push(
          writer.send(shortChannel, `flood ${tok}`).then(() => {
            rest.push(Date.now() - sent[tok]!);
          }),
        );
      }
      await Promise.all(inflight);
      const last = `tok${r}x${total - 1}-${run}`;
      // Waits on the recorder's own map (an expect that polls the DOM took
      // an accessibility snapshot of the page after each miss).
      await page.waitForFunction((tok) => tok in (window as unknown as { __seen: Record<string, number> }).__seen, last, { timeout: 60_000, polling: 100 });
      const c1 = await counters(cdp);
      const os1 = await rendererProcCpu(page);
      mounted.push(
        await page.evaluate(() => {
          const w = window as unknown as { __mounts: { n: number }[]; __recordFrames: boolean };
          w.__recordFrames = false;
          return w.__mounts.reduce((a, x) => a + x.n, 0);
        }),
      );
      const seen = await page.evaluate(() => (window as unknown as { __seen: Record<string, number> }).__seen);
      const lat = Object.entries(sent).flatMap(([tok, t]) => (seen[tok] ? [seen[tok]! - t] : []));
      missing.push(total - lat.length);
      p50s.push(pct(lat, 50));
      p99s.push(pct(lat, 99));
      cpu.push({ browser: c1.cpu - c0.cpu, os: os1 - os0, server: procCpu(S.pid) - cpuS0, layouts: c1.layouts - c0.layouts, styles: c1.styles - c0.styles });
    }
  });
  if (process.env.HEARTH_PERF_TRACE) await browser.stopTracing();
  results.flood = {
    ratePerSecond: FLOOD_RATE,
    seconds: FLOOD_SECONDS,
    runs: floodRuns,
    p50Ms: round(median(p50s)),
    p99Ms: round(median(p99s)),
    restRoundTripP50Ms: round(pct(rest, 50)),
    notSeenInDom: median(missing),
    browserCpuSecondsPerRun: round(median(cpu.map((c) => c.browser)), 2),
    serverCpuSecondsPerRun: round(median(cpu.map((c) => c.server)), 2),
    // Load-insensitive: the renderer's main-thread CPU, layouts and style
    // recalculations per incoming message.
    browserCpuMsPerMessage: round((median(cpu.map((c) => c.browser)) * 1000) / total, 2),
    rendererProcessCpuMsPerMessage: round((median(cpu.map((c) => c.os)) * 1000) / total, 2),
    // Message rows mounted per incoming message (1 when nothing remounts).
    messagesMountedPerMessage: round(median(mounted) / total, 2),
    idleBrowserCpuSecondsPerRun: round(idle1.cpu - idle0.cpu, 2),
    idleRendererProcessCpuSecondsPerRun: round(idleOs1 - idleOs0, 2),
    idleLayouts: idle1.layouts - idle0.layouts,
    layoutsPerMessage: round(median(cpu.map((c) => c.layouts)) / total, 2),
    styleRecalcsPerMessage: round(median(cpu.map((c) => c.styles)) / total, 2),
  };
});
