//! SPEC §8's retention: a closed request (or batch) and everything of it is kept
//! `RETENTION_SECONDS` after it closed, then it is absent from every read and listing, and the
//! sweep deletes every item of it that the table's TTL has not yet. Each test reads the API, then
//! below it: the whole store (a Scan of the DynamoDB table), for the ids that should be gone.

use http::StatusCode;
use integration_tests::{Backend, TestApp, on_every_backend};
use serde_json::{Value, json};
use time::Duration;

on_every_backend!(
    ;
    // They move the clock, which the functions under the RIE do not share.
    not_through_the_functions:
    a_closed_request_is_gone_everywhere_once_its_retention_ends,
    a_closed_batch_and_its_parts_are_gone_everywhere_once_its_retention_ends,
);

/// An app that keeps what closed for one minute, the shortest retention.
async fn kept_a_minute(backend: Backend) -> TestApp {
    TestApp::seeded_with(backend, |config| config.retention = contacts_domain::Retention::new(Duration::minutes(1)).unwrap()).await
}

/// How many of the store's items mention `id`.
async fn items_naming(app: &TestApp, id: &str) -> usize {
    app.stored().await.iter().filter(|item| item.contains(id)).count()
}

fn listed(list: &Value, key: &str, id: &str) -> bool {
    list[key].as_array().unwrap_or_else(|| panic!("no {key} in {list}")).iter().any(|entry| entry["id"] == id)
}

/// Ada asks for Ned as technical contact of example.com, and both accept: the request's id.
async fn done_request(app: &TestApp) -> String {
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    app.deliver().await;
    for party in ["aa1-ovh", "nn1-ovh"] {
        let token = app.token_of(party, &id).await;
        assert_eq!(app.accept(&id, party, &token).await.status, StatusCode::OK);
    }
    app.deliver().await;
    id
}

async fn a_closed_request_is_gone_everywhere_once_its_retention_ends(backend: Backend) {
    let app = kept_a_minute(backend).await;
    let done = done_request(&app).await;
    // Closed 30 s later: kept 30 s longer. And one still pending, which no retention touches.
    app.clock.advance(Duration::seconds(30));
    let refused = app.ask_ok("example.com", "aa1-ovh", json!({ "billing": "mm1-ovh" })).await;
    app.deliver().await;
    let token = app.token_of("mm1-ovh", &refused).await;
    assert_eq!(app.refuse(&refused, "mm1-ovh", &token).await.status, StatusCode::OK);
    let pending = app.ask_ok("example.com", "aa1-ovh", json!({ "admin": "mm1-ovh" })).await;
    app.deliver().await;
    assert!(items_naming(&app, &done).await > 0, "the request, its copies and its mails are stored");

    app.clock.advance(Duration::seconds(29));
    assert_eq!(app.get(&format!("/v1/contact-changes/{done}"), "aa1-ovh").await.status, StatusCode::OK, "kept until its retention ends");
    assert_eq!(app.sweep().await.purged, 0);

    app.clock.advance(Duration::seconds(1));
    for reader in ["aa1-ovh", "nn1-ovh", "tt1-ovh"] {
        let read = app.get(&format!("/v1/contact-changes/{done}"), reader).await;
        assert_eq!(read.status, StatusCode::NOT_FOUND, "{reader}: {}", read.text());
        let mine = app.get("/v1/me/contact-changes", reader).await.json();
        assert!(!listed(&mine, "requests", &done), "{reader} still lists it: {mine}");
    }
    assert_eq!(app.call(http::Method::GET, &format!("/confirm/{done}"), None, bytes::Bytes::new()).await.status, StatusCode::NOT_FOUND);
    let data = app.get("/v1/me/data", "nn1-ovh").await.json();
    assert!(!listed(&data, "requests", &done), "nor in the export: {data}");
    let mine = app.get("/v1/me/contact-changes", "aa1-ovh").await.json();
    assert!(listed(&mine, "requests", &refused) && listed(&mine, "requests", &pending), "the others are listed: {mine}");

    assert_eq!(app.sweep().await.purged, 1);
    assert_eq!(
        items_naming(&app, &done).await,
        0,
        "every item of it is deleted: {:?}",
        app.stored().await.iter().filter(|i| i.contains(&done)).collect::<Vec<_>>()
    );
    assert!(items_naming(&app, &refused).await > 0 && items_naming(&app, &pending).await > 0, "the others are kept");

    // The one closed later goes 30 s later; the pending one stays, whatever the time.
    app.clock.advance(Duration::seconds(30));
    assert_eq!(app.get(&format!("/v1/contact-changes/{refused}"), "aa1-ovh").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.sweep().await.purged, 1);
    assert_eq!(items_naming(&app, &refused).await, 0);
    assert_eq!(app.request(&pending, "aa1-ovh").await["state"], "pending");
}

async fn a_closed_batch_and_its_parts_are_gone_everywhere_once_its_retention_ends(backend: Backend) {
    let app = kept_a_minute(backend).await;
    let service = |name: &str| json!({"name": name, "admin": "aa1-ovh", "tech": "tt1-ovh", "billing": "bb1-ovh"});
    app.load(&json!({"services": [service("a.example"), service("b.example")]})).await;
    let created = app.post("/v1/contact-change-batches", "aa1-ovh", json!({"services": ["a.example", "b.example"], "tech": "nn1-ovh"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let created = created.json();
    let id = created["batch"]["id"].as_str().unwrap().to_owned();
    let parts: Vec<String> = created["parts"].as_array().unwrap().iter().map(|p| p["request"].as_str().unwrap().to_owned()).collect();
    app.deliver().await;
    let token = app.token_of("nn1-ovh", &id).await;
    let refused = app.post(&format!("/v1/contact-change-batches/{id}/refuse"), "nn1-ovh", json!({ "token": token })).await;
    assert_eq!(refused.json()["state"], "refused", "{}", refused.text());
    // The sweep ends the parts the refusal left to it, and the mails go.
    app.sweep().await;
    app.deliver().await;
    assert!(items_naming(&app, &id).await > 0 && items_naming(&app, &parts[0]).await > 0);

    app.clock.advance(Duration::seconds(60));
    assert_eq!(app.get(&format!("/v1/contact-change-batches/{id}"), "aa1-ovh").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/v1/contact-changes/{}", parts[0]), "aa1-ovh").await.status, StatusCode::NOT_FOUND);
    for reader in ["aa1-ovh", "nn1-ovh", "tt1-ovh"] {
        let mine = app.get("/v1/me/contact-change-batches", reader).await.json();
        assert!(!listed(&mine, "batches", &id), "{reader} still lists it: {mine}");
        let data = app.get("/v1/me/data", reader).await.json();
        assert!(!listed(&data, "batches", &id) && !listed(&data, "requests", &parts[0]), "{reader}'s export still has it: {data}");
    }

    assert_eq!(app.sweep().await.purged, 1);
    for gone in std::iter::once(&id).chain(&parts) {
        let left: Vec<String> = app.stored().await.into_iter().filter(|item| item.contains(gone.as_str())).collect();
        assert!(left.is_empty(), "items of {gone} left: {left:?}");
    }
    // The services and their contacts are not the batch's: they stay.
    assert_eq!(app.contacts("a.example", "aa1-ovh").await["tech"], "tt1-ovh");
}
