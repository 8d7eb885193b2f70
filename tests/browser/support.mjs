// What the browser tests share: the local server (contacts-local on its demo data, embedded
// store and outbox, a free port, killed with this process), Debian's chromium through
// playwright-core, and a small client for the API. Not a test file itself (node --test runs
// *.test.mjs only).
//
// Env: CONTACTS_LOCAL_BIN (default $CARGO_TARGET_DIR/debug/contacts-local, else target/debug/...),
//      CHROMIUM (default /usr/bin/chromium), EMU_RUN_DIR (default .tools/run: RUN_DIR).
// playwright-core resolves from .tools/node/node_modules (scripts/install-tools installs both it
// and chromium).

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TOOLS = path.join(ROOT, '.tools');
// Where a run writes what it leaves behind (screenshots, reports): EMU_RUN_DIR, as for the emulators
// (scripts/emulators), so that concurrent runs from several checkouts keep apart.
export const RUN_DIR = process.env.EMU_RUN_DIR ? path.resolve(process.env.EMU_RUN_DIR) : path.join(TOOLS, 'run');
const SERVER_BIN =
  process.env.CONTACTS_LOCAL_BIN ||
  path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug', 'contacts-local');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// Flags that work on this machine as root with no network beyond loopback.
const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

function loadPlaywright() {
  // Pinned in tools/package.json, installed by scripts/install-tools into .tools/node.
  const require = createRequire(path.join(TOOLS, 'node', 'package.json'));
  try {
    return require('playwright-core');
  } catch (e) {
    throw new Error(`playwright-core not found under ${TOOLS}/node/node_modules: run scripts/install-tools (${e.message})`);
  }
}

/**
 * Starts contacts-local on a free port and resolves with `{ base, stop, log }` once it says it
 * listens (it loads its data first). It dies with this process, even on SIGKILL (setpriv).
 * `extraEnv`: more of its configuration (e.g. JWT_ISSUER and JWT_AUDIENCE).
 */
export function startLocal(extraEnv = {}) {
  const env = { ...process.env };
  // PUBLIC_BASE_URL unset: the mailed links then point at this server. Embedded store and outbox.
  for (const k of ['PUBLIC_BASE_URL', 'TABLE_NAME', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_SESV2', 'JWT_ISSUER', 'JWT_AUDIENCE', 'PANEL_CLIENT_ID', 'PANEL_SCOPE']) delete env[k];
  Object.assign(env, extraEnv);
  env.RUST_LOG = env.RUST_LOG || 'warn';
  if (!existsSync(SERVER_BIN)) {
    return Promise.reject(new Error(`${SERVER_BIN} not found: build it (cargo build -p contacts-local) or set CONTACTS_LOCAL_BIN`));
  }
  // --port 0: the kernel picks a free port, and the banner says which.
  const args = [SERVER_BIN, '--port', '0'];
  const [cmd, ...argv] = existsSync('/usr/bin/setpriv') ? ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--', ...args] : args;
  const server = spawn(cmd, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const local = { base: undefined, log: '', stop: () => {} };
  local.stop = () => {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  };
  // Never leave the server behind: on exit, and on the signals that end a run.
  process.on('exit', local.stop);
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
    process.once(signal, () => {
      local.stop();
      process.exit(128 + number);
    });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`contacts-local did not start in 30s:\n${local.log}`)), 30_000);
    server.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${SERVER_BIN}: ${e.message}`));
    });
    server.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`contacts-local exited (${code ?? signal}) before listening:\n${local.log}`));
    });
    server.stderr.setEncoding('utf8');
    server.stderr.on('data', (chunk) => {
      local.log += chunk;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(local.log);
      if (m && !local.base) {
        local.base = m[1];
        clearTimeout(timer);
        resolve(local);
      }
    });
  });
}

/** Headless chromium; Playwright gives it a new, empty --user-data-dir and removes it on close. */
export function launchBrowser() {
  const { chromium } = loadPlaywright();
  return chromium.launch({
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 60_000,
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,   // ours, in startLocal
  });
}

/** One API call to the server at `base` as `as` (the development bearer identity). */
export async function callApi(base, method, route, as, body) {
  const headers = {};
  if (as) headers.authorization = `Bearer ${as}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: res.status, json };
}
