// Behaviours of the client that have no other browser test: a dropped
// gateway connection without a server restart, a 429 waited out with a
// countdown, a revoked session, a refused send, pins and threads, markdown,
// an image loading above the reader, themes and the keyboard, and the
// outbox that survives a reload. One homeserver (A) unless said otherwise.
import { type Page, type Route, type WebSocketRoute } from '@playwright/test';
import {
  expect,
  test,
  Api,
  PASSWORD,
  composer,
  hoverMessage,
  messageIds,
  messageLog,
  messageWith,
  openChannel,
  png,
  say,
  signIn,
  sortedAsSnowflakes,
  uniq,
} from './helpers';
import { servers } from './servers';

/** A user of A with a guild, signed in on `page` and looking at #general. */
async function setup(page: Page, label: string) {
  const { A } = servers();
  const name = uniq(label);
  const api = await Api.register(A, name);
  const guildName = uniq(`G${label}`);
  const { guild, general } = await api.createGuild(guildName);
  await signIn(page, A, { username: name });
  await openChannel(page, guildName);
  return { A, api, name, guild, general, guildName, log: messageLog(page) };
}

async function texts(page: Page, re: RegExp): Promise<string[]> {
  const all = await messageLog(page).getByRole('article').allInnerTexts();
  return all.flatMap((t) => t.match(re) ?? []);
}

test('a dropped gateway connection (no restart) resumes with nothing missed or doubled', async ({ page }) => {
  // Every gateway socket goes through Playwright's WebSocket route, which
  // forwards to the real server. "Down" closes the page side (the server
  // side goes with it) and refuses new sockets until "up".
  let down = false;
  let opened = 0;
  const live: { page: WebSocketRoute; server: WebSocketRoute }[] = [];
  await page.routeWebSocket(/.*/, (ws) => {
    if (down) {
      void ws.close({ code: 4000, reason: 'network down (test)' });
      return;
    }
    opened++;
    live.push({ page: ws, server: ws.connectToServer() });
  });
  const { api, general, log } = await setup(page, 'drop');
  const carol = await Api.register(servers().A, uniq('carol'));
  await carol.call('POST', `/invites/${await api.invite(general.id)}`, {});
  const run = Date.now().toString(36);
  const expected: string[] = [];
  const tok = (l: string) => {
    const t = `drop-${l}-${run}`;
    expected.push(t);
    return t;
  };

  const before = tok('before');
  await say(page, before);
  await expect(messageWith(log, before)).toHaveCount(1);
  const openedBefore = opened;

  down = true;
  for (const ws of live.splice(0)) {
    await ws.page.close({ code: 4000, reason: 'dropped (test)' });
    await ws.server.close();
  }
  // Written while the screen has no socket: only RESUME's replay (or the gap fill) brings them.
  for (const l of ['gap1', 'gap2', 'gap3']) await carol.send(general.id, tok(l));
  // Sent from the screen while its socket is down: REST works, the replay repeats it.
  const mine = tok('mine');
  await say(page, mine);
  await expect(messageWith(log, mine)).toHaveCount(1);
  down = false;

  // The client reconnects on its own (backoff), without a reload.
  await expect.poll(() => opened, { timeout: 45_000 }).toBeGreaterThan(openedBefore);
  await carol.send(general.id, tok('after'));
  const re = new RegExp(`drop-\\w+-${run}`, 'g');
  await expect.poll(() => texts(page, re), { timeout: 30_000 }).toEqual(expected);
  const ids = await messageIds(log);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids).toEqual(sortedAsSnowflakes(ids));
  // Stored once each, too.
  const one = new RegExp(`^drop-\\w+-${run}$`);
  const stored = (await api.messages(general.id)).map((m) => m.content as string).filter((c) => one.test(c));
  expect(stored.length).toBe(expected.length);
});

