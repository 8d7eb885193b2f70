//! SPEC §8's access through the router: `GET /v1/me/data` answers everything held about the
//! caller as one document, the profile as `GET /v1/me` shows it, and every request and batch
//! that names it (as requester, party, previous holder or holder told), each as its own GET
//! shows it to the caller, whatever their number; an outsider's holds none of them.

use std::collections::BTreeSet;

use http::{Method, StatusCode};
use integration_tests::{Backend, TestApp, on_every_backend};
use serde_json::{Value, json};

on_every_backend!(
    the_requester_the_new_contact_and_the_previous_holders_find_each_request_whole_and_an_outsider_none,
    a_batch_is_in_the_export_of_everyone_it_names_with_the_parts_each_may_see,
    every_page_of_the_listings_is_read,
    without_a_caller_there_is_no_export,
    a_caller_exports_ten_times_a_window_and_is_then_told_to_wait_alone,
);

/// `GET /v1/me/data` as `caller`: the document, once its headers say it is a file not to keep.
async fn export(app: &TestApp, caller: &str) -> Value {
    let response = app.get("/v1/me/data", caller).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert!(response.header("content-type").is_some_and(|t| t.starts_with("application/json")));
    let document = response.json();
    let day = &document["generated_at"].as_str().expect("generated_at")[..10];
    let file = format!("attachment; filename=\"contacts-data-{caller}-{day}.json\"");
    assert_eq!(response.header("content-disposition"), Some(file.as_str()));
    document
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array().expect("a list").iter().map(|item| item["id"].as_str().expect("an id").to_owned()).collect()
}

fn events(item: &Value) -> Vec<String> {
    item["history"].as_array().expect("a history").iter().map(|entry| entry["event"].as_str().unwrap().to_owned()).collect()
}

/// Each request of the export is what `GET /v1/contact-changes/{id}` shows `caller`, whole.
async fn each_request_as_its_own_get_shows_it(app: &TestApp, caller: &str, document: &Value) {
    for request in document["requests"].as_array().unwrap() {
        let id = request["id"].as_str().unwrap();
        assert_eq!(request, &app.request(id, caller).await, "{caller}'s export of {id}");
    }
}

async fn the_requester_the_new_contact_and_the_previous_holders_find_each_request_whole_and_an_outsider_none(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    // Ada moves the tech role from Teo to Ned (done), then asks Mia to be the billing contact in
    // Bea's place (pending); Ned asks to change his address (pending too).
    let tech = app.ask_ok("example.com", "aa1-ovh", json!({"tech": "nn1-ovh"})).await;
    for party in ["aa1-ovh", "nn1-ovh"] {
        let token = app.token_of(party, &tech).await;
        assert_eq!(app.accept(&tech, party, &token).await.status, StatusCode::OK);
    }
    app.deliver().await;
    // A moment later (ids sort by their time, and the test's clock stands still otherwise).
    app.clock.advance(time::Duration::seconds(1));
    let billing = app.ask_ok("example.com", "aa1-ovh", json!({"billing": "mm1-ovh"})).await;
    let new_address = format!("ned.{}@example.org", app.tag);
    assert_eq!(app.patch("/v1/me", "nn1-ovh", json!({"email": new_address})).await.status, StatusCode::OK);

    let ada = export(&app, "aa1-ovh").await;
    assert_eq!(ada["profile"], app.get("/v1/me", "aa1-ovh").await.json());
    assert_eq!(ids(&ada["requests"]), [billing.as_str(), tech.as_str()], "the requester's, newest first");
    assert!(events(&ada["requests"][1]).contains(&"mailed".to_owned()), "a whole history, its mails' events with it: {}", ada["requests"][1]);
    each_request_as_its_own_get_shows_it(&app, "aa1-ovh", &ada).await;
    assert_eq!((ada["services"][0]["service"].as_str(), ada["services"][0]["my_roles"].clone()), (Some("example.com"), json!(["admin"])));
    assert_eq!(ada["batches"], json!([]));

    let ned = export(&app, "nn1-ovh").await;
    assert_eq!(ned["profile"]["pending_email"], new_address.as_str(), "the profile with its pending address");
    assert_eq!(ned["profile"], app.get("/v1/me", "nn1-ovh").await.json());
    assert_eq!(ids(&ned["requests"]), [tech.as_str()], "the new contact's, and not the billing change that does not name him");
    assert_eq!(ned["requests"][0]["state"], "done");
    each_request_as_its_own_get_shows_it(&app, "nn1-ovh", &ned).await;
    assert_eq!(ned["services"][0]["my_roles"], json!(["tech"]));

    // The previous holders, each told of one change.
    for (holder, only) in [("tt1-ovh", &tech), ("bb1-ovh", &billing)] {
        let export = export(&app, holder).await;
        assert_eq!(ids(&export["requests"]), [only.as_str()], "{holder}");
        assert_eq!(export["requests"][0]["informed"], json!([holder]));
        each_request_as_its_own_get_shows_it(&app, holder, &export).await;
    }
    assert_eq!(export(&app, "tt1-ovh").await["services"], json!([]), "Teo holds no role any more");
    let mia = export(&app, "mm1-ovh").await;
    assert_eq!((ids(&mia["requests"]), mia["requests"][0]["state"].as_str()), (vec![billing.clone()], Some("pending")), "the new contact's, still awaited");

    let otto = export(&app, "oo1-ovh").await;
    assert_eq!(otto["profile"], app.get("/v1/me", "oo1-ovh").await.json());
    assert_eq!((otto["requests"].clone(), otto["batches"].clone(), otto["services"].clone()), (json!([]), json!([]), json!([])), "an outsider's: {otto}");
}

