// A long channel on a homeserver of its own started without rate limits, so
// that 2,000 messages are seeded over REST in seconds. The message pane stays
// under 4,000 DOM nodes while the reader scrolls back to the very first
// message, and a reader scrolled up is not moved by new messages but offered
// a bar to jump to them.
import { type Locator, type Page, type Route } from '@playwright/test';
import { expect, test, Api, messageLog, signIn, openChannel, uniq } from './helpers';
import { startExtraServer, stopServer, type ServerInfo } from './servers';

const SEED = 2000;
const MAX_NODES = 4000;
const run = Date.now().toString(36);
let S: ServerInfo;
let reader: { name: string; api: Api };
let writer: Api;
let channelId = '';
let guildName = '';

/** Sends `count` messages with a few requests in flight at once. */
async function seed(api: Api, channel: string, count: number, text: (i: number) => string) {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) await api.send(channel, text(i));
  };
  // One after another would also keep the order; a few in flight keeps it
  // roughly, which is all the test needs (it reads positions from the page).
  await Promise.all(Array.from({ length: 6 }, worker));
}

test.beforeAll(async () => {
  S = await startExtraServer('long', { rateLimit: false });
  const name = uniq('reader');
  reader = { name, api: await Api.register(S, name) };
  writer = await Api.register(S, uniq('writer'));
  guildName = uniq('Long');
  const { general } = await reader.api.createGuild(guildName);
  channelId = general.id;
  await writer.call('POST', `/invites/${await reader.api.invite(general.id)}`, {});
  await seed(writer, channelId, SEED, (i) => `seed${i}-${run} ${'lorem ipsum dolor sit amet '.repeat(1 + (i % 4))}`);
});

test.afterAll(async () => {
  await stopServer('long');
});

function paneNodes(page: Page) {
  return messageLog(page).evaluate((e) => e.querySelectorAll('*').length);
}

async function seedIndexes(page: Page): Promise<number[]> {
  const texts = await messageLog(page).getByRole('article').allInnerTexts();
  const re = new RegExp(`seed(\\d+)-${run}`);
  return texts.flatMap((t) => {
    const m = re.exec(t);
    return m ? [Number(m[1])] : [];
  });
}

/**
 * Signs the reader in and opens `guild`'s channel, waits for its newest
 * messages (their text holds `newest`) and puts the pointer over the pane,
 * where the wheel turns.
 */
async function openAsReader(page: Page, guild: string, newest: string): Promise<Locator> {
  await signIn(page, S, { username: reader.name });
  await openChannel(page, guild);
  const log = messageLog(page);
  await expect(log.getByRole('article').last()).toContainText(newest);
  await log.hover();
  return log;
}

/** The message in the middle of the pane, and where its top is. */
function middleMessage(log: Locator) {
  return log.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)?.closest('article');
    return hit ? { id: hit.getAttribute('data-message-id'), top: hit.getBoundingClientRect().top } : null;
  });
}

/** Where the top of message id's row is, null when it is not rendered. */
function topOf(log: Locator, id: string | null | undefined) {
  return log.evaluate((el, id) => {
    const a = el.querySelector(`article[data-message-id="${id}"]`);
    return a ? a.getBoundingClientRect().top : null;
  }, id);
}

/** Reads until two readings in a row are equal and not null (and `also` holds): the scroll has settled. */
async function settled<T>(read: () => Promise<T>, also: () => boolean = () => true): Promise<T> {
  let before = await read();
  await expect
    .poll(async () => {
      const now = await read();
      const same = JSON.stringify(now) === JSON.stringify(before);
      before = now;
      return same && now !== null && also();
    })
    .toBe(true);
  return before;
}

/**
 * Keeps the gateway's frames as the page receives them, ahead of the
 * client's own handler (a listener added in the constructor runs first),
 * so that a test whose page clock is paused knows a dispatch is in.
 */
