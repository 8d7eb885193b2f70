// The panel's OpenID Connect module (crates/api/panel/oidc.js) against a fake provider, in node:
// the authorization request carries PKCE S256, state and nonce; the callback is accepted only
// with the state this tab started, the code is redeemed with the verifier whose challenge was
// sent, and an ID token with another nonce, issuer or audience is refused; sign-out follows the
// provider's contract with no token in the URL. Issues 14 and 26 run the same module against a
// real provider in the browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import * as oidc from '../../crates/api/panel/oidc.js';

const ISSUER = 'https://id.example.test/realms/customers';
// As GET /panel/config gives it: the endpoints from the provider's discovery document.
const CONFIG = {
  issuer: ISSUER, client_id: 'panel', scope: 'openid',
  authorization_endpoint: `${ISSUER}/auth`, token_endpoint: `${ISSUER}/token`,
  end_session: { contract: 'rp-initiated', endpoint: `${ISSUER}/logout` },
};
const PANEL = { origin: 'https://contacts.example.test', pathname: '/' };

function memoryStorage() {
  const items = new Map();
  return { getItem: (k) => (items.has(k) ? items.get(k) : null), setItem: (k, v) => items.set(k, String(v)), removeItem: (k) => items.delete(k) };
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const jwt = (claims) => `${b64url(JSON.stringify({ alg: 'RS256' }))}.${b64url(JSON.stringify(claims))}.sig`;

/** A provider: a token endpoint that checks the PKCE verifier. */
function provider({ idClaims = (asked) => ({ iss: ISSUER, aud: 'panel', nonce: asked.nonce, sub: 'ad1000-ovh' }) } = {}) {
  const seen = { authorization: null, token: null };
  const fetchImpl = async (url, init = {}) => {
    if (url === `${ISSUER}/token` && init.method === 'POST') {
      const form = new URLSearchParams(init.body.toString());
      seen.token = Object.fromEntries(form);
      const asked = seen.authorization;
      const challenge = createHash('sha256').update(form.get('code_verifier')).digest('base64url');
      if (form.get('code') !== 'the-code' || challenge !== asked.code_challenge) return Response.json({ error: 'invalid_grant' }, { status: 400 });
      return Response.json({ access_token: 'the-access-token', id_token: jwt(idClaims(asked)), expires_in: 300, token_type: 'Bearer' });
    }
    return new Response('no', { status: 404 });
  };
  return { fetchImpl, seen };
}

async function begin(fake, storage) {
  let target;
  await oidc.beginSignIn(CONFIG, { storage, assign: (u) => { target = new URL(u); }, loc: PANEL });
  fake.seen.authorization = Object.fromEntries(target.searchParams);
  return target;
}

test('the authorization request asks for a code with PKCE S256, a fresh state and nonce, back to the panel', async () => {
  const fake = provider();
  const target = await begin(fake, memoryStorage());
  assert.equal(`${target.origin}${target.pathname}`, `${ISSUER}/auth`);
  const q = fake.seen.authorization;
  assert.equal(q.response_type, 'code');
  assert.equal(q.client_id, 'panel');
  assert.equal(q.redirect_uri, 'https://contacts.example.test/');
  assert.equal(q.code_challenge_method, 'S256');
  assert.match(q.code_challenge, /^[A-Za-z0-9_-]{43}$/);
  assert.match(q.state, /^[A-Za-z0-9_-]{22}$/);
  assert.notEqual(q.state, q.nonce);
  const again = provider();
  await begin(again, memoryStorage());
  assert.notEqual(again.seen.authorization.state, q.state, 'a new state each time');
});

test('the callback with our state redeems the code with the verifier and yields the access token', async () => {
  const fake = provider();
  const storage = memoryStorage();
  await begin(fake, storage);
  const callback = `https://contacts.example.test/?code=the-code&state=${fake.seen.authorization.state}`;
  const session = await oidc.completeSignIn(CONFIG, callback, { storage, fetchImpl: fake.fetchImpl, now: 1000 });
  assert.deepEqual(session, { token: 'the-access-token', expiresAt: 1000 + 300_000 }, 'the ID token is not kept');
  assert.equal(fake.seen.token.grant_type, 'authorization_code');
  assert.equal(fake.seen.token.redirect_uri, 'https://contacts.example.test/');
  await assert.rejects(oidc.completeSignIn(CONFIG, callback, { storage, fetchImpl: fake.fetchImpl }), /state/, 'a callback is used once');
});

test('a callback with another state, an error, or an ID token with another nonce, issuer or audience is refused', async () => {
  let fake = provider();
  let storage = memoryStorage();
  await begin(fake, storage);
  await assert.rejects(oidc.completeSignIn(CONFIG, 'https://contacts.example.test/?code=the-code&state=forged', { storage, fetchImpl: fake.fetchImpl }), /state/);

  fake = provider();
  storage = memoryStorage();
  await begin(fake, storage);
  const denied = `https://contacts.example.test/?error=access_denied&state=${fake.seen.authorization.state}`;
  await assert.rejects(oidc.completeSignIn(CONFIG, denied, { storage, fetchImpl: fake.fetchImpl }), /access_denied/);

  for (const [what, claims] of [
    ['nonce', (asked) => ({ iss: ISSUER, aud: 'panel', nonce: `${asked.nonce}x` })],
    ['issuer', (asked) => ({ iss: 'https://evil.example.test', aud: 'panel', nonce: asked.nonce })],
    ['audience', (asked) => ({ iss: ISSUER, aud: ['someone-else'], nonce: asked.nonce })],
  ]) {
    fake = provider({ idClaims: claims });
    storage = memoryStorage();
    await begin(fake, storage);
    const callback = `https://contacts.example.test/?code=the-code&state=${fake.seen.authorization.state}`;
    await assert.rejects(oidc.completeSignIn(CONFIG, callback, { storage, fetchImpl: fake.fetchImpl }), /nonce|issuer|client/, what);
  }
  assert.equal(oidc.callbackParams('https://contacts.example.test/#requests'), null, 'no code, no callback');
});

test("sign-out follows the provider's contract, naming the panel by its client id and no token", () => {
  const standard = new URL(oidc.signOutUrl(CONFIG, PANEL));
  assert.equal(`${standard.origin}${standard.pathname}`, `${ISSUER}/logout`);
  assert.deepEqual(Object.fromEntries(standard.searchParams), { client_id: 'panel', post_logout_redirect_uri: 'https://contacts.example.test/' });
  const domain = 'https://contacts.auth.eu-west-1.amazoncognito.com';
  const cognito = new URL(oidc.signOutUrl({ ...CONFIG, end_session: { contract: 'cognito', endpoint: `${domain}/logout` } }, PANEL));
  assert.equal(`${cognito.origin}${cognito.pathname}`, `${domain}/logout`);
  assert.deepEqual(Object.fromEntries(cognito.searchParams), { client_id: 'panel', logout_uri: 'https://contacts.example.test/' });
  assert.equal(oidc.signOutUrl({ ...CONFIG, end_session: undefined }, PANEL), null, 'no end of session known: the panel only forgets its token');
});
