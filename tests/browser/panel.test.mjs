// The customer control panel (SPEC §5b, issue 13) as a person uses it: headless Chromium
// (Debian's, driven by playwright-core) against contacts-local on its demo data, every step
// found by its visible label or role, never by a CSS class. axe-core (pinned in tools/, injected
// through the DevTools protocol, so the page's own strict CSP stays as it is) checks each view.
//
//   node --test tests/browser/                                          (scripts/test runs it)
//   PANEL_SCREENSHOT_DIR=docs/panel node --test tests/browser/panel.test.mjs   (the docs' pictures)
//
// Env: CONTACTS_LOCAL_BIN, CHROMIUM (support.mjs); PANEL_SCREENSHOT_DIR (default .tools/run/panel,
// so a run leaves the committed docs/panel/*.png alone).
//
// One server for the file; the steps run in order and build on each other: the page and its
// assets; the development sign-in; the form's rules per role; the guide's flow (Ada, the admin,
// asks for Ned as the technical contact, both confirm with the codes from their mails, the table
// shows Ned); the errors; a resend and its cooldown; a cancel; Italian and French; a change
// done with the keyboard alone; the profile's email verification; the emailed page's way in.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';

import { ROOT, RUN_DIR, TOOLS, callApi, launchBrowser, startLocal } from './support.mjs';

const SHOTS = path.resolve(ROOT, process.env.PANEL_SCREENSHOT_DIR || path.join('.tools', 'run', 'panel'));
const AXE = path.join(TOOLS, 'node', 'node_modules', 'axe-core', 'axe.min.js');

const ADA = 'ad1000-ovh';
const TEO = 'te2000-ovh';
const BEA = 'bi3000-ovh';
const NED = 'ne4000-ovh';
const OTTO = 'ov5000-ovh';
const EMAIL = { [ADA]: 'ada@example.com', [TEO]: 'teo@example.it', [BEA]: 'bea@example.fr', [NED]: 'ned@example.com' };

let local;
let base;
let browser;
let axeSource;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  mkdirSync(RUN_DIR, { recursive: true });
  try {
    axeSource = readFileSync(AXE, 'utf8');
  } catch (e) {
    throw new Error(`axe-core not found at ${AXE}: run scripts/install-tools (${e.message})`);
  }
  local = await startLocal();
  base = local.base;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  local?.stop();
});

// --- helpers ----------------------------------------------------------------------------------

/** A fresh tab of its own (own sessionStorage) that records console errors and CSP violations. */
async function openTab() {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => { if (msg.type() === 'error' && !/status of 4\d\d/.test(msg.text())) problems.push(msg.text()); });
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
  await page.exposeBinding('__csp', (_source, v) => problems.push(`CSP: ${v}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => window.__csp(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`));
  });
  const tab = { page, problems, close: () => context.close() };
  tab.assertClean = () => assert.deepEqual(problems, [], 'no console error, uncaught exception or CSP violation');
  return tab;
}

/** Signs in with the development sign-in as `account`; resolves on the panel's tabs. */
async function signIn(account) {
  const tab = await openTab();
  const { page } = tab;
  await page.goto(`${base}/`);
  await page.getByLabel(/Customer ID|Identificativo cliente|Identifiant client/).fill(account);
  await page.getByRole('button', { name: /^(Sign in|Accedi|Se connecter)$/ }).click();
  await page.getByRole('tablist').waitFor();
  return tab;
}

/** axe-core on the page as it is: no serious or critical violation. */
async function checkAccessibility(page, view) {
  await page.evaluate(axeSource);
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `axe on ${view}`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** The confirmation code mailed to `account` for request `id` (the latest such mail). */
async function codeFor(account, id) {
  const { json: mails } = await callApi(base, 'GET', '/_local/outbox');
  const codes = mails
    .filter((m) => m.to === EMAIL[account])
    .map((m) => new RegExp(`/confirm/${id}#token=([A-Za-z0-9_-]+)`).exec(m.text))
    .filter(Boolean)
    .map((m) => m[1]);
  assert.ok(codes.length, `no code for ${account} and ${id} in the outbox`);
  return codes.at(-1);
}

/** The ids of the pending requests on a service. */
async function pendingOn(service, as) {
  const { status, json } = await callApi(base, 'GET', `/v1/services/${service}`, as);
  assert.equal(status, 200);
  return json.pending;
}

/** The row of the services table for `service`, as `{header: cell text}`. */
async function tableRow(page, service) {
  const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: service, exact: true }) });
  await row.waitFor();
  const cells = await row.getByRole('cell').allTextContents();
  return { type: cells[0], admin: cells[1], tech: cells[2], billing: cells[3], roles: cells[4] };
}

