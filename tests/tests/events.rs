//! Issue 19: the provider's systems are told. Every outcome of a request, every profile change
//! the provider does not know and every erasure of an account (SPEC §8) publishes exactly its
//! documented event (docs/events.md, checked against the schema here), once; a write that fails
//! publishes nothing; a publication the bus fails is tried again under the same id; no event
//! holds a token, an address or a name.
//! On every backend, through the API, with the publisher's use case on an in-process bus.

use std::collections::BTreeSet;
use std::sync::Arc;

use contacts_app::config::Config;
use contacts_app::memory::{EventLog, MemoryMailer};
use contacts_app::ports::Clock;
use contacts_app::{App, EVENTS_REDRIVE_AFTER};
use contacts_domain::Event;
use http::StatusCode;
use integration_tests::{Backend, TestApp, on_every_backend};
use serde_json::{Value, json};
use time::Duration;

on_every_backend!(
    every_outcome_and_profile_change_publishes_exactly_its_documented_event_once,
    a_write_that_fails_publishes_nothing,
    a_publication_the_bus_fails_is_tried_again_under_the_same_id_and_the_sweep_redrives_what_the_stream_left,
    a_batch_publishes_its_own_two_events_and_each_part_a_requests,
);

// None through the functions: they read the bus in process (an EventLog) and make it fail, and
// one moves the clock. Through the functions, every deliver() runs the publisher on the stream.

/// The publisher's use case on `app`'s store and clock, with its bus: what the stream's
/// publisher function does (the API's app has no bus, as the HTTP functions have none).
fn publisher(app: &TestApp) -> (App, Arc<EventLog>) {
    let bus = Arc::new(EventLog::new());
    let publishing = App::new(app.store.clone(), Arc::new(MemoryMailer::new()), app.clock.clone(), Config::default()).with_publisher(bus.clone());
    (publishing, bus)
}

/// Publishes everything committed so far; the bus's events since the last call, checked
/// against the schema.
async fn published(publishing: &App, bus: &EventLog, seen: &mut usize, app: &TestApp) -> Vec<Value> {
    let report = publishing.publish_outbox(app.clock.now() + Duration::days(1)).await.expect("the outbox is read");
    assert!(report.failed.is_empty(), "{report:?}");
    let all = bus.published();
    let new: Vec<Value> = all[*seen..].iter().map(checked).collect();
    *seen = all.len();
    new
}

