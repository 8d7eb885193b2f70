// The mails of SPEC §4 as a person sees them: the local server (contacts-local, demo data) sends
// each kind, the test reads them from GET /_local/outbox and renders each HTML part in headless
// Chromium (Debian's /usr/bin/chromium, driven by playwright-core) with JavaScript disabled, as a
// mail client shows it, 640 px wide; it checks that the button leads to the mailed link, that the
// code is shown below it, that names are escaped, and that nothing is loaded from anywhere.
//
//   node --test tests/browser/                                       (scripts/test runs it)
//   MAIL_SCREENSHOT_DIR=docs/mails node --test tests/browser/mails.test.mjs   (the docs' pictures)
//
// Env: CONTACTS_LOCAL_BIN, CHROMIUM (support.mjs); MAIL_SCREENSHOT_DIR (default
// .tools/run/mails: a run leaves the committed docs/mails/*.png alone, since ids, codes and dates
// differ every run).
//
// One server for the file; the steps run in order: request 1 (tech -> Ned) is created, resent and
// done; request 2 (billing -> Ned) refused; 3 cancelled; 4 failed (Ned fell overdue); Bea asks
// for a new email address; last, a hostile display name.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import { ROOT, callApi, launchBrowser, startLocal } from './support.mjs';

const SHOTS = path.resolve(ROOT, process.env.MAIL_SCREENSHOT_DIR || path.join('.tools', 'run', 'mails'));

const ADA = 'ad1000-ovh';
const NED = 'ne4000-ovh';
const BEA = 'bi3000-ovh';

let local; // the server: { base, stop, log }
let base; // http://127.0.0.1:PORT

function api(method, route, as, body) {
  return callApi(base, method, route, as, body);
}

async function expect(status, method, route, as, body) {
  const res = await api(method, route, as, body);
  assert.equal(res.status, status, `${method} ${route} as ${as}: ${JSON.stringify(res.json)}`);
  return res.json;
}

let seen = 0; // mails of the outbox already read

/**
 * The mails sent since the last call, oldest first: read until the outbox has held still for a
 * moment (the server's drain loop may hold a mail it is sending while a read delivers the rest),
 * with at least `atLeast` new ones, for 10 s at most.
 */
async function newMails({ atLeast = 1 } = {}) {
  const deadline = Date.now() + 10_000;
  let count = -1;
  for (;;) {
    const mails = await expect(200, 'GET', '/_local/outbox');
    const settled = mails.length === count && mails.length - seen >= atLeast;
    if (settled || Date.now() > deadline) {
      const fresh = mails.slice(seen);
      seen = mails.length;
      return fresh;
    }
    count = mails.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

function mailTo(mails, to, what) {
  const found = mails.filter((m) => m.to === to);
  assert.equal(found.length, 1, `one ${what} mail to ${to}: ${JSON.stringify(mails.map((m) => [m.to, m.subject]))}`);
  return found[0];
}

/** The link with the token from a mail's text part. */
function linkOf(mail) {
  const m = /(https?:\/\/\S+#token=([A-Za-z0-9_-]+))/.exec(mail.text);
  assert.ok(m, `no link with a token in ${mail.text}`);
  return { link: m[1], token: m[2] };
}

// --- the browser -----------------------------------------------------------------------------

let browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
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

/**
 * Renders `mail`'s HTML part as a mail client would (no script, nothing fetched), checks what
 * every mail must be, screenshots it as `name`.png and hands the page to `check`.
 */
async function render(mail, name, check = async () => {}) {
  assert.doesNotMatch(mail.html, /<script|<style|<link|<img|<form|javascript:/i, `${name}: mail HTML`);
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 640, height: 480 } });
  const requests = [];
  await context.route('**/*', (route) => { requests.push(route.request().url()); return route.abort(); });
  const page = await context.newPage();
  try {
    await page.setContent(mail.html, { waitUntil: 'load' });
    assert.equal(await page.title(), mail.subject, `${name}: the title is the subject`);
    assert.equal(await page.locator('h1').innerText(), mail.subject, `${name}: the heading is the subject`);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 640, `${name}: no horizontal scrolling at 640 px (${width})`);
    await check(page);
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
    assert.deepEqual(requests, [], `${name}: the mail loads nothing`);
  } finally {
    await context.close();
  }
}

