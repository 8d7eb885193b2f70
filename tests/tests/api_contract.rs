//! SPEC §5's contract at the edge: identity, bodies, errors as problem+json, paging.

use bytes::Bytes;
use http::{Method, StatusCode};
use integration_tests::{Backend, TestApp, on_every_backend};
use serde_json::json;

on_every_backend!(
    every_customer_route_needs_an_identity_and_a_well_formed_one,
    errors_are_problem_json_with_type_title_status_detail_and_code,
    a_body_over_16_kib_is_413,
    malformed_bodies_are_400_and_change_nothing,
    hostile_path_segments_are_400_or_404_never_5xx,
    the_profile_can_be_read_and_its_email_and_language_changed,
    a_valid_identity_without_a_profile_is_404,
    services_are_paged_with_an_opaque_cursor,
    the_panel_its_configuration_and_its_assets_are_served_to_anyone,
    ;
    // Not through the functions: unknown_routes_are_404_and_wrong_methods_405_with_allow (API
    // Gateway answers a path or a method no route has itself, with its own 404: no function runs).
    not_through_the_functions:
    unknown_routes_are_404_and_wrong_methods_405_with_allow,
);

async fn every_customer_route_needs_an_identity_and_a_well_formed_one(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    let routes = [
        (Method::GET, "/v1/me".to_owned()),
        (Method::GET, "/v1/me/data".to_owned()),
        (Method::PATCH, "/v1/me".to_owned()),
        (Method::GET, "/v1/me/services".to_owned()),
        (Method::GET, "/v1/services/example.com".to_owned()),
        (Method::POST, "/v1/services/example.com/contact-changes".to_owned()),
        (Method::GET, "/v1/me/contact-changes".to_owned()),
        (Method::GET, format!("/v1/contact-changes/{id}")),
        (Method::POST, format!("/v1/contact-changes/{id}/accept")),
        (Method::POST, format!("/v1/contact-changes/{id}/refuse")),
        (Method::POST, format!("/v1/contact-changes/{id}/resend")),
        (Method::POST, format!("/v1/contact-changes/{id}/cancel")),
    ];
    for (method, path) in routes {
        let body = Bytes::from(r#"{"tech":"nn1-ovh","token":"x","email":"a@b.co"}"#);
        for identity in [None, Some("not-an-account"), Some("")] {
            let response = app.call(method.clone(), &path, identity, body.clone()).await;
            assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{method} {path} as {identity:?}");
            assert_eq!(response.code(), "unauthenticated");
        }
    }
    // Found by the fuzzer: a multi-byte character where the id's letters should be.
    for identity in ["té999-ovh", "é1-ovh"] {
        assert_eq!(app.get("/v1/me", identity).await.status, StatusCode::UNAUTHORIZED, "{identity}");
    }
    let accented = app.ask("example.com", "aa1-ovh", json!({ "admin": "aé1-ovh" })).await;
    assert_eq!(accented.status, StatusCode::BAD_REQUEST);
    // Identity is matched case-insensitively, like every account id.
    assert_eq!(app.get("/v1/me", "AA1-OVH").await.json()["account"], "aa1-ovh");
}

async fn errors_are_problem_json_with_type_title_status_detail_and_code(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let response = app.ask("example.com", "aa1-ovh", json!({ "tech": "zz9-ovh" })).await;
    assert_eq!(response.header("content-type"), Some("application/problem+json"));
    let problem = response.json();
    let mut keys: Vec<&str> = problem.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["code", "detail", "status", "title", "type"]);
    assert_eq!(problem["status"], 422);
    assert_eq!(problem["code"], "unknown_account");
    assert!(problem["detail"].as_str().unwrap().contains("zz9-ovh"));
}

async fn unknown_routes_are_404_and_wrong_methods_405_with_allow(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    assert_eq!(app.get("/v1/nothing-here", "aa1-ovh").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/v1", "aa1-ovh").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/panel/app.js", "aa1-ovh").await.status, StatusCode::NOT_FOUND, "the panel's assets by their hashed names only");
    let response = app.call(Method::DELETE, "/v1/me", Some("aa1-ovh"), Bytes::new()).await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.header("allow"), Some("GET, PATCH"));
}

