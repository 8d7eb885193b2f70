//! Sign-in for real (`JWT_ISSUER` set): a bearer JWT verified the way API Gateway's JWT
//! authorizer verifies it, so that the deployed sign-in path runs here too.
//!
//! - Keys: the issuer's discovery document (`{issuer}/.well-known/openid-configuration`) names
//!   `jwks_uri`; the key set is fetched once and again when a token names a `kid` it does not
//!   hold (a rotation), at most every [`REFRESH_AT_MOST_EVERY`]; over https only (or http on
//!   the loopback), as the issuer itself.
//! - RS256 or ES256 only (the header's `alg` must be the key's); `none` and every HMAC
//!   algorithm are refused, so a key set's public key can never be used as a shared secret.
//! - `iss` is the issuer; `aud` holds one of the audiences, or, for an access token without
//!   `aud`, `client_id` is one (as the authorizer accepts); `exp` is in the future and `nbf` and
//!   `iat` are not, each with [`LEEWAY_SECONDS`].
//! - With required scopes (`PANEL_SCOPE`, the template's `PanelScope`, which the authorizer
//!   requires as its authorization scopes), `scope` holds one of them.
//! - The account is the claim `ACCOUNT_CLAIM` names; the router parses it as any identity.
//!
//! A refusal says what was wrong, never the token nor what it claims.

use std::time::{Duration, Instant};

use contacts_app::config::is_https_or_loopback_url;
use contacts_app::ports::FetchJson;
use contacts_aws::https_json::HttpsJson;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tokio::sync::Mutex;

/// Clock skew allowed on `exp`, `nbf` and `iat`, as authorizers commonly allow.
pub const LEEWAY_SECONDS: u64 = 60;

/// A token naming an unknown key refetches the key set at most this often, so that forged
/// `kid`s cannot make this server hammer the issuer.
pub const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(30);

/// What a verified token must say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtSettings {
    /// `JWT_ISSUER`, exactly as the tokens' `iss` (no trailing slash added or removed).
    pub issuer: String,
    /// `JWT_AUDIENCE`, comma-separated: the client ids the authorizer accepts.
    pub audiences: Vec<String>,
    /// `ACCOUNT_CLAIM`.
    pub account_claim: String,
}

impl JwtSettings {
    /// From `JWT_ISSUER`, `JWT_AUDIENCE` and the configured account claim; `None` when no issuer
    /// is set (the development identity stays on). An issuer without an audience is refused.
    pub fn from_env(var: impl Fn(&str) -> Option<String>, account_claim: &str) -> Result<Option<Self>, String> {
        let Some(issuer) = var("JWT_ISSUER").map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else { return Ok(None) };
        if !is_https_or_loopback_url(&issuer) {
            return Err(format!("JWT_ISSUER must be an https URL (or http on the loopback): {issuer}"));
        }
        let audiences: Vec<String> = var("JWT_AUDIENCE").unwrap_or_default().split(',').map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect();
        if audiences.is_empty() {
            return Err("JWT_ISSUER is set but JWT_AUDIENCE is not: name the client id(s) the tokens are for".to_owned());
        }
        Ok(Some(Self { issuer, audiences, account_claim: account_claim.to_owned() }))
    }
}

/// Why a token was refused: safe to show, it holds nothing of the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the bearer token is not a well-formed JWT")]
    Malformed,
    #[error("the bearer token's algorithm is not accepted (RS256 or ES256 only)")]
    Algorithm,
    #[error("the bearer token is signed with a key the issuer does not publish")]
    UnknownKey,
    #[error("the bearer token's signature does not verify")]
    Signature,
    #[error("the bearer token has expired")]
    Expired,
    #[error("the bearer token is not valid yet")]
    NotYetValid,
    #[error("the bearer token is from another issuer")]
    Issuer,
    #[error("the bearer token is for another audience")]
    Audience,
    #[error("the bearer token lacks the scope the API requires")]
    Scope,
    #[error("the bearer token is an ID token: the API takes access tokens only")]
    IdToken,
    #[error("the bearer token names no account (its account claim is missing)")]
    NoAccount,
    #[error("the issuer's keys could not be read; try again shortly")]
    IssuerUnavailable,
}

/// Verifies bearer tokens against one issuer, with its key set cached.
pub struct Verifier {
    settings: JwtSettings,
    /// The issuer's documents over https (the panel's discovery reads them the same way).
    documents: HttpsJson,
    keys: Mutex<Keys>,
    refresh_at_most_every: Duration,
    /// One of them must be in the token's `scope`; none: no scope is required.
    required_scopes: Vec<String>,
}

