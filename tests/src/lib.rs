//! The test harness: a `TestApp` that drives the real router, on a chosen backend, with
//! a clock the test moves and helpers to read the mails that went out.
//!
//! Every behaviour test takes a `Backend`, and `on_every_backend!` runs it on each one,
//! so the embedded store and DynamoDB (with the outbox and SES) answer the same suite, and
//! those listed before its `not_through_the_functions:` on the functions as deployed too
//! ([`functions`]: each bootstrap under the Lambda Runtime Interface Emulator).
//! [`streams`] reads a table's stream from DynamoDB Local, as Lambda hands it to the mailer
//! (on DynamoDB, in process too: [`mailer_stream`]); [`template`] reads what template.yaml says
//! of the functions' deployment.

pub mod functions;
pub mod mailer_stream;
pub mod pattern;
pub mod streams;
pub mod template;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use contacts_api::{ApiRequest, Caller, Router};
use contacts_app::App;
use contacts_app::config::Config;
use contacts_app::mail::Mail;
use contacts_app::memory::{MemoryMailer, MemoryStore};
use contacts_app::ports::{Clock, MailError, Mailer, Store};
use contacts_app::seed::Fixtures;
use contacts_aws::{DynamoStore, SesMailer, dynamodb, sdk};
use http::{HeaderMap, Method, StatusCode};
use mailer_stream::MailerStream;
use serde_json::Value;
use time::OffsetDateTime;

/// Where the app keeps its data and sends its mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded store and the outbox.
    Memory,
    /// DynamoDB Local (a fresh table per app) and the SES v2 emulator, at
    /// `AWS_ENDPOINT_URL_DYNAMODB` and `AWS_ENDPOINT_URL_SESV2` (scripts/test starts both).
    Aws,
    /// As `Aws`, through the functions' bootstraps under the Lambda Runtime Interface
    /// Emulator ([`functions`]): every call, the table's stream, the sweep and SES's events
    /// are invocations of the function that serves them as deployed. The app's own router
    /// only loads the fixtures (the provider's admin tool), and the clock is the system's.
    Lambda,
}

/// A clock that stands still until the test moves it; or, for the functions under the RIE,
/// which read the system's clock, that clock, which no test can move ([`ManualClock::system`]).
pub struct ManualClock {
    /// `None`: the system's clock.
    manual: Option<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    pub fn new() -> Self {
        Self { manual: Some(Mutex::new(to_the_millisecond(OffsetDateTime::now_utc()))) }
    }

    /// The system's clock, as the functions under the RIE read it: [`ManualClock::advance`]
    /// panics, since nothing the functions see would move.
    pub fn system() -> Self {
        Self { manual: None }
    }

    pub fn advance(&self, by: time::Duration) {
        let manual =
            self.manual.as_ref().expect("the functions under the RIE read the system's clock, which a test cannot move: keep this test off Backend::Lambda");
        *manual.lock().unwrap() += by;
    }
}

/// The store keeps times to the millisecond.
fn to_the_millisecond(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(at.nanosecond() / 1_000_000 * 1_000_000).expect("valid")
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        match &self.manual {
            Some(manual) => *manual.lock().unwrap(),
            None => to_the_millisecond(OffsetDateTime::now_utc()),
        }
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
    Outbox(Arc<MemoryMailer>),
    /// The SES emulator's `GET {store_url}`: every mail it took, from every app.
    Ses {
        store_url: String,
        since: i64,
        mailer: Arc<Switchable>,
    },
}

/// Where the emulators listen, from the environment scripts/test sets.
#[derive(Debug, Clone)]
pub struct Emulators {
    pub dynamodb: String,
    pub ses: String,
    /// `GET` answers with every mail the SES emulator took.
    pub ses_store: String,
}