test('a 429 shows a countdown, then the message is sent once', async ({ page }) => {
  const { api, general, log } = await setup(page, 'rl');
  // The homeserver's limits (50 requests/s per route) are too high to hit
  // reliably from one typing person; the first send is answered with a
  // 429 shaped exactly as the server shapes it, the retry goes through.
  let limited = 0;
  await page.route('**/channels/*/messages', async (route: Route) => {
    if (route.request().method() === 'POST' && limited === 0) {
      limited++;
      await route.fulfill({
        status: 429,
        headers: { 'Retry-After': '5', 'X-RateLimit-Scope': 'user', 'Content-Type': 'application/json' },
        body: JSON.stringify({ message: 'You are being rate limited.', retry_after: 4.5, global: false }),
      });
      return;
    }
    await route.fallback();
  });
  const t = uniq('limited');
  await say(page, t);
  const wait = page.getByRole('status').filter({ hasText: /trying again in \d s/ });
  await expect(wait).toBeVisible();
  // The pending row is there meanwhile, and the wait ends by itself.
  await expect(messageWith(log, t)).toHaveCount(1);
  await expect(wait).toHaveCount(0, { timeout: 20_000 });
  await expect.poll(async () => (await api.messages(general.id)).filter((m) => m.content === t).length).toBe(1);
  await expect(messageWith(log, t)).toHaveCount(1);
  await expect(messageWith(log, t).getByRole('alert')).toHaveCount(0);
  expect(limited).toBe(1);
});

test('a session ended from another device returns to sign-in with the homeserver kept', async ({ page }) => {
  const { A, B } = servers();
  const name = uniq('revoked');
  // Registered from the page A serves, on B: the homeserver to keep is B,
  // and the page's is the account's only session.
  await signIn(page, A, { server: B, username: name, register: true });
  const other = await new Api(B).call<{ token: string }>('POST', '/auth/login', { login: name, password: PASSWORD });
  const api = new Api(B, other.token);
  const { user_sessions: sessions } = await api.call<{ user_sessions: { id_hash: string; current: boolean }[] }>('GET', '/auth/sessions');
  const theirs = sessions.filter((s) => !s.current).map((s) => s.id_hash);
  expect(theirs.length).toBe(1);
  await api.call('POST', '/auth/sessions/logout', { session_id_hashes: theirs });

  await expect(page.getByRole('button', { name: 'Log in', exact: true })).toBeVisible();
  await expect(page.getByRole('textbox', { name: 'Homeserver', exact: true })).toHaveValue(B.url);
  await expect(page.getByText(/session on .* has ended/)).toBeVisible();
  // And signing in again works from there.
  await page.getByRole('textbox', { name: 'Username', exact: true }).fill(name);
  await page.getByRole('textbox', { name: 'Password', exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await expect(page.getByRole('navigation', { name: 'Servers' })).toBeVisible();
});

test('a send the server refuses shows its reason with Retry and Delete', async ({ page }) => {
  const { A } = servers();
  const owner = await Api.register(A, uniq('owner'));
  const guildName = uniq('Grefused');
  const { guild, general } = await owner.createGuild(guildName);
  // A channel where @everyone may read but not send (SEND_MESSAGES = 1 << 11).
  await owner.call('POST', `/guilds/${guild.id}/channels`, {
    name: 'readonly',
    type: 0,
    permission_overwrites: [{ id: guild.id, type: 0, allow: '1024', deny: '2048' }],
  });
  const name = uniq('refused');
  const member = await Api.register(A, name);
  await member.call('POST', `/invites/${await owner.invite(general.id)}`, {});
  await signIn(page, A, { username: name });
  await openChannel(page, guildName, 'readonly');
  const log = messageLog(page, 'readonly');
  const t = uniq('refused_send');
  await say(page, t, 'readonly');
  const row = messageWith(log, t);
  // The server's own words (Discord's 50013 message), beside the message.
  await expect(row.getByRole('alert')).toContainText('Missing Permissions');
  await expect(row.getByRole('button', { name: 'Retry', exact: true })).toBeVisible();
  await row.getByRole('button', { name: 'Delete', exact: true }).click();
  await expect(row).toHaveCount(0);
});

test('pin a message and see it in the pins; create a thread, post in it, leave it', async ({ page }) => {
  const { api, general, log, guild } = await setup(page, 'pins');
  const t = uniq('pin_me');
  await say(page, t);
  await expect(messageWith(log, t)).toHaveCount(1);
  await expect.poll(async () => (await api.messages(general.id)).some((m) => m.content === t)).toBe(true);

  const m = await hoverMessage(log, t);
  await m.getByRole('button', { name: 'Pin', exact: true }).click();
  await expect.poll(async () => (await api.call<any[]>('GET', `/channels/${general.id}/pins`)).map((p) => p.content)).toEqual([t]);
  await page.getByRole('button', { name: 'Pinned messages', exact: true }).click();
  const pins = page.getByRole('dialog', { name: 'Pinned messages' });
  await expect(pins).toContainText(t);
  await pins.getByRole('button', { name: 'Close', exact: true }).click();
  await expect(pins).toHaveCount(0);

  await (await hoverMessage(log, t)).getByRole('button', { name: 'Create thread', exact: true }).click();
  const thread = uniq('thread');
  const dialog = page.getByRole('dialog', { name: 'Create thread' });
  await dialog.getByRole('textbox', { name: 'Thread name' }).fill(thread);
  await dialog.getByRole('button', { name: 'Create', exact: true }).click();
  const threadLog = messageLog(page, thread);
  await expect(threadLog).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: thread, exact: true })).toBeVisible();
  const inThread = uniq('in_thread');
  await say(page, inThread, thread);
  await expect(messageWith(threadLog, inThread)).toHaveCount(1);
  const threadId = (await api.call<{ threads: any[] }>('GET', `/guilds/${guild.id}/threads/active`)).threads.find((c) => c.name === thread).id;
  await expect.poll(async () => (await api.messages(threadId)).map((x) => x.content)).toContain(inThread);
  const me = await api.me();
  await expect.poll(async () => (await api.call<any[]>('GET', `/channels/${threadId}/thread-members`)).map((x) => x.user_id)).toContain(me.id);

  await page.getByRole('button', { name: 'Leave thread', exact: true }).click();
  await expect(messageLog(page)).toBeVisible();
  await expect.poll(async () => (await api.call<any[]>('GET', `/channels/${threadId}/thread-members`)).map((x) => x.user_id)).not.toContain(me.id);
});

