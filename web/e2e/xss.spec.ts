// Known XSS payloads in message content, guild, channel and display names
// render as inert text: no dialog opens, no element carries an on* attribute,
// no link points at javascript:, and no payload sets its canary.
import { expect, test, Api, messageLog, messageWith, openChannel, signIn, uniq } from './helpers';
import { servers } from './servers';

// Each payload tries to set window.__xss (CSP would block a bare alert, so the
// canary and the DOM checks carry the test, the dialog listener backs them).
const PAYLOADS = [
  '<script>window.__xss=1;alert(1)</script>',
  '<img src=x onerror="window.__xss=1;alert(1)">',
  '<svg onload="window.__xss=1">',
  '<svg><script>window.__xss=1</script></svg>',
  '<iframe src="javascript:window.top.__xss=1"></iframe>',
  '<a href="javascript:window.__xss=1">click</a>',
  '[masked](javascript:window.__xss=1)',
  '[masked upper](JaVaScRiPt:window.__xss=1)',
  '[masked entity](javascript&colon;window.__xss=1)',
  '[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '<javascript:window.__xss=1>',
  '[x](https://example.com" onmouseover="window.__xss=1)',
  '**<b onmouseover=window.__xss=1>bold</b>**',
  '`<img src=x onerror=window.__xss=1>`',
  '```html\n<img src=x onerror=window.__xss=1>\n```',
  '```"><img src=x onerror=window.__xss=1>\ncode\n```',
  '||<img src=x onerror=window.__xss=1>||',
  '> <details open ontoggle=window.__xss=1>',
  '<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>',
  '<body onload=window.__xss=1>',
  '<input autofocus onfocus=window.__xss=1>',
  '<video><source onerror="window.__xss=1"></video>',
  '<object data="javascript:window.__xss=1"></object>',
  '<embed src="javascript:window.__xss=1">',
  '<form action="javascript:window.__xss=1"><button>go</button></form>',
  '<meta http-equiv="refresh" content="0;url=javascript:window.__xss=1">',
  '<style>@import "javascript:window.__xss=1";</style>',
  '<:x:1" onerror="window.__xss=1> <a:y:2 onload=window.__xss=1>',
  '<t:1" onmouseover="window.__xss=1:R>',
  '<@1" onclick="window.__xss=1> <#2 onclick=window.__xss=1> <@&3 onclick=window.__xss=1>',
  '&lt;img src=x onerror=window.__xss=1&gt;',
  '\u003cimg src=x onerror=window.__xss=1\u003e',
  'https://example.com/"><img src=x onerror=window.__xss=1>',
  '[![img](javascript:window.__xss=1)](javascript:window.__xss=1)',
  '# <img src=x onerror=window.__xss=1>',
  '- <img src=x onerror=window.__xss=1>\n- [a](vbscript:window.__xss=1)',
  '{{constructor.constructor("window.__xss=1")()}}',
  '${window.__xss=1}',
];

test('XSS payloads in content and names render inert', async ({ page }) => {
  test.setTimeout(240_000); // hovers every one of the payload messages
  const { A } = servers();
  const dialogs: string[] = [];
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  const name = uniq('xss');
  const api = await Api.register(A, name);
  // Names: the server may refuse some payloads (length, characters); whatever it accepts must render inert.
  const guildName = `<img src=x onerror=window.__xss=1> ${uniq('g')}`;
  const { guild, general } = await api.createGuild(guildName);
  const evilChannels: string[] = [];
  for (const p of ['<svg onload=window.__xss=1>', '"><script>window.__xss=1</script>']) {
    try {
      const c = await api.call('POST', `/guilds/${guild.id}/channels`, { name: p, type: 0 });
      evilChannels.push(c.name);
    } catch {
      /* refused by the server: nothing to render */
    }
  }
  try {
    await api.call('PATCH', '/users/@me', { global_name: '<img src=x onerror=window.__xss=1>' });
  } catch {
    /* refused: fine */
  }
  for (let i = 0; i < PAYLOADS.length; i++) await api.send(general.id, `p${i} ${PAYLOADS[i]}`);
  const last = `p${PAYLOADS.length - 1} `;

  // Tall enough for the virtualised list to render every payload at once.
  await page.setViewportSize({ width: 1280, height: 6000 });
  await signIn(page, A, { username: name });
  await openChannel(page, guildName);
  const log = messageLog(page);
  await expect(messageWith(log, last)).toHaveCount(1);
  await expect(log.getByRole('article').filter({ hasText: /\bp0 / })).toHaveCount(1);
  // Hover and focus every message and click every spoiler, so handlers that wait for those would fire.
  for (const m of await log.getByRole('article').all()) {
    await m.hover();
  }
  for (const name of evilChannels) {
    await page.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name, exact: true }).click();
    await page.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: 'general', exact: true }).click();
  }
  await expect(messageWith(log, last)).toHaveCount(1);

  const found = await page.evaluate(() => {
    const onAttrs: string[] = [];
    const badHrefs: string[] = [];
    for (const el of Array.from(document.querySelectorAll('*'))) {
      for (const a of Array.from(el.attributes)) {
        if (/^on/i.test(a.name)) onAttrs.push(`${el.tagName} ${a.name}`);
        if (/^(href|src|action|formaction|data|xlink:href)$/i.test(a.name) && /^\s*(javascript|vbscript|data:text\/html)/i.test(a.value)) {
          badHrefs.push(`${el.tagName} ${a.name}=${a.value}`);
        }
      }
    }
    const foreign = Array.from(document.querySelectorAll('#app iframe, #app object, #app embed, #app script, #app form[action], #app meta, #app base')).map((e) => e.tagName);
    return { onAttrs, badHrefs, foreign, canary: (window as unknown as { __xss?: unknown }).__xss ?? null };
  });
  expect(found).toEqual({ onAttrs: [], badHrefs: [], foreign: [], canary: null });
  expect(dialogs).toEqual([]);
  // The payloads are shown as text, not swallowed.
  await expect(log.getByRole('article').filter({ hasText: /\bp1 / })).toContainText('onerror');
  await expect(messageWith(log, last)).toContainText('window.__xss');
});