async function keepGatewayFrames(page: Page) {
  await page.addInitScript(() => {
    const W = window.WebSocket;
    const seen: string[] = [];
    (window as unknown as { gatewaySeen: string[] }).gatewaySeen = seen;
    window.WebSocket = class extends W {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        this.addEventListener('message', (e) => typeof e.data === 'string' && seen.push(e.data));
      }
    };
  });
}

/** Waits until the page has received a gateway frame holding text (keepGatewayFrames). */
async function gatewaySaw(page: Page, text: string) {
  await expect
    .poll(() => page.evaluate((t) => (window as unknown as { gatewaySeen: string[] }).gatewaySeen.some((d) => d.includes(t)), text))
    .toBe(true);
}

test('the pane stays under 4,000 DOM nodes while scrolling back through 2,000 messages', async ({ page }) => {
  test.setTimeout(300_000); // 40 pages of history on a loaded machine
  const log = await openAsReader(page, guildName, `-${run}`);
  let maxNodes = await paneNodes(page);
  // Wheel up until the first message is on screen; every step counts the pane's nodes.
  await expect
    .poll(
      async () => {
        await page.mouse.wheel(0, -4000);
        maxNodes = Math.max(maxNodes, await paneNodes(page));
        return Math.min(...(await seedIndexes(page)));
      },
      { timeout: 280_000, intervals: [50] },
    )
    .toBe(0);
  maxNodes = Math.max(maxNodes, await paneNodes(page));
  console.log(`long channel: at most ${maxNodes} DOM nodes in the message pane over ${SEED} messages`);
  expect(maxNodes).toBeLessThanOrEqual(MAX_NODES);
});

test('a reader scrolled up is not moved by new messages and sees the new-messages bar', async ({ page }) => {
  const log = await openAsReader(page, guildName, `-${run}`);
  // Older pages the wheel asks for: the new messages must come after any
  // such page has landed and settled, or this tests that landing instead.
  let olderPending = 0;
  const isOlder = (r: { url(): string }) => /\/messages\?.*before=/.test(r.url());
  page.on('request', (r) => void (isOlder(r) && olderPending++));
  const done = (r: { url(): string }) => void (isOlder(r) && olderPending--);
  page.on('requestfinished', done);
  page.on('requestfailed', done);
  // Up a few screens, well away from the bottom.
  for (let i = 0; i < 3; i++) await page.mouse.wheel(0, -1500);
  // The message in the middle of the pane is the anchor. Wait for the
  // wheel's scroll (and any page it fetched) to settle: no older page on
  // its way and two equal readings in a row.
  const before = await settled(() => middleMessage(log), () => olderPending === 0);
  expect(before?.id).toBeTruthy();
  if (process.env.HEARTH_E2E_DEBUG) console.log('anchor before', before, await seedIndexes(page));

  const fresh = [`fresh1-${run}`, `fresh2-${run}`, `fresh3-${run}`];
  for (const t of fresh) await writer.send(channelId, t);
  const bar = page.getByRole('button', { name: /^(New messages|Jump to present)/ });
  if (process.env.HEARTH_E2E_DEBUG) {
    await expect(log.getByRole('article').filter({ hasText: fresh[2] })).toHaveCount(1);
    console.log('after', await middleMessage(log), await seedIndexes(page));
  }
  await expect(bar).toBeVisible();
  const after = await topOf(log, before!.id);
  expect(after).not.toBeNull();
  expect(Math.abs(after! - before!.top)).toBeLessThanOrEqual(2);

  // The bar jumps to the present; a reader at the bottom then stays there.
  await bar.click();
  await expect(log.getByRole('article').filter({ hasText: fresh[2] })).toBeInViewport();
  const later = `later-${run}`;
  await writer.send(channelId, later);
  await expect(log.getByRole('article').filter({ hasText: later })).toBeInViewport();
});

