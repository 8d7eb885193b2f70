//! The customer control panel (SPEC §5b): the guide's "I tuoi contatti" page, plain ES
//! modules, HTML and CSS from `crates/api/panel/`, embedded in the binary.
//!
//! Every asset is served under a name that carries the hash of its content
//! (`panel/app.3f2a9c01d4e7.js`), so it may be cached for a year; the page that names them
//! (`GET /`) is `no-store`. A module's imports are rewritten to the hashed names of the
//! modules they import, so a module's hash covers the modules under it. The
//! Content-Security-Policy allows scripts and styles from this origin only, and connections
//! to this origin and to the origin of the token endpoint of the OpenID provider the panel
//! signs in with (from the provider's discovery document, [`super::discovery`]).

use std::sync::LazyLock;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::ApiResponse;
use super::discovery::Endpoints;

/// One source file of `crates/api/panel/`.
struct Source {
    /// Its name in the sources, as the files that use it write it (`api.js`).
    name: &'static str,
    content_type: &'static str,
    text: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The panel's assets, each after every asset it imports: the rewriting of names goes in
/// this order.
const SOURCES: &[Source] = &[
    Source { name: "strings-en.js", content_type: JS, text: include_str!("../panel/strings-en.js") },
    Source { name: "strings-it.js", content_type: JS, text: include_str!("../panel/strings-it.js") },
    Source { name: "strings-fr.js", content_type: JS, text: include_str!("../panel/strings-fr.js") },
    Source { name: "i18n.js", content_type: JS, text: include_str!("../panel/i18n.js") },
    Source { name: "api.js", content_type: JS, text: include_str!("../panel/api.js") },
    Source { name: "oidc.js", content_type: JS, text: include_str!("../panel/oidc.js") },
    Source { name: "dom.js", content_type: JS, text: include_str!("../panel/dom.js") },
    Source { name: "requests.js", content_type: JS, text: include_str!("../panel/requests.js") },
    Source { name: "batch-form.js", content_type: JS, text: include_str!("../panel/batch-form.js") },
    Source { name: "contacts.js", content_type: JS, text: include_str!("../panel/contacts.js") },
    Source { name: "profile.js", content_type: JS, text: include_str!("../panel/profile.js") },
    Source { name: "app.js", content_type: JS, text: include_str!("../panel/app.js") },
    Source { name: "panel.css", content_type: CSS, text: include_str!("../panel/panel.css") },
];

const INDEX: &str = include_str!("../panel/index.html");

/// An asset as it is served.
pub struct Asset {
    /// `app.3f2a9c01d4e7.js`: the source's name with the first 12 hex digits of the SHA-256
    /// of the served bytes before its extension.
    pub name: String,
    pub content_type: &'static str,
    pub bytes: Bytes,
}

/// The assets and the page that names them, built once per process.
pub struct Built {
    pub assets: Vec<Asset>,
    pub index: Bytes,
}

pub static BUILT: LazyLock<Built> = LazyLock::new(build);

fn build() -> Built {
    let mut assets: Vec<Asset> = Vec::with_capacity(SOURCES.len());
    let mut renames: Vec<(&'static str, String)> = Vec::new();
    for source in SOURCES {
        let text = rename(source.text, &renames, "'./", "'");
        let name = hashed_name(source.name, text.as_bytes());
        renames.push((source.name, name.clone()));
        assets.push(Asset { name, content_type: source.content_type, bytes: Bytes::from(text) });
    }
    let index = rename(INDEX, &renames, "\"panel/", "\"");
    Built { assets, index: Bytes::from(index) }
}

/// `text` with each `{before}{source name}{after}` replaced by the hashed name.
fn rename(text: &str, renames: &[(&'static str, String)], before: &str, after: &str) -> String {
    let mut text = text.to_owned();
    for (name, hashed) in renames {
        text = text.replace(&format!("{before}{name}{after}"), &format!("{before}{hashed}{after}"));
    }
    text
}

fn hashed_name(name: &str, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    match name.rsplit_once('.') {
        Some((stem, extension)) => format!("{stem}.{hex}.{extension}"),
        None => format!("{name}.{hex}"),
    }
}

/// How the panel signs its customer in, from the environment of the process that serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// `contacts-local` without `JWT_ISSUER`: the development identity, a customer id typed in.
    Development,
    /// OpenID Connect, authorization code with PKCE, at `issuer` as the client `client_id`,
    /// asking for `scope` (`openid` and the scopes the API's authorizer requires, if any).
    Oidc { issuer: String, client_id: String, scope: String },
    /// Deployed without an issuer: nobody can sign in, and the panel says so.
    NotConfigured,
}

impl SignIn {
    /// From `JWT_ISSUER` (the issuer the HTTP API's JWT authorizer trusts), `PANEL_CLIENT_ID`
    /// (else `JWT_AUDIENCE`, the authorizer's audience, which is the panel's client id with
    /// most providers) and `PANEL_SCOPE` (`openid` always among them); `local`: the development
    /// server, which signs in with a typed id when no issuer is set.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>, local: bool) -> Self {
        let set = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        // JWT_AUDIENCE may list several audiences (contacts-local): the first is the panel's.
        let first_audience = || set("JWT_AUDIENCE").and_then(|list| list.split(',').map(str::trim).find(|a| !a.is_empty()).map(str::to_owned));
        match (set("JWT_ISSUER"), set("PANEL_CLIENT_ID").or_else(first_audience)) {
            // The issuer exactly as the tokens' `iss` says it, a trailing slash included.
            (Some(issuer), Some(client_id)) => SignIn::Oidc { issuer, client_id, scope: with_openid(set("PANEL_SCOPE").as_deref()) },
            _ if local => SignIn::Development,
            _ => SignIn::NotConfigured,
        }
    }

    pub fn from_env(local: bool) -> Self {
        Self::from_lookup(|name| std::env::var(name).ok(), local)
    }
}

/// The scopes the panel asks for: `openid` (the ID token, whose `nonce` the panel checks) and
/// those of `PANEL_SCOPE`, space-separated, once each.
fn with_openid(scopes: Option<&str>) -> String {
    let mut all = vec!["openid"];
    for scope in scopes.unwrap_or_default().split_whitespace() {
        if !all.contains(&scope) {
            all.push(scope);
        }
    }
    all.join(" ")
}

/// `GET /panel/config`: what the panel's script needs to sign in and to pace its buttons.
#[derive(Serialize)]
struct PanelConfig<'a> {
    sign_in: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    scope: &'a str,
    /// The provider's endpoints, from its discovery document (oidc only).
    #[serde(flatten)]
    endpoints: Option<&'a Endpoints>,
    resend_cooldown_seconds: u64,
}

/// The configuration; `endpoints`: the provider's, which the caller read for [`SignIn::Oidc`].
pub(super) fn config(sign_in: &SignIn, endpoints: Option<&Endpoints>, resend_cooldown_seconds: u64) -> ApiResponse {
    let (mode, issuer, client_id, scope) = match sign_in {
        SignIn::Development => ("development", None, None, "openid"),
        SignIn::Oidc { issuer, client_id, scope } => ("oidc", Some(issuer.as_str()), Some(client_id.as_str()), scope.as_str()),
        SignIn::NotConfigured => ("none", None, None, "openid"),
    };
    let body = PanelConfig { sign_in: mode, issuer, client_id, scope, endpoints, resend_cooldown_seconds };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut response = Response::new(Bytes::from(bytes));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /`: the page, with the policy that lets it reach this origin and the provider's
/// endpoints it calls (the token endpoint's origin, [`Endpoints::fetched_origins`]) only.
pub(super) fn index(endpoints: Option<&Endpoints>) -> ApiResponse {
    let csp = policy(&endpoints.map(Endpoints::fetched_origins).unwrap_or_default());
    let mut response = Response::new(BUILT.index.clone());
    let csp = HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    super::page::html_headers(response.headers_mut(), csp);
    response
}

/// The page's Content-Security-Policy: its own scripts and styles, and `fetch` to itself and
/// to `origins`. The provider's sign-in and sign-out pages are navigations of the whole tab,
/// which no directive governs, and the page posts no form to them (`form-action 'self'`).
fn policy(origins: &[String]) -> String {
    let connect = std::iter::once("'self'").chain(origins.iter().map(String::as_str)).collect::<Vec<_>>().join(" ");
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src {connect}; img-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// `GET /panel/{asset}`: an asset by its hashed name, cached for a year; any other name is 404.
pub(super) fn asset(name: &str) -> Option<ApiResponse> {
    let asset = BUILT.assets.iter().find(|a| a.name == name)?;
    let mut response = Response::new(asset.bytes.clone());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_asset_it_loads_by_its_hashed_name() {
        let index = std::str::from_utf8(&BUILT.index).unwrap();
        let app = BUILT.assets.iter().find(|a| a.name.starts_with("app.")).unwrap();
        let css = BUILT.assets.iter().find(|a| a.name.starts_with("panel.")).unwrap();
        assert!(index.contains(&format!("\"panel/{}\"", app.name)), "{index}");
        assert!(index.contains(&format!("\"panel/{}\"", css.name)), "{index}");
        assert!(!index.contains("\"panel/app.js\""), "{index}");
    }

    #[test]
    fn a_module_imports_the_hashed_names_and_its_hash_is_of_what_is_served() {
        for asset in &BUILT.assets {
            let text = std::str::from_utf8(&asset.bytes).unwrap();
            for source in SOURCES {
                assert!(!text.contains(&format!("'./{}'", source.name)), "{} still imports {}", asset.name, source.name);
            }
            let stem = asset.name.split('.').next().unwrap();
            let source = SOURCES.iter().find(|s| s.name.split('.').next() == Some(stem)).unwrap();
            assert_eq!(asset.name, hashed_name(source.name, &asset.bytes));
        }
        let app = std::str::from_utf8(&BUILT.assets.iter().find(|a| a.name.starts_with("app.")).unwrap().bytes).unwrap().to_owned();
        let api = &BUILT.assets.iter().find(|a| a.name.starts_with("api.")).unwrap().name;
        assert!(app.contains(&format!("'./{api}'")), "app.js imports api.js by its hashed name");
    }

    #[test]
    fn every_file_of_the_panel_directory_is_served() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("panel");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let listed = name == "index.html" || SOURCES.iter().any(|source| source.name == name);
            assert!(listed, "panel/{name} is not among the SOURCES of panel.rs: the page could not load it");
        }
    }

    #[test]
    fn assets_are_immutable_and_the_page_is_not_stored() {
        let name = &BUILT.assets[0].name;
        let response = asset(name).unwrap();
        assert_eq!(response.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
        assert!(asset("app.js").is_none(), "only hashed names are served");
        let page = index(None);
        assert_eq!(page.headers()[header::CACHE_CONTROL], "no-store");
        assert!(page.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("connect-src 'self';"));
    }

    #[test]
    fn sign_in_is_oidc_with_an_issuer_development_locally_else_not_configured() {
        let none = |_: &str| None;
        assert_eq!(SignIn::from_lookup(none, true), SignIn::Development);
        assert_eq!(SignIn::from_lookup(none, false), SignIn::NotConfigured);
        let oidc = |name: &str| match name {
            "JWT_ISSUER" => Some("https://id.example.com/realms/x/".to_owned()),
            "JWT_AUDIENCE" => Some("panel, other".to_owned()),
            _ => None,
        };
        let sign_in = SignIn::from_lookup(oidc, true);
        let expected = SignIn::Oidc { issuer: "https://id.example.com/realms/x/".to_owned(), client_id: "panel".to_owned(), scope: "openid".to_owned() };
        assert_eq!(sign_in, expected);
    }

    #[test]
    fn the_panel_asks_for_openid_and_the_scopes_panel_scope_names() {
        assert_eq!(with_openid(None), "openid");
        assert_eq!(with_openid(Some("contacts/panel")), "openid contacts/panel");
        assert_eq!(with_openid(Some(" openid  contacts/panel contacts/panel ")), "openid contacts/panel");
    }

    /// Cognito's endpoints: the issuer at cognito-idp, the token endpoint on the user pool domain.
    fn cognito() -> Endpoints {
        let document = serde_json::json!({
            "issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC",
            "authorization_endpoint": "https://contacts.auth.eu-west-1.amazoncognito.com/oauth2/authorize",
            "token_endpoint": "https://contacts.auth.eu-west-1.amazoncognito.com/oauth2/token",
        });
        Endpoints::from_document("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC", &document).unwrap()
    }

    #[test]
    fn the_page_may_fetch_from_itself_and_the_token_endpoint_s_origin_and_nothing_else() {
        let csp = index(Some(&cognito())).headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
        assert!(csp.contains("; connect-src 'self' https://contacts.auth.eu-west-1.amazoncognito.com;"), "{csp}");
        assert!(!csp.contains("cognito-idp"), "the page never calls the issuer: {csp}");
        assert!(csp.contains("form-action 'self';") && csp.starts_with("default-src 'none';"), "{csp}");
        let unknown = index(None).headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
        assert!(unknown.contains("; connect-src 'self';"), "no provider known, nothing but the page's origin: {unknown}");
    }

    #[test]
    fn the_configuration_hands_the_page_the_provider_s_endpoints_and_how_it_signs_out() {
        let sign_in = SignIn::Oidc {
            issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC".to_owned(),
            client_id: "panel".to_owned(),
            scope: "openid contacts/panel".to_owned(),
        };
        let body: serde_json::Value = serde_json::from_slice(config(&sign_in, Some(&cognito()), 60).body()).unwrap();
        assert_eq!(body["sign_in"], "oidc");
        assert_eq!(body["scope"], "openid contacts/panel");
        assert_eq!(body["token_endpoint"], "https://contacts.auth.eu-west-1.amazoncognito.com/oauth2/token");
        assert_eq!(body["authorization_endpoint"], "https://contacts.auth.eu-west-1.amazoncognito.com/oauth2/authorize");
        assert_eq!(body["end_session"], serde_json::json!({"contract": "cognito", "endpoint": "https://contacts.auth.eu-west-1.amazoncognito.com/logout"}));
        let development: serde_json::Value = serde_json::from_slice(config(&SignIn::Development, None, 60).body()).unwrap();
        assert_eq!(development.get("token_endpoint"), None);
    }
}
