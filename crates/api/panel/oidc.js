// OpenID Connect sign-in for the deployed panel: the authorization code flow with PKCE (S256),
// `state` against forged callbacks and `nonce` against replayed ID tokens (RFC 6749, RFC 7636,
// OpenID Connect Core 1.0). The panel is a public client: no secret, the verifier proves that
// whoever redeems the code is who asked for it.
//
// The provider's endpoints come with the panel's configuration (`GET /panel/config`): the
// server read the issuer's discovery document, and the page's Content-Security-Policy lets it
// call the token endpoint's origin and no other (with Cognito, the user pool's domain, not the
// issuer). The token's signature, issuer, audience and expiry are checked where it is used, by
// the HTTP API's JWT authorizer (and by contacts-local with JWT_ISSUER set); here the callback
// is checked to be the answer to our own request. The session lives in sessionStorage (this
// tab only, gone when it closes), never in a cookie or a URL.
//
// Pure helpers (pkce, authorizationUrl, callbackParams, decodeJwtPayload, signOutUrl) take
// their inputs as arguments, so a test can run them against any provider.

const PENDING = 'panel.oidc.pending';

/** base64url without padding of bytes. */
export function base64url(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** `n` random bytes from the browser's CSPRNG, as base64url. */
export function randomToken(n = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(n)));
}

/** A PKCE pair: a 43-character verifier and its S256 challenge. */
export async function pkce() {
  const verifier = randomToken(32);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return { verifier, challenge: base64url(digest), method: 'S256' };
}

/** The authorization request's URL. */
export function authorizationUrl(endpoint, { clientId, redirectUri, scope, state, nonce, challenge }) {
  const url = new URL(endpoint);
  const params = {
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope,
    state, nonce, code_challenge: challenge, code_challenge_method: 'S256',
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

/** `{code, state}` or `{error, state}` from a callback URL's query, or null if it is none. */
export function callbackParams(href) {
  const url = new URL(href);
  const q = url.searchParams;
  if (q.has('error')) return { error: q.get('error_description') || q.get('error'), state: q.get('state') };
  if (q.has('code') && q.has('state')) return { code: q.get('code'), state: q.get('state') };
  return null;
}

/** A JWT's payload, decoded but NOT verified (the API verifies it), or null. */
export function decodeJwtPayload(jwt) {
  const part = typeof jwt === 'string' ? jwt.split('.')[1] : undefined;
  if (!part) return null;
  try {
    const text = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(decodeURIComponent(Array.from(text, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('')));
  } catch {
    return null;
  }
}

/** The panel's own address without query or fragment: where the provider sends the customer back. */
export function redirectUri(loc = location) {
  return `${loc.origin}${loc.pathname}`;
}

/** Starts a sign-in: remembers state, nonce and verifier for this tab, then leaves for the provider. */
export async function beginSignIn(config, { storage = sessionStorage, assign = (u) => location.assign(u), loc = location } = {}) {
  const { verifier, challenge } = await pkce();
  const pending = { state: randomToken(16), nonce: randomToken(16), verifier, redirectUri: redirectUri(loc) };
  storage.setItem(PENDING, JSON.stringify(pending));
  assign(authorizationUrl(config.authorization_endpoint, { clientId: config.client_id, scope: config.scope || 'openid', challenge, ...pending }));
}

/**
 * Completes a sign-in if `href` is the provider's callback: checks `state`, redeems the code
 * with the verifier, checks the ID token's `nonce`, `iss` and `aud`, and returns
 * `{token, expiresAt}`; null when `href` is no callback. The ID token is not kept: sign-out
 * names the panel by its client id, so no token ever goes into a URL.
 */
export async function completeSignIn(config, href, { storage = sessionStorage, fetchImpl = fetch, now = Date.now() } = {}) {
  const params = callbackParams(href);
  if (!params) return null;
  const pending = JSON.parse(storage.getItem(PENDING) || 'null');
  storage.removeItem(PENDING);
  if (!pending || params.state !== pending.state) throw new Error('the answer from the identity provider is not for a sign-in started here (state)');
  if (params.error) throw new Error(params.error);
  const body = new URLSearchParams({
    grant_type: 'authorization_code', code: params.code, redirect_uri: pending.redirectUri,
    client_id: config.client_id, code_verifier: pending.verifier,
  });
  const res = await fetchImpl(config.token_endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  const tokens = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(tokens.error_description || tokens.error || `the token endpoint answered ${res.status}`);
  const claims = decodeJwtPayload(tokens.id_token);
  if (!claims || claims.nonce !== pending.nonce) throw new Error('the ID token is not for this sign-in (nonce)');
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.iss !== config.issuer || !audiences.includes(config.client_id)) throw new Error('the ID token is from another issuer or for another client');
  const token = tokens.access_token || tokens.id_token;
  const expiresAt = now + 1000 * (Number(tokens.expires_in) || 3600);
  return { token, expiresAt };
}

/** The parameters of each provider's end of session: whom to name, and where to come back to. */
const LOGOUT_RETURN = {
  // OpenID Connect RP-Initiated Logout 1.0: `client_id` stands in for `id_token_hint`.
  'rp-initiated': 'post_logout_redirect_uri',
  // Amazon Cognito's /logout on the user pool domain.
  cognito: 'logout_uri',
};

/** Where to send the customer on sign-out (`config.end_session`, from the server), else null. */
export function signOutUrl(config, loc = location) {
  const returnParam = LOGOUT_RETURN[config?.end_session?.contract];
  if (!returnParam) return null;
  const url = new URL(config.end_session.endpoint);
  url.searchParams.set('client_id', config.client_id);
  url.searchParams.set(returnParam, redirectUri(loc));
  return url.toString();
}
