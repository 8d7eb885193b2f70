//! SPEC §4, no mail lost: every mail a change implies is posted in the change's own write,
//! and the mailer sends each one once, with a code minted as it goes, whatever fails.

use std::sync::Arc;

use contacts_app::config::Config;
use contacts_app::ports::{Clock, Mailer, Outbox};
use contacts_app::{App, Delivery};
use contacts_aws::{SesMailer, sdk};
use contacts_domain::MailId;
use http::StatusCode;
use integration_tests::{Backend, Emulators, SentMail, TestApp, on_every_backend};
use serde_json::json;
use time::Duration;

on_every_backend!(
    a_create_whose_write_fails_posts_no_mail,
    a_confirmation_of_a_request_closed_before_it_went_is_never_sent_but_the_outcome_is,
    ;
    // Not through the functions: the_same_mail_delivered_twice_at_once_goes_once and
    // a_mail_whose_mailer_died_goes_again_once_its_lease_lapses (they run the mailer's use case in
    // process, the latter moving the clock), a_resend_before_the_first_mails_went_sends_only_the_new_round_and_its_codes_work
    // (it counts the mails the pass superseded, which the mailer function does not answer),
    // a_mail_that_keeps_failing_is_given_up_and_recorded_mail_failed and a_throttled_mail_is_never_given_up
    // (they make the mail service fail), the_sweep_delivers_what_the_stream_left_behind (it moves the clock).
    not_through_the_functions:
    the_same_mail_delivered_twice_at_once_goes_once,
    a_resend_before_the_first_mails_went_sends_only_the_new_round_and_its_codes_work,
    a_mail_whose_mailer_died_goes_again_once_its_lease_lapses,
    a_mail_that_keeps_failing_is_given_up_and_recorded_mail_failed,
    a_throttled_mail_is_never_given_up,
    the_sweep_delivers_what_the_stream_left_behind,
);

fn events(request: &serde_json::Value) -> Vec<String> {
    request["history"].as_array().unwrap().iter().map(|h| h["event"].as_str().unwrap().to_owned()).collect()
}

async fn a_create_whose_write_fails_posts_no_mail(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let sent = app.sent_mails().await.len();
    // The tech role is held by a pending request: this create's transaction is refused.
    let refused = app.ask("example.com", "aa1-ovh", json!({ "tech": "mm1-ovh" })).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text());
    assert_eq!(Outbox::<MailId>::unsent(&*app.store, app.clock.now(), 100).await.unwrap(), vec![], "nothing posted");
    app.deliver().await;
    assert_eq!(app.sent_mails().await.len(), sent, "the pass sent nothing");
    assert!(app.mails_to("mm1-ovh").await.is_empty(), "Mia hears of no request");
}

