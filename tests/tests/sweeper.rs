//! SPEC §3, "nothing waits on a reader": the sweep ends what expired and reminds what is about
//! to, by itself, on every backend.

use contacts_app::SweepReport;
use contacts_domain::ServiceName;
use http::StatusCode;
use integration_tests::{Backend, TestApp, on_every_backend};
use serde_json::json;
use time::Duration;

on_every_backend!(
    a_sweep_leaves_a_request_within_its_time_alone,
    ;
    // Not through the functions: the others move the clock (tests/tests/lambda_rie.rs's sweeper test
    // ends a request made expired through its bootstrap).
    not_through_the_functions:
    the_sweep_ends_an_expired_request_nobody_reads_releases_its_lock_and_tells_every_party_and_the_requester,
    a_request_near_expiry_gets_one_reminder_per_awaited_party_whose_fresh_code_works_and_the_old_one_does_not,
    a_closed_request_is_never_swept,
    no_reminders_when_reminder_before_is_zero,
);

fn events(request: &serde_json::Value) -> Vec<String> {
    request["history"].as_array().unwrap().iter().map(|h| h["event"].as_str().unwrap().to_owned()).collect()
}

async fn sweep(app: &TestApp) -> SweepReport {
    app.router.app().sweep().await.expect("the sweep runs")
}

async fn the_sweep_ends_an_expired_request_nobody_reads_releases_its_lock_and_tells_every_party_and_the_requester(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let before = app.mails().await.len();
    app.clock.advance(Duration::days(7));

    assert_eq!(sweep(&app).await, SweepReport { expired: 1, ..SweepReport::default() });

    let locks = app.store.service(&ServiceName::parse("example.com").unwrap()).await.unwrap().unwrap().locks;
    assert!(locks.is_empty(), "the lock is released: {locks:?}");
    let stored = app.store.contact_change(id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.state.as_str(), "expired", "ended in the store, not only as read");
    let mails = app.mails().await;
    assert_eq!(mails.len(), before + 2, "{mails:?}");
    for account in ["aa1-ovh", "nn1-ovh"] {
        let last = app.mails_to(account).await.pop().unwrap();
        assert!(last.subject.starts_with("Contact change expired"), "{account}: {}", last.subject);
        assert!(last.token().is_none(), "no code in an expiry notice");
    }
    assert!(events(&app.request(&id, "aa1-ovh").await).contains(&"expired".to_owned()));
    assert_eq!(sweep(&app).await, SweepReport::default(), "once");
    assert_eq!(app.mails().await.len(), before + 2);
}

async fn a_request_near_expiry_gets_one_reminder_per_awaited_party_whose_fresh_code_works_and_the_old_one_does_not(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let admin_token = app.token_of("aa1-ovh", &id).await;
    assert_eq!(app.accept(&id, "aa1-ovh", &admin_token).await.status, StatusCode::OK);
    let old = app.token_of("nn1-ovh", &id).await;
    let before = app.mails().await.len();

    app.clock.advance(Duration::days(5));
    assert_eq!(sweep(&app).await, SweepReport::default(), "two days before expiry: not yet");
    app.clock.advance(Duration::hours(1) + Duration::days(1));
    assert_eq!(sweep(&app).await, SweepReport { reminded: 1, ..SweepReport::default() });

    let mails = app.mails().await;
    assert_eq!(mails.len(), before + 1, "only the awaited party: {mails:?}");
    let reminder = app.mails_to("nn1-ovh").await.pop().unwrap();
    assert!(reminder.subject.starts_with("Reminder: please confirm"), "{}", reminder.subject);
    assert!(reminder.text.contains(&format!("https://contacts.test/confirm/{id}#token=")), "{}", reminder.text);
    let fresh = reminder.token().expect("a fresh code");
    assert_ne!(fresh, old);

    assert_eq!(sweep(&app).await, SweepReport::default(), "no second reminder");
    assert_eq!(app.mails().await.len(), before + 1);

    let with_old = app.accept(&id, "nn1-ovh", &old).await;
    assert_eq!(with_old.status, StatusCode::FORBIDDEN, "{}", with_old.text());
    let done = app.accept(&id, "nn1-ovh", &fresh).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert_eq!(done.json()["state"], "done");
    let history = events(&done.json());
    assert_eq!(history.iter().filter(|e| *e == "reminded").count(), 1, "{history:?}");
    assert!(!history.contains(&"resent".to_owned()), "a reminder is not a resend");
}

async fn a_closed_request_is_never_swept(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let refused = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let token = app.token_of("nn1-ovh", &refused).await;
    assert_eq!(app.refuse(&refused, "nn1-ovh", &token).await.status, StatusCode::OK);
    let done = app.ask_ok("example.com", "aa1-ovh", json!({ "billing": "aa1-ovh" })).await;
    let token = app.token_of("aa1-ovh", &done).await;
    assert_eq!(app.accept(&done, "aa1-ovh", &token).await.json()["state"], "done");
    let before = app.mails().await.len();

    app.clock.advance(Duration::days(6) + Duration::hours(1));
    assert_eq!(sweep(&app).await, SweepReport::default());
    app.clock.advance(Duration::days(2));
    assert_eq!(sweep(&app).await, SweepReport::default());
    assert_eq!(app.mails().await.len(), before);
    assert_eq!(app.request(&refused, "aa1-ovh").await["state"], "refused");
    assert_eq!(app.request(&done, "aa1-ovh").await["state"], "done");
}

async fn no_reminders_when_reminder_before_is_zero(backend: Backend) {
    let app = TestApp::seeded_with(backend, |config| config.reminder_before = Duration::ZERO).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    app.clock.advance(Duration::days(7) - Duration::minutes(1));
    assert_eq!(sweep(&app).await, SweepReport::default());
    app.clock.advance(Duration::minutes(1));
    assert_eq!(sweep(&app).await, SweepReport { expired: 1, ..SweepReport::default() });
    assert!(!events(&app.request(&id, "aa1-ovh").await).contains(&"reminded".to_owned()));
}

async fn a_sweep_leaves_a_request_within_its_time_alone(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let mails = app.mails().await.len();
    // As the schedule runs it (through the sweeper function on Backend::Lambda): nothing due.
    assert_eq!(app.sweep().await, SweepReport::default());
    let request = app.request(&id, "aa1-ovh").await;
    assert_eq!(request["state"], "pending");
    assert!(!events(&request).iter().any(|e| e == "expired" || e == "reminded"), "{request}");
    assert_eq!(app.mails().await.len(), mails, "nobody is mailed");
}
