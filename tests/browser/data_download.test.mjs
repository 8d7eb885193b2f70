// SPEC §8's access in the control panel: the Profile tab's "Download my data" fetches
// GET /v1/me/data with the session's token and saves it as a file (a Blob and an <a download>),
// in headless Chromium against contacts-local on its demo data; axe-core checks the view.
//
//   node --test tests/browser/data_download.test.mjs          (scripts/test runs every file here)
//
// Env: CONTACTS_LOCAL_BIN, CHROMIUM (support.mjs).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { TOOLS, callApi, launchBrowser, startLocal } from './support.mjs';

const AXE = path.join(TOOLS, 'node', 'node_modules', 'axe-core', 'axe.min.js');
const ADA = 'ad1000-ovh';
const NED = 'ne4000-ovh';

let local;
let base;
let browser;

before(async () => {
  local = await startLocal();
  base = local.base;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  local?.stop();
});

/** axe-core on the page as it is: no serious or critical violation. */
async function checkAccessibility(page, view) {
  await page.evaluate(readFileSync(AXE, 'utf8'));
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `axe on ${view}`);
}

/** Request `id` as `as` sees it, once its `count` mails are sent (the server's mailer runs apart). */
async function mailed(id, as, count) {
  for (let tries = 0; tries < 100; tries += 1) {
    const { json } = await callApi(base, 'GET', `/v1/contact-changes/${id}`, as);
    if (json.history.filter((entry) => entry.event === 'mailed').length >= count) return json;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the mails of ${id} were not sent within 10 s`);
}

test('Download my data saves everything held about the signed-in customer as one JSON file', async () => {
  // Ada asks for Ned as the technical contact of example.com: a request that names Ned.
  const asked = await callApi(base, 'POST', '/v1/services/example.com/contact-changes', ADA, { tech: NED });
  assert.equal(asked.status, 201, JSON.stringify(asked.json));
  const id = asked.json.requests[0].id;
  const request = await mailed(id, NED, 3);

  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  // A 4xx the browser logs (the favicon) is no error of the page's.
  page.on('console', (msg) => { if (msg.type() === 'error' && !/status of 4\d\d/.test(msg.text())) problems.push(msg.text()); });
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
  await page.goto(`${base}/`);
  await page.getByLabel('Customer ID').fill(NED);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('tab', { name: 'Profile' }).click();
  const button = page.getByRole('button', { name: 'Download my data' });
  await page.getByRole('heading', { name: 'Your data' }).waitFor();

  const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
  const saved = JSON.parse(readFileSync(await download.path(), 'utf8'));
  const file = download.suggestedFilename();
  assert.equal(file, `contacts-data-${NED}-${saved.generated_at.slice(0, 10)}.json`, 'named after the account and the day, as the API names it');
  assert.equal(saved.profile.account, NED);
  assert.deepEqual(saved.requests, [request], 'the request that names Ned, as its own GET shows it, its mails with it');
  assert.deepEqual(saved.batches, []);
  // The API's document, but for the moment it was made.
  const { status, json: answered } = await callApi(base, 'GET', '/v1/me/data', NED);
  assert.equal(status, 200);
  assert.deepEqual({ ...saved, generated_at: null }, { ...answered, generated_at: null });

  const said = page.getByRole('status').filter({ hasText: `Your data is saved as ${file}.` });
  await said.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), `Your data is saved as ${file}.`, 'the focus is on what happened');
  await checkAccessibility(page, 'Profile, with the data downloaded');
  assert.deepEqual(problems, [], 'no console error or uncaught exception (a CSP violation is a console error)');
  await context.close();
});
