//! The OpenID provider the panel signs in with, as its discovery document describes it
//! (`{issuer}/.well-known/openid-configuration`, OpenID Connect Discovery 1.0): where the page
//! sends the customer to sign in and out, and the one endpoint it calls with `fetch`, the token
//! endpoint.
//!
//! The server that serves the panel reads the document, not the page: the page's
//! Content-Security-Policy must name the token endpoint's origin before any script runs, and
//! with the endpoints in `GET /panel/config` the page never calls the issuer itself. That
//! matters with Cognito, whose issuer (`https://cognito-idp.{region}.amazonaws.com/{pool}`) and
//! endpoints (the user pool's domain, `https://{prefix}.auth.{region}.amazoncognito.com`) are
//! two origins: `connect-src` then names the domain, and nothing else.
//!
//! The document is cached for [`FRESH_FOR`]; a failure is remembered for [`RETRY_AFTER`], so
//! that a provider that is down is not asked at every page load, and is answered as such
//! ([`ApiError::IdentityProvider`](super::ApiError::IdentityProvider)).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::Mutex;

use contacts_app::config::is_https_or_loopback_url;
use contacts_app::ports::FetchJson;

/// How long a discovery document that was read is used before it is read again.
pub const FRESH_FOR: Duration = Duration::from_secs(3600);
/// How long a document that could not be read is not asked for again.
pub const RETRY_AFTER: Duration = Duration::from_secs(30);

/// What the panel uses of the provider: every URL checked to be https (http on the loopback only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoints {
    /// Where the page sends the customer to sign in (a navigation).
    pub authorization_endpoint: String,
    /// Where the page redeems the code (a `fetch`: the one origin `connect-src` must allow).
    pub token_endpoint: String,
    /// Where the page sends the customer to sign out (a navigation), and how; `None`: the
    /// provider offers no way, and signing out forgets the token here only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_session: Option<EndSession>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndSession {
    pub contract: Logout,
    pub endpoint: String,
}

/// How a provider ends its session. Neither puts a token in the URL: the panel names itself by
/// its `client_id`, never by an `id_token_hint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Logout {
    /// OpenID Connect RP-Initiated Logout 1.0 at the document's `end_session_endpoint`:
    /// `client_id` and `post_logout_redirect_uri`.
    RpInitiated,
    /// Amazon Cognito's logout endpoint, `/logout` on the user pool's domain: `client_id` and
    /// `logout_uri`. Cognito's discovery document names no `end_session_endpoint`.
    Cognito,
}

impl Endpoints {
    /// The endpoints of `document`, which must name `issuer` as its issuer (a trailing slash
    /// aside). Sign-out follows Cognito's contract, at `/logout` on the authorization endpoint's
    /// origin (the user pool's domain), when the issuer is Cognito's, or when the document names
    /// no `end_session_endpoint` (Cognito's names none) and signs in at a user pool domain's
    /// `/oauth2/authorize`; else RP-initiated logout at its `end_session_endpoint`; a provider
    /// with neither (Google's, say) has none: no guessed `/logout` of a domain that has none.
    pub fn from_document(issuer: &str, document: &Value) -> Result<Self, String> {
        let named = document.get("issuer").and_then(Value::as_str).unwrap_or_default();
        if named.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(format!("the discovery document names the issuer {named:?}, not JWT_ISSUER ({issuer})"));
        }
        let endpoint = |key: &str| document.get(key).and_then(Value::as_str).map(checked_url).transpose().map_err(|why| format!("{key}: {why}"));
        let required = |key: &str| -> Result<String, String> { endpoint(key)?.ok_or_else(|| format!("the discovery document names no {key}")) };
        let authorization_endpoint = required("authorization_endpoint")?;
        let token_endpoint = required("token_endpoint")?;
        let cognito = || Some(EndSession { contract: Logout::Cognito, endpoint: format!("{}/logout", origin(&authorization_endpoint)) });
        let end_session = match endpoint("end_session_endpoint")? {
            _ if is_cognito_issuer(issuer) => cognito(),
            Some(endpoint) => Some(EndSession { contract: Logout::RpInitiated, endpoint }),
            None if path_of(&authorization_endpoint) == "/oauth2/authorize" => cognito(),
            None => None,
        };
        Ok(Self { authorization_endpoint, token_endpoint, end_session })
    }

    /// The origins the page calls with `fetch`, for `connect-src`: the token endpoint's. The
    /// authorization and end-session endpoints are navigations, which `connect-src` (and
    /// `form-action`: the page posts no form to the provider) does not govern.
    pub fn fetched_origins(&self) -> Vec<String> {
        vec![origin(&self.token_endpoint)]
    }
}

