//! `contacts-admin data` (SPEC §8's access, for an account whose data one answer cannot carry):
//! the library gives the route's document on both stores, and the binary writes it once end to
//! end on DynamoDB Local (scripts/test starts it; these tests fail, never skip, without it).

use std::process::{Command, Output};

use contacts_admin::data::{DataError, document};
use contacts_domain::AccountId;
use integration_tests::{Backend, Emulators, TestApp, unique_tag};
use serde_json::{Value, json};

/// The document without the moment it was made.
fn undated(mut document: Value) -> Value {
    document.as_object_mut().expect("an object").remove("generated_at");
    document
}

async fn the_document_is_the_routes_whole(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    app.deliver().await;
    let ada = AccountId::parse("aa1-ovh").unwrap();
    let written: Value = serde_json::from_slice(&document(app.router.app(), &ada).await.expect("a document")).expect("JSON");
    assert_eq!(written["requests"][0]["id"], id.as_str(), "{written}");
    let answered = app.get("/v1/me/data", "aa1-ovh").await.json();
    assert_eq!(undated(written), undated(answered), "the same document as GET /v1/me/data");
    let nobody = AccountId::parse("zz9-ovh").unwrap();
    assert!(matches!(document(app.router.app(), &nobody).await, Err(DataError::NoSuchAccount)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_the_document_is_the_routes_whole() {
    the_document_is_the_routes_whole(Backend::Memory).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_the_document_is_the_routes_whole() {
    the_document_is_the_routes_whole(Backend::Aws).await
}

fn admin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_contacts-admin")).args(args).env_remove("TABLE_NAME").output().expect("contacts-admin runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_writes_an_accounts_document_and_exits_with_the_documented_codes() {
    Emulators::from_env();
    let tag = unique_tag();
    let table = format!("contacts-admin-data-{tag}");
    let dir = std::env::temp_dir().join(format!("contacts-admin-data-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let cast = dir.join("cast.jsonl");
    let account = |id: &str, name: &str| format!(r#"{{"kind":"account","id":"{id}","name":"{name}","email":"{id}.{tag}@example.com"}}"#);
    let service = r#"{"kind":"service","name":"example.com","admin":"aa1-ovh","tech":"nn1-ovh","billing":"aa1-ovh"}"#;
    std::fs::write(&cast, [account("aa1-ovh", "Ada"), account("nn1-ovh", "Ned"), service.to_owned()].join("\n")).unwrap();
    let loaded = admin(&["import", cast.to_str().unwrap(), "--table", &table, "--create-table"]);
    assert_eq!(loaded.status.code(), Some(0), "{}", String::from_utf8_lossy(&loaded.stderr));

    let out = dir.join("ada.json");
    let written = admin(&["data", "aa1-ovh", "--table", &table, "--out", out.to_str().unwrap()]);
    assert_eq!(written.status.code(), Some(0), "{}", String::from_utf8_lossy(&written.stderr));
    let ada: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).expect("JSON");
    assert_eq!((ada["profile"]["account"].as_str(), ada["profile"]["name"].as_str()), (Some("aa1-ovh"), Some("Ada")), "{ada}");
    assert_eq!(ada["services"][0]["service"], "example.com", "{ada}");
    let to_stdout = admin(&["data", "nn1-ovh", "--table", &table]);
    assert_eq!(serde_json::from_slice::<Value>(&to_stdout.stdout).expect("JSON")["profile"]["name"], "Ned");

    assert_eq!(admin(&["data", "zz9-ovh", "--table", &table]).status.code(), Some(1), "no such account");
    assert_eq!(admin(&["data", "not an id", "--table", &table]).status.code(), Some(1));
    assert_eq!(admin(&["data", "aa1-ovh", "--table", "no-such-table"]).status.code(), Some(3));
    assert_eq!(admin(&["data", "--table", &table]).status.code(), Some(2), "no ACCOUNT");
}