impl Emulators {
    /// The emulators' endpoints; panics with what to do when they are not set: a test on
    /// `Backend::Aws` fails rather than passing without having run.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let (Some(dynamodb), Some(ses)) = (var("AWS_ENDPOINT_URL_DYNAMODB"), var("AWS_ENDPOINT_URL_SESV2")) else {
            panic!(
                "this test runs on DynamoDB Local and the SES v2 emulator, but AWS_ENDPOINT_URL_DYNAMODB and/or \
                 AWS_ENDPOINT_URL_SESV2 are not set. Run the project's test command, scripts/test, which installs and \
                 starts both emulators and sets them (or `source scripts/emulators; start_dynamodb; start_ses` first)."
            )
        };
        for endpoint in [&dynamodb, &ses] {
            assert!(
                endpoint.starts_with("http://") && contacts_app::config::is_loopback_url(endpoint),
                "tests talk to nothing but the loopback interface, and {endpoint} is not on it"
            );
        }
        let ses_store = var("SES_STORE_URL").unwrap_or_else(|| format!("{}/store", ses.trim_end_matches('/')));
        Self { dynamodb, ses, ses_store }
    }
}

/// A fresh, empty DynamoDB table in DynamoDB Local, and a store on it that reads token
/// expiry from `clock`. `tag` makes the table's name unique.
pub async fn dynamo_store(tag: &str, clock: Arc<dyn Clock>) -> Arc<DynamoStore> {
    dynamo_store_keeping(tag, clock, contacts_domain::Retention::DEFAULT).await
}

/// [`dynamo_store`], keeping closed requests and batches for `retention`.
pub async fn dynamo_store_keeping(tag: &str, clock: Arc<dyn Clock>, retention: contacts_domain::Retention) -> Arc<DynamoStore> {
    Emulators::from_env();
    let sdk = sdk::emulator_sdk_config().await;
    let client = sdk::dynamodb_client(&sdk);
    let table = format!("contacts-test-{tag}");
    dynamodb::create_table_if_missing(&client, &table).await.unwrap_or_else(|e| panic!("cannot create table {table} in DynamoDB Local: {e}"));
    Arc::new(DynamoStore::new(client, table).with_clock(clock).with_retention(retention))
}

/// A tag unique to one app: lower-case letters and digits.
pub fn unique_tag() -> String {
    contacts_domain::Token::generate().expose()[..10].to_ascii_lowercase().replace(['-', '_'], "x")
}

/// A mailer that can be told to fail as an unreachable mail service would, or to refuse
/// every mail as SES refuses one it will never take.
pub struct Switchable {
    inner: Arc<dyn Mailer>,
    unavailable: AtomicBool,
    refusing: AtomicBool,
    throttling: AtomicBool,
}

impl Switchable {
    pub fn new(inner: Arc<dyn Mailer>) -> Self {
        Self { inner, unavailable: AtomicBool::new(false), refusing: AtomicBool::new(false), throttling: AtomicBool::new(false) }
    }

    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    pub fn set_refusing(&self, refusing: bool) {
        self.refusing.store(refusing, Ordering::SeqCst);
    }

