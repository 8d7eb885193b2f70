// A real OpenID provider for the sign-in tests: npm `oidc-provider` (pinned in tools/package.json),
// in this process on a free port of 127.0.0.1, with one public client (the panel: authorization
// code + PKCE S256, no secret) and the demo accounts as its users (`sub` = the customer id; the
// development login form takes any password). Access tokens are JWTs for the panel's audience, as
// API Gateway's JWT authorizer needs them. Not a test file itself.
//
// `signIn(account)` runs the whole authorization code flow over HTTP the way a browser would
// (the authorization request, the login form, the consent form, the redirect, the token request
// with the PKCE verifier) and checks `state`; the browser suite drives the same forms in chromium.
//
// `startProvider({ cognito: true })` shapes it like Amazon Cognito (docs/deploying.md, "Wiring
// Amazon Cognito"): the issuer's origin serves only the discovery document and the keys, as
// `cognito-idp.{region}.amazonaws.com/{pool}` does, while the endpoints a browser uses live on
// another origin, the user pool's domain (`{prefix}.auth.{region}.amazoncognito.com`), under
// Cognito's paths: `/oauth2/authorize`, `/oauth2/token`, `/oauth2/userInfo` and `/logout`
// (`client_id` and `logout_uri`; the discovery document names no `end_session_endpoint`). Users
// sign in with their customer id, which access tokens carry as `username` beside a UUID `sub`, with
// `client_id`, `token_use: "access"` and `scope`, and no `aud`.

import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import http from 'node:http';
import path from 'node:path';

import { TOOLS } from './support.mjs';

export const CLIENT_ID = 'contacts-panel';
/** The resource server's custom scope of the Cognito-shaped provider (`{identifier}/{scope}`). */
export const COGNITO_SCOPE = 'contacts/panel';
const require = createRequire(path.join(TOOLS, 'node', 'package.json'));

async function modules() {
  try {
    const provider = await import(require.resolve('oidc-provider'));
    const jose = await import(require.resolve('jose'));
    return { Provider: provider.default, jose };
  } catch (e) {
    throw new Error(`oidc-provider not found under ${TOOLS}/node/node_modules: run scripts/install-tools (${e.message})`);
  }
}

const b64url = (buffer) => Buffer.from(buffer).toString('base64url');

