//! Issue 17: every metric the code emits, driven through its use case on every backend and read
//! back from the EMF line the invocation printed (`TestApp::take_emf`, which checks each line
//! against the EMF specification): the function and reason dimensions, and the values.

use std::sync::Arc;

use contacts_telemetry::{DEFAULT_NAMESPACE, Metric};
use http::StatusCode;
use integration_tests::{Backend, Emf, TestApp, on_every_backend};
use serde_json::json;

on_every_backend!(
    a_request_asked_is_requested_on_the_create_functions_line_with_its_latency,
    each_acceptance_is_accepted_and_the_last_one_done,
    a_refusal_is_refused,
    a_cancellation_is_cancelled,
    a_request_the_sweep_ends_is_expired_and_so_is_one_a_reader_finds_past_expiry,
    a_change_that_cannot_take_effect_is_failed_by_its_reason,
    mails_the_service_took_are_sent_and_mails_it_could_not_take_are_retried,
    mails_the_service_refuses_are_refused_and_failed,
    a_mail_given_up_after_its_attempts_is_failed,
    a_bounce_marking_an_address_is_counted_on_the_bounces_line,
    a_code_that_matches_no_token_is_a_wrong_code,
    a_limits_refusal_is_rate_limited_by_reason,
    the_namespace_is_the_configured_one,
);

// None through the functions: they read the EMF lines in process (tests/tests/lambda_rie.rs reads
// the bootstraps' own).

/// The lines of the last invocation of `function` since the last take: its main line (by
/// function) and its lines by reason.
fn lines_of(app: &TestApp, function: &str) -> (Emf, Vec<Emf>) {
    let lines: Vec<Emf> = app.take_emf().into_iter().filter(|line| line.dimension("function") == Some(function)).collect();
    let main = lines.iter().rposition(|line| line.dimensions == ["function"]).unwrap_or_else(|| panic!("no line of {function}: {lines:?}"));
    let by_reason = lines[main + 1..].to_vec();
    (lines[main].clone(), by_reason)
}

/// The value of `metric` on the line, zero when the line leaves it out (as CloudWatch reads it).
fn value(line: &Emf, metric: Metric) -> f64 {
    line.get(metric).unwrap_or(0.0)
}

const OUTCOMES: [Metric; 7] = Metric::OUTCOMES;

/// Exactly these outcomes (metric, count) on the line, and no other.
fn assert_outcomes(line: &Emf, expected: &[(Metric, f64)]) {
    for metric in OUTCOMES {
        let want = expected.iter().find(|(m, _)| *m == metric).map_or(0.0, |(_, n)| *n);
        assert_eq!(value(line, metric), want, "{}: {}", metric.name(), line.line);
    }
}

async fn a_request_asked_is_requested_on_the_create_functions_line_with_its_latency(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    app.take_emf();
    let created = app.ask("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh", "billing": "nn1-ovh" })).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let (line, by_reason) = lines_of(&app, "create");
    assert_outcomes(&line, &[(Metric::ChangesRequested, 2.0)]);
    assert!(by_reason.is_empty());
    assert_eq!(line.namespace, DEFAULT_NAMESPACE);
    let (latency, unit) = &line.metrics["Latency"];
    assert!(*latency > 0.0 && *latency < 60_000.0 && unit == "Milliseconds", "{}", line.line);
    assert_eq!(line.metrics["ChangesRequested"].1, "Count");
    // No mail is sent on the request's path: the outbox's mailer sends them.
    assert_eq!(value(&line, Metric::MailsSent), 0.0);
    match backend {
        Backend::Memory => assert_eq!(value(&line, Metric::DynamoCalls), 0.0),
        Backend::Aws => assert!(value(&line, Metric::DynamoCalls) >= 2.0, "the reads and the transaction: {}", line.line),
        Backend::Lambda => unreachable!("the EMF lines are read in process: not through the functions"),
    }
    // A refused ask is no request.
    let again = app.ask("example.com", "aa1-ovh", json!({ "tech": "mm1-ovh" })).await;
    assert_eq!(again.code(), "pending_exists");
    assert_outcomes(&lines_of(&app, "create").0, &[]);
}

