// Sign-in to any homeserver through the form of the page served by A.
import { createServer, type Server } from 'node:http';
import { expect, test, Api, PASSWORD, fillSignIn, freePortNow, signIn, uniq, watchErrors } from './helpers';
import { servers } from './servers';

test('registers on A, keeps the session across a reload, logs out', async ({ page }) => {
  const { A } = servers();
  const name = uniq('alice');
  await signIn(page, A, { username: name, register: true });
  await page.reload();
  await expect(page.getByRole('navigation', { name: 'Servers' })).toBeVisible();
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByRole('textbox', { name: 'Username', exact: true })).toBeVisible();
  await page.reload();
  await expect(page.getByRole('textbox', { name: 'Username', exact: true })).toBeVisible();
});

test('registers on B by typing B into Homeserver on the page served by A', async ({ page }) => {
  const { A, B } = servers();
  const name = uniq('bob');
  await signIn(page, A, { server: B, username: name, register: true });
  // The account is B's: B knows the name and A does not.
  const onB = await new Api(B).call<{ token: string }>('POST', '/auth/login', { login: name, password: PASSWORD });
  expect(onB.token).toBeTruthy();
  const onA = await fetch(`${A.url}/api/v10/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: name, password: PASSWORD }),
  });
  expect(onA.ok).toBe(false);
  // The page is still A's.
  expect(new URL(page.url()).host).toBe(A.host);
});

test('logs in to an existing account; a wrong password gets a sentence', async ({ page }) => {
  const { A } = servers();
  const name = uniq('carol');
  await Api.register(A, name);
  watchErrors(page);
  await page.goto(A.url);
  await fillSignIn(page, undefined, name, 'not the password');
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await expect(page.getByRole('alert')).toContainText(/\w+ \w+/);
  await fillSignIn(page, undefined, name, PASSWORD);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await expect(page.getByRole('navigation', { name: 'Servers' })).toBeVisible();
});

test('a homeserver that is down or is not a homeserver gets a clear sentence, not a blank page', async ({ page }) => {
  const { A } = servers();
  // Something that answers HTTP but is no homeserver: every path says hello.
  const impostor: Server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<h1>hello</h1>');
  });
  await new Promise<void>((ok) => impostor.listen(0, '127.0.0.1', ok));
  const addr = impostor.address();
  const impostorHost = `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  try {
    const downHost = `127.0.0.1:${await freePortNow()}`;
    watchErrors(page);
    for (const host of [downHost, impostorHost, 'not a host name!']) {
      await page.goto(A.url);
      await fillSignIn(page, host, uniq('dan'), PASSWORD);
      await page.getByRole('button', { name: 'Log in', exact: true }).click();
      const alert = page.getByRole('alert');
      await expect(alert).toBeVisible();
      await expect(alert).toContainText(/\w+ \w+ \w+/); // a sentence, not a code
      // The form stays usable.
      await expect(page.getByRole('textbox', { name: 'Homeserver', exact: true })).toBeEditable();
    }
  } finally {
    impostor.close();
  }
});