/// `event`'s `Detail` as the bus gets it, after checking it is docs/events.md's: version 1,
/// exactly the fields of its type, each of its kind; ids only.
fn checked(event: &Event) -> Value {
    let detail: Value = serde_json::from_str(&event.detail()).expect("the detail is JSON");
    let kind = detail["type"].as_str().expect("a type");
    assert_eq!(kind, event.fact.detail_type(), "the DetailType is the detail's type");
    let fields: BTreeSet<&str> = detail.as_object().expect("an object").keys().map(String::as_str).collect();
    let mut expected: BTreeSet<&str> = ["schema", "id", "type", "at"].into();
    match kind {
        "ContactChangeRequested" | "ContactChangeDone" | "ContactChangeRefused" | "ContactChangeCancelled" | "ContactChangeExpired" | "ContactChangeFailed" => {
            expected.extend(["request", "service", "roles", "from", "to", "requester", "state", "reason"]);
            let state = match kind {
                "ContactChangeRequested" => "pending",
                other => &other["ContactChange".len()..],
            };
            assert_eq!(detail["state"].as_str().map(str::to_lowercase), Some(state.to_lowercase()), "{detail}");
            assert_eq!(detail["reason"].is_null(), kind != "ContactChangeFailed", "a reason exactly when it failed: {detail}");
            assert!(detail["roles"].as_array().is_some_and(|roles| !roles.is_empty()), "{detail}");
            let request = detail["request"].as_str().expect("a request id");
            let id = detail["id"].as_str().unwrap();
            assert!(id.starts_with(&format!("{request}-")), "a request's event id is derived from it: {id}");
        }
        "BatchRequested" | "BatchClosed" => {
            expected.extend(["batch", "roles", "to", "requester", "state", "requests"]);
            assert_eq!(detail["state"] == "pending", kind == "BatchRequested", "{detail}");
            assert!(detail["requests"].as_array().is_some_and(|requests| !requests.is_empty()), "{detail}");
            let batch = detail["batch"].as_str().expect("a batch id");
            assert!(detail["id"].as_str().unwrap().starts_with(&format!("{batch}-")), "a batch's event id is derived from it: {detail}");
        }
        "ProfileEmailVerified" | "AccountErased" => {
            expected.insert("account");
        }
        "ProfileLanguageChanged" => expected.extend(["account", "language"]),
        other => panic!("an undocumented type {other}"),
    }
    assert_eq!(fields, expected, "{detail}");
    assert_eq!(detail["schema"], 1);
    assert!(time::OffsetDateTime::parse(detail["at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).is_ok(), "{detail}");
    // Ids only: no address, and every other value is an id, a state, a role, a language, a time.
    let text = detail.to_string();
    assert!(!text.contains('@'), "an address in {detail}");
    for name in ["Ada", "Teo", "Bea", "Ned", "Mia", "Otto"] {
        assert!(!text.contains(name), "a name in {detail}");
    }
    detail
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|event| event["type"].as_str().unwrap()).collect()
}

async fn every_outcome_and_profile_change_publishes_exactly_its_documented_event_once(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let (publishing, bus) = publisher(&app);
    let mut seen = 0;
    let mut all = Vec::new();

    // Requested, then refused.
    let refused = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let events = published(&publishing, &bus, &mut seen, &app).await;
    assert_eq!(types(&events), ["ContactChangeRequested"]);
    let expected = json!({
        "schema": 1, "id": format!("{refused}-0-0"), "type": "ContactChangeRequested", "at": events[0]["at"],
        "request": refused, "service": "example.com", "roles": ["tech"], "from": "tt1-ovh", "to": "nn1-ovh", "requester": "aa1-ovh",
        "state": "pending", "reason": null,
    });
    assert_eq!(events[0], expected);
    all.extend(events);
    let token = app.token_of("nn1-ovh", &refused).await;
    assert_eq!(app.refuse(&refused, "nn1-ovh", &token).await.status, StatusCode::OK);
    let events = published(&publishing, &bus, &mut seen, &app).await;
    assert_eq!(types(&events), ["ContactChangeRefused"]);
    assert_eq!((events[0]["request"].as_str(), events[0]["state"].as_str()), (Some(refused.as_str()), Some("refused")));
    all.extend(events);

    // Cancelled.
    let cancelled = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    assert_eq!(app.post(&format!("/v1/contact-changes/{cancelled}/cancel"), "aa1-ovh", json!({})).await.status, StatusCode::OK);
    let events = published(&publishing, &bus, &mut seen, &app).await;
    assert_eq!(types(&events), ["ContactChangeRequested", "ContactChangeCancelled"]);
    all.extend(events);

    // Done: the tech role moves to Ned.
    let done = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    for party in ["aa1-ovh", "nn1-ovh"] {
        let token = app.token_of(party, &done).await;
        assert_eq!(app.accept(&done, party, &token).await.status, StatusCode::OK);
    }
    let events = published(&publishing, &bus, &mut seen, &app).await;
    assert_eq!(types(&events), ["ContactChangeRequested", "ContactChangeDone"], "an acceptance publishes nothing; the change that took effect does");
    assert_eq!((events[1]["from"].as_str(), events[1]["to"].as_str(), events[1]["state"].as_str()), (Some("tt1-ovh"), Some("nn1-ovh"), Some("done")));
    all.extend(events);

    // Failed: the billing role changes hands before the last acceptance.
    let failed = app.ask_ok("example.com", "aa1-ovh", json!({ "billing": "mm1-ovh" })).await;
    app.load(&json!({"services": [{"name": "example.com", "admin": "aa1-ovh", "tech": "nn1-ovh", "billing": "oo1-ovh"}]})).await;
    let parties: Vec<String> =
        app.request(&failed, "aa1-ovh").await["parties"].as_array().unwrap().iter().map(|p| p["account"].as_str().unwrap().to_owned()).collect();
    for party in &parties {
        let token = app.token_of(party, &failed).await;
        app.accept(&failed, party, &token).await;
    }
    let events = published(&publishing, &bus, &mut seen, &app).await;
    assert_eq!(types(&events), ["ContactChangeRequested", "ContactChangeFailed"]);
    assert_eq!((events[1]["state"].as_str(), events[1]["reason"].as_str()), (Some("failed"), Some("holders_changed")));
    all.extend(events);

    // Expired: the sweep ends it.
    let expired = app.ask_ok("example.com", "nn1-ovh", json!({ "tech": "mm1-ovh" })).await;
    app.clock.advance(app.router.app().config().token_ttl + Duration::seconds(1));
    assert_eq!(app.sweep().await.expired, 1);
    let events = published(&publishing, &bus, &mut seen, &app).await;
    assert_eq!(types(&events), ["ContactChangeRequested", "ContactChangeExpired"]);
    assert_eq!((events[1]["request"].as_str(), events[1]["requester"].as_str()), (Some(expired.as_str()), Some("nn1-ovh")));
    all.extend(events);

    // The profile: a new language once (the same one again publishes nothing), a verified address.
    assert_eq!(app.patch("/v1/me", "nn1-ovh", json!({ "language": "it" })).await.status, StatusCode::OK);
    assert_eq!(app.patch("/v1/me", "nn1-ovh", json!({ "language": "it" })).await.status, StatusCode::OK);
    let new = format!("ned.new.{}@example.org", app.tag);
    assert_eq!(app.patch("/v1/me", "nn1-ovh", json!({ "email": new })).await.status, StatusCode::OK);
    let events = published(&publishing, &bus, &mut seen, &app).await;
    assert_eq!(types(&events), ["ProfileLanguageChanged"], "asking for an address is no change yet");
    assert_eq!((events[0]["account"].as_str(), events[0]["language"].as_str()), (Some("nn1-ovh"), Some("it")));
    all.extend(events);
    let token = app.mails().await.into_iter().rev().find(|m| m.to == new).and_then(|m| m.token()).expect("the verification mail");
    assert_eq!(app.post("/v1/me/email-verification", "nn1-ovh", json!({ "token": token })).await.status, StatusCode::OK);
    assert_eq!(types(&published(&publishing, &bus, &mut seen, &app).await), Vec::<&str>::new(), "one code of two is no change yet");
    let agreed = app.mails().await.into_iter().rev().find(|m| m.to == app.email_of("nn1-ovh") && m.text.contains("/verify-email")).and_then(|m| m.token());
    assert_eq!(app.post("/v1/me/email-verification", "nn1-ovh", json!({ "token": agreed.expect("the agreement mail") })).await.status, StatusCode::OK);
    let events = published(&publishing, &bus, &mut seen, &app).await;
    assert_eq!(types(&events), ["ProfileEmailVerified"]);
    assert_eq!(events[0]["account"], "nn1-ovh");
    all.extend(events);

    // An erasure (SPEC §8): refused, it publishes nothing; done, `AccountErased`, ids only.
    assert_eq!(app.provider_delete("/internal/accounts/aa1-ovh").await.status, StatusCode::CONFLICT, "Ada holds a role");
    assert_eq!(types(&published(&publishing, &bus, &mut seen, &app).await), Vec::<&str>::new());
    assert_eq!(app.provider_delete("/internal/accounts/bb1-ovh").await.status, StatusCode::NO_CONTENT, "Bea no longer holds a role");
    let events = published(&publishing, &bus, &mut seen, &app).await;
    assert_eq!(types(&events), ["AccountErased"]);
    assert_eq!(events[0]["account"], "bb1-ovh");
    all.extend(events);

    // Once each: nothing more to publish, and every id is distinct. No token of any mail is in any event.
    assert_eq!(published(&publishing, &bus, &mut seen, &app).await, Vec::<Value>::new());
    let ids: BTreeSet<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), all.len());
    let everything = serde_json::to_string(&all).unwrap();
    for mail in app.mails().await {
        if let Some(token) = mail.token() {
            assert!(!everything.contains(&token), "a token in an event");
        }
    }
}

