//! The test harness: a `TestApp` that drives the real router, on a chosen backend, with
//! a clock the test moves and helpers to read the mails that went out.
//!
//! Every behaviour test takes a `Backend`, and `on_every_backend!` runs it on each one,
//! so the embedded store and DynamoDB (with the outbox and SES) answer the same suite.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde_json::Value;
use shared::adapters::{MemoryStore, Outbox};
use shared::api::{ApiRequest, Router};
use shared::app::App;
use shared::config::Config;
use shared::fixtures::Fixtures;
use shared::ports::{Clock, Mailer, Store};
use time::OffsetDateTime;

/// Where the app keeps its data and sends its mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded store and the outbox.
    Memory,
}

/// A clock that stands still until the test moves it.
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn new() -> Self {
        let now = OffsetDateTime::now_utc();
        Self(Mutex::new(now.replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000).expect("valid")))
    }

    pub fn advance(&self, by: time::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// A mail as a recipient got it.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl SentMail {
    /// The token of a confirmation mail, read from its link.
    pub fn token(&self) -> Option<String> {
        let start = self.text.find("#token=")? + "#token=".len();
        Some(self.text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect())
    }
}

/// Where a backend's mails can be read back.
enum Mails {
    Outbox(Arc<Outbox>),
}

pub struct TestApp {
    pub router: Router,
    pub clock: Arc<ManualClock>,
    pub store: Arc<dyn Store>,
    mails: Mails,
    /// Unique to this app: it marks this app's mail addresses where a mail service is shared.
    pub tag: String,
}

/// The response, with its body parsed when it is JSON.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The problem's `code`, for an error.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }
}