async function openForm(page, service) {
  await page.getByRole('button', { name: `Edit contacts of ${service}` }).click();
  const form = page.getByRole('form', { name: `Edit contacts of ${service}` });
  await form.waitFor();
  return form;
}

/** The request's card in "My requests", by its heading ("example.com: Technical"). */
function card(page, heading) {
  return page.getByRole('article', { name: heading });
}

async function statusText(page) {
  const status = page.getByRole('status');
  await status.waitFor();
  return status.textContent();
}

async function alertText(page) {
  const alert = page.getByRole('alert');
  await alert.waitFor();
  return alert.textContent();
}

async function focusedText(page) {
  return page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
}

// --- the page and its assets ------------------------------------------------------------------

test('the page is no-store with a strict CSP, its hashed assets immutable, and a first visit is small', async () => {
  const res = await fetch(`${base}/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const csp = res.headers.get('content-security-policy');
  for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"]) {
    assert.ok(csp.includes(directive), `${directive} in ${csp}`);
  }
  const html = await res.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)/, 'no inline script');
  assert.doesNotMatch(html, /<style|style=/, 'no inline style');
  const app = /src="(panel\/app\.[0-9a-f]{12}\.js)"/.exec(html);
  assert.ok(app, html);
  const asset = await fetch(`${base}/${app[1]}`);
  assert.equal(asset.status, 200);
  assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(asset.headers.get('content-type'), /^text\/javascript/);
  assert.equal((await fetch(`${base}/panel/app.js`)).status, 404, 'only the hashed names are served');

  // What a first visit downloads (the sign-in page, then the panel after signing in), each body
  // as it came and gzip-compressed (what a compressing CDN or proxy in front would send).
  const tab = await openTab();
  const bodies = new Map();
  tab.page.on('response', async (r) => {
    if (r.url().startsWith(base) && !r.url().includes('/v1/')) bodies.set(r.url(), await r.body().catch(() => Buffer.alloc(0)));
  });
  await tab.page.goto(`${base}/`);
  await tab.page.getByLabel('Customer ID').fill(ADA);
  await tab.page.getByRole('button', { name: 'Sign in' }).click();
  await tab.page.getByRole('tablist').waitFor();
  let raw = 0;
  let gzip = 0;
  for (const body of bodies.values()) {
    raw += body.length;
    gzip += gzipSync(body, { level: 9 }).length;
  }
  const report = { files: bodies.size, raw_bytes: raw, gzip_bytes: gzip };
  writeFileSync(path.join(RUN_DIR, 'panel-size.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`first visit: ${bodies.size} files, ${raw} bytes, ${gzip} bytes gzip-compressed`);
  assert.ok(gzip < 60 * 1024, `a first visit is ${gzip} bytes compressed`);
  tab.assertClean();
  await tab.close();
});

// --- sign-in ----------------------------------------------------------------------------------

test('the development sign-in says loudly that it is local, refuses what is no customer id, and signs in', async () => {
  const tab = await openTab();
  const { page } = tab;
  await page.goto(`${base}/`);
  const warning = page.getByRole('note');
  assert.match(await warning.textContent(), /LOCAL · DEVELOPMENT ONLY.*no password/);
  await checkAccessibility(page, 'the sign-in');
  await shot(page, 'signin');
  await page.getByLabel('Customer ID').fill('not an id');
  await page.getByRole('button', { name: 'Sign in' }).click();
  assert.match(await alertText(page), /This is not a customer ID/);
  assert.match(await focusedText(page), /This is not a customer ID/, 'the focus moves to the error');

  await page.getByLabel('Customer ID').fill(ADA.toUpperCase());
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('tab', { name: 'My contacts', selected: true }).waitFor();
  assert.match(await page.getByText(/Signed in as/).textContent(), /Ada Admin \(ad1000-ovh\)/);
  const row = await tableRow(page, 'example.com');
  assert.deepEqual(row, {
    type: 'Other', admin: `Ada Admin (${ADA})`, tech: `Teo Tecnico (${TEO})`, billing: `Bea Billing (${BEA})`, roles: 'Administrator',
  }, 'each contact by name and id, as the guide shows them');
  await checkAccessibility(page, 'My contacts');
  await shot(page, 'contacts');

  // A reload keeps the session (this tab's sessionStorage); signing out ends it.
  await page.reload();
  await page.getByRole('tablist').waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Customer ID').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('panel.session')), null);
  tab.assertClean();
  await tab.close();
});

test('deployed sign-in: OpenID Connect code + PKCE in the browser, against a provider stubbed on this origin', async () => {
  // The page is the real one; only /panel/config and the provider's endpoints are stubbed (on the
  // page's own origin, which its CSP lets it reach). The provider hands out the customer id as
  // the access token, which contacts-local's development identity takes as the caller.
  const tab = await openTab();
  const { page } = tab;
  const issuer = `${base}/stub-idp`;
  const asked = {};
  const json = (body) => ({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
  // The configuration as the server gives it, with the endpoints of the provider's discovery document.
  await page.route(`${base}/panel/config`, (route) => route.fulfill(json({
    sign_in: 'oidc', issuer, client_id: 'panel', scope: 'openid', resend_cooldown_seconds: 60,
    authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`,
    end_session: { contract: 'rp-initiated', endpoint: `${issuer}/logout` },
  })));
  await page.route(`${issuer}/auth?*`, (route) => {
    Object.assign(asked, Object.fromEntries(new URL(route.request().url()).searchParams));
    return route.fulfill({ status: 302, headers: { location: `${asked.redirect_uri}?code=stub-code&state=${asked.state}` } });
  });
  await page.route(`${issuer}/token`, async (route) => {
    const form = new URLSearchParams(route.request().postData());
    const { createHash } = await import('node:crypto');
    const proved = createHash('sha256').update(form.get('code_verifier') || '').digest('base64url') === asked.code_challenge;
    if (!proved || form.get('code') !== 'stub-code') return route.fulfill({ status: 400, contentType: 'application/json', body: '{"error":"invalid_grant"}' });
    const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const idToken = `${part({ alg: 'RS256' })}.${part({ iss: issuer, aud: 'panel', nonce: asked.nonce, sub: ADA })}.sig`;
    return route.fulfill(json({ access_token: ADA, id_token: idToken, token_type: 'Bearer', expires_in: 300 }));
  });
  await page.route(`${issuer}/logout?*`, (route) => route.fulfill({ status: 302, headers: { location: new URL(route.request().url()).searchParams.get('post_logout_redirect_uri') } }));

  await page.goto(`${base}/`);
  assert.equal(await page.getByLabel('Customer ID').count(), 0, 'no development sign-in when an issuer is configured');
  assert.equal(await page.getByRole('note').count(), 0);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('tab', { name: 'My contacts', selected: true }).waitFor();
  assert.equal(asked.code_challenge_method, 'S256');
  assert.equal(asked.redirect_uri, `${base}/`);
  assert.equal(page.url(), `${base}/`, 'the code and state are wiped from the address bar');
  assert.match(await page.getByText(/Signed in as/).textContent(), /Ada Admin/);
  const session = JSON.parse(await page.evaluate(() => sessionStorage.getItem('panel.session')));
  assert.equal(session.token, ADA);
  assert.equal(await page.evaluate(() => document.cookie), '', 'no cookie');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('panel.session')), null);

  // A callback that this tab did not start is refused, and says so.
  await page.goto(`${base}/?code=stub-code&state=forged`);
  assert.match(await alertText(page), /Sign-in did not complete: .*state/);
  tab.assertClean();
  await tab.close();
});

