//! A store that fails in the middle of a use case: the answer is a 503 with `Retry-After`
//! and nothing is half-written, or the use case had already committed and the answer says
//! so. Run at every store call of each use case, on every backend.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use contacts_api::{ApiRequest, Caller, Router};
use contacts_app::App;
use contacts_app::config::Config;
use contacts_app::memory::MemoryMailer;
use contacts_app::ports::{
    Accounts, Asking, AskingFor, Batches, Clock, Effect, Erasure, Limits, Page, ProfileRecord, Profiles, Purge, Requests, ServiceFilter, ServiceRecord,
    Services, Store, StoreError,
};
use contacts_domain::{
    Account, AccountId, Batch, BatchId, ContactChange, EmailAddress, Event, Language, MailId, MailStatus, OutboxId, RequestId, Service, ServiceName, Subject,
    TokenHash,
};
use http::{HeaderMap, Method, StatusCode};
use integration_tests::{Backend, SentMail, TestApp, on_every_backend};
use serde_json::{Value, json};
use time::OffsetDateTime;

on_every_backend!(
    a_store_failure_at_any_step_of_a_request_leaves_it_whole_or_absent,
    a_store_failure_at_any_step_of_the_last_acceptance_applies_all_or_nothing,
    a_store_failure_at_any_step_of_a_delivery_sends_each_mail_once_in_the_end,
);

// None through the functions: they inject store and mail failures in process.

/// Delegates to a real store, except that call number `fail_at` (from 1) fails as an
/// unreachable store does.
struct FailingStore {
    inner: Arc<dyn Store>,
    calls: AtomicUsize,
    fail_at: usize,
}

impl FailingStore {
    fn check(&self) -> Result<(), StoreError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at {
            return Err(StoreError::Unavailable("injected failure".to_owned().into()));
        }
        Ok(())
    }
}

#[async_trait]
impl Accounts for FailingStore {
    async fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        self.check()?;
        self.inner.account(id).await
    }
    async fn accounts(&self, ids: &[AccountId]) -> Result<Vec<Account>, StoreError> {
        self.check()?;
        self.inner.accounts(ids).await
    }
    async fn accounts_with_email(&self, email: &EmailAddress, limit: usize) -> Result<Vec<AccountId>, StoreError> {
        self.check()?;
        self.inner.accounts_with_email(email, limit).await
    }
    async fn put_account(&self, account: &Account) -> Result<(), StoreError> {
        self.check()?;
        self.inner.put_account(account).await
    }
    async fn mark_bouncing(&self, id: &AccountId, email: &EmailAddress) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.mark_bouncing(id, email).await
    }
    async fn erase_account(&self, id: &AccountId, event: &Event) -> Result<Erasure, StoreError> {
        self.check()?;
        self.inner.erase_account(id, event).await
    }
}

#[async_trait]
impl Profiles for FailingStore {
    async fn profile(&self, id: &AccountId) -> Result<Option<ProfileRecord>, StoreError> {
        self.check()?;
        self.inner.profile(id).await
    }
    async fn save_email_change(&self, record: &ProfileRecord, gone: &[TokenHash]) -> Result<(), StoreError> {
        self.check()?;
        self.inner.save_email_change(record, gone).await
    }
    async fn email_token(&self, hash: &TokenHash, now: OffsetDateTime) -> Result<Option<AccountId>, StoreError> {
        self.check()?;
        self.inner.email_token(hash, now).await
    }
    async fn verify_email(&self, read: &ProfileRecord, now: OffsetDateTime, event: &Event) -> Result<Account, StoreError> {
        self.check()?;
        self.inner.verify_email(read, now, event).await
    }
    async fn set_language(&self, id: &AccountId, language: Language, event: &Event) -> Result<Option<ProfileRecord>, StoreError> {
        self.check()?;
        self.inner.set_language(id, language, event).await
    }
}

#[async_trait]
impl Services for FailingStore {
    async fn service(&self, name: &ServiceName) -> Result<Option<ServiceRecord>, StoreError> {
        self.check()?;
        self.inner.service(name).await
    }
    async fn put_service(&self, service: &Service) -> Result<(), StoreError> {
        self.check()?;
        self.inner.put_service(service).await
    }
    async fn services_of(&self, account: &AccountId, filter: &ServiceFilter, after: Option<&ServiceName>, limit: usize) -> Result<Page<Service>, StoreError> {
        self.check()?;
        self.inner.services_of(account, filter, after, limit).await
    }
    async fn held_among(&self, account: &AccountId, names: &[ServiceName]) -> Result<std::collections::BTreeSet<ServiceName>, StoreError> {
        self.check()?;
        self.inner.held_among(account, names).await
    }
}