struct Keys {
    set: JwkSet,
    fetched: Option<Instant>,
}

impl Verifier {
    pub fn new(settings: JwtSettings) -> Result<Self, String> {
        crate::jwt_crypto::install();
        let keys = Mutex::new(Keys { set: JwkSet { keys: Vec::new() }, fetched: None });
        Ok(Self { settings, documents: HttpsJson::new(), keys, refresh_at_most_every: REFRESH_AT_MOST_EVERY, required_scopes: Vec::new() })
    }

    /// Requires one of `scopes` in every token's `scope` claim, as the authorizer requires its
    /// authorization scopes (`PANEL_SCOPE`'s, `openid` aside: the panel asks for it, the API
    /// does not need it).
    pub fn with_required_scopes(mut self, scopes: &str) -> Self {
        self.required_scopes = scopes.split_whitespace().filter(|s| *s != "openid").map(str::to_owned).collect();
        self
    }

    /// Refetches the key set for an unknown `kid` at most every `interval` (tests shorten it).
    pub fn with_refresh_at_most_every(mut self, interval: Duration) -> Self {
        self.refresh_at_most_every = interval;
        self
    }

    pub fn settings(&self) -> &JwtSettings {
        &self.settings
    }

    /// The account `token` signs in, or why not.
    pub async fn verify(&self, token: &str) -> Result<String, Rejection> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Rejection::Malformed)?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(Rejection::Algorithm);
        }
        let jwk = self.key(header.kid.as_deref().ok_or(Rejection::UnknownKey)?).await?;
        // The key's own algorithm, when it states one, and its type, must be the header's.
        let fits = matches!(
            (&jwk.algorithm, jwk.common.key_algorithm, header.alg),
            (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256), Algorithm::RS256)
                | (AlgorithmParameters::EllipticCurve(_), None | Some(KeyAlgorithm::ES256), Algorithm::ES256)
        );
        if !fits {
            return Err(Rejection::Algorithm);
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| Rejection::UnknownKey)?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.validate_aud = false; // `aud` or `client_id`: checked below, as the authorizer does
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_required_spec_claims(&["exp", "iss"]);
        let claims = jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, &key, &validation).map_err(|e| rejection(e.kind()))?.claims;
        self.check_claims(&claims)
    }

    /// The checks the library leaves: the audience, `iat`, and the account claim.
    fn check_claims(&self, claims: &serde_json::Map<String, Value>) -> Result<String, Rejection> {
        if is_id_token(claims) {
            return Err(Rejection::IdToken);
        }
        let accepted = |value: &Value| value.as_str().is_some_and(|v| self.settings.audiences.iter().any(|a| a == v));
        let audience_ok = match claims.get("aud") {
            Some(Value::Array(audiences)) => audiences.iter().any(accepted),
            Some(aud) => accepted(aud),
            None => claims.get("client_id").is_some_and(accepted),
        };
        if !audience_ok {
            return Err(Rejection::Audience);
        }
        let granted = claims.get("scope").and_then(Value::as_str).unwrap_or_default();
        if !self.required_scopes.is_empty() && !granted.split_whitespace().any(|scope| self.required_scopes.iter().any(|r| r == scope)) {
            return Err(Rejection::Scope);
        }
        let now = jsonwebtoken::get_current_timestamp();
        if claims.get("iat").and_then(Value::as_u64).is_some_and(|iat| iat > now + LEEWAY_SECONDS) {
            return Err(Rejection::NotYetValid);
        }
        claims.get(&self.settings.account_claim).and_then(Value::as_str).filter(|a| !a.is_empty()).map(str::to_owned).ok_or(Rejection::NoAccount)
    }

    /// The issuer's key `kid`, from the cached set, or from a fresh one if the cache lacks it
    /// and was not fetched within [`REFRESH_AT_MOST_EVERY`] (or what the tests set).
    async fn key(&self, kid: &str) -> Result<Jwk, Rejection> {
        let mut keys = self.keys.lock().await;
        if let Some(jwk) = keys.set.find(kid) {
            return Ok(jwk.clone());
        }
        if keys.fetched.is_some_and(|at| at.elapsed() < self.refresh_at_most_every) {
            return Err(Rejection::UnknownKey);
        }
        keys.fetched = Some(Instant::now());
        keys.set = self.fetch_keys().await.map_err(|error| {
            tracing::warn!(%error, issuer = %self.settings.issuer, "the issuer's keys could not be read");
            Rejection::IssuerUnavailable
        })?;
        keys.set.find(kid).cloned().ok_or(Rejection::UnknownKey)
    }

    async fn fetch_keys(&self) -> Result<JwkSet, String> {
        let discovery_url = format!("{}/.well-known/openid-configuration", self.settings.issuer.trim_end_matches('/'));
        let discovery = self.documents.get_json(&discovery_url).await?;
        let jwks_uri = discovery.get("jwks_uri").and_then(Value::as_str).ok_or("the discovery document names no jwks_uri")?;
        // The keys decide who signs in: read over https only (or http from this machine),
        // whatever a discovery document names: anyone on the way could otherwise swap them.
        if !is_https_or_loopback_url(jwks_uri) {
            return Err(format!("the key set's address {jwks_uri} is not https"));
        }
        serde_json::from_value(self.documents.get_json(jwks_uri).await?).map_err(|e| format!("{jwks_uri}: not a JWK set: {e}"))
    }
}