impl TestApp {
    /// An app on `backend` with the default configuration, and no data.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::default();
        config.public_base_url = "https://contacts.test".to_owned();
        configure(&mut config);
        let clock = Arc::new(ManualClock::new());
        let tag = shared::domain::Token::generate().expose()[..10].to_ascii_lowercase().replace(['-', '_'], "x");
        let (store, mailer, mails): (Arc<dyn Store>, Arc<dyn Mailer>, Mails) = match backend {
            Backend::Memory => {
                let outbox = Arc::new(Outbox::new());
                (Arc::new(MemoryStore::new()), outbox.clone(), Mails::Outbox(outbox))
            }
        };
        let app = App::new(store.clone(), mailer, clock.clone(), config);
        Self { router: Router::new(app), clock, store, mails, tag }
    }

    /// An app on `backend` loaded with the standard cast (see [`TestApp::seed`]).
    pub async fn seeded(backend: Backend) -> Self {
        Self::seeded_with(backend, |_| {}).await
    }

    pub async fn seeded_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Self {
        let app = Self::spawn_with(backend, configure).await;
        app.seed().await;
        app
    }

    /// The standard cast, on the service `example.com`:
    /// - `aa1-ovh` Ada, admin (en); `tt1-ovh` Teo, tech (it); `bb1-ovh` Bea, billing (fr);
    /// - `nn1-ovh` Ned, no role (en); `mm1-ovh` Mia, no role (fr); `oo1-ovh` Otto, no role, overdue.
    pub async fn seed(&self) {
        let person = |id: &str, name: &str, language: &str, payment: &str| {
            serde_json::json!({"id": id, "name": name, "email": self.email_of(id), "language": language, "payment_status": payment})
        };
        let fixtures = serde_json::json!({
            "accounts": [
                person("aa1-ovh", "Ada Admin", "en", "ok"),
                person("tt1-ovh", "Teo Tecnico", "it", "ok"),
                person("bb1-ovh", "Bea Billing", "fr", "ok"),
                person("nn1-ovh", "Ned New", "en", "ok"),
                person("mm1-ovh", "Mia Nouvelle", "fr", "ok"),
                person("oo1-ovh", "Otto Overdue", "en", "overdue"),
            ],
            "services": [{"name": "example.com", "admin": "aa1-ovh", "tech": "tt1-ovh", "billing": "bb1-ovh"}]
        });
        self.load(&fixtures).await;
    }

    pub async fn load(&self, fixtures: &Value) {
        let fixtures = Fixtures::parse(&fixtures.to_string()).expect("valid fixtures");
        fixtures.load(self.router.app()).await.expect("fixtures load");
    }

    /// The email address the standard cast uses for `account`: unique to this app.
    pub fn email_of(&self, account: &str) -> String {
        format!("{}.{}@example.com", account.trim_end_matches("-ovh"), self.tag)
    }

    pub async fn call(&self, method: Method, path: &str, caller: Option<&str>, body: Bytes) -> TestResponse {
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
            None => (path.to_owned(), None),
        };
        let request = ApiRequest { method, path, query, headers: HeaderMap::new(), body, identity: caller.map(str::to_owned) };
        let response = self.router.handle(request).await;
        let (parts, body) = response.into_parts();
        TestResponse { status: parts.status, headers: parts.headers, body }
    }

    pub async fn get(&self, path: &str, caller: &str) -> TestResponse {
        self.call(Method::GET, path, Some(caller), Bytes::new()).await
    }

    pub async fn post(&self, path: &str, caller: &str, body: Value) -> TestResponse {
        self.call(Method::POST, path, Some(caller), Bytes::from(body.to_string())).await
    }

    pub async fn patch(&self, path: &str, caller: &str, body: Value) -> TestResponse {
        self.call(Method::PATCH, path, Some(caller), Bytes::from(body.to_string())).await
    }

    /// `POST /v1/services/{service}/contact-changes` with `body`, as `caller`.
    pub async fn ask(&self, service: &str, caller: &str, body: Value) -> TestResponse {
        self.post(&format!("/v1/services/{service}/contact-changes"), caller, body).await
    }

    /// Asks one change and returns the new request's id; panics unless it was created.
    pub async fn ask_ok(&self, service: &str, caller: &str, body: Value) -> String {
        let response = self.ask(service, caller, body).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
        response.json()["requests"][0]["id"].as_str().unwrap().to_owned()
    }

    pub async fn accept(&self, id: &str, caller: &str, token: &str) -> TestResponse {
        self.post(&format!("/v1/contact-changes/{id}/accept"), caller, serde_json::json!({ "token": token })).await
    }

    pub async fn refuse(&self, id: &str, caller: &str, token: &str) -> TestResponse {
        self.post(&format!("/v1/contact-changes/{id}/refuse"), caller, serde_json::json!({ "token": token })).await
    }

    pub async fn request(&self, id: &str, caller: &str) -> Value {
        let response = self.get(&format!("/v1/contact-changes/{id}"), caller).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        response.json()
    }

    pub async fn contacts(&self, service: &str, caller: &str) -> Value {
        let response = self.get(&format!("/v1/services/{service}"), caller).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        response.json()["contacts"].clone()
    }

    /// Every mail this app sent, oldest first.
    pub async fn mails(&self) -> Vec<SentMail> {
        match &self.mails {
            Mails::Outbox(outbox) => outbox
                .sent()
                .into_iter()
                .map(|m| SentMail { to: m.to.as_str().to_owned(), subject: m.subject, text: m.text, html: m.html })
                .collect(),
        }
    }

    /// The mails `account` (of the standard cast) received, oldest first.
    pub async fn mails_to(&self, account: &str) -> Vec<SentMail> {
        let address = self.email_of(account);
        self.mails().await.into_iter().filter(|m| m.to == address).collect()
    }

    /// The token in the latest confirmation mail `account` received for request `id`.
    pub async fn token_of(&self, account: &str, id: &str) -> String {
        self.mails_to(account)
            .await
            .into_iter()
            .rev()
            .filter(|m| m.text.contains(id))
            .find_map(|m| m.token())
            .unwrap_or_else(|| panic!("{account} received no token for {id}"))
    }

    /// Makes mail sending fail (or work again), where the backend allows it.
    pub fn set_mail_unavailable(&self, unavailable: bool) {
        match &self.mails {
            Mails::Outbox(outbox) => outbox.set_unavailable(unavailable),
        }
    }
}

/// Runs each named `async fn name(backend: Backend)` of the calling file once per backend.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                // Several worker threads, so that concurrent requests really race.
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::Backend::Memory).await
                }
            )*
        }
    };
}