/// `https://cognito-idp.{region}.amazonaws.com/{pool id}`: Amazon Cognito's issuers.
fn is_cognito_issuer(issuer: &str) -> bool {
    issuer
        .strip_prefix("https://")
        .and_then(|rest| rest.split('/').next())
        .is_some_and(|host| host.starts_with("cognito-idp.") && host.ends_with(".amazonaws.com"))
}

/// `url` if it is an absolute https URL (http on the loopback) whose host holds nothing but what
/// a host name, an address and a port are written with: it goes into a header.
fn checked_url(url: &str) -> Result<String, String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("{url:?} is not an absolute URL"))?;
    if !(matches!(scheme, "https" | "http") && is_https_or_loopback_url(url)) {
        return Err(format!("{url:?} is not https (only the loopback may be plain http)"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_safe = !authority.is_empty() && authority.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    let rest_safe = rest.chars().all(|c| c.is_ascii_graphic() && !matches!(c, ';' | ',' | '"' | '\'' | '\\'));
    if !(host_safe && rest_safe) {
        return Err(format!("{url:?} is not a URL the panel may use"));
    }
    Ok(url.to_owned())
}

/// The path of a URL [`checked_url`] accepted (without its query or fragment).
fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = rest.find('/').map_or("", |at| &rest[at..]);
    path.split(['?', '#']).next().unwrap_or_default()
}

/// `scheme://host[:port]` of a URL [`checked_url`] accepted.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    format!("{scheme}://{}", rest.split(['/', '?', '#']).next().unwrap_or_default())
}

/// The issuer's discovery document, read through `fetch` and cached.
pub struct Discovery {
    issuer: String,
    fetch: Arc<dyn FetchJson>,
    cached: Mutex<Option<Cached>>,
}

struct Cached {
    at: Instant,
    result: Result<Arc<Endpoints>, String>,
}

impl Cached {
    fn is_fresh(&self) -> bool {
        self.at.elapsed() < if self.result.is_ok() { FRESH_FOR } else { RETRY_AFTER }
    }
}

impl Discovery {
    pub fn new(issuer: &str, fetch: Arc<dyn FetchJson>) -> Self {
        Self { issuer: issuer.to_owned(), fetch, cached: Mutex::new(None) }
    }

    /// The provider's endpoints, from the cache while it is fresh; else why they are unknown.
    pub async fn endpoints(&self) -> Result<Arc<Endpoints>, String> {
        let mut cached = self.cached.lock().await;
        if let Some(cached) = cached.as_ref().filter(|c| c.is_fresh()) {
            return cached.result.clone();
        }
        let result = self.read().await.map(Arc::new);
        if let Err(error) = &result {
            tracing::warn!(%error, issuer = %self.issuer, "the identity provider's discovery document could not be read");
        }
        *cached = Some(Cached { at: Instant::now(), result: result.clone() });
        result
    }