/** The button is a link to the mailed link; the code below it is the link's token. */
async function assertCallToAction(page, mail, name, button) {
  const { link, token } = linkOf(mail);
  const anchor = page.getByRole('link', { name: button, exact: true });
  assert.equal(await anchor.count(), 1, `${name}: one button "${button}"`);
  assert.equal(await anchor.getAttribute('href'), link, `${name}: the button leads to the mailed link`);
  const code = page.getByText(token, { exact: true });
  assert.equal(await code.count(), 1, `${name}: the code is shown`);
  assert.ok(await code.isVisible(), `${name}: the code is visible`);
  const [buttonBox, codeBox] = [await anchor.boundingBox(), await code.boundingBox()];
  assert.ok(codeBox.y > buttonBox.y + buttonBox.height, `${name}: the code is below the button`);
  const address = link.split('#')[0];
  assert.equal(await page.locator(`a[href="${address}"]`).count(), 1, `${name}: the page's address without the code, to paste it`);
}

// --- the mails ---------------------------------------------------------------------------------

let first;            // request 1: tech -> Ned, asked by Ada
const firstTokens = {}; // its parties' codes after the resend

test('request created: a confirmation to each party, a notice to the previous holder', async () => {
  await newMails({ atLeast: 0 });
  first = (await expect(201, 'POST', '/v1/services/example.com/contact-changes', ADA, { tech: NED })).requests[0].id;
  const mails = await newMails();
  const ned = mailTo(mails, 'ned@example.com', 'confirmation');
  assert.ok(linkOf(ned).link.startsWith(`${base}/confirm/${first}#token=`), linkOf(ned).link);
  await render(ned, 'confirm', async (page) => {
    await assertCallToAction(page, ned, 'confirm', 'Accept or refuse');
    const text = await page.locator('body').innerText();
    for (const shown of ['example.com', 'Technical contact', 'Teo Tecnico', 'te2000-ovh', 'Ned Newcomer', 'Ada Admin', first]) {
      assert.ok(text.includes(shown), `the confirmation shows ${shown}`);
    }
    assert.match(text, /\b\d{1,2} (January|February|March|April|May|June|July|August|September|October|November|December) \d{4}, \d\d:\d\d UTC\b/);
  });
  const teo = mailTo(mails, 'teo@example.it', 'notice');
  assert.doesNotMatch(teo.text + teo.html, /#token=/, 'the notice carries no token');
  await render(teo, 'informed', async (page) => {
    assert.equal(await page.locator('a').count(), 0, 'no link in a notice');
    assert.match(await page.locator('body').innerText(), /\b\d{1,2} (gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre) \d{4}, \d\d:\d\d UTC\b/);
  });
});

test('request resent: fresh codes, and the mail says the earlier ones are dead', async () => {
  await expect(202, 'POST', `/v1/contact-changes/${first}/resend`, ADA);
  const mails = await newMails();
  const ada = mailTo(mails, 'ada@example.com', 'resent confirmation');
  await render(ada, 'confirm-resent', async (page) => {
    await assertCallToAction(page, ada, 'confirm-resent', 'Accept or refuse');
    assert.match(await page.locator('body').innerText(), /replaces the earlier ones/);
  });
  firstTokens.ada = linkOf(ada).token;
  firstTokens.ned = linkOf(mailTo(mails, 'ned@example.com', 'resent confirmation')).token;
});

test('done: every party and the previous holder are told', async () => {
  await expect(200, 'POST', `/v1/contact-changes/${first}/accept`, ADA, { token: firstTokens.ada });
  await expect(200, 'POST', `/v1/contact-changes/${first}/accept`, NED, { token: firstTokens.ned });
  const mails = await newMails();
  await render(mailTo(mails, 'teo@example.it', 'done'), 'done', async (page) => {
    assert.match(await page.locator('body').innerText(), /la modifica qui sotto è effettiva/);
  });
});

/** Creates a billing request from Ada to Ned; returns its id and the parties' codes. */
async function billingToNed() {
  const id = (await expect(201, 'POST', '/v1/services/example.com/contact-changes', ADA, { billing: NED })).requests[0].id;
  const mails = await newMails();
  return { id, ada: linkOf(mailTo(mails, 'ada@example.com', 'confirmation')).token, ned: linkOf(mailTo(mails, 'ned@example.com', 'confirmation')).token };
}

test('refused, cancelled, failed: every party and the requester are told what happened', async () => {
  const refused = await billingToNed();
  await expect(200, 'POST', `/v1/contact-changes/${refused.id}/refuse`, NED, { token: refused.ned });
  await render(mailTo(await newMails(), 'ned@example.com', 'refused'), 'refused');

  const cancelled = await billingToNed();
  await expect(200, 'POST', `/v1/contact-changes/${cancelled.id}/cancel`, ADA);
  await render(mailTo(await newMails(), 'ada@example.com', 'cancelled'), 'cancelled');

  const failed = await billingToNed();
  await expect(200, 'PUT', `/_local/accounts/${NED}`, undefined, { name: 'Ned Newcomer', email: 'ned@example.com', language: 'en', payment_status: 'overdue' });
  await expect(200, 'POST', `/v1/contact-changes/${failed.id}/accept`, ADA, { token: failed.ada });
  await expect(200, 'POST', `/v1/contact-changes/${failed.id}/accept`, NED, { token: failed.ned });
  const mail = mailTo(await newMails(), 'ada@example.com', 'failed');
  await render(mail, 'failed', async (page) => {
    assert.match(await page.locator('body').innerText(), /A billing contact is not in good standing with its payments/);
  });
  await expect(200, 'PUT', `/_local/accounts/${NED}`, undefined, { name: 'Ned Newcomer', email: 'ned@example.com', language: 'en', payment_status: 'ok' });
});

test('email change asked: a code to the new address, a code of its own to the current one, and the old one told when done', async () => {
  await expect(200, 'PATCH', '/v1/me', BEA, { email: 'bea@nouveau.example' });
  const mails = await newMails();
  const verify = mailTo(mails, 'bea@nouveau.example', 'verification');
  assert.ok(linkOf(verify).link.startsWith(`${base}/verify-email#token=`), linkOf(verify).link);
  await render(verify, 'verify-email', async (page) => {
    await assertCallToAction(page, verify, 'verify-email', "Vérifier l'adresse e-mail");
    assert.match(await page.locator('body').innerText(), /\b\d{1,2}(er)? (janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre) \d{4} à \d\d:\d\d UTC\b/);
  });
  // SPEC §5: the current address agrees with a code of its own, through exactly one link.
  const agree = mailTo(mails, 'bea@example.fr', 'agreement');
  assert.ok(linkOf(agree).link.startsWith(`${base}/verify-email#token=`), linkOf(agree).link);
  assert.notEqual(linkOf(agree).token, linkOf(verify).token, 'each address its own code');
  await render(agree, 'email-change-agree', async (page) => {
    assert.equal(await page.getByRole('link').count(), 1, 'exactly one link');
    const button = page.getByRole('link', { name: 'Approuver le changement', exact: true });
    assert.equal(await button.getAttribute('href'), linkOf(agree).link, 'the one to agree');
    const text = await page.locator('body').innerText();
    assert.match(text, /bea@nouveau\.example/);
    assert.match(text, /Si ce n'était pas vous/, 'what to do if it was not them, in words');
  });

  await expect(200, 'POST', '/v1/me/email-verification', BEA, { token: linkOf(agree).token });
  await expect(200, 'POST', '/v1/me/email-verification', BEA, { token: linkOf(verify).token });
  const changed = mailTo(await newMails(), 'bea@example.fr', 'change done');
  assert.doesNotMatch(changed.text + changed.html, /#token=|href=/, 'the notice carries no code and no link');
  await render(changed, 'email-changed', async (page) => {
    assert.match(await page.locator('body').innerText(), /bea@nouveau\.example/);
  });
});

test('a hostile display name is shown as text, and never expanded', async () => {
  const name = '<img src=x onerror=alert(1)> <script>alert(2)</script> {service} & co';
  await expect(200, 'PUT', '/_local/accounts/ev1-ovh', undefined, { name, email: 'eve@example.com', language: 'en' });
  await expect(201, 'POST', '/v1/services/example.com/contact-changes', ADA, { admin: 'ev1-ovh' });
  const mail = mailTo(await newMails(), 'eve@example.com', 'confirmation');
  assert.ok(mail.text.includes(`Hello ${name},`), 'the text part keeps the name as it is');
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 640, height: 480 } });
  try {
    const page = await context.newPage();
    await page.setContent(mail.html);
    assert.equal(await page.locator('img, script').count(), 0, 'no element came from the name');
    const text = await page.locator('body').innerText();
    assert.ok(text.includes(`Hello ${name},`), `the name is shown as written: ${text}`);
    assert.ok(text.includes('{service} & co (ev1-ovh)'), 'a placeholder in a name stays as it is');
  } finally {
    await context.close();
  }
});