test('deployed without an issuer, the page says sign-in is not configured', async () => {
  const tab = await openTab();
  await tab.page.route(`${base}/panel/config`, (route) => route.fulfill({ status: 200, contentType: 'application/json', body: '{"sign_in":"none","scope":"openid","resend_cooldown_seconds":60}' }));
  await tab.page.goto(`${base}/`);
  assert.match(await alertText(tab.page), /Sign-in is not configured on this server/);
  assert.equal(await tab.page.getByRole('button', { name: 'Sign in' }).count(), 0);
  await checkAccessibility(tab.page, 'sign-in not configured');
  await tab.close();
});

test('the search finds services by the start of their name (the API searches every page)', async () => {
  const tab = await signIn(ADA);
  const { page } = tab;
  await page.getByRole('rowheader', { name: 'vps-42.example.net' }).waitFor();
  await page.getByText('Services shown: 2.').waitFor();
  await page.getByLabel('Search by service name').fill('vps');
  await page.getByText('Services shown: 1.').waitFor();
  assert.equal(await page.getByRole('rowheader', { name: 'example.com', exact: true }).count(), 0);
  assert.equal(await page.getByRole('rowheader', { name: 'vps-42.example.net' }).count(), 1);
  await page.getByLabel('Search by service name').fill('nothing-like-it');
  await page.getByText('No service matches “nothing-like-it”.').waitFor();
  await page.getByLabel('Search by service name').fill('under_score');
  await page.getByText('No service matches “under_score”.').waitFor();
  await page.getByLabel('Search by service name').fill('');
  await page.getByText('Services shown: 2.').waitFor();
  tab.assertClean();
  await tab.close();
});