async fn a_write_that_fails_publishes_nothing(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let (publishing, bus) = publisher(&app);
    let mut seen = 0;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    assert_eq!(types(&published(&publishing, &bus, &mut seen, &app).await), ["ContactChangeRequested"]);
    // Refused writes: a second request on the same role, a wrong code, a cancel by a stranger,
    // a verification with a token that is no one's, a profile of no account.
    assert_eq!(app.ask("example.com", "aa1-ovh", json!({ "tech": "mm1-ovh" })).await.status, StatusCode::CONFLICT);
    let wrong = app.accept(&id, "nn1-ovh", "not-the-token-0000000000000000000000000000").await;
    assert!(wrong.status.is_client_error(), "{}", wrong.text());
    assert!(app.post(&format!("/v1/contact-changes/{id}/cancel"), "mm1-ovh", json!({})).await.status.is_client_error());
    assert!(app.post("/v1/me/email-verification", "nn1-ovh", json!({ "token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" })).await.status.is_client_error());
    assert!(app.patch("/v1/me", "zz9-ovh", json!({ "language": "fr" })).await.status.is_client_error());
    assert_eq!(published(&publishing, &bus, &mut seen, &app).await, Vec::<Value>::new(), "no failed write published anything");
}

async fn a_publication_the_bus_fails_is_tried_again_under_the_same_id_and_the_sweep_redrives_what_the_stream_left(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let (publishing, bus) = publisher(&app);
    let first = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let second = app.ask_ok("example.com", "aa1-ovh", json!({ "billing": "mm1-ovh" })).await;
    let mut committed: Vec<String> = contacts_app::ports::Outbox::<contacts_domain::EventId>::unsent(&*app.store, app.clock.now(), 10)
        .await
        .unwrap()
        .iter()
        .map(|id| id.as_str().to_owned())
        .collect();
    committed.sort();
    let mut expected = [format!("{first}-0-0"), format!("{second}-0-0")];
    expected.sort();
    assert_eq!(committed, expected);
    // In the order the stream would hand them over: the first request's, then the second's.
    let ids = [format!("{first}-0-0"), format!("{second}-0-0")].map(|id| contacts_domain::EventId::parse(&id).unwrap());

    // One PutEvents of both, the bus failing the first entry only: the second is published, the
    // first handed back.
    bus.fail_entries(1);
    let report = publishing.publish(&ids).await.unwrap();
    assert_eq!((report.published.clone(), report.failed.clone()), (vec![ids[1].clone()], vec![ids[0].clone()]));
    // The bus down: the first fails again, and stays to publish.
    bus.set_unavailable(true);
    assert_eq!(publishing.publish(&ids).await.unwrap().failed, vec![ids[0].clone()], "the second was published already: not tried");
    bus.set_unavailable(false);
    // The stream's retry gave up; the sweep, once the event is old enough, redrives it.
    let sweeping = publishing.clone();
    app.clock.advance(Duration::minutes(1));
    assert_eq!(sweeping.sweep().await.unwrap().republished, 0, "not the sweep's yet: the stream's publisher may still take it");
    app.clock.advance(EVENTS_REDRIVE_AFTER);
    assert_eq!(sweeping.sweep().await.unwrap().republished, 1);
    // Each once on the bus, under the id it was committed with.
    let published: Vec<String> = bus.published().iter().map(|event| event.id.as_str().to_owned()).collect();
    assert_eq!(published, [ids[1].as_str(), ids[0].as_str()]);
    let first_event = bus.published()[1].clone();
    assert_eq!((first_event.fact.detail_type(), checked(&first_event)["request"].as_str()), ("ContactChangeRequested", Some(first.as_str())));
    assert_eq!(sweeping.sweep().await.unwrap().republished, 0, "nothing left");
}