test('markdown renders as Discord does; a spoiler shows on click', async ({ page }) => {
  const { api, general, log } = await setup(page, 'md');
  const tag = uniq('md');
  await api.send(
    general.id,
    [
      `${tag} **bold** *italic* __under__ ~~strike~~ \`inline\` ||hidden words|| [masked](https://example.com/x) https://example.org/y`,
      '> quoted line',
      '# Heading',
      '- item one',
      '```js',
      'const x = 1;',
      '```',
    ].join('\n'),
  );
  const m = messageWith(log, tag);
  await expect(m).toHaveCount(1);
  await expect(m.locator('strong')).toHaveText('bold');
  await expect(m.locator('em')).toHaveText('italic');
  await expect(m.locator('u')).toHaveText('under');
  await expect(m.locator('s')).toHaveText('strike');
  await expect(m.locator('code.inline')).toHaveText('inline');
  await expect(m.locator('blockquote')).toContainText('quoted line');
  await expect(m.getByRole('heading', { name: 'Heading' })).toBeVisible();
  await expect(m.getByRole('listitem')).toHaveText('item one');
  for (const [name, href] of [
    ['masked', 'https://example.com/x'],
    ['https://example.org/y', 'https://example.org/y'],
  ]) {
    const a = m.getByRole('link', { name, exact: true });
    await expect(a).toHaveAttribute('href', href);
    await expect(a).toHaveAttribute('target', '_blank');
    await expect(a).toHaveAttribute('rel', 'noopener noreferrer');
  }
  // Highlighting arrives with its lazy chunk.
  await expect(m.locator('pre code .hljs-keyword').first()).toHaveText('const');
  // The spoiler hides its words until clicked.
  const spoiler = m.getByRole('button', { name: 'Spoiler, click to show' });
  await expect(spoiler).toBeVisible();
  await expect(m.getByText('hidden words')).toBeHidden();
  await spoiler.click();
  await expect(spoiler).toHaveCount(0);
  await expect(m.getByText('hidden words')).toBeVisible();
});