test('past a page of services: "Show more services" pages through next_cursor, and the search reaches every page', async () => {
  // Otto holds every role of 60 services: two pages of 50 and 10.
  for (let i = 0; i < 60; i += 1) {
    const name = `svc-${String(i).padStart(3, '0')}.example.org`;
    const { status } = await callApi(base, 'PUT', `/_local/services/${name}`, undefined, { admin: OTTO, tech: OTTO, billing: OTTO });
    assert.equal(status, 200, name);
  }
  const otto = await signIn(OTTO);
  const { page } = otto;
  await page.getByText('Services shown: 50 (more below).').waitFor();
  assert.equal(await page.getByRole('rowheader', { name: 'svc-059.example.org' }).count(), 0, 'on the second page');
  await page.getByLabel('Search by service name').fill('svc-059');
  await page.getByRole('rowheader', { name: 'svc-059.example.org' }).waitFor();
  await page.getByText('Services shown: 1.').waitFor();
  await page.getByLabel('Search by service name').fill('svc-05');
  await page.getByText('Services shown: 10.').waitFor();
  await page.getByLabel('Search by service name').fill('');
  await page.getByText('Services shown: 50 (more below).').waitFor();
  otto.assertClean();
  await otto.close();

  const again = await signIn(OTTO);
  await again.page.getByText('Services shown: 50 (more below).').waitFor();
  await again.page.getByRole('button', { name: 'Show more services' }).click();
  await again.page.getByText('Services shown: 60.').waitFor();
  assert.equal(await again.page.getByRole('button', { name: 'Show more services' }).isVisible(), false, 'the last page');
  await again.page.getByRole('rowheader', { name: 'svc-059.example.org' }).waitFor();
  await again.close();
});

// --- the rules, as the form shows them --------------------------------------------------------

test('the form lets each role change only what SPEC §2 allows, and says why not the others', async () => {
  const ada = await signIn(ADA);
  let form = await openForm(ada.page, 'example.com');
  for (const field of ['Administrator contact', 'Technical contact', 'Billing contact']) {
    assert.equal(await form.getByLabel(field, { exact: true }).isEditable(), true, `the admin may change the ${field}`);
  }
  assert.equal(await form.getByRole('button', { name: 'Take it myself: Technical contact' }).count(), 1);
  assert.equal(await form.getByRole('button', { name: 'Take it myself: Billing contact' }).count(), 1);
  assert.equal(await form.getByRole('button', { name: /Take it myself: Administrator/ }).count(), 0, 'the admin is the admin already');
  await checkAccessibility(ada.page, 'the form (admin)');
  await shot(ada.page, 'edit-form-admin');
  await ada.close();

  const teo = await signIn(TEO);
  await teo.page.getByRole('button', { name: 'Modifica i contatti di example.com' }).click();
  form = teo.page.getByRole('form', { name: 'Modifica i contatti di example.com' });
  assert.equal(await form.getByLabel('Contatto tecnico', { exact: true }).isEditable(), true);
  assert.equal(await form.getByLabel('Contatto amministratore', { exact: true }).isEditable(), false);
  assert.equal(await form.getByLabel('Contatto di fatturazione', { exact: true }).isEditable(), false);
  // The reason is the field's description, read with it.
  const why = await form.getByLabel('Contatto di fatturazione', { exact: true }).evaluate((el) => document.getElementById(el.getAttribute('aria-describedby')).textContent);
  assert.match(why, /Solo il contatto amministratore o il contatto di fatturazione/);
  assert.match(await form.textContent(), /Sei il contatto tecnico: puoi solo definire un altro contatto tecnico per sostituirti/);
  assert.equal(await form.getByRole('button', { name: /Assegnalo a me/ }).count(), 0, 'only an admin takes a role itself');
  await teo.close();

  const bea = await signIn(BEA);
  await bea.page.getByRole('button', { name: 'Modifier les contacts de example.com' }).click();
  form = bea.page.getByRole('form', { name: 'Modifier les contacts de example.com' });
  assert.equal(await form.getByLabel('Contact facturation', { exact: true }).isEditable(), true);
  assert.equal(await form.getByLabel('Contact technique', { exact: true }).isEditable(), false);
  assert.equal(await form.getByLabel('Contact administrateur', { exact: true }).isEditable(), false);
  await bea.close();
});

