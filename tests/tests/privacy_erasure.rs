//! SPEC §8, erasure: the provider's `DELETE /internal/accounts/{id}` erases an account, refused
//! (409 `account_in_use`) while it holds a role or a pending request or a batch in progress
//! involves it; afterwards no item of the store holds its name or address (the whole table, or
//! the embedded store, read below the API: `TestApp::stored`), the requests kept name it by id
//! and still read, the id is 404 for the API and `unknown_account` for new requests and
//! upserts, and `AccountErased` is committed. On every backend, through the functions too; the
//! races with creates and upserts on both stores, and an erasure stopped half way on DynamoDB.

use bytes::Bytes;
use contacts_api::Caller;
use http::{Method, StatusCode};
use integration_tests::{Backend, PROVIDER, TestApp, TestResponse, on_every_backend};
use serde_json::{Value, json};

on_every_backend!(
    an_account_is_refused_while_in_use_then_erased_and_nothing_stored_holds_its_name_or_address,
    a_party_of_a_batch_in_progress_is_refused_until_the_batch_ends,
    only_the_providers_systems_may_erase_and_an_unknown_or_malformed_id_is_refused,
    ;
    not_through_the_functions:
    an_erasure_racing_a_create_or_an_upsert_that_names_the_account_never_lets_both_win,
);

/// Zoe, an account the provider adds for the test, and what only she has.
const ZOE: &str = "zz1-ovh";
const ZOE_NAME: &str = "Zoe Zapata";

fn person(app: &TestApp, id: &str, name: &str) -> Value {
    json!({"name": name, "email": app.email_of(id), "language": "en", "payment_status": "ok"})
}

async fn erase(app: &TestApp, account: &str) -> TestResponse {
    app.provider_delete(&format!("/internal/accounts/{account}")).await
}

/// A refused erasure: 409 `account_in_use`, the reason naming `because`.
async fn refused(app: &TestApp, account: &str, because: &str) {
    let response = erase(app, account).await;
    assert_eq!((response.status, response.code().as_str()), (StatusCode::CONFLICT, "account_in_use"), "{account}: {}", response.text());
    assert_eq!(response.header("content-type"), Some("application/problem+json"));
    let detail = response.json()["detail"].as_str().unwrap_or_default().to_owned();
    assert!(detail.contains(because), "{account}: the reason names {because}: {detail}");
}

/// The items of the store that hold any of `needles`.
async fn holding(app: &TestApp, needles: &[&str]) -> Vec<String> {
    app.stored().await.into_iter().filter(|item| needles.iter().any(|needle| item.contains(needle))).collect()
}

async fn an_account_is_refused_while_in_use_then_erased_and_nothing_stored_holds_its_name_or_address(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    assert_eq!(app.provider_put(&format!("/internal/accounts/{ZOE}"), person(&app, ZOE, ZOE_NAME)).await.status, StatusCode::OK);
    let zoes = json!({"admin": ZOE, "tech": ZOE, "billing": ZOE});
    assert_eq!(app.provider_put("/internal/services/zoe.example", zoes).await.status, StatusCode::OK);

    // Holding a role.
    refused(&app, ZOE, "zoe.example").await;
    // The requester of a pending request, and Ned its party, once her roles went elsewhere.
    let request = app.ask_ok("zoe.example", ZOE, json!({"tech": "nn1-ovh"})).await;
    let handed = app.provider_put("/internal/services/zoe.example", json!({"admin": "aa1-ovh", "tech": "aa1-ovh", "billing": "aa1-ovh"})).await;
    assert_eq!(handed.json()["pending_changes"][0]["request"], request.as_str(), "{}", handed.text());
    refused(&app, ZOE, &request).await;
    refused(&app, "nn1-ovh", &request).await;
    // An address change of hers, pending: its address is held too, until the erasure.
    let pending = format!("zoe.new.{}@example.org", app.tag);
    let asked = app.patch("/v1/me", ZOE, json!({"email": pending})).await;
    assert_eq!((asked.status, asked.json()["pending_email"].as_str()), (StatusCode::OK, Some(pending.as_str())), "{}", asked.text());
    let zoe_address = app.email_of(ZOE);
    let traces = [ZOE_NAME, zoe_address.as_str(), pending.as_str()];
    assert!(!holding(&app, &traces).await.is_empty(), "the store held them before");

    // The request closed and no role left: erased.
    assert_eq!(app.post(&format!("/v1/contact-changes/{request}/cancel"), ZOE, json!({})).await.status, StatusCode::OK);
    let erased = erase(&app, ZOE).await;
    assert_eq!(erased.status, StatusCode::NO_CONTENT, "{}", erased.text());
    assert!(erased.body.is_empty());
    app.deliver().await;
    assert_eq!(holding(&app, &traces).await, Vec::<String>::new(), "no item holds her name, her address or her pending address");
    assert!(app.stored().await.iter().any(|item| item.contains("AccountErased") && item.contains(ZOE)), "its event, committed");

    // Kept, the request names her by id and still reads, for Ned.
    let kept = app.request(&request, "nn1-ovh").await;
    assert_eq!((kept["requested_by"].as_str(), kept["state"].as_str()), (Some(ZOE), Some("cancelled")), "{kept}");
    let listed = app.get("/v1/me/contact-changes", "nn1-ovh").await.json();
    assert!(listed["requests"].as_array().unwrap().iter().any(|r| r["id"] == request.as_str()), "{listed}");

    erased_id_is_unknown(&app, ZOE).await;
}

