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
// done with the keyboard alone; the profile's email verification; the emailed page's way in;
// batches (SPEC §7), each test on services of its own: the selection, the form and its answer,
// the entry in My requests with one code and the outcome per service, the keyboard, it and fr,
// and 1,000 services in one entry.

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
  // The first cell is the row's checkbox (a batch's selection).
  const cells = (await row.getByRole('cell').allTextContents()).slice(1);
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

// --- batches (SPEC §7) ------------------------------------------------------------------------

test('every string of the panel is in every language', async () => {
  const keys = {};
  for (const lang of ['en', 'it', 'fr']) {
    const { default: strings } = await import(path.join(ROOT, 'crates', 'api', 'panel', `strings-${lang}.js`));
    keys[lang] = Object.keys(strings).sort();
    for (const [key, text] of Object.entries(strings)) assert.ok(text.trim(), `${lang}: ${key} is empty`);
  }
  assert.deepEqual(keys.it, keys.en, 'Italian has the keys of English');
  assert.deepEqual(keys.fr, keys.en, 'French has the keys of English');
});

/** Upserts `name` (the provider's stand-in), held by `contacts`. */
async function upsertService(name, contacts) {
  const { status } = await callApi(base, 'PUT', `/_local/services/${name}`, undefined, contacts);
  assert.equal(status, 200, name);
}

/**
 * The code mailed to `account` (at its address now: the profile's test moves Ned's) for batch
 * `id`, the latest such mail: one for all its services. The mailer may still be sending it: 10 s.
 */