test("the service's admin may cancel a pending request she did not ask for", async () => {
  // Bea, the billing contact, hands her role to Ada: Ada is a party, and the admin.
  const { status } = await callApi(base, 'POST', '/v1/services/example.com/contact-changes', BEA, { billing: ADA });
  assert.equal(status, 201);
  const ada = await signIn(ADA);
  await ada.page.getByRole('tab', { name: 'My requests' }).click();
  const request = card(ada.page, 'example.com: Billing').filter({ hasText: 'Pending' });
  assert.match(await request.textContent(), new RegExp(`Requested by${BEA}`));
  await request.getByRole('button', { name: 'Cancel request' }).click();
  assert.equal(await statusText(ada.page), 'The request is cancelled: nothing changed.');
  assert.deepEqual(await pendingOn('example.com', ADA), []);
  ada.assertClean();
  await ada.close();
});

// --- languages --------------------------------------------------------------------------------

test('the panel speaks the profile language: Italian for Teo, French for Bea, and the switcher changes it', async () => {
  const teo = await signIn(TEO);
  assert.equal(await teo.page.evaluate(() => document.documentElement.lang), 'it');
  await teo.page.getByRole('tab', { name: 'I tuoi contatti', selected: true }).waitFor();
  await teo.page.getByRole('tab', { name: 'Le tue richieste' }).waitFor();
  await teo.page.getByRole('columnheader', { name: 'Contatto di fatturazione' }).waitFor();
  await checkAccessibility(teo.page, 'I tuoi contatti');
  await shot(teo.page, 'contacts-it');
  await teo.page.getByRole('button', { name: 'Modifica i contatti di example.com' }).click();
  await teo.page.getByRole('form', { name: 'Modifica i contatti di example.com' }).waitFor();
  await shot(teo.page, 'edit-form-it');
  await teo.close();

  const bea = await signIn(BEA);
  assert.equal(await bea.page.evaluate(() => document.documentElement.lang), 'fr');
  await bea.page.getByRole('tab', { name: 'Mes contacts', selected: true }).waitFor();
  await bea.page.getByRole('button', { name: 'Modifier les contacts de example.com' }).waitFor();
  await checkAccessibility(bea.page, 'Mes contacts');
  await shot(bea.page, 'contacts-fr');
  // The switcher is the profile's language: Bea's mails follow it too.
  await bea.page.getByLabel('Langue').selectOption('en');
  await bea.page.getByRole('tab', { name: 'My contacts' }).waitFor();
  assert.equal((await callApi(base, 'GET', '/v1/me', BEA)).json.language, 'en');
  await bea.page.getByLabel('Language').selectOption('fr');
  await bea.page.getByRole('tab', { name: 'Mes contacts' }).waitFor();
  assert.equal((await callApi(base, 'GET', '/v1/me', BEA)).json.language, 'fr');
  bea.assertClean();
  await bea.close();
});

// --- the guide's flow -------------------------------------------------------------------------