async fn a_batch_publishes_its_own_two_events_and_each_part_a_requests(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    app.load(&json!({"services": [{"name": "example.org", "admin": "aa1-ovh", "tech": "tt1-ovh", "billing": "bb1-ovh"}]})).await;
    let (publishing, bus) = publisher(&app);
    let mut seen = 0;
    let created = app.post("/v1/contact-change-batches", "aa1-ovh", json!({"services": ["example.com", "example.org"], "tech": "nn1-ovh"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["batch"]["id"].as_str().unwrap().to_owned();
    let events = published(&publishing, &bus, &mut seen, &app).await;
    let mut kinds = types(&events);
    kinds.sort();
    assert_eq!(kinds, ["BatchRequested", "ContactChangeRequested", "ContactChangeRequested"]);
    let requested = events.iter().find(|e| e["type"] == "BatchRequested").unwrap();
    assert_eq!(
        (requested["batch"].as_str(), requested["to"].as_str(), requested["requests"].as_array().unwrap().len()),
        (Some(id.as_str()), Some("nn1-ovh"), 2)
    );
    for party in ["aa1-ovh", "nn1-ovh"] {
        let token = app.token_of(party, &id).await;
        let answered = app.post(&format!("/v1/contact-change-batches/{id}/accept"), party, json!({ "token": token })).await;
        assert_eq!(answered.status, StatusCode::OK, "{}", answered.text());
    }
    let events = published(&publishing, &bus, &mut seen, &app).await;
    let mut kinds = types(&events);
    kinds.sort();
    assert_eq!(kinds, ["BatchClosed", "ContactChangeDone", "ContactChangeDone"], "each service's change is told as a request's, and the batch's end once");
    assert_eq!(events.iter().find(|e| e["type"] == "BatchClosed").unwrap()["state"], "done");
}