// The scroll back that never reached the first message (issue 12): the list
// dropped its newest rows (over the cap, 300 ms after a page settled) while
// the next older page was on its way, and virtua, told then that rows
// changed at the start, read the drop as one at the start and jumped up by
// the dropped rows' height. At the very top that jump moved nothing, so no
// scroll event came to end it, and virtua kept the range it had computed
// for the jump: no rows at all, for as long as the wheel turned at the top.
// The test holds the older pages and moves the page's clock itself, so that
// the drop comes while a page is held and the reader is at the very top, as
// it does on a fast machine when the wheel keeps turning.
test('a reader at the top waiting for an older page keeps seeing rows when the newest rows are dropped', async ({ page }) => {
  test.setTimeout(300_000);
  await page.clock.install();
  const log = await openAsReader(page, guildName, `-${run}`);

  // Older pages wait until the test lets them through.
  const held: Route[] = [];
  let holding = true;
  await page.route(/\/messages\?.*before=/, async (route) => {
    if (holding) held.push(route);
    else await route.continue();
  });
  const top = () =>
    log.evaluate((el) => ({
      scrollTop: el.scrollTop,
      scrollHeight: el.scrollHeight,
      loading: !!el.querySelector('.loading'),
      articles: el.querySelectorAll('article').length,
    }));
  /** Turns the wheel up (the clock moving a frame each turn when paused) until the next older page is asked for. */
  const untilAsked = async (paused: boolean) => {
    let frames = 0;
    await expect
      .poll(async () => {
        if (paused) {
          await page.clock.runFor(16);
          frames++;
        }
        await page.mouse.wheel(0, -20_000);
        return held.length;
      })
      .toBe(1);
    return frames;
  };
  const release = async () => {
    const route = held.shift()!;
    await route.fulfill({ response: await route.fetch() });
  };

  // Ten pages of 100 above the newest 50: the window goes over its cap of
  // 1,000 rows when the tenth lands.
  for (let i = 0; i < 9; i++) {
    await untilAsked(false);
    await release();
  }
  await untilAsked(false);
  // From here the page's timers and frames move only when the test moves them.
  await page.clock.pauseAt(await page.evaluate(() => Date.now() + 2000));
  await release();
  // The tenth lands and settles, and the eleventh is asked for within a few
  // frames: the drop of the newest rows, 300 ms after the settling, is due.
  const frames = await untilAsked(true);
  expect(frames * 16).toBeLessThan(300);
  await page.mouse.wheel(0, -20_000);
  await expect.poll(async () => (await top()).scrollTop).toBe(0);
  const before = await top();
  expect(before.loading).toBe(true);
  await page.clock.runFor(500);
  // The drop happened (the list is shorter) and the top rows are still there.
  await expect.poll(async () => (await top()).scrollHeight).toBeLessThan(before.scrollHeight);
  await expect.poll(async () => top()).toMatchObject({ loading: true, scrollTop: 0 });
  expect((await top()).articles).toBeGreaterThan(0);

  // Then the rest of the history, pages unheld and time flowing, to the first message.
  await page.clock.resume();
  holding = false;
  for (const route of held.splice(0)) await route.continue();
  await expect
    .poll(
      async () => {
        await page.mouse.wheel(0, -4000);
        return Math.min(...(await seedIndexes(page)));
      },
      { timeout: 240_000, intervals: [50] },
    )
    .toBe(0);
  // Dropping the newest rows on the way is not news: no "new messages" count.
  await expect(page.getByRole('status').filter({ hasText: 'You are viewing older messages' })).toBeVisible();
  await expect(page.getByText(/\d+ new messages?/)).toHaveCount(0);
});