/// An ID token says who signed in, to the client that asked; it grants nothing (SPEC §5: only
/// access tokens). Cognito's say which they are (`token_use`); an OpenID provider's ID token
/// carries the sign-in's `nonce` or the access token's hash (`at_hash`), which no access token
/// does.
fn is_id_token(claims: &serde_json::Map<String, Value>) -> bool {
    match claims.get("token_use").and_then(Value::as_str) {
        Some(token_use) => token_use == "id",
        None => claims.contains_key("nonce") || claims.contains_key("at_hash"),
    }
}

fn rejection(kind: &jsonwebtoken::errors::ErrorKind) -> Rejection {
    use jsonwebtoken::errors::ErrorKind;
    match kind {
        ErrorKind::ExpiredSignature => Rejection::Expired,
        ErrorKind::ImmatureSignature => Rejection::NotYetValid,
        ErrorKind::InvalidIssuer => Rejection::Issuer,
        ErrorKind::InvalidSignature => Rejection::Signature,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => Rejection::Algorithm,
        _ => Rejection::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn verifier(scopes: &str) -> Verifier {
        let settings = JwtSettings { issuer: "https://id.example.com".to_owned(), audiences: vec!["panel".to_owned()], account_claim: "username".to_owned() };
        Verifier::new(settings).unwrap().with_required_scopes(scopes)
    }

    fn claims(value: Value) -> serde_json::Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_cognito_access_token_names_its_client_and_account_and_carries_the_required_scope() {
        let access = claims(json!({"client_id": "panel", "token_use": "access", "scope": "openid contacts/panel", "username": "ad1000-ovh"}));
        assert_eq!(verifier("contacts/panel").check_claims(&access), Ok("ad1000-ovh".to_owned()));
        assert_eq!(verifier("openid contacts/panel").check_claims(&access), Ok("ad1000-ovh".to_owned()), "openid is not required");
        let without = claims(json!({"client_id": "panel", "scope": "openid", "username": "ad1000-ovh"}));
        assert_eq!(verifier("contacts/panel").check_claims(&without), Err(Rejection::Scope));
        assert_eq!(verifier("").check_claims(&without), Ok("ad1000-ovh".to_owned()), "no scope required without PANEL_SCOPE");
        let id_token = claims(json!({"aud": "panel", "cognito:username": "ad1000-ovh"}));
        assert_eq!(verifier("contacts/panel").check_claims(&id_token), Err(Rejection::Scope));
    }

    #[test]
    fn id_tokens_are_refused_whatever_else_they_carry() {
        let cognito_id = claims(json!({"aud": "panel", "token_use": "id", "scope": "contacts/panel", "username": "ad1000-ovh"}));
        assert_eq!(verifier("").check_claims(&cognito_id), Err(Rejection::IdToken));
        for marker in ["nonce", "at_hash"] {
            let oidc_id = claims(json!({"aud": "panel", "sub": "ad1000-ovh", marker: "x", "username": "ad1000-ovh"}));
            assert_eq!(verifier("").check_claims(&oidc_id), Err(Rejection::IdToken), "{marker}");
        }
        let access = claims(json!({"client_id": "panel", "token_use": "access", "username": "ad1000-ovh"}));
        assert_eq!(verifier("").check_claims(&access), Ok("ad1000-ovh".to_owned()));
        let plain_access = claims(json!({"aud": "panel", "username": "ad1000-ovh"}));
        assert_eq!(verifier("").check_claims(&plain_access), Ok("ad1000-ovh".to_owned()), "an access token that names no use");
    }
}
