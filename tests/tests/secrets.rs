//! No token ever reaches a log line or a response body: every token the app mails is
//! looked for in everything the app logged and answered while issuing and using it; and no
//! token, address, name or id reaches a metric (the EMF lines of the same calls); and no token,
//! address or name reaches an event the provider's systems are told (issue 19: ids only).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use http::Method;
use integration_tests::{Backend, TestApp, TestResponse, on_every_backend};
use serde_json::json;

on_every_backend!(no_token_reaches_a_log_line_or_a_response_body);

// Not through the functions: it reads this process's log (tests/tests/lambda_rie.rs reads the
// bootstraps' own logs for tokens).

/// Everything logged by this test binary, at every level.
fn captured() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let writer = log.clone();
        tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(move || Capture(writer.clone())).json().init();
        log
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn no_token_reaches_a_log_line_or_a_response_body(backend: Backend) {
    let log = captured();
    let app = TestApp::seeded(backend).await;
    let mut answers: Vec<TestResponse> = Vec::new();

    let created = app.ask("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let id = created.json()["requests"][0]["id"].as_str().unwrap().to_owned();
    answers.push(created);
    let first = app.token_of("nn1-ovh", &id).await;
    // Wrong and misdirected tokens, which are the likeliest to be logged "for debugging".
    answers.push(app.accept(&id, "aa1-ovh", &first).await);
    answers.push(app.accept(&id, "nn1-ovh", &format!("{first}x")).await);
    answers.push(app.post(&format!("/v1/contact-changes/{id}/resend"), "nn1-ovh", json!({})).await);
    answers.push(app.accept(&id, "nn1-ovh", &first).await);
    answers.push(app.get(&format!("/v1/contact-changes/{id}"), "aa1-ovh").await);
    answers.push(app.call(Method::GET, &format!("/confirm/{id}"), None, Bytes::new()).await);
    let fresh = app.token_of("nn1-ovh", &id).await;
    // The page's details, with the live code and a mistyped one.
    for code in [fresh.clone(), format!("{fresh}x")] {
        answers.push(app.call(Method::POST, &format!("/confirm/{id}/details"), None, Bytes::from(format!("token={code}"))).await);
    }
    let form = Bytes::from(format!("token={fresh}&decision=accept"));
    answers.push(app.call(Method::POST, &format!("/confirm/{id}"), None, form.clone()).await);
    answers.push(app.call(Method::POST, &format!("/confirm/{id}"), None, form).await);
    let admin = app.token_of("aa1-ovh", &id).await;
    answers.push(app.accept(&id, "aa1-ovh", &admin).await);
    answers.push(app.get("/v1/me/contact-changes", "nn1-ovh").await);
    assert_eq!(app.request(&id, "aa1-ovh").await["state"], "done", "the flow ran to its end");

    // An email change and its verification, wrong and misdirected codes included.
    let new = format!("ned.new.{}@example.org", app.tag);
    answers.push(app.patch("/v1/me", "nn1-ovh", json!({ "email": new })).await);
    let verification = app.mails().await.into_iter().rev().find(|m| m.to == new).and_then(|m| m.token()).unwrap();
    answers.push(app.post("/v1/me/email-verification", "aa1-ovh", json!({ "token": verification })).await);
    answers.push(app.post("/v1/me/email-verification", "nn1-ovh", json!({ "token": format!("{verification}x") })).await);
    answers.push(app.call(Method::GET, "/verify-email", None, Bytes::new()).await);
    answers.push(app.call(Method::POST, "/verify-email", None, Bytes::from(format!("token={verification}"))).await);
    answers.push(app.call(Method::POST, "/verify-email", None, Bytes::from(format!("token={verification}"))).await);
    let agreement =
        app.mails().await.into_iter().rev().find(|m| m.to == app.email_of("nn1-ovh") && m.text.contains("/verify-email")).and_then(|m| m.token()).unwrap();
    answers.push(app.post("/v1/me/email-verification", "nn1-ovh", json!({ "token": agreement })).await);
    answers.push(app.get("/v1/me", "nn1-ovh").await);
    assert_eq!(app.get("/v1/me", "nn1-ovh").await.json()["email"], new.as_str(), "the email change ran to its end");

    let tokens: Vec<String> = app.mails().await.iter().filter_map(|m| m.token()).collect();
    // The metrics of every call and mailer pass above (each line checked against the EMF
    // specification): nothing in them names anyone or anything, however it is spelled.
    let emf: Vec<String> = app.take_emf().iter().map(|line| line.line.to_string()).collect();
    assert!(emf.iter().any(|line| line.contains("ChangesDone")) && emf.iter().any(|line| line.contains("MailsSent")), "the EMF lines were captured");
    let cast = ["aa1-ovh", "tt1-ovh", "bb1-ovh", "nn1-ovh", "mm1-ovh", "oo1-ovh"];
    let names = ["Ada", "Teo", "Bea", "Ned", "Mia", "Otto", "Admin", "Tecnico", "Billing", "New", "Nouvelle", "Overdue"];
    let mut named: Vec<String> = cast.iter().flat_map(|account| [account.to_string(), app.email_of(account)]).collect();
    named.extend(names.iter().map(|name| name.to_string()));
    named.extend([id.clone(), new.clone(), app.tag.clone(), "example.com".to_owned(), "@".to_owned()]);
    named.extend(tokens.iter().cloned());
    for line in &emf {
        for secret in &named {
            assert!(!line.to_lowercase().contains(&secret.to_lowercase()), "{secret:?} reached an EMF line: {line}");
        }
    }
    assert_eq!(tokens.len(), 6, "two tokens at creation, two more at resend, one to each address of an email change");
    // The events of the same flow, as the bus gets them (their Detail), published on a bus of
    // the test's own: the request's and the profile's, ids only.
    let bus = Arc::new(contacts_app::memory::EventLog::new());
    let publishing = contacts_app::App::new(
        app.store.clone(),
        Arc::new(contacts_app::memory::MemoryMailer::new()),
        app.clock.clone(),
        contacts_app::config::Config::default(),
    )
    .with_publisher(bus.clone());
    publishing.publish_outbox(contacts_app::ports::Clock::now(app.clock.as_ref()) + time::Duration::days(1)).await.unwrap();
    let details: Vec<String> = bus.published().iter().map(contacts_domain::Event::detail).collect();
    let kinds: Vec<&str> = bus.published().iter().map(|event| event.fact.detail_type()).collect();
    assert!(kinds.contains(&"ContactChangeDone") && kinds.contains(&"ProfileEmailVerified"), "the events were published: {kinds:?}");
    let mut secret: Vec<String> = cast.iter().map(|account| app.email_of(account)).collect();
    secret.extend(names.iter().map(|name| name.to_string()));
    secret.extend([new.clone(), app.tag.clone(), "@".to_owned()]);
    secret.extend(tokens.iter().cloned());
    for detail in &details {
        // An event's ids are random ULIDs, whose letters may spell a name ("...BEA..."): what is
        // searched is the detail without them.
        let without_ids = without_ulids(detail).to_lowercase();
        for secret in &secret {
            assert!(!without_ids.contains(&secret.to_lowercase()), "{secret:?} reached an event: {detail}");
        }
    }
    let logged = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    assert!(logged.contains(&id), "the log does record the request (so it was captured)");
    for token in &tokens {
        assert!(!logged.contains(token.as_str()), "a token reached the log");
        for answer in &answers {
            assert!(!answer.text().contains(token.as_str()), "a token reached a response body");
            for (name, value) in &answer.headers {
                assert!(!value.to_str().unwrap_or_default().contains(token.as_str()), "a token reached the {name} header");
            }
        }
    }
}

/// `json` with every string value that is a ULID (a request's, an event's id) emptied.
fn without_ulids(json: &str) -> String {
    fn scrub(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(text) if text.parse::<contacts_domain::RequestId>().is_ok() || is_event_id(text) => text.clear(),
            serde_json::Value::Array(items) => items.iter_mut().for_each(scrub),
            serde_json::Value::Object(fields) => fields.values_mut().for_each(scrub),
            _ => {}
        }
    }
    // An event's own id is `{request}-{version}-{index}` or a bare ULID.
    fn is_event_id(text: &str) -> bool {
        text.split('-').next().is_some_and(|head| head.parse::<contacts_domain::RequestId>().is_ok())
    }
    let mut value: serde_json::Value = serde_json::from_str(json).expect("an event's detail is JSON");
    scrub(&mut value);
    value.to_string()
}
