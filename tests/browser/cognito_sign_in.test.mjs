// The panel's sign-in against a provider shaped like Amazon Cognito (#26): the issuer's origin
// serves the discovery document and the keys only, the token endpoint and the logout live on
// another origin (the user pool's domain), the discovery document names no end_session_endpoint,
// and the access token carries `client_id`, `token_use`, `scope` and `username` but no `aud`
// (tests/browser/oidc.mjs, `cognito: true`). contacts-local is configured as docs/deploying.md's
// Cognito steps deploy the stack: JWT_ISSUER the issuer, JWT_AUDIENCE the app client id,
// ACCOUNT_CLAIM=username, PANEL_SCOPE with the resource server's scope. The page's CSP must let
// the panel reach the token endpoint's origin and nothing more; sign-out must follow Cognito's
// logout contract with no token in any URL.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { CLIENT_ID, COGNITO_SCOPE, signInOnProviderPages, startProvider } from './oidc.mjs';
import { TOOLS, launchBrowser, startLocal } from './support.mjs';

const AXE = path.join(TOOLS, 'node', 'node_modules', 'axe-core', 'axe.min.js');

let op;
let local;
let browser;

before(async () => {
  op = await startProvider({ redirectUris: [], cognito: true });
  local = await startLocal({ JWT_ISSUER: op.issuer, JWT_AUDIENCE: CLIENT_ID, ACCOUNT_CLAIM: 'username', PANEL_SCOPE: COGNITO_SCOPE });
  op.allowRedirect(`${local.base}/`);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  local?.stop();
  await op?.stop();
});

/** axe-core on the page as it is: no serious or critical violation. */
async function checkAccessibility(page, view) {
  await page.evaluate(readFileSync(AXE, 'utf8'));
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `axe on ${view}`);
}

/** A directive of a Content-Security-Policy header, as its list of sources. */
function directive(csp, name) {
  const found = csp.split(';').map((d) => d.trim().split(/\s+/)).find(([n]) => n === name);
  return found ? found.slice(1) : null;
}

test('Ada signs in to the panel at a Cognito-shaped provider, the API takes her access token, and she signs out', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const blocked = [];
  page.on('console', (msg) => { if (/Content Security Policy/.test(msg.text())) blocked.push(msg.text()); });
  const urls = [];
  context.on('request', (request) => urls.push(request.url()));

  const response = await page.goto(`${local.base}/`);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await checkAccessibility(page, 'the sign-in view');
  await page.getByRole('button', { name: 'Sign in' }).click();

  // The authorization endpoint is on the user pool's domain.
  await page.waitForURL((url) => url.href.startsWith(op.domain));
  await signInOnProviderPages(page, 'ad1000-ovh');

  await page.waitForURL((url) => url.href.startsWith(local.base));
  await page.getByRole('tab', { name: 'My contacts', selected: true }).or(page.getByRole('alert')).first().waitFor();
  assert.deepEqual(blocked, [], 'the CSP lets the panel redeem the code at the token endpoint');
  await page.getByRole('tab', { name: 'My contacts', selected: true }).waitFor();
  const authorize = new URL(op.domainRequests.find((u) => u.startsWith('/oauth2/authorize')), op.domain);
  assert.deepEqual(authorize.searchParams.get('scope').split(' ').sort(), ['contacts/panel', 'openid'], 'the scope the API requires was asked for');
  assert.ok(op.domainRequests.some((u) => u === '/oauth2/token'), 'the code was redeemed on the user pool domain');
  assert.equal(page.url(), `${local.base}/`, 'the code and state are wiped from the address bar');
  assert.match(await page.getByText(/Signed in as/).textContent(), /Ada Admin/, 'the API took the access token, its username as the account');

  const session = JSON.parse(await page.evaluate(() => sessionStorage.getItem('panel.session')));
  const claims = JSON.parse(Buffer.from(session.token.split('.')[1], 'base64url'));
  assert.equal(claims.token_use, 'access', 'the panel sends the access token');
  assert.equal(claims.client_id, CLIENT_ID);
  assert.equal(claims.username, 'ad1000-ovh');
  assert.equal(claims.aud, undefined, 'no aud: the API took it by its client_id');
  assert.notEqual(claims.sub, 'ad1000-ovh', "Cognito's sub is a UUID, not the account");
  assert.ok(claims.scope.split(' ').includes(COGNITO_SCOPE), claims.scope);
  await page.getByRole('cell', { name: 'example.com' }).first().waitFor();
  const csp = response.headers()['content-security-policy'];
  assert.deepEqual(directive(csp, 'connect-src'), ["'self'", op.domain], `the token endpoint's origin beside the panel's, nothing more: ${csp}`);

  await page.getByRole('button', { name: 'Sign out' }).click();
  // Cognito's logout: GET {domain}/logout?client_id=...&logout_uri=... (the test provider then
  // asks to confirm the end of its session, and sends the customer back).
  await page.waitForURL((url) => url.href.startsWith(op.domain));
  const logout = new URL(op.domainRequests.find((u) => u.startsWith('/logout')), op.domain);
  assert.deepEqual(Object.fromEntries(logout.searchParams), { client_id: CLIENT_ID, logout_uri: `${local.base}/` });
  await page.getByRole('button', { name: /Yes, sign me out/ }).click();
  await page.waitForURL((url) => url.href.startsWith(local.base));
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('panel.session')), null);

  for (const token of [session.token, session.idToken].filter(Boolean)) {
    const signature = token.split('.')[2];
    assert.deepEqual(urls.filter((u) => u.includes(signature)), [], 'no token in any URL');
  }
  assert.deepEqual(urls.filter((u) => /id_token_hint|access_token|id_token=/.test(u)), [], 'no token parameter in any URL');
  await context.close();
});