test('the top message stays within 2 px when an image above it finishes loading', async ({ page }) => {
  const { api, general, log } = await setup(page, 'img');
  // Hold every scaled image until the test lets it go.
  let release!: () => void;
  const released = new Promise<void>((ok) => (release = ok));
  await page.route(/\/attachments\//, async (route) => {
    await released;
    await route.fallback();
  });
  const form = new FormData();
  form.append('payload_json', JSON.stringify({ content: 'photo above', attachments: [{ id: 0, filename: 'tall.png' }] }));
  form.append('files[0]', new Blob([png(300, 400)], { type: 'image/png' }), 'tall.png');
  await api.call('POST', `/channels/${general.id}/messages`, form);
  const tag = uniq('below');
  for (let i = 0; i < 12; i++) await api.send(general.id, `${tag} ${i}`);
  await expect(messageWith(log, `${tag} 11`)).toHaveCount(1);
  await expect(messageWith(log, 'photo above')).toHaveCount(1);

  // Scroll so that the photo's row starts above the top edge and the next message is the top one.
  const photo = messageWith(log, 'photo above');
  await photo.evaluate((el) => el.scrollIntoView({ block: 'start' }));
  const scroller = await log.evaluateHandle((el) => {
    let e: HTMLElement | null = el as HTMLElement;
    while (e && e.scrollHeight <= e.clientHeight + 1) e = e.parentElement;
    return e ?? (el as HTMLElement);
  });
  await scroller.evaluate((el) => ((el as HTMLElement).scrollTop += 120));
  const top = messageWith(log, `${tag} 0`);
  await expect(top).toBeVisible();
  const y0 = (await top.boundingBox())!.y;
  release();
  await expect.poll(() => photo.locator('img').evaluate((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0)).toBe(true);
  // Two frames for any late layout.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const y1 = (await top.boundingBox())!.y;
  expect(Math.abs(y1 - y0)).toBeLessThanOrEqual(2);
});

test('the theme follows the system; the keyboard alone can send, edit and cancel', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  const { log } = await setup(page, 'kbd');
  const lightness = () =>
    page.evaluate(() => {
      const m = getComputedStyle(document.body).backgroundColor.match(/\d+(\.\d+)?/g)!.map(Number);
      return (m[0]! + m[1]! + m[2]!) / 3;
    });
  expect(await lightness()).toBeLessThan(80);
  await page.emulateMedia({ colorScheme: 'light' });
  await expect.poll(lightness).toBeGreaterThan(180);
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect.poll(lightness).toBeLessThan(80);

  // From the top of the page, Tab reaches the composer.
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  const box = composer(page);
  let reached = false;
  for (let i = 0; i < 80 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await box.evaluate((el) => el === document.activeElement);
  }
  expect(reached, 'Tab reaches the composer').toBe(true);
  const t = uniq('typed');
  await page.keyboard.type(t);
  await page.keyboard.press('Enter');
  const m = messageWith(log, t);
  await expect(m).toHaveCount(1);
  await expect(m).not.toHaveAttribute('data-message-id', /^\d{0,0}$/);
  await expect.poll(() => m.getAttribute('data-message-id')).toMatch(/^\d+$/);

  // Up edits the last own message; Enter saves.
  await page.keyboard.press('ArrowUp');
  const edit = page.getByRole('textbox', { name: 'Edit message' });
  await expect(edit).toBeFocused();
  await page.keyboard.press('End');
  await page.keyboard.type(' changed');
  await page.keyboard.press('Enter');
  await expect(messageWith(log, `${t} changed`)).toContainText('(edited)');
  await expect(box).toBeFocused();
  // Up again, then Esc cancels and gives the composer back.
  await page.keyboard.press('ArrowUp');
  await expect(edit).toBeFocused();
  await page.keyboard.type(' discarded');
  await page.keyboard.press('Escape');
  await expect(edit).toHaveCount(0);
  await expect(box).toBeFocused();
  await expect(messageWith(log, 'discarded')).toHaveCount(0);
});