    pub fn set_throttling(&self, throttling: bool) {
        self.throttling.store(throttling, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl Mailer for Switchable {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(MailError::Retryable("the test made the mail service unavailable".to_owned().into()));
        }
        if self.refusing.load(Ordering::SeqCst) {
            return Err(MailError::Rejected("the test made the mail service refuse every mail".to_owned().into()));
        }
        if self.throttling.load(Ordering::SeqCst) {
            return Err(MailError::Throttled("the test made the mail service throttle every mail".to_owned().into()));
        }
        self.inner.send(mail).await
    }
}

/// The AWS principal the tests' provider systems sign with.
pub const PROVIDER: &str = "arn:aws:iam::123456789012:role/provisioning-test";

pub struct TestApp {
    pub router: Router,
    pub clock: Arc<ManualClock>,
    pub store: Arc<dyn Store>,
    mails: Mails,
    /// The DynamoDB store, on `Backend::Aws`: to count its round trips.
    pub dynamo: Option<Arc<DynamoStore>>,
    /// The embedded store, on `Backend::Memory`: to read everything it holds ([`Self::stored`]).
    memory: Option<Arc<MemoryStore>>,
    /// Unique to this app: it marks this app's mail addresses where a mail service is shared.
    pub tag: String,
    /// The EMF lines of every call, mailer pass, sweep and SES event so far, each measured as
    /// the deployed function that serves it measures it ([`Self::take_emf`]).
    emf: Mutex<Vec<Value>>,
    /// The mailer the app sends through, on every backend: to make it refuse mail.
    switch: Arc<Switchable>,
    /// The functions, on `Backend::Lambda`: every call, mail and event goes through them.
    functions: Option<functions::Functions>,
    /// The table's stream to the mailer's handler, in process, on `Backend::Aws`: how
    /// [`Self::deliver`] delivers there (one delivery at a time, as a shard's batches go).
    mailer_stream: Option<tokio::sync::Mutex<MailerStream>>,
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
        // The provider's systems sign as PROVIDER, which the internal API then admits.
        let mut config = Config { public_base_url: "https://contacts.test".to_owned(), provider_principals: vec![PROVIDER.to_owned()], ..Config::default() };
        configure(&mut config);
        let clock = Arc::new(if backend == Backend::Lambda { ManualClock::system() } else { ManualClock::new() });
        let tag = unique_tag();
        let mut dynamo = None;
        let mut memory = None;
        let (store, mailer, mails): (Arc<dyn Store>, Arc<dyn Mailer>, Mails) = match backend {
            Backend::Memory => {
                let outbox = Arc::new(MemoryMailer::new());
                let store = Arc::new(MemoryStore::new().with_clock(clock.clone()).with_retention(config.retention));
                memory = Some(store.clone());
                (store, outbox.clone(), Mails::Outbox(outbox))
            }
            Backend::Aws | Backend::Lambda => {
                let emulators = Emulators::from_env();
                let store = dynamo_store_keeping(&tag, clock.clone(), config.retention).await;
                dynamo = Some(store.clone());
                let sdk = sdk::emulator_sdk_config().await;
                let mailer = Arc::new(Switchable::new(Arc::new(SesMailer::new(sdk::ses_client(&sdk), None))));
                // The emulator stamps mails in whole seconds: one second of slack.
                let since = OffsetDateTime::now_utc().unix_timestamp() - 1;
                (store, mailer.clone(), Mails::Ses { store_url: emulators.ses_store, since, mailer })
            }
        };
        let functions = match (backend, &dynamo) {
            (Backend::Lambda, Some(store)) => Some(functions::Functions::new(store.table(), &config, &tag)),
            _ => None,
        };
        let mailer_stream = match (backend, &dynamo) {
            (Backend::Aws, Some(store)) => Some(tokio::sync::Mutex::new(MailerStream::new(&Emulators::from_env().dynamodb, store.table()))),
            _ => None,
        };
        let switch = match &mails {
            Mails::Ses { mailer, .. } => mailer.clone(),
            Mails::Outbox(_) => Arc::new(Switchable::new(mailer)),
        };
        let app = App::new(store.clone(), switch.clone(), clock.clone(), config);
        Self { router: Router::new(app), clock, store, mails, dynamo, memory, tag, emf: Mutex::new(Vec::new()), switch, functions, mailer_stream }
    }

    /// Deletes the app's DynamoDB table (nothing in memory): for a test that leaves much there,
    /// since every later suite of the test command shares the one DynamoDB Local, which slows
    /// as it fills.
    pub async fn drop_table(&self) {
        if let Some(store) = &self.dynamo {
            store.client().delete_table().table_name(store.table()).send().await.expect("DynamoDB Local deletes the table");
        }
    }