async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${server.address().port}`;
}

/**
 * Starts the provider; resolves with `{ issuer, stop, signIn, sign, publicJwks }`, and with
 * `cognito`, `domain` (the user pool domain's origin) and `domainRequests` (the URLs asked of it).
 * `redirectUris`: where the client may be sent back (the panel's address).
 */
/**
 * Signs `account` in on the provider's own pages, as a person would: its development login
 * form (any password), then its consent form.
 */
export async function signInOnProviderPages(page, account) {
  await page.locator('input[name="login"]').fill(account);
  await page.locator('input[name="password"]').fill('any');
  await page.locator('button[type="submit"]').first().click();
  await page.locator('button[type="submit"]').first().click();
}

export async function startProvider({ redirectUris = ['http://127.0.0.1/callback'], cognito = false } = {}) {
  const { Provider, jose } = await modules();
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const signingJwk = { ...(await jose.exportJWK(privateKey)), kid: 'op-rs256', alg: 'RS256', use: 'sig' };
  const server = http.createServer();
  const issuer = await listen(server);
  const pool = cognito ? await userPoolDomain() : null;
  // The client's addresses may be known only once the panel's server runs, and that server
  // needs the issuer first: the provider is made at its first request, with the addresses by then.
  const allowed = [...redirectUris];
  let handler;
  const make = () => {
    const provider = new Provider(issuer, {
      clients: [{
        client_id: CLIENT_ID,
        token_endpoint_auth_method: 'none',
        redirect_uris: allowed,
        post_logout_redirect_uris: allowed,
        grant_types: ['authorization_code'],
        response_types: ['code'],
      }],
      jwks: { keys: [signingJwk] },
      cookies: { keys: [b64url(randomBytes(32))] },
      pkce: { required: () => true },
      // Said explicitly rather than left to the defaults (each of which the provider notes).
      ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 300, IdToken: 300 },
      clientBasedCORS: (_ctx, origin, client) => client.redirectUris.some((uri) => new URL(uri).origin === origin),
      // The login form's name is the account id (the development interactions keep it as such):
      // `sub`, or with Cognito the access token's `username` (cognitoAccessToken).
      async findAccount(_ctx, sub) {
        return { accountId: sub, claims: async () => ({ sub }) };
      },
      features: {
        devInteractions: { enabled: true },
        rpInitiatedLogout: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => 'urn:service-contacts',
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({
            scope: cognito ? `openid ${COGNITO_SCOPE}` : 'openid',
            audience: CLIENT_ID,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          }),
        },
      },
      ...(cognito ? { formats: { customizers: { jwt: (_ctx, token, jwt) => cognitoAccessToken(jwt, token.accountId) } } } : {}),
    });
    provider.proxy = false;
    if (cognito) provider.use(cognitoDiscovery(pool.origin));
    return provider.callback();
  };
  server.on('request', (req, res) => {
    handler ??= make();
    handler(req, res);
  });
  pool?.server.on('request', (req, res) => {
    pool.requests.push(req.url);
    req.url = cognitoPath(req.url);
    handler ??= make();
    handler(req, res);
  });
  const stop = async () => {
    await new Promise((resolve) => server.close(resolve));
    if (pool) await new Promise((resolve) => pool.server.close(resolve));
  };
  /** Lets the client come back to `uri` too (before the provider's first request). */
  const allowRedirect = (uri) => {
    if (handler) throw new Error('the provider is made already: allow its addresses before its first request');
    allowed.push(uri);
  };

  /** Signs `claims` with the provider's own key (so that only the claims can be wrong). */
  async function sign(claims, { kid = 'op-rs256', key = privateKey, alg = 'RS256' } = {}) {
    return new jose.SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(key);
  }

  async function signIn(account, redirectUri = redirectUris[0]) {
    return authorizationCodeFlow({ issuer, account, redirectUri });
  }

  return {
    issuer, stop, signIn, sign, allowRedirect, publicJwks: { keys: [await jose.exportJWK(publicKey)] }, jose,
    ...(pool ? { domain: pool.origin, domainRequests: pool.requests } : {}),
  };
}

/** The Cognito-shaped provider's second origin, the user pool's domain: another port of the loopback. */
async function userPoolDomain() {
  const server = http.createServer();
  return { server, origin: await listen(server), requests: [] };
}

/** Cognito's paths on the user pool domain, as the provider's own (the rest passes as it is). */
function cognitoPath(url) {
  const u = new URL(url, 'http://domain');
  const renamed = { '/oauth2/authorize': '/auth', '/oauth2/token': '/token', '/oauth2/userInfo': '/me' }[u.pathname];
  if (renamed) return `${renamed}${u.search}`;
  if (u.pathname !== '/logout') return url;
  // Cognito's logout takes `client_id` and `logout_uri`; the provider's end of session the
  // standard `client_id` and `post_logout_redirect_uri`.
  const q = new URLSearchParams({ client_id: u.searchParams.get('client_id') ?? '' });
  if (u.searchParams.has('logout_uri')) q.set('post_logout_redirect_uri', u.searchParams.get('logout_uri'));
  return `/session/end?${q}`;
}

/**
 * The discovery document as Cognito's: the browser's endpoints on the user pool domain, and no
 * `end_session_endpoint` (Cognito's logout is not RP-initiated logout).
 */
function cognitoDiscovery(domain) {
  return async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'discovery') return;
    Object.assign(ctx.body, {
      authorization_endpoint: `${domain}/oauth2/authorize`,
      token_endpoint: `${domain}/oauth2/token`,
      userinfo_endpoint: `${domain}/oauth2/userInfo`,
    });
    delete ctx.body.end_session_endpoint;
  };
}

/**
 * An access token as Cognito's: `client_id`, `token_use`, `scope`, `username` (the customer id the
 * user signed in as) and a UUID as `sub`, no `aud`. (The ID token keeps the username as `sub`: the
 * panel reads only its `nonce`, `iss` and `aud`.) oidc-provider refuses to sign a JWT access token
 * without `aud`, so the audience stays for that check but is made non-enumerable: JSON.stringify,
 * which serializes the payload, leaves it out of the token.
 */
function cognitoAccessToken(jwt, username) {
  Object.assign(jwt.payload, { token_use: 'access', username, sub: userUuid(username) });
  Object.defineProperty(jwt.payload, 'aud', { value: jwt.payload.aud, enumerable: false, writable: true, configurable: true });
}

/** A stable UUID-shaped `sub` per user, as Cognito's `sub` is: never a customer id. */
function userUuid(username) {
  const hex = createHash('sha256').update(username).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A cookie jar and `fetch` that never follows redirects. */
function browserLike() {
  const jar = new Map();
  return async function go(url, init = {}) {
    const headers = { ...(init.headers || {}) };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return res;
  };
}

/** Follows redirects within the provider until one leaves it (the client's redirect URI) or lands on a page. */
async function follow(go, res, issuer) {
  while (res.status >= 300 && res.status < 400) {
    const next = new URL(res.headers.get('location'), issuer).href;
    if (!next.startsWith(issuer)) return { left: next };
    res = await go(next);
  }
  return { page: res };
}

/** Submits the page's interaction form with `fields` (the dev login or consent form). */
async function submitForm(go, page, issuer, fields) {
  const html = await page.text();
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no form on the provider's page: ${html.slice(0, 300)}`);
  const hidden = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  const body = new URLSearchParams({ ...hidden, ...fields });
  return go(new URL(action, issuer).href, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
}

async function authorizationCodeFlow({ issuer, account, redirectUri }) {
  const go = browserLike();
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const state = b64url(randomBytes(16));
  const nonce = b64url(randomBytes(16));
  const auth = new URL(`${issuer}/auth`);
  for (const [k, v] of Object.entries({
    client_id: CLIENT_ID, response_type: 'code', redirect_uri: redirectUri, scope: 'openid',
    code_challenge: challenge, code_challenge_method: 'S256', state, nonce,
  })) auth.searchParams.set(k, v);
  let step = await follow(go, await go(auth.href), issuer);
  step = await follow(go, await submitForm(go, step.page, issuer, { prompt: 'login', login: account, password: 'any' }), issuer);
  if (step.page) step = await follow(go, await submitForm(go, step.page, issuer, { prompt: 'consent' }), issuer);
  const back = new URL(step.left);
  if (back.searchParams.get('state') !== state) throw new Error(`the provider came back with another state: ${back}`);
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`no code in ${back}`);
  const token = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: CLIENT_ID, code_verifier: verifier }),
  });
  const tokens = await token.json();
  if (!token.ok) throw new Error(`token request refused: ${JSON.stringify(tokens)}`);
  return { ...tokens, nonce };
}