async fn a_body_over_16_kib_is_413(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let big = json!({ "tech": "nn1-ovh", "padding": "x".repeat(17 * 1024) });
    let response = app.ask("example.com", "aa1-ovh", big).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.code(), "body_too_large");
    let form = Bytes::from(format!("token={}&decision=accept", "x".repeat(17 * 1024)));
    let page = app.call(Method::POST, "/confirm/01ARZ3NDEKTSV4RRFFQ69G5FAV", None, form).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);

    // The routes that take no body: whitespace is no body, but not beyond 16 KiB.
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let mails = app.mails().await.len();
    for action in ["resend", "cancel"] {
        let path = format!("/v1/contact-changes/{id}/{action}");
        for blank in [" ", "\n", "\r\n\t "] {
            let body = Bytes::from(blank.repeat(16 * 1024 / blank.len() + 1));
            assert!(body.len() > 16 * 1024);
            let response = app.call(Method::POST, &path, Some("aa1-ovh"), body).await;
            assert_eq!(
                (response.status, response.code()),
                (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large".to_owned()),
                "{action} with {} bytes of whitespace",
                16 * 1024 + 1
            );
        }
    }
    let request = app.request(&id, "aa1-ovh").await;
    assert_eq!(request["state"], "pending", "neither cancelled");
    assert!(!request["history"].as_array().unwrap().iter().any(|e| e["event"] == "resent"), "nor resent");
    assert_eq!(app.mails().await.len(), mails, "no mail went out");
    // 16 KiB of whitespace is still no body.
    let cancel = app.call(Method::POST, &format!("/v1/contact-changes/{id}/cancel"), Some("aa1-ovh"), Bytes::from(" ".repeat(16 * 1024))).await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.text());
}

async fn malformed_bodies_are_400_and_change_nothing(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let path = "/v1/services/example.com/contact-changes";
    let bodies: [&[u8]; 10] = [
        b"",
        b"   ",
        b"{",
        b"[]",
        b"\"tech\"",
        b"{}",
        b"{\"tech\": 42}",
        b"{\"tech\": \"nn1-ovh\", \"owner\": \"nn1-ovh\"}",
        b"{\"tech\": null}",
        b"{\"tech\": \"\xff\xfe\"}",
    ];
    for body in bodies {
        let response = app.call(Method::POST, path, Some("aa1-ovh"), Bytes::from_static(body)).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{:?}: {}", String::from_utf8_lossy(body), response.text());
        assert_eq!(response.code(), "invalid_input");
    }
    assert!(app.mails().await.is_empty());
    assert_eq!(app.get("/v1/services/example.com", "aa1-ovh").await.json()["pending"], json!([]));

    for body in [json!({}), json!({"email": "nope"}), json!({"language": "de"}), json!({"email": "a@b.co", "name": "x"})] {
        assert_eq!(app.patch("/v1/me", "aa1-ovh", body.clone()).await.status, StatusCode::BAD_REQUEST, "{body}");
    }
    assert_eq!(app.get("/v1/me", "aa1-ovh").await.json()["email"], app.email_of("aa1-ovh"), "the profile lost nothing");
    let extra = app.post("/v1/contact-changes/01ARZ3NDEKTSV4RRFFQ69G5FAV/cancel", "aa1-ovh", json!({"why": "x"})).await;
    assert_eq!(extra.status, StatusCode::BAD_REQUEST);
}

async fn hostile_path_segments_are_400_or_404_never_5xx(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let long = "a".repeat(300);
    for path in [
        format!("/v1/services/{long}"),
        "/v1/services/a%2Fb".to_owned(),
        "/v1/services/a%00b".to_owned(),
        "/v1/services/%C3%A9t%C3%A9".to_owned(),
        "/v1/services/%FF".to_owned(),
        "/v1/contact-changes/..%2F..%2Fetc".to_owned(),
        "/v1/contact-changes/01ARZ3NDEKTSV4RRFFQ69G5FA%55".to_owned(),
        "/v1/me/contact-changes?cursor=%00".to_owned(),
        "/v1/me/services?cursor=czE6Li4v".to_owned(),
    ] {
        let response = app.get(&path, "aa1-ovh").await;
        assert!(matches!(response.status.as_u16(), 400 | 404), "{path}: {}", response.status);
        assert_eq!(response.header("content-type"), Some("application/problem+json"), "{path}");
    }
}