    /// Everything the store holds, one entry per item (DynamoDB: a `Scan` of the whole table,
    /// each item's attributes as text; in memory: its tables as text, one entry): what SPEC §8's
    /// tests search for what should be gone, below the API.
    pub async fn stored(&self) -> Vec<String> {
        if let Some(memory) = &self.memory {
            return vec![memory.contents()];
        }
        let store = self.dynamo.as_ref().expect("a store");
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = store
                .client()
                .scan()
                .table_name(store.table())
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("DynamoDB Local scans the table");
            items.extend(page.items().iter().map(|item| format!("{item:?}")));
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return items;
            }
        }
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
        let person = |id: &str, name: &str, language: &str, payment: &str| serde_json::json!({"id": id, "name": name, "email": self.email_of(id), "language": language, "payment_status": payment});
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

    /// A request as `caller`, a customer's account id or nobody.
    pub async fn call(&self, method: Method, path: &str, caller: Option<&str>, body: Bytes) -> TestResponse {
        self.call_as(method, path, Caller::customer(caller), body).await
    }

    pub async fn call_as(&self, method: Method, path: &str, caller: Caller, body: Bytes) -> TestResponse {
        self.call_from(method, path, caller, body, None).await
    }

    /// A request as `caller` from the client address `source` (API Gateway's `sourceIp`).
    pub async fn call_from(&self, method: Method, path: &str, caller: Caller, body: Bytes, source: Option<std::net::IpAddr>) -> TestResponse {
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
            None => (path.to_owned(), None),
        };
        if let Some(functions) = &self.functions {
            return functions.call(method, &path, query.as_deref(), &caller, &body, source).await;
        }
        let function = contacts_api::routes::find(&method, &path, None).map_or("unrouted", |(spec, _)| spec.function.name());
        let request = ApiRequest { method, path, query, headers: HeaderMap::new(), body, caller, source };
        let response = self.measured(function, self.router.handle(request)).await;
        let (parts, body) = response.into_parts();
        TestResponse { status: parts.status, headers: parts.headers, body }
    }

    /// `PUT path` with `body` as one of the provider's systems (the internal API).
    pub async fn provider_put(&self, path: &str, body: Value) -> TestResponse {
        self.call_as(Method::PUT, path, Caller::Provider(PROVIDER.to_owned()), Bytes::from(body.to_string())).await
    }

    /// `DELETE path` as one of the provider's systems (the internal API's erasure, SPEC §8).
    pub async fn provider_delete(&self, path: &str) -> TestResponse {
        self.call_as(Method::DELETE, path, Caller::Provider(PROVIDER.to_owned()), Bytes::new()).await
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
    /// SES's bounce event of a mail to `account` at `address` (`events/bounces.ses-bounce.json`,
    /// its tag and recipient replaced): `bounce_type` `Permanent` or `Transient`.
    pub fn bounce_event(account: &str, address: &str, bounce_type: &str) -> Value {
        let mut event: Value = serde_json::from_str(include_str!("../../events/bounces.ses-bounce.json")).expect("the sample event is JSON");
        event["detail"]["bounce"]["bounceType"] = bounce_type.into();
        event["detail"]["bounce"]["bouncedRecipients"][0]["emailAddress"] = address.into();
        event["detail"]["mail"]["destination"] = serde_json::json!([address]);
        event["detail"]["mail"]["tags"]["account"] = serde_json::json!([account]);
        event
    }

    /// Hands `event` to the `bounces` function's handler: how many addresses it marked.
    pub async fn deliver_ses_event(&self, event: Value) -> usize {
        if let Some(functions) = &self.functions {
            return functions.deliver_ses_event(event).await;
        }
        self.measured("bounces", contacts_lambda::bounces::handle(self.router.app(), event)).await.expect("the event is handled")
    }

    /// One sweep, as the sweeper function runs it.
    pub async fn sweep(&self) -> contacts_app::SweepReport {
        if let Some(functions) = &self.functions {
            return functions.sweep().await;
        }
        self.measured("sweeper", self.router.app().sweep()).await.expect("the sweep runs")
    }

    /// Runs `work` as an invocation of `function`, keeping its EMF lines.
    pub async fn measured<T>(&self, function: &'static str, work: impl std::future::Future<Output = T>) -> T {
        let (output, invocation) = contacts_telemetry::measure(function, work).await;
        let lines = invocation.emf(&self.router.app().config().metrics_namespace, std::time::SystemTime::now());
        self.emf.lock().unwrap().extend(lines);
        output
    }

    /// The EMF lines kept since the last call, each checked against the EMF specification.
    pub fn take_emf(&self) -> Vec<Emf> {
        assert!(self.functions.is_none(), "the functions under the RIE print their EMF lines in their own logs: keep this test off Backend::Lambda");
        std::mem::take(&mut *self.emf.lock().unwrap()).iter().map(Emf::parse).collect()
    }

    /// ... and lets the mailer deliver what it posted ([`Self::deliver`]), as the stream's
    /// mailer does within a second: the parties then hold their codes.
    pub async fn ask_ok(&self, service: &str, caller: &str, body: Value) -> String {
        let response = self.ask(service, caller, body).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
        self.deliver().await;
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

    /// Lets the mailer deliver what was posted, as production's would by now: every mail
    /// posted so far is sent or settled, unless sending fails (a mail that failed goes again on
    /// the next delivery). On `Backend::Aws`, the table's stream to the mailer function's handler
    /// in process, the records written since the last delivery ([`mailer_stream`]); on
    /// `Backend::Lambda`, the table's stream to the mailer and the publisher functions; on
    /// `Backend::Memory`, which has no stream, a pass over the outbox (the local server's drain
    /// loop).
    pub async fn deliver(&self) {
        if let Some(functions) = &self.functions {
            return functions.deliver().await;
        }
        match &self.mailer_stream {
            Some(stream) => self.deliver_from_stream(stream).await,
            None => {
                self.outbox_pass().await;
            }
        }
    }

    /// The stream's new mail records (and those answered as failed before) to
    /// `contacts_lambda::mailer::handle`, each batch measured as an invocation of the mailer.
    async fn deliver_from_stream(&self, stream: &tokio::sync::Mutex<MailerStream>) {
        let app = self.router.app();
        let handle = |event: Value| async move {
            let handled = self.measured("mailer", contacts_lambda::mailer::handle(app, event)).await;
            handled.unwrap_or_else(|why| panic!("the mailer's handler refused the stream's event as a whole: {why}"))
        };
        stream.lock().await.deliver(handle).await;
    }

    /// One pass of the mailer over the outbox, in process, and what it did: the sweep's
    /// redrive, and the local server's drain loop. What the stream's mailer does not tell (it
    /// answers only the records that failed), so a test that needs it stays off
    /// `Backend::Lambda`; it takes whatever is unsettled, whether the stream handed it or not.
    pub async fn outbox_pass(&self) -> contacts_app::OutboxReport {
        assert!(self.functions.is_none(), "the mailer function answers only the records that failed, not what it sent: keep this test off Backend::Lambda");
        self.measured("mailer", self.router.app().deliver_outbox(self.clock.now())).await.expect("the outbox is readable")
    }

    /// Every mail this app sent, oldest first, once the outbox is delivered ([`Self::deliver`]).
    pub async fn mails(&self) -> Vec<SentMail> {
        self.deliver().await;
        self.sent_mails().await
    }

    /// Every mail this app sent so far, oldest first, without delivering the outbox.
    pub async fn sent_mails(&self) -> Vec<SentMail> {
        match &self.mails {
            Mails::Outbox(outbox) => {
                outbox.sent().into_iter().map(|m| SentMail { to: m.to.as_str().to_owned(), subject: m.subject, text: m.text, html: m.html }).collect()
            }
            Mails::Ses { store_url, since, .. } => ses_mails(store_url, *since, &self.tag).await,
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

    /// Makes the mail service refuse every mail for good (or take them again).
    pub fn set_mail_refused(&self, refused: bool) {
        self.assert_in_process("a mail service that refuses mail");
        self.switch.set_refusing(refused);
    }

    /// Makes the mail service throttle every mail (SES past the account's sending rate), or
    /// take them again.
    pub fn set_mail_throttled(&self, throttled: bool) {
        self.assert_in_process("a mail service that throttles");
        self.switch.set_throttling(throttled);
    }

    /// Makes mail sending fail (or work again), where the backend allows it.
    pub fn set_mail_unavailable(&self, unavailable: bool) {
        self.assert_in_process("a mail service that is down");
        match &self.mails {
            Mails::Outbox(outbox) => outbox.set_unavailable(unavailable),
            Mails::Ses { mailer, .. } => mailer.set_unavailable(unavailable),
        }
    }

    /// The functions under the RIE send through the SES emulator itself: no switch of the
    /// test's reaches them.
    fn assert_in_process(&self, what: &str) {
        assert!(
            self.functions.is_none(),
            "{what} is the in-process mailer's switch, which the functions under the RIE never see: keep this test off Backend::Lambda"
        );
    }
}

/// One EMF line (CloudWatch's embedded metric format), read as CloudWatch Logs reads it:
/// [`Emf::parse`] fails the test unless it is valid per the specification.
#[derive(Debug, Clone)]
pub struct Emf {
    pub line: Value,
    pub namespace: String,
    /// The dimension set of its one directive (`["function"]`, `["function", "reason"]`).
    pub dimensions: Vec<String>,
    /// Each dimension's value.
    pub values: std::collections::BTreeMap<String, String>,
    /// Each metric's value and unit.
    pub metrics: std::collections::BTreeMap<String, (f64, String)>,
}

impl Emf {
    /// The specification's rules (docs.aws.amazon.com, "Specification: Embedded metric
    /// format"): `_aws` an object with an integer `Timestamp` in epoch milliseconds and a
    /// `CloudWatchMetrics` array of directives; each directive a `Namespace` (1 to 255
    /// characters), `Dimensions` an array of dimension sets (arrays of at most 30 names, each a
    /// string member of the root), `Metrics` at most 100 `{Name, Unit}` whose `Name` is a
    /// number member of the root, and `Unit` one of CloudWatch's. This code emits one
    /// directive with one dimension set per line: anything else fails here too.
    pub fn parse(line: &Value) -> Emf {
        const UNITS: [&str; 2] = ["Count", "Milliseconds"];
        let aws = line["_aws"].as_object().unwrap_or_else(|| panic!("no _aws object: {line}"));
        let timestamp = aws["Timestamp"].as_u64().unwrap_or_else(|| panic!("Timestamp is not epoch milliseconds: {line}"));
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
        assert!(timestamp <= now && now - timestamp < 3_600_000, "Timestamp is not now: {line}");
        let directives = aws["CloudWatchMetrics"].as_array().unwrap_or_else(|| panic!("CloudWatchMetrics is not an array: {line}"));
        assert_eq!(directives.len(), 1, "one directive: {line}");
        let directive = &directives[0];
        let namespace = directive["Namespace"].as_str().unwrap_or_else(|| panic!("no Namespace: {line}")).to_owned();
        assert!((1..=255).contains(&namespace.len()), "{line}");
        let sets = directive["Dimensions"].as_array().unwrap_or_else(|| panic!("Dimensions is not an array: {line}"));
        assert_eq!(sets.len(), 1, "one dimension set: {line}");
        let dimensions: Vec<String> =
            sets[0].as_array().expect("a dimension set is an array").iter().map(|d| d.as_str().expect("a dimension's name").to_owned()).collect();
        assert!(!dimensions.is_empty() && dimensions.len() <= 30, "{line}");
        let values = dimensions
            .iter()
            .map(|d| (d.clone(), line[d].as_str().unwrap_or_else(|| panic!("the dimension {d} has no string value: {line}")).to_owned()))
            .collect();
        let definitions = directive["Metrics"].as_array().unwrap_or_else(|| panic!("Metrics is not an array: {line}"));
        assert!(!definitions.is_empty() && definitions.len() <= 100, "{line}");
        let mut metrics = std::collections::BTreeMap::new();
        for definition in definitions {
            let name = definition["Name"].as_str().unwrap_or_else(|| panic!("a metric without a Name: {line}"));
            let unit = definition["Unit"].as_str().unwrap_or_else(|| panic!("{name} has no Unit: {line}"));
            assert!(UNITS.contains(&unit), "{name}'s unit {unit}");
            let value = line[name].as_f64().unwrap_or_else(|| panic!("{name} has no number value: {line}"));
            assert!(metrics.insert(name.to_owned(), (value, unit.to_owned())).is_none(), "{name} twice: {line}");
        }
        Emf { line: line.clone(), namespace, dimensions, values, metrics }
    }

    /// The value of `metric` in this line, if it has it.
    pub fn get(&self, metric: contacts_telemetry::Metric) -> Option<f64> {
        self.metrics.get(metric.name()).map(|(value, _)| *value)
    }

    /// The value of the dimension `name`.
    pub fn dimension(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
}

/// Runs each named `async fn name(backend: Backend)` of the calling file once per backend: on
/// the embedded store and on DynamoDB Local, and, for the names before `;`, through the
/// functions as deployed too (`Backend::Lambda`). The names after `not_through_the_functions:`
/// stay on the stores (say why beside them: the clock moved, a failure injected, ...).
///
/// ```ignore
/// on_every_backend!(a_flow, another_flow; not_through_the_functions: a_flow_that_moves_the_clock);
/// on_every_backend!(only_on_the_stores, and_this_one);
/// ```
#[macro_export]
macro_rules! on_every_backend {
    ($($both:ident),* $(,)? ; not_through_the_functions: $($stores:ident),* $(,)?) => {
        $crate::on_every_backend!(@stores $($both,)* $($stores,)*);
        mod lambda {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $both() {
                    super::$both($crate::Backend::Lambda).await
                }
            )*
        }
    };
    (@stores $($name:ident),* $(,)?) => {
        mod memory {
            $(
                // Several worker threads, so that concurrent requests really race.
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::Backend::Memory).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::Backend::Aws).await
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        $crate::on_every_backend!(@stores $($name,)*);
    };
}

/// The mails the SES emulator took since `since` (epoch seconds) for a recipient whose address
/// holds `tag`, in the order it took them (the order they were sent).
async fn ses_mails(store_url: &str, since: i64, tag: &str) -> Vec<SentMail> {
    let body = http_get(&format!("{store_url}?since={since}")).await;
    let store: Value = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("the SES emulator's store is not JSON: {e}"));
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    store["emails"]
        .as_array()
        .expect("the SES emulator's store has an `emails` array")
        .iter()
        .filter_map(|email| {
            let to = email["destination"]["to"].as_array()?.iter().filter_map(Value::as_str).find(|to| to.contains(tag))?.to_owned();
            Some(SentMail { to, subject: text(&email["subject"]), text: text(&email["body"]["text"]), html: text(&email["body"]["html"]) })
        })
        .collect()
}

/// A plain HTTP/1.0 GET of an `http://host:port/path` URL on the loopback interface (so the
/// answer is never chunked): the body, or a panic naming what went wrong.
async fn http_get(url: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap_or_else(|| panic!("not an http:// URL: {url}"));
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let get = async {
        let mut stream = tokio::net::TcpStream::connect(authority).await?;
        stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\nAccept: application/json\r\n\r\n").as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(std::time::Duration::from_secs(10), get)
        .await
        .unwrap_or_else(|_| panic!("GET {url}: no answer within 10 s"))
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("GET {url}: no HTTP header end"));
    let head = String::from_utf8_lossy(&response[..split]);
    assert!(head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"), "GET {url}: {}", head.lines().next().unwrap_or_default());
    response[split + 4..].to_vec()
}