#[async_trait]
impl Requests for FailingStore {
    async fn create(&self, changes: &[ContactChange], now: OffsetDateTime) -> Result<(), StoreError> {
        self.check()?;
        self.inner.create(changes, now).await
    }
    async fn contact_change(&self, id: RequestId) -> Result<Option<ContactChange>, StoreError> {
        self.check()?;
        self.inner.contact_change(id).await
    }
    async fn contact_changes_of(&self, account: &AccountId, before: Option<RequestId>, limit: usize) -> Result<Page<ContactChange>, StoreError> {
        self.check()?;
        self.inner.contact_changes_of(account, before, limit).await
    }
    async fn save(&self, change: &ContactChange, effect: Effect) -> Result<(), StoreError> {
        self.check()?;
        self.inner.save(change, effect).await
    }
    async fn issue_token(&self, change: &ContactChange, party: &AccountId, hash: &TokenHash) -> Result<(), StoreError> {
        self.check()?;
        self.inner.issue_token(change, party, hash).await
    }
    async fn due(&self, now: OffsetDateTime, remind_before: time::Duration, limit: usize) -> Result<Vec<ContactChange>, StoreError> {
        self.check()?;
        self.inner.due(now, remind_before, limit).await
    }
    async fn save_settling(&self, change: &ContactChange, id: &MailId, status: MailStatus) -> Result<(), StoreError> {
        self.check()?;
        self.inner.save_settling(change, id, status).await
    }
}

#[async_trait]
impl Batches for FailingStore {
    async fn create_batch(&self, batch: &Batch, parts: &[ContactChange], now: OffsetDateTime) -> Result<(), StoreError> {
        self.check()?;
        self.inner.create_batch(batch, parts, now).await
    }
    async fn batch(&self, id: BatchId) -> Result<Option<Batch>, StoreError> {
        self.check()?;
        self.inner.batch(id).await
    }
    async fn batches_of(&self, account: &AccountId, before: Option<BatchId>, limit: usize) -> Result<Page<Batch>, StoreError> {
        self.check()?;
        self.inner.batches_of(account, before, limit).await
    }
    async fn save_batch(&self, batch: &Batch) -> Result<(), StoreError> {
        self.check()?;
        self.inner.save_batch(batch).await
    }
    async fn issue_batch_token(&self, batch: &Batch, party: &AccountId, hash: &TokenHash) -> Result<(), StoreError> {
        self.check()?;
        self.inner.issue_batch_token(batch, party, hash).await
    }
    async fn save_batch_settling(&self, batch: &Batch, id: &MailId, status: MailStatus) -> Result<(), StoreError> {
        self.check()?;
        self.inner.save_batch_settling(batch, id, status).await
    }
    async fn due_batches(&self, now: OffsetDateTime, remind_before: time::Duration, limit: usize) -> Result<Vec<Batch>, StoreError> {
        self.check()?;
        self.inner.due_batches(now, remind_before, limit).await
    }
    async fn discard_unopened(&self, begun_before: OffsetDateTime) -> Result<usize, StoreError> {
        self.check()?;
        self.inner.discard_unopened(begun_before).await
    }
}

