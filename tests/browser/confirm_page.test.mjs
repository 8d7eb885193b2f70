// The emailed link's confirmation page (SPEC §4), used as a person uses it: in a real headless
// Chromium (Debian's /usr/bin/chromium, driven by playwright-core), against the local server
// (contacts-local) with its demo data.
//
//   node --test tests/browser/          (scripts/test runs it after the cargo tests)
//
// Env: as support.mjs says (CONTACTS_LOCAL_BIN, CHROMIUM). A screenshot of the filled page goes to
// .tools/run/confirm-page.png.
//
// The tests run in order and share one server: Ada accepts request 1 and Ned completes it, then
// on request 2 a wrong code is rejected and Ned refuses; last, Bea verifies a new email address
// on its own page (/verify-email). The page names nobody until its script has posted a live code
// to /confirm/{id}/details (SPEC §4); axe-core checks every view of it.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { RUN_DIR, TOOLS, callApi, launchBrowser, startLocal } from './support.mjs';

const SCREENSHOT = path.join(RUN_DIR, 'confirm-page.png');
const AXE = path.join(TOOLS, 'node', 'node_modules', 'axe-core', 'axe.min.js');
// Every name and customer id of the demo cast: none is for whoever holds a request's id alone.
const CAST = ['ad1000-ovh', 'te2000-ovh', 'bi3000-ovh', 'ne4000-ovh', 'Ada Admin', 'Teo Tecnico', 'Bea Billing', 'Ned Newcomer'];

const ADA = 'ad1000-ovh';
const NED = 'ne4000-ovh';

let local; // the server: { base, stop, log }
let base; // http://127.0.0.1:PORT

function api(method, route, as, body) {
  return callApi(base, method, route, as, body);
}

/** Creates one request as `as`; returns its id. */
async function createRequest(as, roles) {
  const { status, json } = await api('POST', '/v1/services/example.com/contact-changes', as, roles);
  assert.equal(status, 201, `creating ${JSON.stringify(roles)}: ${JSON.stringify(json)}`);
  assert.equal(json.requests.length, 1);
  return json.requests[0].id;
}