/// Ada (aa1) is admin of four services; Teo (tt1) holds the tech role of a.example and
/// b.example, Tina (tt2) of c.example and d.example.
async fn four_services(backend: Backend) -> TestApp {
    let app = TestApp::seeded(backend).await;
    let service = |name: &str, tech: &str| json!({"name": name, "admin": "aa1-ovh", "tech": tech, "billing": "bb1-ovh"});
    app.load(&json!({
        "accounts": [{"id": "tt2-ovh", "name": "Tina Tech", "email": app.email_of("tt2-ovh"), "language": "en", "payment_status": "ok"}],
        "services": [service("a.example", "tt1-ovh"), service("b.example", "tt1-ovh"), service("c.example", "tt2-ovh"), service("d.example", "tt2-ovh")]
    }))
    .await;
    app
}

async fn a_batch_is_in_the_export_of_everyone_it_names_with_the_parts_each_may_see(backend: Backend) {
    let app = four_services(backend).await;
    let body = json!({"services": ["a.example", "b.example", "c.example", "d.example"], "tech": "nn1-ovh"});
    let created = app.post("/v1/contact-change-batches", "aa1-ovh", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let created = created.json();
    let batch = created["batch"]["id"].as_str().unwrap().to_owned();
    let part: Vec<String> = created["parts"].as_array().unwrap().iter().map(|p| p["request"].as_str().unwrap().to_owned()).collect();
    app.deliver().await;
    for party in ["aa1-ovh", "nn1-ovh"] {
        let token = app.token_of(party, &batch).await;
        let answered = app.post(&format!("/v1/contact-change-batches/{batch}/accept"), party, json!({ "token": token })).await;
        assert_eq!(answered.status, StatusCode::OK, "{}", answered.text());
    }
    app.deliver().await;

    // Its requester and its parties see every part; each holder told, its own services' parts.
    for (caller, parts) in [("aa1-ovh", &part[..]), ("nn1-ovh", &part[..]), ("tt1-ovh", &part[..2]), ("tt2-ovh", &part[2..])] {
        let export = export(&app, caller).await;
        assert_eq!(ids(&export["batches"]), [batch.as_str()], "{caller}");
        let seen = app.get(&format!("/v1/contact-change-batches/{batch}"), caller).await.json();
        assert_eq!(export["batches"][0], seen, "{caller}'s export of the batch is what its GET shows {caller}");
        assert!(events(&seen).contains(&"mailed".to_owned()), "a whole history, its mails' events with it: {seen}");
        let listed: BTreeSet<String> = ids(&export["requests"]).into_iter().collect();
        assert_eq!(listed, parts.iter().cloned().collect(), "{caller}: the parts it may see, each a request of its own");
        assert!(export["requests"].as_array().unwrap().iter().all(|r| r["batch"] == batch.as_str() && r["state"] == "done"));
        each_request_as_its_own_get_shows_it(&app, caller, &export).await;
    }
    let ned = export(&app, "nn1-ovh").await;
    let held: Vec<&str> = ned["services"].as_array().unwrap().iter().map(|s| s["service"].as_str().unwrap()).collect();
    assert_eq!(held, ["a.example", "b.example", "c.example", "d.example"]);
    let outsider = export(&app, "mm1-ovh").await;
    assert_eq!((outsider["batches"].clone(), outsider["requests"].clone()), (json!([]), json!([])));
}

async fn every_page_of_the_listings_is_read(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    // One more service, request and batch than a page of the listings holds.
    let count = contacts_app::PAGE_SIZE + 1;
    let names: Vec<String> = (0..count).map(|i| format!("s{i:02}.example")).collect();
    let services: Vec<Value> = names.iter().map(|name| json!({"name": name, "admin": "aa1-ovh", "tech": "tt1-ovh", "billing": "bb1-ovh"})).collect();
    app.load(&json!({ "services": services })).await;
    let mut requests = Vec::new();
    let mut batches = Vec::new();
    for name in &names {
        let asked = app.ask(name, "aa1-ovh", json!({"tech": "nn1-ovh"})).await;
        assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.text());
        requests.push(asked.json()["requests"][0]["id"].as_str().unwrap().to_owned());
        let batch = app.post("/v1/contact-change-batches", "aa1-ovh", json!({"services": [name], "billing": "mm1-ovh"})).await;
        assert_eq!(batch.status, StatusCode::CREATED, "{}", batch.text());
        batches.push(batch.json()["batch"]["id"].as_str().unwrap().to_owned());
    }
    let newest_first = |mut ids: Vec<String>| {
        ids.sort_by(|a, b| b.cmp(a));
        ids
    };
    let (requests, batches) = (newest_first(requests), newest_first(batches));

    let ada = export(&app, "aa1-ovh").await;
    assert_eq!(ids(&ada["batches"]), batches, "every batch, newest first");
    let standalone: Vec<String> =
        ada["requests"].as_array().unwrap().iter().filter(|r| r["batch"].is_null()).map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(standalone, requests, "every request, newest first");
    assert_eq!(ada["requests"].as_array().unwrap().len(), 2 * count, "and every batch's part");
    assert_eq!(ada["services"].as_array().unwrap().len(), count + 1, "every service: example.com and the others");
    let ned = export(&app, "nn1-ovh").await;
    assert_eq!((ids(&ned["requests"]), ned["batches"].clone()), (requests, json!([])));
    let mia = export(&app, "mm1-ovh").await;
    assert_eq!((ids(&mia["batches"]), mia["requests"].as_array().unwrap().len()), (batches, count));
}

