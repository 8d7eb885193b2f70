//! SPEC §7's largest batch through the router on every store. A binary of its own, the last
//! cargo runs: on DynamoDB Local it leaves the emulator slower for every suite after it (the
//! contact_changes suite took 100 s after it against 36 s without it, 2026-12-07, even with its
//! table deleted), and the test command shares one DynamoDB Local between all suites.

use http::StatusCode;
use integration_tests::{Backend, TestApp, on_every_backend};
use serde_json::{Value, json};

on_every_backend!(a_thousand_services_move_with_one_code_per_party_and_a_few_mails);

/// SPEC §7's largest batch: 1,000 services, their tech roles held by ten accounts, moved to Ned.
async fn a_thousand_services_move_with_one_code_per_party_and_a_few_mails(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let holders: Vec<String> = (0..10).map(|i| format!("th{i}-ovh")).collect();
    let accounts: Vec<Value> =
        holders.iter().map(|id| json!({"id": id, "name": "Tech Holder", "email": app.email_of(id), "language": "it", "payment_status": "ok"})).collect();
    let names: Vec<String> = (0..contacts_domain::batch::MAX_SERVICES).map(|i| format!("s{i:04}.example")).collect();
    let services: Vec<Value> =
        names.iter().enumerate().map(|(i, name)| json!({"name": name, "admin": "aa1-ovh", "tech": holders[i % 10], "billing": "bb1-ovh"})).collect();
    app.load(&json!({"accounts": accounts, "services": services})).await;
    let created = app.post("/v1/contact-change-batches", "aa1-ovh", json!({"services": names, "tech": "nn1-ovh"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["batch"]["id"].as_str().unwrap().to_owned();
    app.deliver().await;
    assert_eq!(app.mails().await.len(), 12, "two parties and ten holders told, not thousands");
    for party in ["aa1-ovh", "nn1-ovh"] {
        let token = app.token_of(party, &id).await;
        let answered = app.post(&format!("/v1/contact-change-batches/{id}/accept"), party, json!({ "token": token })).await;
        let (status, answered) = (answered.status, answered.json());
        assert_eq!(status, StatusCode::OK, "{answered}");
    }
    let done = app.get(&format!("/v1/contact-change-batches/{id}"), "aa1-ovh").await.json();
    assert_eq!(done["state"], "done");
    assert!(done["parts"].as_array().unwrap().iter().all(|part| part["state"] == "done"));
    for name in [&names[0], &names[499], &names[999]] {
        assert_eq!(app.contacts(name, "aa1-ovh").await["tech"], "nn1-ovh", "{name}");
    }
    app.deliver().await;
    assert_eq!(app.mails().await.len(), 24, "one closing mail each");
    app.drop_table().await;
}