#[async_trait]
impl Purge for FailingStore {
    async fn past_retention(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<Subject>, StoreError> {
        self.check()?;
        self.inner.past_retention(now, limit).await
    }
    async fn purge(&self, subject: Subject) -> Result<(), StoreError> {
        self.check()?;
        self.inner.purge(subject).await
    }
}

#[async_trait]
impl Limits for FailingStore {
    async fn unaccepted(&self, requester: &AccountId, to: &AccountId) -> Result<Vec<OffsetDateTime>, StoreError> {
        self.check()?;
        self.inner.unaccepted(requester, to).await
    }
    async fn asking(&self, what: &AskingFor<'_>) -> Result<Asking, StoreError> {
        self.check()?;
        self.inner.asking(what).await
    }
    async fn wrong_attempts(&self, attempter: &str, window_start: OffsetDateTime) -> Result<u32, StoreError> {
        self.check()?;
        self.inner.wrong_attempts(attempter, window_start).await
    }
    async fn count_wrong_attempt(&self, attempter: &str, window_start: OffsetDateTime, window_end: OffsetDateTime) -> Result<u32, StoreError> {
        self.check()?;
        self.inner.count_wrong_attempt(attempter, window_start, window_end).await
    }
}

#[async_trait]
impl<I: OutboxId> contacts_app::ports::Outbox<I> for FailingStore
where
    dyn Store: contacts_app::ports::Outbox<I>,
{
    async fn claim(&self, id: &I, now: OffsetDateTime, until: OffsetDateTime) -> Result<Option<I::Order>, StoreError> {
        self.check()?;
        self.inner.claim(id, now, until).await
    }
    async fn settle(&self, id: &I, status: I::Status) -> Result<(), StoreError> {
        self.check()?;
        self.inner.settle(id, status).await
    }
    async fn unsent(&self, posted_before: OffsetDateTime, limit: usize) -> Result<Vec<I>, StoreError> {
        self.check()?;
        self.inner.unsent(posted_before, limit).await
    }
}

/// A router over `app`'s data whose store fails at call `fail_at`, and its own outbox.
fn failing_router(app: &TestApp, fail_at: usize) -> (Router, Arc<MemoryMailer>) {
    let store = Arc::new(FailingStore { inner: app.store.clone(), calls: AtomicUsize::new(0), fail_at });
    let outbox = Arc::new(MemoryMailer::new());
    let config = Config { public_base_url: "https://contacts.test".to_owned(), ..Config::default() };
    (Router::new(App::new(store, outbox.clone(), app.clock.clone(), config)), outbox)
}

async fn call(router: &Router, method: Method, path: &str, caller: &str, body: Value) -> (StatusCode, HeaderMap, Value) {
    let request = ApiRequest {
        method,
        path: path.to_owned(),
        query: None,
        headers: HeaderMap::new(),
        body: Bytes::from(body.to_string()),
        caller: Caller::customer(Some(caller)),
        source: None,
    };
    let (parts, body) = router.handle(request).await.into_parts();
    (parts.status, parts.headers, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn assert_unavailable(status: StatusCode, headers: &HeaderMap, body: &Value, step: usize) {
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "failing at call {step}: {body}");
    assert!(headers.contains_key("retry-after"), "failing at call {step}");
    assert_eq!(body["code"], "unavailable");
}

async fn a_store_failure_at_any_step_of_a_request_leaves_it_whole_or_absent(backend: Backend) {
    for step in 1.. {
        let app = TestApp::seeded(backend).await;
        let (router, outbox) = failing_router(&app, step);
        let (status, headers, body) = call(&router, Method::POST, "/v1/services/example.com/contact-changes", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
        let listed = app.get("/v1/me/contact-changes", "aa1-ovh").await.json()["requests"].clone();
        let pending = app.get("/v1/services/example.com", "aa1-ovh").await.json()["pending"].clone();
        let posted = contacts_app::ports::Outbox::<MailId>::unsent(&*app.store, app.clock.now(), 100).await.unwrap();
        assert!(outbox.sent().is_empty(), "the request's path sends no mail (failing at call {step})");
        if status == StatusCode::CREATED {
            let id = &body["requests"][0]["id"];
            assert_eq!(listed.as_array().unwrap().len(), 1, "failing at call {step}");
            assert_eq!(pending, json!([id]), "failing at call {step}");
            assert_eq!(posted.len(), 3, "committed with its mails (failing at call {step})");
            break; // nothing follows the commit: the injected failure came after the last call
        }
        assert_unavailable(status, &headers, &body, step);
        assert_eq!(listed, json!([]), "a 503 left a request behind (failing at call {step})");
        assert_eq!(pending, json!([]), "a 503 left a lock behind (failing at call {step})");
        assert_eq!(posted, vec![], "a 503 left mails of a request that does not exist (failing at call {step})");
        assert!(step < 20, "the use case never succeeded");
    }
}

async fn a_store_failure_at_any_step_of_the_last_acceptance_applies_all_or_nothing(backend: Backend) {
    for step in 1.. {
        let app = TestApp::seeded(backend).await;
        let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
        let token = app.token_of("aa1-ovh", &id).await;
        app.accept(&id, "aa1-ovh", &token).await;
        let last = app.token_of("nn1-ovh", &id).await;
        let (router, outbox) = failing_router(&app, step);
        let (status, headers, body) = call(&router, Method::POST, &format!("/v1/contact-changes/{id}/accept"), "nn1-ovh", json!({ "token": last })).await;
        let request = app.request(&id, "aa1-ovh").await;
        let tech = app.contacts("example.com", "aa1-ovh").await["tech"].clone();
        if status == StatusCode::OK {
            assert_eq!(request["state"], "done", "failing at call {step}");
            assert_eq!(tech, "nn1-ovh");
            let posted = contacts_app::ports::Outbox::<MailId>::unsent(&*app.store, app.clock.now(), 100).await.unwrap();
            assert_eq!(posted.len(), 3, "one outcome mail per recipient, posted with the change");
            assert!(outbox.sent().is_empty());
            break;
        }
        assert_unavailable(status, &headers, &body, step);
        assert_eq!(request["state"], "pending", "failing at call {step}");
        assert_eq!(request["awaiting"], json!(["nn1-ovh"]));
        assert_eq!(tech, "tt1-ovh", "a 503 moved the role (failing at call {step})");
        assert!(outbox.sent().is_empty());
        assert_eq!(
            contacts_app::ports::Outbox::<MailId>::unsent(&*app.store, app.clock.now(), 100).await.unwrap(),
            vec![],
            "no outcome posted (failing at call {step})"
        );
        // Nothing was spent: the same token still completes the change.
        assert_eq!(app.accept(&id, "nn1-ovh", &last).await.json()["state"], "done", "failing at call {step}");
        assert!(step < 20, "the use case never succeeded");
    }
}

/// The mailer's store failing at any of its calls: the mail waits, and the next pass sends
/// it; in the end each mail went exactly once and the history says so once.
async fn a_store_failure_at_any_step_of_a_delivery_sends_each_mail_once_in_the_end(backend: Backend) {
    for step in 1.. {
        let app = TestApp::seeded(backend).await;
        app.ask("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
        let (router, outbox) = failing_router(&app, step);
        let failed = router.app().deliver_outbox(app.clock.now()).await;
        let first = outbox.sent().len();
        let then = app.outbox_pass().await;
        let id = app.get("/v1/me/contact-changes", "aa1-ovh").await.json()["requests"][0]["id"].as_str().unwrap().to_owned();
        let history = app.request(&id, "aa1-ovh").await["history"].clone();
        let mailed = history.as_array().unwrap().iter().filter(|h| h["event"] == "mailed").count();
        assert_eq!(first + app.sent_mails().await.len(), 3, "each of the 3 mails went once (failing at call {step}): {failed:?} then {then:?}");
        assert_eq!(mailed, 3, "and is recorded once (failing at call {step}): {history}");
        assert_eq!(
            contacts_app::ports::Outbox::<MailId>::unsent(&*app.store, app.clock.now(), 100).await.unwrap(),
            vec![],
            "nothing left (failing at call {step})"
        );
        // Whichever mailer sent a party's confirmation, its code is the live one.
        let mut sent: Vec<SentMail> =
            outbox.sent().into_iter().map(|m| SentMail { to: m.to.as_str().to_owned(), subject: m.subject, text: m.text, html: m.html }).collect();
        sent.extend(app.sent_mails().await);
        for party in ["aa1-ovh", "nn1-ovh"] {
            let code = sent.iter().filter(|m| m.to == app.email_of(party)).find_map(SentMail::token).expect("a confirmation went");
            assert_eq!(app.accept(&id, party, &code).await.status, StatusCode::OK, "the code mailed works (failing at call {step})");
        }
        if failed.is_ok_and(|report| !report.interrupted) && first == 3 {
            break; // the injected failure came after the last call
        }
        assert!(step < 40, "the delivery never succeeded");
    }
}

/// DynamoDB unreachable (a closed port of 127.0.0.1): every route answers 503 with
/// `Retry-After`, promptly, and says nothing of the cause.
#[tokio::test]
async fn an_unreachable_dynamodb_is_a_503_with_retry_after_on_every_route() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    // Bound then dropped: nothing listens there any more.
    let endpoint = format!("http://{closed}");
    let sdk = contacts_aws::sdk::emulator_sdk_config().await;
    let store = Arc::new(contacts_aws::DynamoStore::new(contacts_aws::sdk::dynamodb_client_at(&sdk, &endpoint), "absent"));
    let router = Router::new(App::new(store, Arc::new(MemoryMailer::new()), Arc::new(contacts_app::ports::SystemClock), Config::default()));
    let id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    let started = std::time::Instant::now();
    for (method, path, body) in [
        (Method::GET, "/v1/me".to_owned(), json!(null)),
        (Method::GET, "/v1/me/services".to_owned(), json!(null)),
        (Method::POST, "/v1/services/example.com/contact-changes".to_owned(), json!({ "tech": "nn1-ovh" })),
        (Method::POST, format!("/v1/contact-changes/{id}/accept"), json!({ "token": "x" })),
        (Method::POST, format!("/v1/contact-changes/{id}/resend"), json!({})),
    ] {
        let body = if body.is_null() { Value::Null } else { body };
        let (status, headers, problem) = call(&router, method.clone(), &path, "aa1-ovh", body).await;
        assert_unavailable(status, &headers, &problem, 0);
        assert!(!problem["detail"].as_str().unwrap().contains("127.0.0.1"), "the cause stays in the log: {problem}");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "a refused connection must fail fast");
}
