//! The internal API (issue: provisioning): the provider's billing and provisioning systems
//! upsert accounts and services with `PUT /internal/...`, validated as the importer validates,
//! authorised as the provider's systems and never as a customer. Through the router, on every
//! backend; `lambda_rie.rs` runs the same routes in the built function with IAM's request
//! context, `local_server.rs` through contacts-local's `/_local/...`.

use bytes::Bytes;
use contacts_api::Caller;
use http::{Method, StatusCode};
use integration_tests::{Backend, PROVIDER, TestApp, on_every_backend};
use serde_json::{Value, json};

on_every_backend!(
    an_account_is_created_then_replaced_and_the_customer_sees_it,
    a_service_is_created_then_moved_and_the_holders_listings_follow,
    an_upsert_that_moves_a_pending_role_names_the_request_which_then_fails,
    an_upsert_that_leaves_the_pending_role_alone_reports_nothing_and_the_request_completes,
    bad_input_is_refused_with_a_reason_and_changes_nothing,
    only_the_providers_systems_may_call_it_and_they_are_no_customer,
    with_provider_principals_only_the_listed_principals_and_their_sessions_may_call_it,
    without_provider_principals_it_admits_nobody,
    a_name_with_invisible_format_characters_is_refused_and_changes_nothing,
    ;
    not_through_the_functions: );

fn person(app: &TestApp, id: &str, name: &str) -> Value {
    json!({"name": name, "email": app.email_of(id), "language": "fr", "payment_status": "ok"})
}

async fn profile(app: &TestApp, id: &str) -> Value {
    let response = app.get("/v1/me", id).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

async fn service_names(app: &TestApp, account: &str) -> Vec<String> {
    let response = app.get("/v1/me/services", account).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()["services"].as_array().unwrap().iter().map(|s| s["service"].as_str().unwrap().to_owned()).collect()
}

async fn an_account_is_created_then_replaced_and_the_customer_sees_it(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    // Created: the id from the path (case-insensitively), language and payment status as given.
    let created = app.provider_put("/internal/accounts/ZZ1-OVH", person(&app, "zz1-ovh", "Zoé Nouvelle")).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text());
    assert_eq!(created.json()["id"], "zz1-ovh");
    assert_eq!(created.headers.get("cache-control").unwrap(), "no-store");
    let me = profile(&app, "zz1-ovh").await;
    assert_eq!((me["name"].as_str(), me["language"].as_str(), me["payment_status"].as_str()), (Some("Zoé Nouvelle"), Some("fr"), Some("ok")));

    // Replaced whole: what is left out takes its default (en, ok), the id may be repeated.
    let billing_says = json!({"id": "zz1-ovh", "name": "Zoé N.", "email": format!("new.{}", app.email_of("zz1-ovh")), "payment_status": "overdue"});
    assert_eq!(app.provider_put("/internal/accounts/zz1-ovh", billing_says).await.status, StatusCode::OK);
    let me = profile(&app, "zz1-ovh").await;
    assert_eq!(me["name"], "Zoé N.");
    assert_eq!(me["email"], format!("new.{}", app.email_of("zz1-ovh")));
    assert_eq!((me["language"].as_str(), me["payment_status"].as_str()), (Some("en"), Some("overdue")));

    // And the rules see it: an overdue account cannot take a billing role.
    let refused = app.ask("example.com", "aa1-ovh", json!({"billing": "zz1-ovh"})).await;
    assert_eq!((refused.status, refused.json()["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("payment_overdue")), "{}", refused.text());
}

async fn a_service_is_created_then_moved_and_the_holders_listings_follow(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let created = app.provider_put("/internal/services/Shop.Example.org", json!({"admin": "aa1-ovh", "tech": "tt1-ovh", "billing": "bb1-ovh"})).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text());
    assert_eq!(
        created.json(),
        json!({"name": "shop.example.org", "type": "other", "admin": "aa1-ovh", "tech": "tt1-ovh", "billing": "bb1-ovh", "pending_changes": []})
    );
    assert!(service_names(&app, "tt1-ovh").await.contains(&"shop.example.org".to_owned()));

    // The tech role moves to Mia: Teo no longer sees the service, Mia does, with her role.
    let moved = app
        .provider_put("/internal/services/shop.example.org", json!({"name": "shop.example.org", "admin": "aa1-ovh", "tech": "mm1-ovh", "billing": "bb1-ovh"}))
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text());
    assert!(!service_names(&app, "tt1-ovh").await.contains(&"shop.example.org".to_owned()));
    assert_eq!(app.get("/v1/services/shop.example.org", "tt1-ovh").await.status, StatusCode::NOT_FOUND);
    let mia = app.get("/v1/services/shop.example.org", "mm1-ovh").await.json();
    assert_eq!(mia["my_roles"], json!(["tech"]));
    assert_eq!(mia["contacts"], json!({"admin": "aa1-ovh", "tech": "mm1-ovh", "billing": "bb1-ovh"}));
    // Ada still holds two services; the same upsert again changes nothing.
    assert_eq!(
        app.provider_put("/internal/services/shop.example.org", json!({"admin": "aa1-ovh", "tech": "mm1-ovh", "billing": "bb1-ovh"})).await.status,
        StatusCode::OK
    );
    assert_eq!(service_names(&app, "aa1-ovh").await, vec!["example.com", "shop.example.org"]);
}

async fn an_upsert_that_moves_a_pending_role_names_the_request_which_then_fails(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({"tech": "nn1-ovh"})).await;
    // Provisioning gives the tech role to Mia while Ada's request for Ned is pending.
    let moved = app.provider_put("/internal/services/example.com", json!({"admin": "aa1-ovh", "tech": "mm1-ovh", "billing": "bb1-ovh"})).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text());
    assert_eq!(moved.json()["pending_changes"], json!([{"request": id, "role": "tech", "from": "tt1-ovh", "to": "mm1-ovh", "reason": "holders_changed"}]));

    for party in ["aa1-ovh", "nn1-ovh"] {
        let token = app.token_of(party, &id).await;
        assert_eq!(app.accept(&id, party, &token).await.status, StatusCode::OK);
    }
    let request = app.request(&id, "aa1-ovh").await;
    assert_eq!((request["state"].as_str(), request["reason"].as_str()), (Some("failed"), Some("holders_changed")));
    assert_eq!(app.contacts("example.com", "aa1-ovh").await["tech"], "mm1-ovh", "the provider's word stands");
}