async fn the_profile_can_be_read_and_its_email_and_language_changed(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let profile = app.get("/v1/me", "tt1-ovh").await.json();
    assert_eq!(
        profile,
        json!({"account": "tt1-ovh", "name": "Teo Tecnico", "email": app.email_of("tt1-ovh"), "pending_email": null, "email_status": "ok", "language": "it", "payment_status": "ok", "zone": "eu"})
    );
    let changed = app.patch("/v1/me", "tt1-ovh", json!({"language": "fr"})).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(changed.json()["language"], "fr");
    assert_eq!(changed.json()["email"], app.email_of("tt1-ovh"), "an absent field is kept");
    // An email only becomes pending until verified (tests/tests/email_change.rs).
    let changed = app.patch("/v1/me", "tt1-ovh", json!({"email": "teo@new.example"})).await.json();
    assert_eq!(
        (changed["email"].as_str(), changed["pending_email"].as_str(), changed["language"].as_str()),
        (Some(app.email_of("tt1-ovh").as_str()), Some("teo@new.example"), Some("fr"))
    );
    assert_eq!(app.get("/v1/me", "tt1-ovh").await.json(), changed);
}

async fn a_valid_identity_without_a_profile_is_404(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    assert_eq!(app.get("/v1/me", "zz9-ovh").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.patch("/v1/me", "zz9-ovh", json!({"language": "it"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/v1/me/services", "zz9-ovh").await.json()["services"], json!([]));
}

async fn services_are_paged_with_an_opaque_cursor(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let services: Vec<_> =
        (0..60).map(|i| json!({"name": format!("svc-{i:03}.example"), "admin": "nn1-ovh", "tech": "nn1-ovh", "billing": "mm1-ovh"})).collect();
    app.load(&json!({ "services": services })).await;
    let first = app.get("/v1/me/services", "nn1-ovh").await.json();
    assert_eq!(first["services"].as_array().unwrap().len(), 50);
    assert_eq!(first["services"][0]["my_roles"], json!(["admin", "tech"]));
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = app.get(&format!("/v1/me/services?cursor={cursor}"), "nn1-ovh").await.json();
    assert_eq!(second["services"].as_array().unwrap().len(), 10);
    assert_eq!(second["services"][0]["service"], "svc-050.example");
    assert!(second["next_cursor"].is_null());
    // The cursor only says where to go on in the caller's own listing.
    let other = app.get(&format!("/v1/me/services?cursor={cursor}"), "aa1-ovh").await.json();
    assert_eq!(other["services"], json!([]), "aa1 holds no service after svc-049");
    let wrong_kind = app.get(&format!("/v1/me/contact-changes?cursor={cursor}"), "nn1-ovh").await;
    assert_eq!(wrong_kind.status, StatusCode::BAD_REQUEST);
}

async fn the_panel_its_configuration_and_its_assets_are_served_to_anyone(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let page = app.call(Method::GET, "/", None, Bytes::new()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    // The page names its assets by their hashed names; each is served, cached for good.
    let html = page.text();
    let stylesheet = html.split("href=\"panel/").nth(1).and_then(|rest| rest.split('"').next()).expect("the stylesheet's name");
    assert!(stylesheet.starts_with("panel.") && stylesheet.ends_with(".css") && stylesheet != "panel.css", "{stylesheet}");
    let css = app.call(Method::GET, &format!("/panel/{stylesheet}"), None, Bytes::new()).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert_eq!(css.header("cache-control"), Some("public, max-age=31536000, immutable"));
    let config = app.call(Method::GET, "/panel/config", None, Bytes::new()).await;
    assert_eq!(config.status, StatusCode::OK, "{}", config.text());
    assert_eq!((config.json()["scope"].as_str(), config.json()["resend_cooldown_seconds"].as_u64()), (Some("openid"), Some(60)));
    assert_eq!(config.header("cache-control"), Some("no-store"));
}