test("the guide's flow: Ada asks for Ned as technical contact, both confirm with their codes, the table shows Ned", async () => {
  const ada = await signIn(ADA);
  const form = await openForm(ada.page, 'example.com');
  await form.getByLabel('Technical contact', { exact: true }).fill(NED);
  await form.getByRole('button', { name: 'Confirm' }).click();
  assert.equal(await statusText(ada.page), 'Your request has been taken into account. The contacts concerned will receive an email.');
  assert.match(await focusedText(ada.page), /taken into account/, 'the focus lands on the green box');
  await shot(ada.page, 'request-taken');
  const [id] = await pendingOn('example.com', ADA);
  assert.ok(id);

  await ada.page.getByRole('tab', { name: 'My requests' }).click();
  const request = card(ada.page, 'example.com: Technical');
  await request.waitFor();
  const text = await request.textContent();
  assert.match(text, new RegExp(`Still awaiting the validation of${ADA} \\(Ada Admin\\), ${NED}`));
  assert.match(text, /Accepted bynobody/);
  assert.match(text, /Expires on/);
  await checkAccessibility(ada.page, 'My requests');
  await shot(ada.page, 'requests');

  await request.getByLabel('Confirmation code').fill(await codeFor(ADA, id));
  await request.getByRole('button', { name: 'Accept' }).click();
  assert.equal(await statusText(ada.page), 'Your confirmation is recorded. The request is still awaiting the validation of the other contact.');
  assert.match(await card(ada.page, 'example.com: Technical').textContent(), new RegExp(`Accepted by${ADA} \\(Ada Admin\\)Still awaiting the validation of${NED}`));

  // Ned, in his own browser, confirms with his own code.
  const ned = await signIn(NED);
  await ned.page.getByRole('tab', { name: 'My requests' }).click();
  const his = card(ned.page, 'example.com: Technical');
  await his.getByLabel('Confirmation code').fill(await codeFor(NED, id));
  await his.getByRole('button', { name: 'Accept' }).click();
  assert.equal(await statusText(ned.page), 'The change has taken effect. Every contact concerned will receive a confirmation email.');
  assert.match(await his.textContent(), /StateDone/);
  // Its history, opened, is the whole trail: the mails too.
  await his.getByText('History', { exact: true }).click();
  await his.getByRole('listitem').filter({ hasText: 'emails sent' }).first().waitFor();
  assert.match(await his.getByRole('list').last().textContent(), /asked.*emails sent.*accepted.*accepted.*took effect/s);
  await shot(ned.page, 'request-done');
  await ned.close();

  // Ada's open page sees it by itself (the poll), without a reload.
  await card(ada.page, 'example.com: Technical').getByText('Done', { exact: true }).waitFor({ timeout: 15_000 });
  await ada.page.getByRole('tab', { name: 'My contacts' }).click();
  assert.equal((await tableRow(ada.page, 'example.com')).tech, `Ned Newcomer (${NED})`);
  ada.assertClean();
  await ada.close();
});

// --- errors -----------------------------------------------------------------------------------

test('each main error is said in plain words, and the form keeps what was typed', async () => {
  const ada = await signIn(ADA);
  const { page } = ada;
  let form = await openForm(page, 'example.com');
  await form.getByLabel('Billing contact', { exact: true }).fill('zz9999-ovh');
  await form.getByRole('button', { name: 'Confirm' }).click();
  assert.match(await alertText(page), /No customer account matches this customer ID or email address/);
  assert.equal(await form.getByLabel('Billing contact', { exact: true }).inputValue(), 'zz9999-ovh', 'kept');
  assert.match(await focusedText(page), /No customer account/);

  await form.getByLabel('Billing contact', { exact: true }).fill(OTTO);
  await form.getByRole('button', { name: 'Confirm' }).click();
  await page.getByRole('alert').filter({ hasText: 'not in good standing' }).waitFor();
  assert.equal(await form.getByLabel('Billing contact', { exact: true }).inputValue(), OTTO);
  await checkAccessibility(page, 'the form with an error');
  await shot(page, 'edit-form-error');

  // A billing request for Ned, then a second one on the same role: pending_exists.
  await form.getByLabel('Billing contact', { exact: true }).fill(NED);
  await form.getByRole('button', { name: 'Confirm' }).click();
  assert.match(await statusText(page), /taken into account/);
  form = await openForm(page, 'example.com');
  await form.getByLabel('Billing contact', { exact: true }).fill(TEO);
  await form.getByRole('button', { name: 'Confirm' }).click();
  assert.match(await alertText(page), /A request for this role of the service is already pending/);

  // Nothing typed that changes anything: said, nothing sent.
  form = await openForm(page, 'example.com');
  await form.getByRole('button', { name: 'Confirm' }).click();
  assert.match(await alertText(page), /Nothing to change/);
  ada.assertClean();
  await ada.close();
});

test('a resend: the button waits out the cooldown, and a 429 from elsewhere shows the time left', async () => {
  const ada = await signIn(ADA);
  await ada.page.getByRole('tab', { name: 'My requests' }).click();
  const request = card(ada.page, 'example.com: Billing').filter({ hasText: 'Pending' });
  await request.getByRole('button', { name: 'Send the request again' }).click();
  assert.match(await statusText(ada.page), /The request has been sent again/);
  const waiting = request.getByRole('button', { name: /^Send the request again \(possible in \d+ s\)$/ });
  assert.equal(await waiting.isDisabled(), true);

  // Ned, a party, in another browser: the server's 429 says how long, and the button waits.
  const ned = await signIn(NED);
  await ned.page.getByRole('tab', { name: 'My requests' }).click();
  const his = card(ned.page, 'example.com: Billing').filter({ hasText: 'Pending' });
  await his.getByRole('button', { name: 'Send the request again' }).click();
  assert.match(await alertText(ned.page), /^Too soon: try again in \d+ s\.$/);
  assert.equal(await his.getByRole('button', { name: /possible in \d+ s/ }).isDisabled(), true);
  await ned.close();
  ada.assertClean();
  await ada.close();
});