/// After its erasure `account` is 404 for the API and unknown to new requests and upserts.
async fn erased_id_is_unknown(app: &TestApp, account: &str) {
    assert_eq!(app.get("/v1/me", account).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.patch("/v1/me", account, json!({"language": "fr"})).await.status, StatusCode::NOT_FOUND);
    let ask = app.ask("example.com", "aa1-ovh", json!({"tech": account})).await;
    assert_eq!((ask.status, ask.code().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_account"), "{}", ask.text());
    let batch = app.post("/v1/contact-change-batches", "aa1-ovh", json!({"services": ["example.com"], "tech": account})).await;
    assert_eq!((batch.status, batch.code().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_account"), "{}", batch.text());
    let upsert = app.provider_put("/internal/services/again.example", json!({"admin": "aa1-ovh", "tech": account, "billing": "aa1-ovh"})).await;
    assert_eq!((upsert.status, upsert.code().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_account"), "{}", upsert.text());
    let again = erase(app, account).await;
    assert_eq!((again.status, again.code().as_str()), (StatusCode::NOT_FOUND, "not_found"), "once: {}", again.text());
}

async fn a_party_of_a_batch_in_progress_is_refused_until_the_batch_ends(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let created = app.post("/v1/contact-change-batches", "aa1-ovh", json!({"services": ["example.com"], "tech": "mm1-ovh"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let batch = created.json()["batch"]["id"].as_str().unwrap().to_owned();
    refused(&app, "mm1-ovh", &batch).await;
    // Cancelled, its part ends with it: nothing of it is in progress any more.
    assert_eq!(app.post(&format!("/v1/contact-change-batches/{batch}/cancel"), "aa1-ovh", json!({})).await.status, StatusCode::OK);
    let erased = erase(&app, "mm1-ovh").await;
    assert_eq!(erased.status, StatusCode::NO_CONTENT, "{}", erased.text());
    app.deliver().await;
    let mia = app.email_of("mm1-ovh");
    assert_eq!(holding(&app, &["Mia Nouvelle", mia.as_str()]).await, Vec::<String>::new());
    let kept = app.get(&format!("/v1/contact-change-batches/{batch}"), "aa1-ovh").await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text());
    assert_eq!((kept.json()["to"].as_str(), kept.json()["state"].as_str()), (Some("mm1-ovh"), Some("cancelled")));
    erased_id_is_unknown(&app, "mm1-ovh").await;
}

async fn only_the_providers_systems_may_erase_and_an_unknown_or_malformed_id_is_refused(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    // Ned holds nothing: only who asks keeps him from being erased.
    let callers = [
        (Caller::Customer("nn1-ovh".to_owned()), StatusCode::FORBIDDEN, "forbidden"),
        (Caller::Customer("aa1-ovh".to_owned()), StatusCode::FORBIDDEN, "forbidden"),
        (Caller::Anonymous, StatusCode::UNAUTHORIZED, "unauthenticated"),
        (Caller::Provider("arn:aws:iam::123456789012:role/someone-else".to_owned()), StatusCode::FORBIDDEN, "forbidden"),
    ];
    for (caller, status, code) in callers {
        let response = app.call_as(Method::DELETE, "/internal/accounts/nn1-ovh", caller.clone(), Bytes::new()).await;
        assert_eq!((response.status, response.code()), (status, code.to_owned()), "{caller:?}: {}", response.text());
    }
    assert_eq!(app.get("/v1/me", "nn1-ovh").await.status, StatusCode::OK, "nothing was erased");
    let unknown = erase(&app, "zz9-ovh").await;
    assert_eq!((unknown.status, unknown.code().as_str()), (StatusCode::NOT_FOUND, "not_found"));
    let malformed = erase(&app, "not-an-id").await;
    assert_eq!((malformed.status, malformed.code().as_str()), (StatusCode::BAD_REQUEST, "invalid_input"));
    let with_body = app.call_as(Method::DELETE, "/internal/accounts/nn1-ovh", Caller::Provider(PROVIDER.to_owned()), Bytes::from_static(b"{\"x\":1}")).await;
    assert_eq!(with_body.status, StatusCode::BAD_REQUEST, "{}", with_body.text());
    assert_eq!(app.get("/v1/me", "nn1-ovh").await.status, StatusCode::OK);
    // Upper case is the same id, as everywhere.
    assert_eq!(erase(&app, "NN1-OVH").await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/v1/me", "nn1-ovh").await.status, StatusCode::NOT_FOUND);
}

/// The fence (docs/dynamodb.md, "Erasure"): an erasure and a create (or a service upsert) that
/// names the account, at once, many times: one of them wins, never both. A create that won
/// leaves the account in use; an erasure that won leaves the create refused as
/// `unknown_account`.
async fn an_erasure_racing_a_create_or_an_upsert_that_names_the_account_never_lets_both_win(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    for round in 0..6 {
        let account = format!("zr{round}-ovh");
        assert_eq!(app.provider_put(&format!("/internal/accounts/{account}"), person(&app, &account, "Racer")).await.status, StatusCode::OK);
        let (created, erased) = tokio::join!(app.ask("example.com", "aa1-ovh", json!({"tech": account})), erase(&app, &account));
        match (created.status, erased.status) {
            (StatusCode::CREATED, StatusCode::CONFLICT) => {
                assert_eq!(app.get("/v1/me", &account).await.status, StatusCode::OK, "round {round}: not erased");
                let id = created.json()["requests"][0]["id"].as_str().unwrap().to_owned();
                assert_eq!(app.post(&format!("/v1/contact-changes/{id}/cancel"), "aa1-ovh", json!({})).await.status, StatusCode::OK);
            }
            (StatusCode::UNPROCESSABLE_ENTITY, StatusCode::NO_CONTENT) => {
                assert_eq!(created.code(), "unknown_account", "round {round}: {}", created.text());
                assert_eq!(app.get("/v1/me", &account).await.status, StatusCode::NOT_FOUND, "round {round}");
            }
            other => panic!("round {round}: the create and the erasure answered {other:?}: {} / {}", created.text(), erased.text()),
        }

        let holder = format!("zs{round}-ovh");
        assert_eq!(app.provider_put(&format!("/internal/accounts/{holder}"), person(&app, &holder, "Holder")).await.status, StatusCode::OK);
        let service = json!({"admin": "aa1-ovh", "tech": holder, "billing": "aa1-ovh"});
        let path = format!("/internal/services/race{round}.example");
        let (upserted, erased) = tokio::join!(app.provider_put(&path, service), erase(&app, &holder));
        match (upserted.status, erased.status) {
            (StatusCode::OK, StatusCode::CONFLICT) => assert_eq!(app.contacts(&format!("race{round}.example"), "aa1-ovh").await["tech"], holder.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, StatusCode::NO_CONTENT) => assert_eq!(upserted.code(), "unknown_account", "round {round}"),
            other => panic!("round {round}: the upsert and the erasure answered {other:?}: {} / {}", upserted.text(), erased.text()),
        }
    }
}

/// An erasure that stopped after its first step (a crash between its writes) leaves the account
/// readable and fenced: a create or an upsert naming it is `unknown_account` until an erasure
/// runs again and finishes. DynamoDB only: the embedded store erases in one step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_an_erasure_stopped_after_its_mark_fences_creates_and_upserts_until_an_erasure_finishes() {
    let app = TestApp::seeded(Backend::Aws).await;
    let dynamo = app.dynamo.clone().expect("DynamoDB's store");
    let ned = contacts_domain::AccountId::parse("nn1-ovh").unwrap();
    assert!(dynamo.erase_account_partly(&ned, "a crashed erasure").await.unwrap());
    assert_eq!(app.get("/v1/me", "nn1-ovh").await.status, StatusCode::OK, "not erased yet");
    let ask = app.ask("example.com", "aa1-ovh", json!({"tech": "nn1-ovh"})).await;
    assert_eq!((ask.status, ask.code().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_account"), "{}", ask.text());
    let upsert = app.provider_put("/internal/services/fenced.example", json!({"admin": "aa1-ovh", "tech": "nn1-ovh", "billing": "aa1-ovh"})).await;
    assert_eq!((upsert.status, upsert.code().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_account"), "{}", upsert.text());
    assert_eq!(erase(&app, "nn1-ovh").await.status, StatusCode::NO_CONTENT, "an erasure again finishes it");
    assert_eq!(app.get("/v1/me", "nn1-ovh").await.status, StatusCode::NOT_FOUND);
}