    async fn read(&self) -> Result<Endpoints, String> {
        let url = format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'));
        let url = checked_url(&url).map_err(|why| format!("JWT_ISSUER: {why}"))?;
        let document = self.fetch.get_json(&url).await?;
        Endpoints::from_document(&self.issuer, &document)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use serde_json::json;

    use super::*;

    const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC";
    const DOMAIN: &str = "https://contacts.auth.eu-west-1.amazoncognito.com";

    /// Cognito's document, as a user pool with a domain publishes it.
    fn cognito() -> Value {
        json!({
            "issuer": ISSUER,
            "authorization_endpoint": format!("{DOMAIN}/oauth2/authorize"),
            "token_endpoint": format!("{DOMAIN}/oauth2/token"),
            "userinfo_endpoint": format!("{DOMAIN}/oauth2/userInfo"),
            "jwks_uri": format!("{ISSUER}/.well-known/jwks.json"),
        })
    }

    #[test]
    fn cognito_s_token_endpoint_is_on_the_user_pool_domain_and_its_logout_is_cognito_s() {
        let endpoints = Endpoints::from_document(ISSUER, &cognito()).unwrap();
        assert_eq!(endpoints.fetched_origins(), [DOMAIN]);
        assert_eq!(endpoints.end_session, Some(EndSession { contract: Logout::Cognito, endpoint: format!("{DOMAIN}/logout") }));
    }

    #[test]
    fn a_provider_without_an_end_session_endpoint_is_sent_to_no_guessed_logout() {
        // A user pool domain behind another issuer (a proxy, the tests' Cognito-shaped provider).
        let shaped = json!({"issuer": "https://id.example.com", "authorization_endpoint": format!("{DOMAIN}/oauth2/authorize"), "token_endpoint": format!("{DOMAIN}/oauth2/token")});
        let endpoints = Endpoints::from_document("https://id.example.com", &shaped).unwrap();
        assert_eq!(endpoints.end_session.map(|e| e.contract), Some(Logout::Cognito));
        // Google's document names no end_session_endpoint, and its domain has no /logout.
        let google = json!({"issuer": "https://accounts.google.com", "authorization_endpoint": "https://accounts.google.com/o/oauth2/v2/auth", "token_endpoint": "https://oauth2.googleapis.com/token"});
        assert_eq!(Endpoints::from_document("https://accounts.google.com", &google).unwrap().end_session, None);
    }

    #[test]
    fn a_provider_with_an_end_session_endpoint_gets_rp_initiated_logout_unless_it_is_cognito() {
        let issuer = "https://id.example.com/realms/x";
        let document = json!({
            "issuer": format!("{issuer}/"),
            "authorization_endpoint": format!("{issuer}/auth"),
            "token_endpoint": "https://tokens.example.com:8443/token",
            "end_session_endpoint": format!("{issuer}/logout"),
        });
        let endpoints = Endpoints::from_document(issuer, &document).unwrap();
        assert_eq!(endpoints.fetched_origins(), ["https://tokens.example.com:8443"]);
        assert_eq!(endpoints.end_session, Some(EndSession { contract: Logout::RpInitiated, endpoint: format!("{issuer}/logout") }));
        let mut cognito = cognito();
        cognito["end_session_endpoint"] = json!(format!("{DOMAIN}/logout"));
        assert_eq!(Endpoints::from_document(ISSUER, &cognito).unwrap().end_session.map(|e| e.contract), Some(Logout::Cognito));
    }

    #[test]
    fn a_document_of_another_issuer_or_with_unusable_endpoints_is_refused() {
        let refused = |edit: &dyn Fn(&mut Value)| {
            let mut document = cognito();
            edit(&mut document);
            Endpoints::from_document(ISSUER, &document).unwrap_err()
        };
        assert!(refused(&|d| d["issuer"] = json!("https://evil.example.com")).contains("not JWT_ISSUER"));
        assert!(
            refused(&|d| {
                d.as_object_mut().unwrap().remove("token_endpoint");
            })
            .contains("names no token_endpoint")
        );
        assert!(refused(&|d| d["token_endpoint"] = json!("http://tokens.example.com/token")).contains("not https"));
        assert!(refused(&|d| d["token_endpoint"] = json!("https://a.example; script-src *")).contains("not a URL the panel may use"));
        assert!(refused(&|d| d["authorization_endpoint"] = json!("/oauth2/authorize")).contains("not an absolute URL"));
        let loopback =
            json!({"issuer": "http://127.0.0.1:9000", "authorization_endpoint": "http://127.0.0.1:9001/a", "token_endpoint": "http://127.0.0.1:9001/t"});
        assert_eq!(Endpoints::from_document("http://127.0.0.1:9000", &loopback).unwrap().fetched_origins(), ["http://127.0.0.1:9001"]);
    }

    /// Answers `document` (or fails), counting the calls.
    struct Fake {
        document: Result<Value, String>,
        calls: AtomicUsize,
    }

    #[async_trait]
    impl FetchJson for Fake {
        async fn get_json(&self, url: &str) -> Result<Value, String> {
            assert_eq!(url, format!("{ISSUER}/.well-known/openid-configuration"));
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.document.clone()
        }
    }

    #[tokio::test]
    async fn the_document_is_read_once_while_fresh_and_a_failure_is_remembered_too() {
        let fake = Arc::new(Fake { document: Ok(cognito()), calls: AtomicUsize::new(0) });
        let discovery = Discovery::new(ISSUER, fake.clone());
        assert_eq!(discovery.endpoints().await.unwrap().token_endpoint, format!("{DOMAIN}/oauth2/token"));
        discovery.endpoints().await.unwrap();
        assert_eq!(fake.calls.load(Ordering::SeqCst), 1);

        let down = Arc::new(Fake { document: Err("no answer within 5 s".to_owned()), calls: AtomicUsize::new(0) });
        let discovery = Discovery::new(ISSUER, down.clone());
        assert_eq!(discovery.endpoints().await.unwrap_err(), "no answer within 5 s");
        assert!(discovery.endpoints().await.is_err());
        assert_eq!(down.calls.load(Ordering::SeqCst), 1, "not asked again within RETRY_AFTER");
    }

    #[tokio::test]
    async fn an_issuer_that_is_not_https_is_never_asked() {
        let fake = Arc::new(Fake { document: Ok(cognito()), calls: AtomicUsize::new(0) });
        let error = Discovery::new("http://id.example.com", fake.clone()).endpoints().await.unwrap_err();
        assert!(error.starts_with("JWT_ISSUER:"), "{error}");
        assert_eq!(fake.calls.load(Ordering::SeqCst), 0);
    }
}