test('an older page that fails is asked for again on the next wheel turn, not in a loop', async ({ page }) => {
  const log = await openAsReader(page, guildName, `-${run}`);
  let asked = 0;
  let failing = true;
  await page.route(/\/messages\?.*before=/, async (route) => {
    asked++;
    if (failing) await route.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ code: 0, message: 'The history is resting.' }) });
    else await route.continue();
  });
  await expect
    .poll(async () => {
      await page.mouse.wheel(0, -20_000);
      return asked;
    })
    .toBeGreaterThan(0);
  await expect(page.getByRole('alert')).toContainText('The history is resting.');
  const frames = (count: number) =>
    page.evaluate(
      (count) =>
        new Promise<void>((ok) => {
          let n = 0;
          const f = () => (++n >= count ? ok() : requestAnimationFrame(f));
          requestAnimationFrame(f);
        }),
      count,
    );
  // A wheel turn the poll sent before it saw the first ask may still land
  // and ask once more; after that, with no input, the list stays quiet. A
  // loop (an ask every two frames) would never settle over twenty frames.
  await expect
    .poll(async () => {
      const seen = asked;
      await frames(20);
      return asked === seen;
    })
    .toBe(true);
  const before = asked;
  await frames(20);
  expect(asked).toBe(before);
  // The next turn of the wheel asks again, and older messages come.
  failing = false;
  const oldest = Math.min(...(await seedIndexes(page)));
  await expect
    .poll(async () => {
      await page.mouse.wheel(0, -2000);
      return Math.min(...(await seedIndexes(page)));
    })
    .toBeLessThan(oldest - 50);
  await expect(page.getByRole('alert')).toHaveCount(0);
});

// New messages that come in the two frames in which an older page lands:
// virtua is then told that rows change at the start (shift), and rows added
// at the end in those frames must neither move a reader who has scrolled
// up nor go uncounted. The test holds the older page and moves the page's
// clock itself, so that the live messages are applied between the frame
// where the page lands and the frame where the list settles.
test('a reader scrolled up is not moved by new messages that come while an older page lands', async ({ page }) => {
  await keepGatewayFrames(page);
  await page.clock.install();
  const log = await openAsReader(page, guildName, `-${run}`);

  const held: Route[] = [];
  await page.route(/\/messages\?.*before=/, (route) => void held.push(route));
  // Up until the older page is asked for, and the scroll has settled.
  await expect
    .poll(async () => {
      await page.mouse.wheel(0, -300);
      return held.length;
    })
    .toBe(1);
  await log.focus();
  const before = await settled(() => middleMessage(log));
  const height = () => log.evaluate((el) => el.scrollHeight);

  // From here the page's timers and frames move only when the test moves them.
  await page.clock.pauseAt(await page.evaluate(() => Date.now() + 1000));
  const start = await height();
  const route = held.shift()!;
  await route.fulfill({ response: await route.fetch() });
  // Frame by frame until the page lands: the list grows above the reader.
  await expect
    .poll(async () => {
      await page.clock.runFor(16);
      return await height();
    })
    .toBeGreaterThan(start);
  // The landing frame has run, the settling ones have not. Now three
  // messages come, and the client takes them in (its dispatch timer, 4 ms,
  // comes before the next frame, 16 ms).
  const fresh = [`landing1-${run}`, `landing2-${run}`, `landing3-${run}`];
  for (const t of fresh) await writer.send(channelId, t);
  await gatewaySaw(page, fresh[2]);
  // A key pressed meanwhile (Shift, which scrolls nothing) is the reader's
  // input: the list then leaves the scroll position to virtua rather than
  // put its anchor back, as it must for a reader who scrolls.
  await page.keyboard.press('Shift');
  await page.clock.runFor(16); // the dispatches, then the first settling frame
  await page.clock.runFor(16); // the second: the list settles
  await page.clock.runFor(1000); // the later checks (120 ms, 300 ms)
  await page.clock.resume();

  const after = await topOf(log, before!.id);
  expect(after).not.toBeNull();
  expect(Math.abs(after! - before!.top)).toBeLessThanOrEqual(2);
  // Every rendered row sits where its measured size puts it: none overlaps
  // the one above it (rows given their neighbours' sizes do).
  const overlaps = await log.evaluate((el) => {
    const boxes = [...el.querySelectorAll('article')].map((a) => a.getBoundingClientRect()).sort((a, b) => a.top - b.top);
    const out: string[] = [];
    for (let i = 1; i < boxes.length; i++) if (boxes[i]!.top < boxes[i - 1]!.bottom - 1) out.push(`${boxes[i - 1]!.bottom}>${boxes[i]!.top}`);
    return out;
  });
  expect(overlaps).toEqual([]);
  await expect(page.getByRole('status').filter({ hasText: '3 new messages' })).toBeVisible();
  // And the messages are there, once each, at the end.
  await page.getByRole('button', { name: 'Jump to present' }).click();
  for (const t of fresh) await expect(log.getByRole('article').filter({ hasText: t })).toHaveCount(1);
  await expect(log.getByRole('article').last()).toContainText(fresh[2]);
});

