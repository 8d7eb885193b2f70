// The panel's deployed sign-in for real (#14): contacts-local with JWT_ISSUER and JWT_AUDIENCE
// (it then verifies bearer JWTs as API Gateway's authorizer does, and offers no development
// sign-in), a real OpenID provider (oidc-provider, tests/browser/oidc.mjs), and the panel in
// headless Chromium: Sign in leaves for the provider's own login and consent forms, comes back
// with a code, exchanges it with its PKCE verifier, and the API takes the provider's token;
// Sign out ends the provider's session too.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { CLIENT_ID, signInOnProviderPages, startProvider } from './oidc.mjs';
import { launchBrowser, startLocal } from './support.mjs';

let op;
let local;
let browser;

before(async () => {
  op = await startProvider({ redirectUris: [] });
  local = await startLocal({ JWT_ISSUER: op.issuer, JWT_AUDIENCE: CLIENT_ID });
  op.allowRedirect(`${local.base}/`);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  local?.stop();
  await op?.stop();
});

test('Ada signs in to the panel at the OpenID provider (code + PKCE), uses it with its token, and signs out', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const csp = [];
  page.on('console', (msg) => { if (/Content Security Policy/.test(msg.text())) csp.push(msg.text()); });
  await page.goto(`${local.base}/`);
  assert.equal(await page.getByLabel('Customer ID').count(), 0, 'no development sign-in with an issuer');
  await page.getByRole('button', { name: 'Sign in' }).click();

  await page.waitForURL((url) => url.href.startsWith(op.issuer));
  await signInOnProviderPages(page, 'ad1000-ovh');

  await page.waitForURL((url) => url.href.startsWith(local.base));
  await page.getByRole('tab', { name: 'My contacts', selected: true }).waitFor();
  assert.equal(page.url(), `${local.base}/`, 'the code and state are wiped from the address bar');
  assert.match(await page.getByText(/Signed in as/).textContent(), /Ada Admin/, 'the API took the provider token as Ada');
  await page.getByRole('cell', { name: 'example.com' }).first().waitFor();
  const session = JSON.parse(await page.evaluate(() => sessionStorage.getItem('panel.session')));
  assert.equal(session.token.split('.').length, 3, 'a JWT, in this tab only');
  assert.equal(await page.evaluate(() => document.cookie), '', 'no cookie of ours');
  assert.deepEqual(csp, [], 'the CSP lets the panel reach the provider, and nothing else is blocked');

  await page.getByRole('button', { name: 'Sign out' }).click();
  // The provider asks to confirm the end of its session, then sends the customer back.
  await page.waitForURL((url) => url.href.startsWith(op.issuer));
  await page.getByRole('button', { name: /Yes, sign me out/ }).click();
  await page.waitForURL((url) => url.href.startsWith(local.base));
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('panel.session')), null);
  await context.close();
});

test("an issuer whose discovery document cannot be read: the page says sign-in is unavailable, and why", async () => {
  // A port nobody listens on: the server cannot read the discovery document.
  const dead = await startLocal({ JWT_ISSUER: 'http://127.0.0.1:9', JWT_AUDIENCE: CLIENT_ID });
  try {
    const config = await fetch(`${dead.base}/panel/config`);
    const problem = await config.json();
    assert.equal(config.status, 502, JSON.stringify(problem));
    assert.equal(problem.code, 'identity_provider_unavailable');
    assert.match(problem.detail, /discovery document/);
    assert.ok(Number(config.headers.get('retry-after')) > 0, 'says when to try again');
    const context = await browser.newContext();
    const page = await context.newPage();
    const response = await page.goto(`${dead.base}/`);
    assert.match(response.headers()['content-security-policy'], /; connect-src 'self';/, 'no provider known, none allowed');
    assert.match(await page.getByRole('alert').textContent(), /Sign-in is unavailable for now/);
    assert.equal(await page.getByRole('button', { name: 'Sign in' }).count(), 0);
    await context.close();
  } finally {
    dead.stop();
  }
});