async fn the_same_mail_delivered_twice_at_once_goes_once(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let created = app.ask("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let posted = Outbox::<MailId>::unsent(&*app.store, app.clock.now(), 100).await.unwrap();
    assert_eq!(posted.len(), 3);
    let mailer = app.router.app();
    for id in &posted {
        let (first, second) = tokio::join!(mailer.deliver(id), mailer.deliver(id));
        let mut outcomes = [first.unwrap(), second.unwrap()];
        outcomes.sort_by_key(|d| *d == Delivery::Sent);
        assert_eq!(outcomes, [Delivery::Skipped, Delivery::Sent], "one claim wins");
        assert_eq!(mailer.deliver(id).await.unwrap(), Delivery::Skipped, "settled: never again");
    }
    assert_eq!(app.sent_mails().await.len(), 3);
    let id = created.json()["requests"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(events(&app.request(&id, "aa1-ovh").await).iter().filter(|e| *e == "mailed").count(), 3);
}

async fn a_resend_before_the_first_mails_went_sends_only_the_new_round_and_its_codes_work(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let created = app.ask("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let id = created.json()["requests"][0]["id"].as_str().unwrap().to_owned();
    let resent = app.post(&format!("/v1/contact-changes/{id}/resend"), "aa1-ovh", json!({})).await;
    assert_eq!(resent.status, StatusCode::ACCEPTED, "{}", resent.text());
    let report = app.outbox_pass().await;
    assert_eq!((report.sent, report.settled), (3, 2), "the notice and the new round go; the first round is superseded: {report:?}");
    for party in ["aa1-ovh", "nn1-ovh"] {
        let coded: Vec<SentMail> = app.sent_mails().await.into_iter().filter(|m| m.to == app.email_of(party) && m.token().is_some()).collect();
        assert_eq!(coded.len(), 1, "{party} got one code, the live one");
        assert_eq!(app.accept(&id, party, &coded[0].token().unwrap()).await.status, StatusCode::OK);
    }
    assert_eq!(app.contacts("example.com", "aa1-ovh").await["tech"], "nn1-ovh");
}

async fn a_confirmation_of_a_request_closed_before_it_went_is_never_sent_but_the_outcome_is(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let created = app.ask("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let id = created.json()["requests"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(app.post(&format!("/v1/contact-changes/{id}/cancel"), "aa1-ovh", json!({})).await.status, StatusCode::OK);
    app.deliver().await;
    let to_ned = app.sent_mails().await.into_iter().filter(|m| m.to == app.email_of("nn1-ovh")).collect::<Vec<_>>();
    assert_eq!(to_ned.len(), 1, "{to_ned:?}");
    assert!(to_ned[0].subject.contains("cancelled") && to_ned[0].token().is_none(), "only the outcome: {}", to_ned[0].subject);
    let history = events(&app.request(&id, "aa1-ovh").await);
    assert_eq!(history.iter().filter(|e| *e == "mailed").count(), 3, "the notice and two outcomes: {history:?}");
}

async fn a_mail_whose_mailer_died_goes_again_once_its_lease_lapses(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    app.ask("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let posted = Outbox::<MailId>::unsent(&*app.store, app.clock.now(), 100).await.unwrap();
    // A mailer claims the first mail, then dies before sending it.
    let now = app.clock.now();
    let claimed = app.store.claim(&posted[0], now, now + Duration::seconds(120)).await.unwrap();
    assert!(claimed.is_some_and(|order| order.attempts == 1));
    assert_eq!(app.outbox_pass().await.sent, 2, "the others go; the claimed one waits for its lease");
    app.clock.advance(Duration::seconds(121));
    assert_eq!(app.outbox_pass().await.sent, 1, "then it goes");
    assert_eq!(app.sent_mails().await.len(), 3);
}

async fn a_mail_that_keeps_failing_is_given_up_and_recorded_mail_failed(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let created = app.ask("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let id = created.json()["requests"][0]["id"].as_str().unwrap().to_owned();
    app.set_mail_unavailable(true);
    let mut passes = 0;
    while Outbox::<MailId>::unsent(&*app.store, app.clock.now(), 100).await.unwrap().len() == 3 {
        let report = app.outbox_pass().await;
        assert!(report.interrupted && report.sent == 0);
        passes += 1;
        assert!(passes <= contacts_app::MAIL_ATTEMPTS as usize, "given up after MAIL_ATTEMPTS claims");
    }
    assert_eq!(passes, contacts_app::MAIL_ATTEMPTS as usize, "each pass tried the oldest mail once more");
    let history = events(&app.request(&id, "aa1-ovh").await);
    assert_eq!(history.iter().filter(|e| *e == "mail_failed").count(), 1, "{history:?}");
    app.set_mail_unavailable(false);
    assert_eq!(app.outbox_pass().await.sent, 2, "the others go when the mail service is back");
}

/// SES's throttling says "later", never "no": a mail throttled for longer than
/// `MAIL_ATTEMPTS` claims is still handed back each time, and goes once SES takes mail again.
async fn a_throttled_mail_is_never_given_up(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let created = app.ask("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let id = created.json()["requests"][0]["id"].as_str().unwrap().to_owned();
    app.set_mail_throttled(true);
    for _ in 0..contacts_app::MAIL_ATTEMPTS + 5 {
        let report = app.outbox_pass().await;
        assert!(report.interrupted && report.sent == 0 && report.settled == 0, "{report:?}");
    }
    assert_eq!(Outbox::<MailId>::unsent(&*app.store, app.clock.now(), 100).await.unwrap().len(), 3, "none given up");
    app.set_mail_throttled(false);
    assert_eq!(app.outbox_pass().await.sent, 3);
    let history = events(&app.request(&id, "aa1-ovh").await);
    assert!(!history.iter().any(|e| e == "mail_failed"), "{history:?}");
}

async fn the_sweep_delivers_what_the_stream_left_behind(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    app.ask("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let sweep = app.router.app().sweep().await.unwrap();
    assert_eq!(sweep.redelivered, 0, "just posted: the stream's mailer has it");
    app.clock.advance(contacts_app::OUTBOX_REDRIVE_AFTER);
    let sweep = app.router.app().sweep().await.unwrap();
    assert_eq!(sweep.redelivered, 3, "{sweep:?}");
    assert_eq!(app.sent_mails().await.len(), 3);
}

/// The mail service down (SES on a closed port) while a change is made: the change answers
/// at once, and when SES is back the mails go with no resend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_ses_down_a_change_is_made_at_once_and_its_mails_go_when_ses_is_back() {
    let app = TestApp::seeded(Backend::Aws).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let sdk = sdk::emulator_sdk_config().await;
    let down: Arc<dyn Mailer> = Arc::new(SesMailer::new(sdk::ses_client_at(&sdk, &format!("http://{closed}")), None));
    let config = Config { public_base_url: "https://contacts.test".to_owned(), ..Config::default() };
    let without_ses = App::new(app.store.clone(), down, app.clock.clone(), config);

    let started = std::time::Instant::now();
    let asked = contacts_api::Router::new(without_ses.clone());
    let request = contacts_api::ApiRequest {
        method: http::Method::POST,
        path: "/v1/services/example.com/contact-changes".to_owned(),
        query: None,
        headers: http::HeaderMap::new(),
        body: bytes::Bytes::from(json!({ "tech": "nn1-ovh" }).to_string()),
        caller: contacts_api::Caller::customer(Some("aa1-ovh")),
        source: None,
    };
    let response = asked.handle(request).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "no mail service on the request's path: {:?}", started.elapsed());
    let report = without_ses.deliver_outbox(app.clock.now()).await.unwrap();
    assert!(report.interrupted && report.sent == 0, "{report:?}");
    assert!(app.sent_mails().await.is_empty());

    Emulators::from_env();
    assert_eq!(app.outbox_pass().await.sent, 3, "SES is back: the mails go, nobody pressed resend");
    for party in ["aa1-ovh", "nn1-ovh"] {
        assert!(app.mails_to(party).await.iter().any(|m| m.token().is_some()), "{party} has its code");
    }
}