test('sends that failed are sent again after a reload with their nonce: once each', async ({ page }) => {
  // The gateway is forwarded, but MESSAGE_CREATE is held back while muted,
  // so that the page learns of the stored message only from the outbox's send.
  let muted = false;
  await page.routeWebSocket(/.*/, (ws) => {
    const server = ws.connectToServer();
    server.onMessage((m) => {
      if (muted && String(m).includes('"MESSAGE_CREATE"')) return;
      ws.send(m);
    });
    ws.onMessage((m) => server.send(m));
  });
  const { api, general, log } = await setup(page, 'outbox');
  // The first send never reaches the server; the second reaches it (and is
  // stored) but its answer is lost. To the client both failed on the network.
  let posts = 0;
  await page.route('**/channels/*/messages', async (route) => {
    if (route.request().method() !== 'POST' || posts >= 2) return route.fallback();
    posts++;
    if (posts === 2) await route.fetch();
    await route.abort('connectionreset');
  });
  const lost = uniq('never_arrived');
  const answered = uniq('answer_lost');
  muted = true;
  await say(page, lost);
  await expect(messageWith(log, lost).getByRole('alert')).toBeVisible();
  await say(page, answered);
  await expect(messageWith(log, answered).getByRole('alert')).toBeVisible();
  expect(posts).toBe(2);
  const stored = async (t: string) => (await api.messages(general.id)).filter((m) => m.content === t).length;
  expect(await stored(lost)).toBe(0);
  expect(await stored(answered)).toBe(1);

  await page.unrouteAll({ behavior: 'wait' });
  await page.reload();
  await expect(messageLog(page)).toBeVisible();
  await expect.poll(() => page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('hearth.outbox.')).length)).toBe(0);
  for (const t of [lost, answered]) {
    await expect(messageWith(log, t)).toHaveCount(1);
    await expect(messageWith(log, t).getByRole('alert')).toHaveCount(0);
    await expect.poll(() => messageWith(log, t).getAttribute('data-message-id')).toMatch(/^\d+$/);
    expect(await stored(t)).toBe(1);
  }
  const ids = await messageIds(log);
  expect(new Set(ids).size).toBe(ids.length);
});

test('a send with a file that failed on the network is sent again after a reload, file included', async ({ page }) => {
  const { api, general, log } = await setup(page, 'outboxfile');
  let posts = 0;
  await page.route('**/channels/*/messages', async (route) => {
    if (route.request().method() !== 'POST' || posts >= 1) return route.fallback();
    posts++;
    await route.abort('connectionreset');
  });
  const file = `${uniq('kept')}.png`;
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Upload a file' }).click();
  await (await chooser).setFiles({ name: file, mimeType: 'image/png', buffer: png(40, 30) });
  const t = uniq('with_file');
  await composer(page).fill(t);
  await composer(page).press('Enter');
  await expect(messageWith(log, t).getByRole('alert')).toBeVisible();
  expect(posts).toBe(1);
  const stored = async () => (await api.messages(general.id)).filter((m) => m.content === t);
  expect(await stored()).toHaveLength(0);

  await page.unrouteAll({ behavior: 'wait' });
  await page.reload();
  await expect(messageLog(page)).toBeVisible();
  const row = messageWith(log, t);
  await expect.poll(() => row.getAttribute('data-message-id')).toMatch(/^\d+$/);
  await expect(row.getByRole('img', { name: file })).toBeVisible();
  const sent = await stored();
  expect(sent).toHaveLength(1);
  expect(sent[0].attachments.map((a: { filename: string }) => a.filename)).toEqual([file]);
  // Nothing is left behind: neither the entry nor its bytes.
  await expect.poll(() => page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('hearth.outbox.')).length)).toBe(0);
  await expect
    .poll(() =>
      page.evaluate(
        () =>
          new Promise<number>((ok, fail) => {
            const req = indexedDB.open('hearth-outbox');
            req.onerror = () => fail(req.error);
            req.onsuccess = () => {
              const n = req.result.transaction('sizes').objectStore('sizes').count();
              n.onsuccess = () => ok(n.result);
              n.onerror = () => fail(n.error);
            };
          }),
      ),
    )
    .toBe(0);
});

test('a group DM with name@server people opens without one-to-one DMs first', async ({ page }) => {
  const { A, B } = servers();
  const aliceName = uniq('galice');
  const bobName = uniq('gbob');
  const carolName = uniq('gcarol');
  const bob = await Api.register(B, bobName);
  const carol = await Api.register(A, carolName);
  await Api.register(A, aliceName);
  await signIn(page, A, { username: aliceName });
  await page.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: 'Direct Messages', exact: true }).click();
  await page.getByRole('button', { name: 'New direct message', exact: true }).click();
  await page.getByRole('textbox', { name: 'Recipient', exact: true }).fill(`${bobName}@${B.host}, ${carolName}`);
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  const dmNav = page.getByRole('navigation', { name: 'Direct Messages' });
  await expect(dmNav.getByRole('link')).toHaveCount(1);
  const group = dmNav.getByRole('link');
  await expect(group).toHaveAccessibleName(new RegExp(`${bobName}.*${carolName}|${carolName}.*${bobName}`));
  const log = page.getByRole('log');
  await expect(log).toBeVisible();
  const box = page.getByRole('textbox', { name: /^Message @/ });
  const t = uniq('group_hello');
  await box.fill(t);
  await box.press('Enter');
  await expect.poll(() => messageWith(log, t).getAttribute('data-message-id')).toMatch(/^\d+$/);
  // Both others have it, bob on his own homeserver.
  for (const api of [bob, carol]) {
    await expect
      .poll(async () => {
        const chans = await api.call<any[]>('GET', '/users/@me/channels');
        const g = chans.find((c) => c.type === 3);
        return g ? (await api.messages(g.id)).map((m) => m.content) : [];
      })
      .toContain(t);
  }
});