async fn without_a_caller_there_is_no_export(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let nobody = app.call(Method::GET, "/v1/me/data", None, bytes::Bytes::new()).await;
    assert_eq!((nobody.status, nobody.code()), (StatusCode::UNAUTHORIZED, "unauthenticated".to_owned()));
    assert!(nobody.header("content-disposition").is_none());
    let unknown = app.get("/v1/me/data", "zz9-ovh").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "no profile, no export: {}", unknown.text());
}

/// Each export reads everything held about the caller again: a stolen session or a script
/// looping it gets `ATTEMPT_LIMIT` a window, then 429 with the wait, and nobody else is held off.
async fn a_caller_exports_ten_times_a_window_and_is_then_told_to_wait_alone(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    for _ in 0..contacts_domain::limits::ATTEMPT_LIMIT {
        export(&app, "aa1-ovh").await;
    }
    let held_off = app.get("/v1/me/data", "aa1-ovh").await;
    assert_eq!((held_off.status, held_off.code().as_str()), (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"), "{}", held_off.text());
    let wait: u64 = held_off.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!((1..=900).contains(&wait), "{wait}");
    export(&app, "nn1-ovh").await;
    assert_eq!(app.get("/v1/me", "aa1-ovh").await.status, StatusCode::OK, "only the export is held off");
}