// A channel whose whole history fits in the window, read from its very
// start: live messages take the window over its cap of 1,000, and the rows
// that would go to keep the cap are the oldest, the ones on screen. They
// stay (the list drops the oldest only for a reader at the bottom), so the
// reader is not moved and still sees the start of the conversation. Nor
// does the trim that follows an older page's landing by 300 ms drop the
// newest, and with them the present: messages that came in those 300 ms
// and after were then left uncounted (19 of 20 in one CI run). The test
// holds the last older page and moves the page's clock itself, so that 15
// messages come before that trim and 5 after it.
test('a reader at the start of a full window is not moved when live messages take it over the cap', async ({ page }) => {
  test.setTimeout(240_000);
  const name = uniq('Full');
  const { general } = await reader.api.createGuild(name);
  await writer.call('POST', `/invites/${await reader.api.invite(general.id)}`, {});
  await seed(writer, general.id, 990, (i) => `full${i}-${run}`);
  await keepGatewayFrames(page);
  await page.clock.install();
  const log = await openAsReader(page, name, 'full');

  const held: Route[] = [];
  await page.route(/\/messages\?.*before=/, (route) => void held.push(route));
  const welcome = log.getByRole('heading', { name: 'Welcome to #general' });
  // Page after page up to the start; the short page that brings it lands
  // with the page's clock paused.
  for (;;) {
    await expect
      .poll(async () => {
        await page.mouse.wheel(0, -4000);
        return held.length;
      })
      .toBe(1);
    const route = held.shift()!;
    const response = await route.fetch();
    const limit = Number(new URL(route.request().url()).searchParams.get('limit'));
    if ((await response.json()).length === limit) {
      await route.fulfill({ response });
      continue;
    }
    await page.clock.pauseAt(await page.evaluate(() => Date.now() + 1000));
    await route.fulfill({ response });
    break;
  }
  // Frame by frame, the wheel still turning, up to the start.
  await expect
    .poll(async () => {
      await page.clock.runFor(16);
      await page.mouse.wheel(0, -4000);
      return (await welcome.isVisible()) && (await log.evaluate((el) => el.scrollTop)) === 0;
    })
    .toBe(true);
  await page.clock.runFor(32); // settling frames; the 300 ms trim is still due
  const first = () =>
    log.evaluate((el) => {
      const a = el.querySelector('article');
      return { id: a?.getAttribute('data-message-id'), top: a?.getBoundingClientRect().top };
    });
  const before = await first();

  for (let i = 0; i < 15; i++) await writer.send(general.id, `over${i}-${run}`);
  await gatewaySaw(page, `over14-${run}`);
  await page.clock.runFor(1000); // the dispatches, then the trim
  await page.clock.resume();
  for (let i = 15; i < 20; i++) await writer.send(general.id, `over${i}-${run}`);
  await expect(page.getByRole('status').filter({ hasText: '20 new messages' })).toBeVisible();
  const after = await first();
  expect(after.id).toBe(before.id);
  expect(Math.abs(after.top! - before.top!)).toBeLessThanOrEqual(2);
  await expect(welcome).toBeInViewport();

  // The bar goes to the present, where the messages are, once each.
  await page.getByRole('button', { name: 'Jump to present' }).click();
  await expect(log.getByRole('article').last()).toContainText(`over19-${run}`);
  await expect(log.getByRole('article').filter({ hasText: `over19-${run}` })).toHaveCount(1);
});
