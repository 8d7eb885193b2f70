// Sign-in for real (#14): contacts-local with JWT_ISSUER set takes the tokens a real OpenID
// provider (oidc-provider, tests/browser/oidc.mjs) issues through the authorization code flow
// with PKCE, as API Gateway's JWT authorizer would, and refuses every token that is stale,
// misdirected or forged, with 401 invalid_token saying why and never repeating the token.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { CLIENT_ID, startProvider } from './oidc.mjs';
import { startLocal } from './support.mjs';

let op;
let local;

before(async () => {
  op = await startProvider();
  local = await startLocal({ JWT_ISSUER: op.issuer, JWT_AUDIENCE: CLIENT_ID });
  // The banner's later lines may come in a later chunk than the one that says it listens.
  const said = new RegExp(`Sign-in: JWTs of ${op.issuer}`);
  for (let i = 0; i < 50 && !said.test(local.log); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(local.log, said, 'the banner says how callers sign in');
});

after(async () => {
  local?.stop();
  await op?.stop();
});

async function me(token) {
  const res = await fetch(`${local.base}/v1/me`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) };
}

async function refused(token, why) {
  const answer = await me(token);
  assert.equal(answer.status, 401, `${why}: ${answer.text}`);
  assert.equal(answer.json.code, 'invalid_token', why);
  assert.match(answer.json.detail, new RegExp(why), answer.text);
  for (const part of token.split('.').filter((p) => p.length > 8)) assert.ok(!answer.text.includes(part), `${why}: the token is repeated`);
}

const now = () => Math.floor(Date.now() / 1000);

test("Ada signs in at the provider (code + PKCE): her access token is her identity, her ID token is none", async () => {
  const tokens = await op.signIn('ad1000-ovh');
  const access = await me(tokens.access_token);
  assert.equal(access.status, 200, access.text);
  assert.equal(access.json.name, 'Ada Admin');
  // An ID token tells the panel who signed in; it grants nothing (SPEC §5: access tokens only),
  // though its aud is the client's and its signature the issuer's.
  await refused(tokens.id_token, 'an ID token');
  const ned = await me((await op.signIn('ne4000-ovh')).access_token);
  assert.equal(ned.json.name, 'Ned Newcomer', 'each user is their own account');
});

test('stale, misdirected and forged tokens are 401 invalid_token, saying why', async () => {
  const good = { iss: op.issuer, sub: 'ad1000-ovh', aud: CLIENT_ID, iat: now(), exp: now() + 300 };
  await refused(await op.sign({ ...good, exp: now() - 120 }), 'expired');
  await refused(await op.sign({ ...good, nbf: now() + 600 }), 'not valid yet');
  await refused(await op.sign({ ...good, aud: 'another-app' }), 'another audience');
  await refused(await op.sign({ ...good, iss: 'http://127.0.0.1:9' }), 'another issuer');
  // Signed by a key the provider never published, under its key's name and under another.
  const { privateKey } = await op.jose.generateKeyPair('RS256');
  await refused(await op.sign(good, { key: privateKey }), 'does not verify');
  await refused(await op.sign(good, { key: privateKey, kid: 'rogue' }), 'a key the issuer does not publish');
  // A real token with another account in its payload.
  const real = (await op.signIn('ad1000-ovh')).access_token.split('.');
  const payload = JSON.parse(Buffer.from(real[1], 'base64url'));
  const swapped = Buffer.from(JSON.stringify({ ...payload, sub: 'ne4000-ovh' })).toString('base64url');
  await refused(`${real[0]}.${swapped}.${real[2]}`, 'does not verify');
  // alg none.
  const none = `${Buffer.from('{"alg":"none","kid":"op-rs256"}').toString('base64url')}.${Buffer.from(JSON.stringify(good)).toString('base64url')}.`;
  await refused(none, 'not a well-formed JWT');
  // The development identity is off.
  await refused('ad1000-ovh', 'not a well-formed JWT');
  assert.equal((await me(undefined)).json.code, 'unauthenticated');
});