test('a person added to a group DM sees it live, with its people kept up to date, and not once removed', async ({ page }) => {
  const { A } = servers();
  const alice = await Api.register(A, uniq('ralice'));
  const carol = await Api.register(A, uniq('rcarol'));
  const frank = await Api.register(A, uniq('rfrank'));
  const erinName = uniq('rerin');
  const erin = await Api.register(A, erinName);
  const daveName = uniq('rdave');
  const dave = await Api.register(A, daveName);
  const [carolMe, frankMe, daveMe, erinMe] = await Promise.all([carol.me(), frank.me(), dave.me(), erin.me()]);
  const group = await alice.call<{ id: string }>('POST', '/users/@me/channels', { recipients: [carolMe.id, frankMe.id] });
  await alice.send(group.id, 'before dave');
  await signIn(page, A, { username: daveName });
  await page.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: 'Direct Messages', exact: true }).click();
  const dmNav = page.getByRole('navigation', { name: 'Direct Messages' });
  await expect(dmNav.getByRole('link')).toHaveCount(0);

  await alice.call('PUT', `/channels/${group.id}/recipients/${daveMe.id}`);
  const link = dmNav.getByRole('link');
  await expect(link).toHaveCount(1);
  await expect(link).toHaveAccessibleName(new RegExp(carolMe.username));
  // Someone else comes in: the group's name, made of its people, follows.
  await alice.call('PUT', `/channels/${group.id}/recipients/${erinMe.id}`);
  await expect(link).toHaveAccessibleName(new RegExp(erinName));
  await link.click();
  await alice.send(group.id, 'welcome dave');
  await expect(messageWith(page.getByRole('log'), 'welcome dave')).toHaveCount(1);
  await alice.call('DELETE', `/channels/${group.id}/recipients/${erinMe.id}`);
  await expect(link).not.toHaveAccessibleName(new RegExp(erinName));
  // Dave is removed: the group goes from his list.
  await alice.call('DELETE', `/channels/${group.id}/recipients/${daveMe.id}`);
  await expect(dmNav.getByRole('link')).toHaveCount(0);
});

test('a message sent while the channel is still loading stays once the page arrives', async ({ page }) => {
  // The channel's newest page is read before the send is stored, and
  // answered only after the send: the page must not wipe the send (found
  // as a federated DM written to the moment it opened).
  const { api, guild, guildName } = await setup(page, 'loading');
  const second = await api.call('POST', `/guilds/${guild.id}/channels`, { name: 'second', type: 0 });
  const before = uniq('before');
  await api.send(second.id, before);
  let release!: () => void;
  const released = new Promise<void>((ok) => (release = ok));
  await page.route(new RegExp(`/api/v10/channels/${second.id}/messages\\?`), async (route: Route) => {
    if (route.request().method() !== 'GET') return route.fallback();
    const response = await route.fetch();
    await released;
    await route.fulfill({ response });
  });
  await openChannel(page, guildName, 'second');
  const early = uniq('early');
  const sent = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes(`/channels/${second.id}/messages`));
  await say(page, early, 'second');
  expect((await sent).ok()).toBe(true);
  const log = messageLog(page, 'second');
  await expect(messageWith(log, early)).toHaveCount(1);
  release();
  await expect(messageWith(log, before)).toHaveCount(1);
  await expect(messageWith(log, early)).toHaveCount(1);
  const shown = (await log.getByRole('article').allInnerTexts()).flatMap((t) => t.match(/\b(?:before|early)_\w+/g) ?? []);
  expect(shown).toEqual([before, early]);
});