test('the requester cancels a pending request', async () => {
  const ada = await signIn(ADA);
  await ada.page.getByRole('tab', { name: 'My requests' }).click();
  const request = card(ada.page, 'example.com: Billing').filter({ hasText: 'Pending' });
  await request.getByRole('button', { name: 'Cancel request' }).click();
  assert.equal(await statusText(ada.page), 'The request is cancelled: nothing changed.');
  assert.deepEqual(await pendingOn('example.com', ADA), []);
  await ada.page.getByLabel('State').selectOption('cancelled');
  // Newest first: the one just cancelled (Bea's, cancelled by Ada earlier, is below it).
  const cancelled = card(ada.page, 'example.com: Billing').first();
  await cancelled.getByText('Cancelled', { exact: true }).waitFor();
  assert.match(await cancelled.textContent(), new RegExp(`Requested by${ADA} \\(Ada Admin\\)`));
  ada.assertClean();
  await ada.close();
});

// --- keyboard only ----------------------------------------------------------------------------

/** Presses Tab until the focused element's accessible text matches `name` (at most 80 times). */
async function tabTo(page, name) {
  for (let i = 0; i < 80; i += 1) {
    await page.keyboard.press('Tab');
    const label = await page.evaluate(() => {
      const el = document.activeElement;
      return el ? `${el.getAttribute('aria-label') || ''} ${el.labels?.[0]?.textContent || ''} ${el.textContent || ''}`.trim() : '';
    });
    if (name.test(label)) return;
  }
  throw new Error(`Tab never reached ${name}`);
}

test('a change done with the keyboard alone: Ada takes the technical role herself and confirms it', async () => {
  const ada = await signIn(ADA);
  const { page } = ada;
  await page.getByRole('rowheader', { name: 'example.com', exact: true }).waitFor();
  await tabTo(page, /^Edit contacts of example\.com/);
  await page.keyboard.press('Enter');
  assert.match(await focusedText(page), /^Edit contacts of example\.com$/, 'the form takes the focus');
  await tabTo(page, /^Take it myself: Technical contact/);
  await page.keyboard.press('Enter');
  assert.equal(await page.getByLabel('Technical contact', { exact: true }).inputValue(), ADA);
  await tabTo(page, /^Confirm$/);
  await page.keyboard.press('Enter');
  assert.match(await statusText(page), /taken into account/);
  const [id] = await pendingOn('example.com', ADA);

  // To "My requests": the tabs move with the arrow keys.
  await page.getByRole('tab', { name: 'My contacts' }).focus();
  await page.keyboard.press('ArrowRight');
  await page.getByRole('tab', { name: 'My requests', selected: true }).waitFor();
  await tabTo(page, /^Confirmation code/);
  await page.keyboard.type(await codeFor(ADA, id));
  await page.keyboard.press('Enter');
  assert.equal(await statusText(page), 'The change has taken effect. Every contact concerned will receive a confirmation email.');
  assert.equal((await callApi(base, 'GET', '/v1/services/example.com', ADA)).json.contacts.tech, ADA);
  ada.assertClean();
  await ada.close();
});

// --- profile ----------------------------------------------------------------------------------