async function batchCodeFor(account, id) {
  const { json: me } = await callApi(base, 'GET', '/v1/me', account);
  for (let waited = 0; ; waited += 250) {
    const { json: mails } = await callApi(base, 'GET', '/_local/outbox');
    const codes = mails
      .filter((m) => m.to === me.email)
      .map((m) => new RegExp(`/confirm/batch/${id}#token=([A-Za-z0-9_-]+)`).exec(m.text))
      .filter(Boolean)
      .map((m) => m[1]);
    if (codes.length) return codes.at(-1);
    assert.ok(waited < 10_000, `no code for ${account} (${me.email}) and batch ${id} in the outbox`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** "Select all shown" as the page says it is: checked, mixed (indeterminate) or neither. */
async function selectAllState(page) {
  return page.getByRole('checkbox', { name: 'Select all shown' }).evaluate((el) => (el.indeterminate ? 'mixed' : el.checked ? 'checked' : 'unchecked'));
}

test('a batch: select all shown with a filter, edit N services, the answer names the service left out, both confirm with one code, the outcome per service', async () => {
  // Ada holds four domains and a VPS; on bt-4.example a technical request is already pending.
  for (const name of ['bt-1.example', 'bt-2.example', 'bt-3.example', 'bt-4.example']) await upsertService(name, { type: 'domain', admin: ADA, tech: TEO, billing: ADA });
  await upsertService('bt-vps.example', { type: 'vps', admin: ADA, tech: TEO, billing: ADA });
  assert.equal((await callApi(base, 'POST', '/v1/services/bt-4.example/contact-changes', ADA, { tech: BEA })).status, 201);

  const ada = await signIn(ADA);
  const { page } = ada;
  const editSelected = (n) => page.getByRole('button', { name: `Edit contacts of ${n} service${n === 1 ? '' : 's'}`, exact: true });
  await page.getByLabel('Search by service name').fill('bt-');
  await page.getByText('Services shown: 5.').waitFor();
  await page.getByLabel('Type of service').selectOption({ label: 'Domain' });
  await page.getByText('Services shown: 4.').waitFor();
  assert.equal(await editSelected(0).isDisabled(), true, 'nothing selected: the button waits');
  assert.equal(await selectAllState(page), 'unchecked');

  // "Select all shown" selects exactly the rows shown: the four domains, not the VPS.
  await page.getByRole('checkbox', { name: 'Select all shown' }).check();
  await editSelected(4).waitFor();
  for (const n of [1, 2, 3, 4]) assert.equal(await page.getByRole('checkbox', { name: `Select bt-${n}.example` }).isChecked(), true);
  // Its state follows the rows: mixed when some are, checked again when all are.
  await page.getByRole('checkbox', { name: 'Select bt-2.example' }).uncheck();
  await editSelected(3).waitFor();
  assert.equal(await selectAllState(page), 'mixed');
  await page.getByRole('checkbox', { name: 'Select bt-2.example' }).check();
  assert.equal(await selectAllState(page), 'checked');
  // Another filter shows other rows: the selection stays, and the page says what it does not show.
  await page.getByLabel('Type of service').selectOption({ label: 'VPS' });
  await page.getByText('Services shown: 1.').waitFor();
  assert.equal(await selectAllState(page), 'unchecked');
  await page.getByText('4 selected services are not shown by the current search or type.').waitFor();
  assert.equal(await editSelected(4).isEnabled(), true);
  await page.getByLabel('Type of service').selectOption({ label: 'Domain' });
  await page.getByText('Services shown: 4.').waitFor();
  assert.equal(await selectAllState(page), 'checked');
  await checkAccessibility(page, 'My contacts with a selection');
  await shot(page, 'batch-selection');

  // The pencil's fields, for the four services.
  await editSelected(4).click();
  const form = page.getByRole('form', { name: 'Edit contacts of 4 services' });
  await form.waitFor();
  assert.match(await focusedText(page), /^Edit contacts of 4 services$/, 'the form takes the focus');
  for (const field of ['Administrator contact', 'Technical contact', 'Billing contact']) {
    assert.equal(await form.getByLabel(field, { exact: true }).inputValue(), '', `${field}: empty, each service keeps its own`);
    assert.equal(await form.getByLabel(field, { exact: true }).isEditable(), true, `the admin may change the ${field}`);
  }
  await form.getByLabel('Technical contact', { exact: true }).fill(NED);
  await form.getByText('The selected services (4)').click();
  assert.deepEqual(await form.getByRole('listitem').allTextContents(), ['bt-1.example', 'bt-2.example', 'bt-3.example', 'bt-4.example']);
  await checkAccessibility(page, "the batch's form");
  await shot(page, 'batch-form');
  // Every role of one batch goes to one new contact: said before anything is sent.
  await form.getByLabel('Billing contact', { exact: true }).fill(TEO);
  await form.getByRole('button', { name: 'Confirm' }).click();
  assert.match(await alertText(page), /All the roles of one batch move to the same new contact/);
  // An error of the whole call, as the pencil's form shows it: Otto is overdue, so every service is refused.
  await form.getByLabel('Technical contact', { exact: true }).fill('');
  await form.getByLabel('Billing contact', { exact: true }).fill(OTTO);
  await form.getByRole('button', { name: 'Confirm' }).click();
  await page.getByRole('alert').filter({ hasText: 'not in good standing' }).waitFor();
  assert.equal(await form.getByLabel('Billing contact', { exact: true }).inputValue(), OTTO, 'the form keeps what was typed');
  assert.equal((await callApi(base, 'GET', '/v1/me/contact-change-batches', ADA)).json.batches.length, 0, 'no batch');

  await form.getByLabel('Billing contact', { exact: true }).fill('');
  await form.getByLabel('Technical contact', { exact: true }).fill(NED);
  await form.getByRole('button', { name: 'Confirm' }).click();
  const answer = page.getByRole('region', { name: 'Batch asked for 3 services' });
  await answer.waitFor();
  assert.equal(await statusText(page), 'Your request has been taken into account for 3 services, as one batch. The contacts concerned will receive one email for the whole batch, with one code. 1 service was left out: see why below.');
  assert.match(await focusedText(page), /taken into account for 3 services/, 'the focus lands on the green box');
  const leftOut = answer.getByRole('list', { name: 'Left out of the batch: 1 service' });
  assert.deepEqual(await leftOut.getByRole('listitem').allTextContents(), [
    'bt-4.example: A request for this role of the service is already pending: wait for it to end, or cancel it in “My requests”.',
  ]);
  await checkAccessibility(page, "the batch's answer");
  await shot(page, 'batch-answer');
  await editSelected(0).waitFor();
  const [batch] = (await callApi(base, 'GET', '/v1/me/contact-change-batches', ADA)).json.batches;
  assert.deepEqual(batch.services.sort(), ['bt-1.example', 'bt-2.example', 'bt-3.example']);

  // My requests: the batch is one entry, its services behind a count; no part is an entry of its own.
  await answer.getByRole('button', { name: 'See it in My requests' }).click();
  await page.getByRole('tab', { name: 'My requests', selected: true }).waitFor();
  const entry = card(page, 'Batch of 3 services: Technical');
  await entry.waitFor();
  const text = await entry.textContent();
  assert.match(text, new RegExp(`Batch${batch.id}`));
  assert.match(text, new RegExp(`Previous contact${TEO}New contact${NED}Requested by${ADA} \\(Ada Admin\\)StatePending`));
  assert.match(text, new RegExp(`Still awaiting the validation of${ADA} \\(Ada Admin\\), ${NED}`));
  for (const n of [1, 2, 3]) assert.equal(await card(page, `bt-${n}.example: Technical`).count(), 0, 'a part is no entry of its own');
  await card(page, 'bt-4.example: Technical').waitFor();
  const services = entry.getByText('3 services · Pending: 3');
  await services.click();
  const outcome = entry.getByRole('table', { name: 'The outcome on each service' });
  await outcome.waitFor();
  assert.deepEqual(await outcome.getByRole('row').allTextContents(), ['ServiceStateReason', 'bt-1.examplePending', 'bt-2.examplePending', 'bt-3.examplePending']);
  await checkAccessibility(page, 'a pending batch in My requests');
  await shot(page, 'batch-pending');

  // Ada accepts with the one code of her mail.
  await entry.getByLabel('Confirmation code').fill(await batchCodeFor(ADA, batch.id));
  await entry.getByRole('button', { name: 'Accept' }).click();
  assert.equal(await statusText(page), 'Your confirmation is recorded for every service of the batch. The batch is still awaiting the validation of the other contact.');
  assert.match(await entry.textContent(), new RegExp(`Accepted by${ADA} \\(Ada Admin\\)Still awaiting the validation of${NED}`));

  // Meanwhile bt-3.example changes hands elsewhere: its part will fail, the others complete.
  await upsertService('bt-3.example', { type: 'domain', admin: ADA, tech: BEA, billing: ADA });
  const ned = await signIn(NED);
  await ned.page.getByRole('tab', { name: 'My requests' }).click();
  const his = card(ned.page, 'Batch of 3 services: Technical');
  await his.getByLabel('Confirmation code').fill(await batchCodeFor(NED, batch.id));
  await his.getByRole('button', { name: 'Accept' }).click();
  assert.equal(await statusText(ned.page), "The change has taken effect on 2 of the batch's 3 services; on the others it could not (each one's reason is in the batch's list of services).");
  assert.match(await his.textContent(), /StatePartly done/);
  await his.getByText('3 services · Failed: 1 · Done: 2').click();
  const outcomes = his.getByRole('table', { name: 'The outcome on each service' });
  await outcomes.waitFor();
  assert.deepEqual(await outcomes.getByRole('row').allTextContents(), [
    'ServiceStateReason', 'bt-3.exampleFailedthe contact of a role changed in the meantime', 'bt-1.exampleDone', 'bt-2.exampleDone',
  ]);
  await checkAccessibility(ned.page, 'a closed batch in My requests');
  await shot(ned.page, 'batch-done');
  ned.assertClean();
  await ned.close();

  // Ada's open page sees it by itself (the poll), its table still open.
  await entry.getByText('3 services · Failed: 1 · Done: 2').waitFor({ timeout: 15_000 });
  assert.equal(await entry.getByRole('table', { name: 'The outcome on each service' }).isVisible(), true, 'the table stays open');
  assert.equal((await callApi(base, 'GET', '/v1/services/bt-1.example', ADA)).json.contacts.tech, NED);
  assert.equal((await callApi(base, 'GET', '/v1/services/bt-3.example', ADA)).json.contacts.tech, BEA);
  await page.getByLabel('State').selectOption({ label: 'Partly done' });
  await card(page, 'Batch of 3 services: Technical').waitFor();
  assert.equal(await card(page, 'bt-4.example: Technical').count(), 0, 'with "Partly done", batches alone');
  ada.assertClean();
  await ada.close();
});

test('a batch with the keyboard alone: Ada takes the billing role of two services herself, sends it again, then cancels it', async () => {
  for (const name of ['kb-1.example', 'kb-2.example']) await upsertService(name, { type: 'hosting', admin: ADA, tech: ADA, billing: BEA });
  const ada = await signIn(ADA);
  const { page } = ada;
  await page.getByLabel('Search by service name').fill('kb-');
  await page.getByText('Services shown: 2.').waitFor();
  await page.getByLabel('Search by service name').focus();
  await tabTo(page, /^Select all shown$/);
  await page.keyboard.press('Space');
  await tabTo(page, /^Edit contacts of 2 services$/);
  await page.keyboard.press('Enter');
  assert.match(await focusedText(page), /^Edit contacts of 2 services$/, 'the form takes the focus');
  await tabTo(page, /^Take it myself: Billing contact/);
  await page.keyboard.press('Enter');
  assert.equal(await page.getByLabel('Billing contact', { exact: true }).inputValue(), ADA);
  await tabTo(page, /^Confirm$/);
  await page.keyboard.press('Enter');
  assert.match(await statusText(page), /taken into account for 2 services/);
  await tabTo(page, /^See it in My requests$/);
  await page.keyboard.press('Enter');
  await page.getByRole('tab', { name: 'My requests', selected: true }).waitFor();

  // Ada alone confirms what she takes herself; she sends it again, then withdraws it.
  const entry = card(page, 'Batch of 2 services: Billing');
  assert.match(await entry.textContent(), new RegExp(`Still awaiting the validation of${ADA} \\(Ada Admin\\)Asked on`));
  await entry.getByRole('button', { name: 'Send the request again' }).focus();
  await page.keyboard.press('Enter');
  assert.match(await statusText(page), /^The batch has been sent again/);
  assert.equal(await entry.getByRole('button', { name: /^Send the request again \(possible in \d+ s\)$/ }).isDisabled(), true);
  await entry.getByRole('button', { name: 'Cancel request' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('status').filter({ hasText: 'The batch is cancelled: nothing changed on any of its services.' }).waitFor();
  assert.match(await entry.textContent(), /StateCancelled/);
  assert.equal((await callApi(base, 'GET', '/v1/services/kb-1.example', ADA)).json.contacts.billing, BEA);
  ada.assertClean();
  await ada.close();
});

test('a batch in Italian and in French: the selection, the form and the entry in their words', async () => {
  for (const name of ['lang-1.example', 'lang-2.example']) await upsertService(name, { admin: TEO, tech: TEO, billing: BEA });
  const teo = await signIn(TEO);
  await teo.page.getByLabel('Cerca per nome del servizio').fill('lang-');
  await teo.page.getByText('Servizi mostrati: 2.').waitFor();
  await teo.page.getByRole('checkbox', { name: 'Seleziona tutti quelli mostrati' }).check();
  await teo.page.getByRole('button', { name: 'Modifica i contatti di 2 servizi' }).click();
  const form = teo.page.getByRole('form', { name: 'Modifica i contatti di 2 servizi' });
  await form.getByLabel('Contatto tecnico', { exact: true }).fill(NED);
  await form.getByRole('button', { name: 'Conferma' }).click();
  await teo.page.getByRole('region', { name: 'Richiesta multipla per 2 servizi' }).waitFor();
  await teo.page.getByRole('button', { name: 'Vedila in Le tue richieste' }).click();
  await card(teo.page, 'Richiesta multipla, 2 servizi: Tecnico').getByText('2 servizi · In attesa: 2').waitFor();
  await checkAccessibility(teo.page, 'Le tue richieste, una richiesta multipla');
  teo.assertClean();
  await teo.close();

  const bea = await signIn(BEA);
  await bea.page.getByRole('checkbox', { name: 'Sélectionner lang-1.example' }).check();
  await bea.page.getByRole('button', { name: 'Modifier les contacts de 1 service' }).click();
  const hers = bea.page.getByRole('form', { name: 'Modifier les contacts de 1 service' });
  assert.equal(await hers.getByLabel('Contact facturation', { exact: true }).isEditable(), true);
  assert.equal(await hers.getByLabel('Contact technique', { exact: true }).isEditable(), false, 'the billing contact changes billing alone');
  await hers.getByRole('button', { name: 'Fermer' }).click();
  bea.assertClean();
  await bea.close();
});

test('a batch of 1,000 services is one entry, its services behind a count until opened', async () => {
  const names = Array.from({ length: 1000 }, (_, i) => `big-${String(i).padStart(4, '0')}.example`);
  for (let i = 0; i < names.length; i += 50) {
    await Promise.all(names.slice(i, i + 50).map((name) => upsertService(name, { admin: OTTO, tech: OTTO, billing: OTTO })));
  }
  const { status, json } = await callApi(base, 'POST', '/v1/contact-change-batches', OTTO, { services: names, tech: NED });
  assert.equal(status, 201);
  assert.equal(json.batch.parts.length, 1000);
  const otto = await signIn(OTTO);
  const { page } = otto;
  await page.getByRole('tab', { name: 'My requests' }).click();
  const entry = card(page, 'Batch of 1000 services: Technical');
  await entry.getByText('1000 services · Pending: 1000').waitFor();
  assert.equal(await entry.getByRole('table').count(), 0, 'the table is drawn once opened');
  await entry.getByText('1000 services · Pending: 1000').click();
  const table = entry.getByRole('table', { name: 'The outcome on each service' });
  await table.waitFor();
  assert.equal(await table.getByRole('row').count(), 1001);
  assert.equal(await page.getByRole('article').filter({ hasText: 'big-0001.example: Technical' }).count(), 0, 'no part is an entry');
  otto.assertClean();
  await otto.close();
});