async fn each_acceptance_is_accepted_and_the_last_one_done(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let token = app.token_of("nn1-ovh", &id).await;
    app.take_emf();
    assert_eq!(app.accept(&id, "nn1-ovh", &token).await.status, StatusCode::OK);
    assert_outcomes(&lines_of(&app, "confirm").0, &[(Metric::ChangesAccepted, 1.0)]);
    let token = app.token_of("aa1-ovh", &id).await;
    app.take_emf();
    assert_eq!(app.accept(&id, "aa1-ovh", &token).await.json()["state"], "done");
    assert_outcomes(&lines_of(&app, "confirm").0, &[(Metric::ChangesAccepted, 1.0), (Metric::ChangesDone, 1.0)]);
    // The same code again, on a request that is done: refused, and no acceptance.
    assert_eq!(app.accept(&id, "aa1-ovh", &token).await.status.as_u16() / 100, 4);
    assert_outcomes(&lines_of(&app, "confirm").0, &[]);
}

async fn a_refusal_is_refused(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let token = app.token_of("nn1-ovh", &id).await;
    app.take_emf();
    assert_eq!(app.refuse(&id, "nn1-ovh", &token).await.json()["state"], "refused");
    assert_outcomes(&lines_of(&app, "confirm").0, &[(Metric::ChangesRefused, 1.0)]);
}

async fn a_cancellation_is_cancelled(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    app.take_emf();
    let cancelled = app.post(&format!("/v1/contact-changes/{id}/cancel"), "aa1-ovh", json!({})).await;
    assert_eq!(cancelled.json()["state"], "cancelled", "{}", cancelled.text());
    assert_outcomes(&lines_of(&app, "confirm").0, &[(Metric::ChangesCancelled, 1.0)]);
}

async fn a_request_the_sweep_ends_is_expired_and_so_is_one_a_reader_finds_past_expiry(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let swept = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    app.clock.advance(time::Duration::days(7));
    app.take_emf();
    assert_eq!(app.sweep().await.expired, 1);
    let (line, _) = lines_of(&app, "sweeper");
    assert_outcomes(&line, &[(Metric::ChangesExpired, 1.0)]);
    assert!(value(&line, Metric::MailsSent) == 0.0, "the expiry notices go through the outbox");
    let _ = swept;

    // A second one, which a party finds expired before any sweep does.
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let token = app.token_of("nn1-ovh", &id).await;
    app.clock.advance(time::Duration::days(7));
    app.take_emf();
    assert_eq!(app.accept(&id, "nn1-ovh", &token).await.code(), "expired");
    assert_outcomes(&lines_of(&app, "confirm").0, &[(Metric::ChangesExpired, 1.0)]);
    assert_eq!(app.sweep().await.expired, 0, "ended once");
    assert_outcomes(&lines_of(&app, "sweeper").0, &[]);
}

async fn a_change_that_cannot_take_effect_is_failed_by_its_reason(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    app.load(&json!({"services": [{"name": "example.com", "admin": "aa1-ovh", "tech": "mm1-ovh", "billing": "bb1-ovh"}]})).await;
    let token = app.token_of("nn1-ovh", &id).await;
    assert_eq!(app.accept(&id, "nn1-ovh", &token).await.status, StatusCode::OK);
    let token = app.token_of("aa1-ovh", &id).await;
    app.take_emf();
    assert_eq!(app.accept(&id, "aa1-ovh", &token).await.json()["reason"], "holders_changed");
    let (line, by_reason) = lines_of(&app, "confirm");
    assert_outcomes(&line, &[(Metric::ChangesAccepted, 1.0), (Metric::ChangesFailed, 1.0)]);
    assert_eq!(by_reason.len(), 1, "{by_reason:?}");
    assert_eq!(by_reason[0].dimensions, ["function", "reason"]);
    assert_eq!((by_reason[0].dimension("reason"), by_reason[0].get(Metric::ChangesFailed)), (Some("holders_changed"), Some(1.0)));
    assert_eq!(by_reason[0].metrics.len(), 1, "only the metric of the reason: {}", by_reason[0].line);
}