/** The confirmation link mailed to `email` for request `id` (the latest such mail). */
async function linkFor(email, id) {
  const { status, json: mails } = await api('GET', '/_local/outbox');
  assert.equal(status, 200);
  const links = mails
    .filter((m) => m.to === email)
    .map((m) => /(https?:\/\/[^\s"'<>]+\/confirm\/([0-9A-Za-z]+)#token=[A-Za-z0-9_-]+)/.exec(m.text))
    .filter((m) => m && m[2] === id)
    .map((m) => m[1]);
  assert.ok(links.length > 0, `no confirmation link for ${email} and ${id} in the outbox`);
  return links.at(-1);
}

// --- the browser ---------------------------------------------------------------------------

let browser;

/**
 * A fresh page (own context) that records console errors, page errors and CSP violations,
 * across navigations (the form's POST loads a new document).
 */
async function openPage() {
  const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await context.newPage();
  const problems = { console: [], csp: [] };
  page.on('console', (msg) => { if (msg.type() === 'error') problems.console.push(msg.text()); });
  if (process.env.BROWSER_TEST_DEBUG) page.on('console', (msg) => console.error(`[console.${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (err) => problems.console.push(`uncaught: ${err.message}`));
  await page.exposeBinding('__reportCspViolation', (_source, v) => problems.csp.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__reportCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
  return { page, problems, close: () => context.close() };
}

/** The page's `<dt>` -> `<dd>` pairs (the summary, and who is involved once shown). */
async function summary(page) {
  return page.$$eval('dl dt', (dts) => Object.fromEntries(dts.map((dt) => [dt.textContent, dt.nextElementSibling?.textContent ?? ''])));
}

/** Whether `response` is the page's script reading who is involved. */
function isDetails(response) {
  return response.request().method() === 'POST' && new URL(response.url()).pathname.endsWith('/details');
}

/** `act` (a navigation, a fill) and the details' answer it makes the page's script fetch. */
async function withDetails(page, act) {
  const [response] = await Promise.all([page.waitForResponse(isDetails), act()]);
  await page.waitForFunction(() => document.getElementById('details-status')?.textContent !== 'Reading who is involved...');
  return response;
}

function assertNamesNobody(text, what) {
  for (const who of CAST) assert.ok(!text.includes(who), `${what} names ${who}: ${text}`);
}

let axeSource;

/** axe-core on the page as it is: no serious or critical violation. */
async function checkAccessibility(page, view) {
  await page.evaluate(axeSource);
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `axe on ${view}`);
}

/** Clicks a button of the form and waits for the page it leads to; returns the POST's response. */
async function submit(page, label) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.startsWith('/confirm/') && !isDetails(r)),
    page.getByRole('button', { name: label }).click(),
  ]);
  // An answer that worked redirects (303) to its outcome's page: wait for that document.
  if (response.status() === 303) await page.waitForURL((url) => url.searchParams.has('answered'));
  await page.waitForLoadState('load');
  return response;
}

/** The headers SPEC §4 asks of every version of the page. */
async function assertPageHeaders(response, what) {
  const h = await response.allHeaders();
  assert.match(h['content-type'] ?? '', /^text\/html/, `${what}: content-type`);
  const csp = h['content-security-policy'] ?? '';
  assert.match(csp, /default-src 'none'/, `${what}: CSP ${csp}`);
  assert.match(csp, /script-src 'nonce-[A-Za-z0-9_-]{16,}'/, `${what}: CSP ${csp}`);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, `${what}: CSP ${csp}`);
  assert.equal(h['cache-control'], 'no-store', `${what}: cache-control`);
  assert.equal(h['referrer-policy'], 'no-referrer', `${what}: referrer-policy`);
}

function assertNoProblems(problems, what) {
  assert.deepEqual(problems.csp, [], `${what}: CSP violations`);
  assert.deepEqual(problems.console, [], `${what}: console errors`);
}

before(async () => {
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
  try {
    if (browser) await browser.close();
  } finally {
    local?.stop();
  }
});

// --- the tests -----------------------------------------------------------------------------

let first;   // request 1: tech -> Ned, asked by Ada

test("Ada's link shows the request, fills the code from the fragment and wipes it, shows who is involved with it; Accept is recorded", async () => {
  first = await createRequest(ADA, { tech: NED });
  const link = await linkFor('ada@example.com', first);
  assert.ok(link.startsWith(`${base}/confirm/${first}#token=`), `the link points at this server: ${link}`);
  const token = link.split('#token=')[1];

  const { page, problems, close } = await openPage();
  try {
    let response;
    const details = await withDetails(page, async () => { response = await page.goto(link); });
    assert.equal(response.status(), 200);
    await assertPageHeaders(response, 'GET /confirm');
    assert.match((await response.allHeaders())['content-security-policy'], /connect-src 'self'/);
    // What the server sent for the id alone names nobody; the script read the rest with the code.
    assertNamesNobody(await response.text(), 'GET /confirm');
    assert.equal(details.status(), 200);
    assert.equal((await details.allHeaders())['cache-control'], 'no-store');
    assert.equal(details.request().postData(), `token=${token}`, 'the code from the fragment');

    const rows = await summary(page);
    assert.equal(rows.Request, first);
    assert.equal(rows.Service, 'example.com');
    assert.equal(rows.Roles, 'tech');
    assert.equal(rows.State, 'pending');
    assert.equal(rows.Awaiting, 'the requester and the new contact');
    assert.equal(rows['Previous contact'], 'Teo Tecnico (te2000-ovh)');
    assert.equal(rows['New contact'], 'Ned Newcomer (ne4000-ovh)');
    assert.equal(rows['Requested by'], 'Ada Admin (ad1000-ovh)');
    assert.equal(rows.Parties, 'Ada Admin (ad1000-ovh): pending, Ned Newcomer (ne4000-ovh): pending');
    assert.ok(await page.getByRole('heading', { name: 'Who is involved' }).isVisible());
    await checkAccessibility(page, 'the page with who is involved');

    assert.equal(await page.inputValue('#token'), token, "the page's script filled the code in");
    assert.equal(page.url(), `${base}/confirm/${first}`, 'no fragment left in the address bar');
    assert.equal(await page.evaluate(() => location.hash), '');

    mkdirSync(RUN_DIR, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // The address was replaced, not pushed: no history entry keeps the token.
    await page.goBack();
    assert.equal(page.url(), 'about:blank', 'the entry before the page is the new tab');
    await page.goForward();
    assert.equal(page.url(), `${base}/confirm/${first}`, 'the page comes back without the fragment');
    // Without a fragment nobody is named until the code is typed or pasted: then the script reads
    // who is involved with it, and the form takes it the same way.
    assert.equal(await page.locator('#details').isVisible(), false);
    assertNamesNobody(await page.locator('body').innerText(), 'the page without a code');
    const pasted = await withDetails(page, () => page.fill('#token', token));
    assert.equal(pasted.status(), 200);
    assert.equal((await summary(page))['New contact'], 'Ned Newcomer (ne4000-ovh)');

    const result = await submit(page, 'Accept');
    // Post/Redirect/Get: the answer is a 303 to the outcome's own page.
    assert.equal(result.status(), 303);
    await assertPageHeaders(result, 'POST /confirm (accept)');
    assert.equal(page.url(), `${base}/confirm/${first}?answered=accept`);
    // What the outcome's page says comes from the state: Ada is no longer awaited, Ned still is.
    assert.match(await page.locator('body').innerText(), /still pending: it awaits the new contact/i);
    assert.equal((await summary(page)).Awaiting, 'the new contact');
    assertNamesNobody(await page.locator('body').innerText(), 'the outcome page');
    await checkAccessibility(page, 'the outcome page of a pending request');
    // A reload shows the outcome again and posts nothing.
    let posts = 0;
    page.on('request', (r) => { if (r.method() === 'POST') posts += 1; });
    await page.reload();
    assert.match(await page.locator('body').innerText(), /still pending: it awaits the new contact/i);
    assert.equal(posts, 0, 'the reload posted the form again');
    assertNoProblems(problems, "Ada's page");
  } finally {
    await close();
  }

  const { json } = await api('GET', `/v1/contact-changes/${first}`, ADA);
  assert.equal(json.state, 'pending');
  assert.deepEqual(Object.fromEntries(json.parties.map((p) => [p.account, p.status])), { [ADA]: 'accepted', [NED]: 'pending' });
});

test("Ned accepts in the browser: the change takes effect", async () => {
  assert.ok(first, 'needs the previous test');
  const { page, problems, close } = await openPage();
  try {
    const link = await linkFor('ned@example.com', first);
    await withDetails(page, () => page.goto(link));
    const rows = await summary(page);
    assert.equal(rows.Awaiting, 'the new contact', 'Ada has accepted already');
    assert.equal(rows.Parties, 'Ada Admin (ad1000-ovh): accepted, Ned Newcomer (ne4000-ovh): pending');
    const result = await submit(page, 'Accept');
    assert.equal(result.status(), 303);
    assert.match(await page.locator('body').innerText(), /every party accepted and the change has taken effect/i);
    assert.equal((await summary(page)).State, 'done');
    assertNamesNobody(await page.locator('body').innerText(), 'the done request');
    await checkAccessibility(page, 'the outcome page of a done request');
    assertNoProblems(problems, "Ned's page");
  } finally {
    await close();
  }
  const { status, json } = await api('GET', '/v1/services/example.com', NED);
  assert.equal(status, 200);
  assert.equal(json.contacts.tech, NED);
});

test('a wrong code is refused with 403 and says it did not match; then Ned refuses in the browser', async () => {
  const second = await createRequest(ADA, { billing: NED });
  const link = await linkFor('ned@example.com', second);
  const token = link.split('#token=')[1];
  const wrong = (token[0] === 'A' ? 'B' : 'A') + token.slice(1);

  const bad = await openPage();
  try {
    const details = await withDetails(bad.page, () => bad.page.goto(link.replace(/#token=.*/, `#token=${wrong}`)));
    assert.equal(details.status(), 403);
    assert.equal(await bad.page.inputValue('#token'), wrong);
    // A wrong code reads nobody: the page says the code did not match, and names no one.
    assert.match(await bad.page.locator('#details-status').innerText(), /code from the confirmation email did not match/);
    assert.equal(await bad.page.locator('#details').isVisible(), false);
    assertNamesNobody(await bad.page.locator('body').innerText(), 'the page with a wrong code');
    await checkAccessibility(bad.page, 'the page with a wrong code');
    const result = await submit(bad.page, 'Accept');
    assert.equal(result.status(), 403);
    await assertPageHeaders(result, 'POST /confirm (wrong code)');
    assert.match(await bad.page.locator('.error').innerText(), /code from the confirmation email did not match/);
    await checkAccessibility(bad.page, 'the error page');
    // The browser itself logs the 403 loads (the details, the document); nothing else may appear.
    assert.deepEqual(bad.problems.csp, [], 'CSP violations on the error page');
    assert.deepEqual(bad.problems.console.filter((m) => !/status of 403/.test(m)), [], 'console errors on the error page');
  } finally {
    await bad.close();
  }
  assert.equal((await api('GET', `/v1/contact-changes/${second}`, ADA)).json.state, 'pending', 'a wrong code changes nothing');

  const { page, problems, close } = await openPage();
  try {
    await withDetails(page, () => page.goto(link));
    assert.equal((await summary(page)).Roles, 'billing');
    assert.equal((await summary(page))['New contact'], 'Ned Newcomer (ne4000-ovh)');
    const result = await submit(page, 'Refuse');
    assert.equal(result.status(), 303);
    assert.match(await page.locator('body').innerText(), /refused: it is closed and nothing changed/i);
    assertNoProblems(problems, "Ned's refusal");
  } finally {
    await close();
  }
  const { json } = await api('GET', `/v1/contact-changes/${second}`, ADA);
  assert.equal(json.state, 'refused');
  assert.equal((await api('GET', '/v1/services/example.com', ADA)).json.contacts.billing, 'bi3000-ovh');
});

test('the CSP blocks an injected inline script, and these tests hear the violation', async () => {
  assert.ok(first, 'needs the first test');
  const { page, problems, close } = await openPage();
  try {
    await page.goto(`${base}/confirm/${first}`);
    assert.match(await page.locator('body').innerText(), /nothing left to confirm/);
    assertNoProblems(problems, 'the closed request');
    // What an injected <script> (an escaping bug) would do: the nonce-less script must not run.
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__injected = true;';
      document.body.append(s);
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await page.evaluate(() => window.__injected), undefined, 'the injected script did not run');
    assert.equal(problems.csp.length, 1, `one violation reported: ${JSON.stringify(problems)}`);
    assert.match(problems.csp[0], /^script-src/);
  } finally {
    await close();
  }
});

// --- the email verification page (SPEC §5: a profile email change) ---------------------------

/** The verification link mailed to `email` (the latest such mail). */
async function verificationLinkFor(email) {
  const { status, json: mails } = await api('GET', '/_local/outbox');
  assert.equal(status, 200);
  const links = mails
    .filter((m) => m.to === email)
    .map((m) => /(https?:\/\/[^\s"'<>]+\/verify-email#token=[A-Za-z0-9_-]+)/.exec(m.text))
    .filter(Boolean)
    .map((m) => m[1]);
  assert.ok(links.length > 0, `no verification link for ${email} in the outbox`);
  return links.at(-1);
}

/** Clicks the button labelled `label` and waits for the POST to `pathname`'s page. */
async function submitTo(page, label, pathname) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === pathname),
    page.getByRole('button', { name: label }).click(),
  ]);
  await page.waitForLoadState('load');
  return response;
}

test("Bea's emailed verification links: opening one changes nothing, each button sends its code back, once", async () => {
  const BEA = 'bi3000-ovh';
  const before = (await api('GET', '/v1/me', BEA)).json;
  const asked = await api('PATCH', '/v1/me', BEA, { email: 'bea.new@example.org' });
  assert.equal(asked.status, 200, JSON.stringify(asked.json));
  assert.equal(asked.json.pending_email, 'bea.new@example.org');
  assert.equal(asked.json.email, before.email, 'mail still goes to the old address');
  const link = await verificationLinkFor('bea.new@example.org');
  assert.ok(link.startsWith(`${base}/verify-email#token=`), `the link points at this server: ${link}`);
  const token = link.split('#token=')[1];

  // The current address agrees first, through its own link (SPEC §5): that alone moves nothing.
  const agree = await openPage();
  try {
    await agree.page.goto(await verificationLinkFor(before.email));
    const result = await submitTo(agree.page, 'Verify email address', '/verify-email');
    assert.equal(result.status(), 200);
    assert.match(await agree.page.locator('body').innerText(), /code sent to the other address/);
    assertNoProblems(agree.problems, "the current address's agreement page");
  } finally {
    await agree.close();
  }
  assert.equal((await api('GET', '/v1/me', BEA)).json.email, before.email, 'one code of two moves nothing');

  const { page, problems, close } = await openPage();
  try {
    const response = await page.goto(link);
    assert.equal(response.status(), 200);
    await assertPageHeaders(response, 'GET /verify-email');
    assert.equal(await page.inputValue('#token'), token, "the page's script filled the code in");
    assert.equal(page.url(), `${base}/verify-email`, 'no fragment left in the address bar');
    assert.equal((await api('GET', '/v1/me', BEA)).json.pending_email, 'bea.new@example.org', 'opening the page verified nothing');

    const result = await submitTo(page, 'Verify email address', '/verify-email');
    assert.equal(result.status(), 200);
    await assertPageHeaders(result, 'POST /verify-email');
    assert.match(await page.locator('body').innerText(), /bea\.new@example\.org is now the email address/);
    assertNoProblems(problems, "Bea's verification page");
  } finally {
    await close();
  }
  const after = (await api('GET', '/v1/me', BEA)).json;
  assert.equal(after.email, 'bea.new@example.org');
  assert.equal(after.pending_email, null);

  // The same link again: the code is spent.
  const again = await openPage();
  try {
    await again.page.goto(link);
    const result = await submitTo(again.page, 'Verify email address', '/verify-email');
    assert.equal(result.status(), 403);
    await assertPageHeaders(result, 'POST /verify-email (spent code)');
    assert.match(await again.page.locator('.error').innerText(), /code from the verification email did not match/);
    assert.deepEqual(again.problems.csp, [], 'CSP violations on the error page');
  } finally {
    await again.close();
  }
});