test('the profile: a new email address waits for both codes, then is the address', async () => {
  const ned = await signIn(NED);
  const { page } = ned;
  await page.getByRole('tab', { name: 'Profile' }).click();
  await page.getByLabel('New email address').fill('ned@new.example');
  await page.getByRole('button', { name: 'Change email address' }).click();
  assert.match(await statusText(page), /A code has been sent to ned@new\.example, and another one to your current address, ned@example\.com\. .* mail keeps going to ned@example\.com/);
  await checkAccessibility(page, 'Profile');
  await shot(page, 'profile');
  const { json: mails } = await callApi(base, 'GET', '/_local/outbox');
  const codeTo = (to) => mails.filter((m) => m.to === to).map((m) => /verify-email#token=([A-Za-z0-9_-]+)/.exec(m.text)?.[1]).filter(Boolean).at(-1);
  const [toNew, toCurrent] = [codeTo('ned@new.example'), codeTo('ned@example.com')];
  assert.ok(toNew && toCurrent, 'a code to each address');
  await page.getByLabel('Verification code').fill(toNew);
  await page.getByRole('button', { name: 'Verify email address' }).click();
  // The status region already holds the previous message: wait for the new one.
  await page.getByRole('status').filter({ hasText: 'Thank you: this code is confirmed.' }).waitFor();
  assert.equal((await callApi(base, 'GET', '/v1/me', NED)).json.email, 'ned@example.com', 'one code of two moves nothing');
  await page.getByLabel('Verification code').fill(toCurrent);
  await page.getByRole('button', { name: 'Verify email address' }).click();
  await page.getByRole('status').filter({ hasText: 'Thank you: ned@new.example is now your email address.' }).waitFor();
  assert.equal(await statusText(page), 'Thank you: ned@new.example is now your email address.');
  assert.equal((await callApi(base, 'GET', '/v1/me', NED)).json.email, 'ned@new.example');
  assert.match(await page.getByRole('definition').filter({ hasText: 'Europe' }).textContent(), /^Europe$/, 'the zone, in words');
  ned.assertClean();
  await ned.close();
});

// --- the emailed link's page ------------------------------------------------------------------

test("the emailed link's page leads into the panel, on My requests", async () => {
  const { json } = await callApi(base, 'POST', '/v1/services/vps-42.example.net/contact-changes', ADA, { tech: BEA });
  const id = json.requests[0].id;
  const tab = await openTab();
  await tab.page.goto(`${base}/confirm/${id}`);
  await tab.page.getByRole('link', { name: 'Open your contacts panel' }).click();
  await tab.page.getByLabel('Customer ID').fill(ADA);
  await tab.page.getByRole('button', { name: 'Sign in' }).click();
  await tab.page.getByRole('tab', { name: 'My requests', selected: true }).waitFor();
  await card(tab.page, 'vps-42.example.net: Technical').waitFor();
  tab.assertClean();
  await tab.close();
});

test('the type filter shows one type of service, with the search or without', async () => {
  for (const [name, type] of [['zz-dom.example', 'domain'], ['zz-vps.example', 'vps']]) {
    const { status } = await callApi(base, 'PUT', `/_local/services/${name}`, undefined, { type, admin: OTTO, tech: OTTO, billing: OTTO });
    assert.equal(status, 200, name);
  }
  const tab = await signIn(OTTO);
  const { page } = tab;
  await page.getByText('Services shown: 50 (more below).').waitFor();
  await page.getByLabel('Type of service').selectOption({ label: 'VPS' });
  await page.getByText('Services shown: 1.').waitFor();
  await page.getByRole('rowheader', { name: 'zz-vps.example' }).waitFor();
  assert.equal(await page.getByRole('rowheader', { name: 'zz-dom.example' }).count(), 0);
  await page.getByLabel('Type of service').selectOption({ label: 'Domain' });
  await page.getByRole('rowheader', { name: 'zz-dom.example' }).waitFor();
  await page.getByLabel('Search by service name').fill('svc');
  await page.getByText('No service matches “svc”.').waitFor();
  await page.getByLabel('Search by service name').fill('zz');
  await page.getByText('Services shown: 1.').waitFor();
  await page.getByLabel('Search by service name').fill('');
  await page.getByLabel('Type of service').selectOption({ label: 'Hosting' });
  await page.getByText('None of your services is of this type.').waitFor();
  await page.getByLabel('Type of service').selectOption({ label: 'All types' });
  await page.getByText('Services shown: 50 (more below).').waitFor();
  await checkAccessibility(page, "the type filter");
  tab.assertClean();
  await tab.close();
});

test('a new contact named by the main email address of its account, as the form invites', async () => {
  const put = await callApi(base, 'PUT', '/_local/services/zz-mail.example', undefined, { admin: OTTO, tech: OTTO, billing: OTTO });
  assert.equal(put.status, 200);
  const tab = await signIn(OTTO);
  const { page } = tab;
  await page.getByLabel('Search by service name').fill('zz-mail');
  await page.getByText('Services shown: 1.').waitFor();
  const form = await openForm(page, 'zz-mail.example');
  await form.getByLabel('Technical contact').fill(EMAIL[TEO].toUpperCase());
  await form.getByRole('button', { name: 'Confirm' }).click();
  const said = page.getByRole('status').or(page.getByRole('alert')).filter({ hasText: /\S/ });
  await said.first().waitFor();
  assert.match(await said.first().textContent(), /taken into account/);
  const { json } = await callApi(base, 'GET', '/v1/me/contact-changes', TEO);
  assert.ok(json.requests.some((r) => r.service === 'zz-mail.example' && r.to === TEO), 'the request names Teo, found by his address');
  tab.assertClean();
  await tab.close();
});