async fn mails_the_service_took_are_sent_and_mails_it_could_not_take_are_retried(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    app.ask("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    app.set_mail_unavailable(true);
    app.take_emf();
    let report = app.outbox_pass().await;
    assert!(report.interrupted && report.sent == 0);
    let (line, _) = lines_of(&app, "mailer");
    assert_eq!((value(&line, Metric::MailsRetried), value(&line, Metric::MailsSent)), (1.0, 0.0), "the pass stops at the first: {}", line.line);
    app.set_mail_unavailable(false);
    assert_eq!(app.outbox_pass().await.sent, 3, "Ada's and Ned's codes, Teo told");
    let (line, _) = lines_of(&app, "mailer");
    assert_eq!((value(&line, Metric::MailsSent), value(&line, Metric::MailsRetried), value(&line, Metric::MailsFailed)), (3.0, 0.0, 0.0));
    // A pass with nothing to send counts no mail.
    app.deliver().await;
    assert_eq!(value(&lines_of(&app, "mailer").0, Metric::MailsSent), 0.0);
}

async fn mails_the_service_refuses_are_refused_and_failed(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    app.ask("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    app.set_mail_refused(true);
    app.take_emf();
    assert_eq!(app.outbox_pass().await.settled, 3);
    let (line, _) = lines_of(&app, "mailer");
    let counts = [Metric::MailsSent, Metric::MailsRefused, Metric::MailsFailed, Metric::MailsRetried].map(|m| value(&line, m));
    assert_eq!(counts, [0.0, 3.0, 3.0, 0.0], "{}", line.line);
}

async fn a_mail_given_up_after_its_attempts_is_failed(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    app.ask("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    app.set_mail_unavailable(true);
    for _ in 1..contacts_app::MAIL_ATTEMPTS {
        assert!(app.outbox_pass().await.interrupted);
    }
    app.take_emf();
    // The last attempt still fails, and the mail is given up on: failed, not refused by the
    // mail service, not handed back. A pass over the outbox, as the attempts before it (the
    // stream's mailer would try the two other mails of its batch too: two retried).
    app.outbox_pass().await;
    let (line, _) = lines_of(&app, "mailer");
    let counts = [Metric::MailsFailed, Metric::MailsRefused, Metric::MailsSent].map(|m| value(&line, m));
    assert_eq!(counts[..], [1.0, 0.0, 0.0], "{}", line.line);
    assert!(value(&line, Metric::MailsRetried) <= 1.0, "at most the next mail's first try: {}", line.line);
}

async fn a_bounce_marking_an_address_is_counted_on_the_bounces_line(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let address = app.email_of("nn1-ovh");
    app.take_emf();
    assert_eq!(app.deliver_ses_event(TestApp::bounce_event("nn1-ovh", &address, "Permanent")).await, 1);
    assert_eq!(value(&lines_of(&app, "bounces").0, Metric::AddressesBouncing), 1.0);
    // A transient bounce marks nothing, and counts nothing.
    assert_eq!(app.deliver_ses_event(TestApp::bounce_event("mm1-ovh", &app.email_of("mm1-ovh"), "Transient")).await, 0);
    assert_eq!(value(&lines_of(&app, "bounces").0, Metric::AddressesBouncing), 0.0);
}

async fn a_code_that_matches_no_token_is_a_wrong_code(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let token = app.token_of("nn1-ovh", &id).await;
    app.take_emf();
    assert_eq!(app.accept(&id, "nn1-ovh", &format!("{token}x")).await.code(), "token_mismatch");
    let (line, _) = lines_of(&app, "confirm");
    assert_eq!(value(&line, Metric::WrongCodes), 1.0);
    assert_outcomes(&line, &[]);
    // Another's code, from the profile's verification too.
    assert_eq!(app.post("/v1/me/email-verification", "nn1-ovh", json!({ "token": token })).await.code(), "token_mismatch");
    assert_eq!(value(&lines_of(&app, "profile").0, Metric::WrongCodes), 1.0);
    assert_eq!(app.accept(&id, "nn1-ovh", &token).await.status, StatusCode::OK);
    assert_eq!(value(&lines_of(&app, "confirm").0, Metric::WrongCodes), 0.0);
}

async fn a_limits_refusal_is_rate_limited_by_reason(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let path = format!("/v1/contact-changes/{id}/resend");
    assert_eq!(app.post(&path, "aa1-ovh", json!({})).await.status, StatusCode::ACCEPTED);
    let (line, by_reason) = lines_of(&app, "resend");
    assert_eq!((value(&line, Metric::RateLimited), by_reason.len()), (0.0, 0));
    assert_eq!(app.post(&path, "aa1-ovh", json!({})).await.status, StatusCode::TOO_MANY_REQUESTS);
    let (line, by_reason) = lines_of(&app, "resend");
    assert_eq!(value(&line, Metric::RateLimited), 1.0);
    assert_eq!(by_reason.len(), 1, "{by_reason:?}");
    assert_eq!((by_reason[0].dimension("reason"), by_reason[0].get(Metric::RateLimited)), (Some("too_soon"), Some(1.0)));

    // Ten wrong codes, then the caller's eleventh try is held off: too_many_attempts.
    for _ in 0..10 {
        app.accept(&id, "nn1-ovh", "not-a-code").await;
    }
    app.take_emf();
    assert_eq!(app.accept(&id, "nn1-ovh", "not-a-code").await.code(), "too_many_attempts");
    let (line, by_reason) = lines_of(&app, "confirm");
    assert_eq!((value(&line, Metric::RateLimited), value(&line, Metric::WrongCodes)), (1.0, 0.0));
    assert_eq!(by_reason.iter().map(|l| l.dimension("reason")).collect::<Vec<_>>(), [Some("too_many_attempts")]);
}

async fn the_namespace_is_the_configured_one(backend: Backend) {
    let app = TestApp::seeded_with(backend, |c| c.metrics_namespace = "Acme/Contacts".to_owned()).await;
    app.get("/v1/me", "aa1-ovh").await;
    let (line, _) = lines_of(&app, "read");
    assert_eq!(line.namespace, "Acme/Contacts");
    assert_outcomes(&line, &[]);
}

// ---- DynamoDB's own: on DynamoDB Local only ------------------------------------------------------

/// A request to an account of another zone than the previous holder's is refused by the
/// transaction's condition (the zones are the write's to check; a role another request holds is
/// told from create's first read, the lock's condition standing only against a race).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_its_condition_refuses_is_a_conditional_failure_on_dynamodb() {
    let app = TestApp::seeded(Backend::Aws).await;
    let canadian = json!({"name": "Mia Nouvelle", "email": app.email_of("mm1-ovh"), "language": "fr", "zone": "ca"});
    assert_eq!(app.provider_put("/internal/accounts/mm1-ovh", canadian).await.status, StatusCode::OK);
    app.get("/v1/me", "aa1-ovh").await;
    let (read, _) = lines_of(&app, "read");
    assert_eq!((value(&read, Metric::DynamoCalls), value(&read, Metric::DynamoConditionalFailures)), (1.0, 0.0), "{}", read.line);
    assert_eq!(app.ask("example.com", "aa1-ovh", json!({ "tech": "mm1-ovh" })).await.code(), "different_zone");
    let (line, _) = lines_of(&app, "create");
    assert_eq!(value(&line, Metric::DynamoConditionalFailures), 1.0, "{}", line.line);
    assert_eq!(value(&line, Metric::DynamoRetries), 0.0, "a condition's refusal is never retried");
}

/// A DynamoDB that throttles every call (a local stand-in answering as DynamoDB does): the SDK
/// tries each call three times, which is two retries, and the caller gets a 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdks_retries_of_a_throttled_call_are_dynamodb_retries() {
    let endpoint = throttling_dynamodb().await;
    let sdk = contacts_aws::sdk::emulator_sdk_config().await;
    let store = Arc::new(contacts_aws::DynamoStore::new(contacts_aws::sdk::dynamodb_client_at(&sdk, &endpoint), "contacts-throttled".to_owned()));
    let config = contacts_app::config::Config::default();
    let app = contacts_app::App::new(store, Arc::new(contacts_app::memory::MemoryMailer::new()), Arc::new(contacts_app::ports::SystemClock), config);
    let router = contacts_api::Router::new(app);
    let request = contacts_api::ApiRequest {
        method: http::Method::GET,
        path: "/v1/me".to_owned(),
        query: None,
        headers: http::HeaderMap::new(),
        body: bytes::Bytes::new(),
        caller: contacts_api::Caller::Customer("aa1-ovh".to_owned()),
        source: None,
    };
    let (response, invocation) = contacts_telemetry::measure("read", router.handle(request)).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let line = Emf::parse(&invocation.emf(DEFAULT_NAMESPACE, std::time::SystemTime::now())[0]);
    assert_eq!((value(&line, Metric::DynamoCalls), value(&line, Metric::DynamoRetries)), (1.0, 2.0), "{}", line.line);
    assert_eq!(value(&line, Metric::DynamoConditionalFailures), 0.0);
}

/// An HTTP endpoint on the loopback interface that answers every request as a throttled
/// DynamoDB does (400, `ProvisionedThroughputExceededException`).
async fn throttling_dynamodb() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                // The headers, then as much body as they announce.
                loop {
                    let Ok(n) = stream.read(&mut buffer).await else { return };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..n]);
                    let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                    let length: usize = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
                let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#;
                let answer = format!(
                    "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    format!("http://{address}")
}