async fn an_upsert_that_leaves_the_pending_role_alone_reports_nothing_and_the_request_completes(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({"tech": "nn1-ovh"})).await;
    // Billing moves, tech (the pending role) stays with Teo.
    let moved = app.provider_put("/internal/services/example.com", json!({"admin": "aa1-ovh", "tech": "tt1-ovh", "billing": "mm1-ovh"})).await;
    assert_eq!(moved.json()["pending_changes"], json!([]), "{}", moved.text());
    for party in ["aa1-ovh", "nn1-ovh"] {
        let token = app.token_of(party, &id).await;
        app.accept(&id, party, &token).await;
    }
    assert_eq!(app.request(&id, "aa1-ovh").await["state"], "done");
    assert_eq!(app.contacts("example.com", "aa1-ovh").await, json!({"admin": "aa1-ovh", "tech": "nn1-ovh", "billing": "mm1-ovh"}));
}

async fn bad_input_is_refused_with_a_reason_and_changes_nothing(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let ada = json!({"name": "Ada Admin", "email": "ada.else@example.com"});
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        ("/internal/accounts/not-an-id", ada.to_string(), StatusCode::BAD_REQUEST, "invalid_input"),
        ("/internal/accounts/aa1-ovh", json!({"name": "Ada", "email": "nope"}).to_string(), StatusCode::BAD_REQUEST, "invalid_input"),
        ("/internal/accounts/aa1-ovh", json!({"name": "", "email": "ada@example.com"}).to_string(), StatusCode::BAD_REQUEST, "invalid_input"),
        ("/internal/accounts/aa1-ovh", json!({"id": "tt1-ovh", "name": "Ada", "email": "a@example.com"}).to_string(), StatusCode::BAD_REQUEST, "invalid_input"),
        ("/internal/accounts/aa1-ovh", json!({"id": 7, "name": "Ada", "email": "a@example.com"}).to_string(), StatusCode::BAD_REQUEST, "invalid_input"),
        (
            "/internal/accounts/aa1-ovh",
            json!({"name": "Ada", "email": "a@example.com", "language": "de"}).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        ("/internal/accounts/aa1-ovh", json!({"name": "Ada", "email": "a@example.com", "vip": true}).to_string(), StatusCode::BAD_REQUEST, "invalid_input"),
        ("/internal/accounts/aa1-ovh", "[]".to_owned(), StatusCode::BAD_REQUEST, "invalid_input"),
        ("/internal/accounts/aa1-ovh", "{".to_owned(), StatusCode::BAD_REQUEST, "invalid_input"),
        (
            "/internal/accounts/aa1-ovh",
            format!(r#"{{"name": "{}", "email": "a@example.com"}}"#, "A".repeat(17_000)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
        ("/internal/services/example.com", json!({"admin": "aa1-ovh", "tech": "tt1-ovh"}).to_string(), StatusCode::BAD_REQUEST, "invalid_input"),
        (
            "/internal/services/example.com",
            json!({"admin": "aa1-ovh", "tech": "tt1-ovh", "billing": "bb1-ovh", "owner": "x"}).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "/internal/services/example.com",
            json!({"name": "other.example", "admin": "aa1-ovh", "tech": "tt1-ovh", "billing": "bb1-ovh"}).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "/internal/services/exa%20mple.com",
            json!({"admin": "aa1-ovh", "tech": "tt1-ovh", "billing": "bb1-ovh"}).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "/internal/services/example.com",
            json!({"admin": "aa1-ovh", "tech": "zz9-ovh", "billing": "bb1-ovh"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_account",
        ),
    ];
    for (path, body, status, code) in cases {
        let response = app.call_as(Method::PUT, path, Caller::Provider(PROVIDER.to_owned()), Bytes::from(body.clone())).await;
        let shown: String = body.chars().take(80).collect();
        assert_eq!(response.status, status, "PUT {path} {shown}: {}", response.text());
        assert_eq!(response.json()["code"], code, "PUT {path} {shown}");
        assert!(!response.json()["detail"].as_str().unwrap_or_default().is_empty(), "a reason is given");
    }
    let unknown = app.provider_put("/internal/services/example.com", json!({"admin": "aa1-ovh", "tech": "zz9-ovh", "billing": "bb1-ovh"})).await;
    assert!(unknown.json()["detail"].as_str().unwrap().contains("zz9-ovh"), "the unknown account is named: {}", unknown.text());

    // Nothing was written.
    let me = profile(&app, "aa1-ovh").await;
    assert_eq!((me["name"].as_str(), me["email"].as_str(), me["language"].as_str()), (Some("Ada Admin"), Some(app.email_of("aa1-ovh").as_str()), Some("en")));
    assert_eq!(app.contacts("example.com", "aa1-ovh").await, json!({"admin": "aa1-ovh", "tech": "tt1-ovh", "billing": "bb1-ovh"}));
    assert_eq!(service_names(&app, "aa1-ovh").await, vec!["example.com"]);
}

async fn only_the_providers_systems_may_call_it_and_they_are_no_customer(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let overdue_ada = json!({"name": "Ada Admin", "email": app.email_of("aa1-ovh"), "payment_status": "overdue"}).to_string();
    let taken = json!({"admin": "nn1-ovh", "tech": "nn1-ovh", "billing": "nn1-ovh"}).to_string();
    // A customer's identity, even the account's own: 403. None at all: 401.
    let callers = [
        (Caller::Customer("aa1-ovh".to_owned()), StatusCode::FORBIDDEN, "forbidden"),
        (Caller::Customer("nn1-ovh".to_owned()), StatusCode::FORBIDDEN, "forbidden"),
        (Caller::Anonymous, StatusCode::UNAUTHORIZED, "unauthenticated"),
    ];
    for (caller, status, code) in callers {
        for (path, body) in [("/internal/accounts/aa1-ovh", &overdue_ada), ("/internal/services/example.com", &taken)] {
            let response = app.call_as(Method::PUT, path, caller.clone(), Bytes::from(body.clone())).await;
            assert_eq!(response.status, status, "{caller:?} PUT {path}: {}", response.text());
            assert_eq!(response.json()["code"], code);
        }
    }
    assert_eq!(profile(&app, "aa1-ovh").await["payment_status"], "ok");
    assert_eq!(app.contacts("example.com", "aa1-ovh").await["admin"], "aa1-ovh");

    // The provider's principal is nobody's account: a customer's route does not take it.
    let as_provider = app.call_as(Method::GET, "/v1/me", Caller::Provider("aa1-ovh".to_owned()), Bytes::new()).await;
    assert_eq!(as_provider.status, StatusCode::UNAUTHORIZED, "{}", as_provider.text());
}

async fn without_provider_principals_it_admits_nobody(backend: Backend) {
    // The template's default: ProviderPrincipals names nobody yet. IAM may have let the call
    // through (a broad policy of the account's), but no principal is the provider's systems.
    let app = TestApp::seeded_with(backend, |config| config.provider_principals.clear()).await;
    let overdue_ada = json!({"name": "Ada Admin", "email": app.email_of("aa1-ovh"), "payment_status": "overdue"});
    for principal in [PROVIDER, "arn:aws:iam::123456789012:role/admin", "arn:aws:sts::123456789012:assumed-role/provisioning-test/session"] {
        let response =
            app.call_as(Method::PUT, "/internal/accounts/aa1-ovh", Caller::Provider(principal.to_owned()), Bytes::from(overdue_ada.to_string())).await;
        assert_eq!((response.status, response.code()), (StatusCode::FORBIDDEN, "forbidden".to_owned()), "{principal}: {}", response.text());
        assert!(response.json()["detail"].as_str().unwrap().contains("PROVIDER_PRINCIPALS"), "the reason is given: {}", response.text());
    }
    assert_eq!(profile(&app, "aa1-ovh").await["payment_status"], "ok", "nothing was written");
}

async fn with_provider_principals_only_the_listed_principals_and_their_sessions_may_call_it(backend: Backend) {
    let billing = "arn:aws:iam::123456789012:role/billing-sync";
    let app = TestApp::seeded_with(backend, |config| config.provider_principals = vec![PROVIDER.to_owned(), billing.to_owned()]).await;
    let overdue_ada = json!({"name": "Ada Admin", "email": app.email_of("aa1-ovh"), "payment_status": "overdue"}).to_string();
    let taken = json!({"admin": "nn1-ovh", "tech": "nn1-ovh", "billing": "nn1-ovh"}).to_string();
    // Principals IAM authorised, but not on the list: 403, nothing written.
    let strangers = [
        "arn:aws:iam::123456789012:role/someone-else",
        "arn:aws:iam::123456789012:role/billing-sync-old",
        "arn:aws:iam::999999999999:role/billing-sync",
        "arn:aws:sts::999999999999:assumed-role/billing-sync/session",
        "arn:aws:iam::123456789012:user/billing-sync",
        "AROAEXAMPLEID:billing-sync",
    ];
    for principal in strangers {
        for (path, body) in [("/internal/accounts/aa1-ovh", &overdue_ada), ("/internal/services/example.com", &taken)] {
            let response = app.call_as(Method::PUT, path, Caller::Provider(principal.to_owned()), Bytes::from(body.clone())).await;
            assert_eq!((response.status, response.code()), (StatusCode::FORBIDDEN, "forbidden".to_owned()), "{principal} PUT {path}: {}", response.text());
            assert!(response.json()["detail"].as_str().unwrap().contains("PROVIDER_PRINCIPALS"), "the reason is given: {}", response.text());
        }
    }
    assert_eq!(profile(&app, "aa1-ovh").await["payment_status"], "ok");
    assert_eq!(app.contacts("example.com", "aa1-ovh").await["admin"], "aa1-ovh");

    // A listed principal, and a session of a listed role (as API Gateway reports a caller with
    // the role's credentials): written.
    let listed =
        app.provider_put("/internal/accounts/aa1-ovh", json!({"name": "Ada Admin", "email": app.email_of("aa1-ovh"), "payment_status": "overdue"})).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    assert_eq!(profile(&app, "aa1-ovh").await["payment_status"], "overdue");
    let session = Caller::Provider("arn:aws:sts::123456789012:assumed-role/billing-sync/nightly-run".to_owned());
    let response = app
        .call_as(Method::PUT, "/internal/accounts/aa1-ovh", session, Bytes::from(json!({"name": "Ada Admin", "email": app.email_of("aa1-ovh")}).to_string()))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(profile(&app, "aa1-ovh").await["payment_status"], "ok");

    // The list changes nothing for the others: a customer is still 403, nobody 401.
    let customer = app.call_as(Method::PUT, "/internal/accounts/aa1-ovh", Caller::Customer("aa1-ovh".to_owned()), Bytes::from(overdue_ada.clone())).await;
    assert_eq!(customer.status, StatusCode::FORBIDDEN);
    let nobody = app.call_as(Method::PUT, "/internal/accounts/aa1-ovh", Caller::Anonymous, Bytes::from(overdue_ada)).await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
}

async fn a_name_with_invisible_format_characters_is_refused_and_changes_nothing(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    // A right-to-left override that shows "Ada Admin" as someone else, isolates, marks,
    // zero-width characters, a soft hyphen, a byte order mark, a tag character.
    for c in ['\u{202E}', '\u{202A}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{200B}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{00AD}', '\u{E0041}'] {
        for id in ["aa1-ovh", "zz1-ovh"] {
            let body = json!({"name": format!("Ada{c} Admin"), "email": app.email_of(id)});
            let response = app.provider_put(&format!("/internal/accounts/{id}"), body).await;
            assert_eq!(
                (response.status, response.code()),
                (StatusCode::BAD_REQUEST, "invalid_input".to_owned()),
                "U+{:04X} for {id}: {}",
                u32::from(c),
                response.text()
            );
            assert!(response.json()["detail"].as_str().unwrap().contains(&format!("U+{:04X}", u32::from(c))), "the character is named: {}", response.text());
        }
    }
    assert_eq!(profile(&app, "aa1-ovh").await["name"], "Ada Admin", "unchanged");
    assert_eq!(app.get("/v1/me", "zz1-ovh").await.status, StatusCode::NOT_FOUND, "not created");
    // Accents, other scripts and a no-break space are names like any other.
    let fine = app.provider_put("/internal/accounts/zz1-ovh", json!({"name": "Zoé\u{00A0}Ünal محمد", "email": app.email_of("zz1-ovh")})).await;
    assert_eq!(fine.status, StatusCode::OK, "{}", fine.text());
}
