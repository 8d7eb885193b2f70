//! SPEC §4's bounces (issue 12), on every backend: SES's bounce and complaint events, in the
//! shape EventBridge delivers them to the `bounces` function, mark the address of the account
//! the mail's tag names `bouncing`; the profile shows it, and so do the request views, to
//! those who may see the request; a verified new address, or the provider's new one, clears it (the provider's same one keeps it).

use http::StatusCode;
use integration_tests::{Backend, TestApp, on_every_backend};
use serde_json::{Value, json};

on_every_backend!(
    a_permanent_bounce_flags_the_address_and_the_views_show_it_to_those_who_see_the_request,
    a_complaint_flags_the_address_and_a_transient_bounce_does_not,
    an_address_changed_since_the_mail_is_not_flagged,
    a_verified_new_address_clears_the_flag,
    the_providers_upsert_with_a_new_address_clears_the_flag_and_with_the_same_one_keeps_it,
    ;
    not_through_the_functions: );

async fn me(app: &TestApp, caller: &str) -> Value {
    let me = app.get("/v1/me", caller).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    me.json()
}

async fn bounce(app: &TestApp, account: &str, address: &str, bounce_type: &str) -> usize {
    app.deliver_ses_event(TestApp::bounce_event(account, address, bounce_type)).await
}

async fn a_permanent_bounce_flags_the_address_and_the_views_show_it_to_those_who_see_the_request(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({"tech": "nn1-ovh"})).await;
    assert_eq!(me(&app, "nn1-ovh").await["email_status"], "ok");
    assert!(app.request(&id, "aa1-ovh").await.get("bouncing").is_none(), "nobody bounces: no list");

    assert_eq!(bounce(&app, "nn1-ovh", &app.email_of("nn1-ovh"), "Permanent").await, 1);
    assert_eq!(me(&app, "nn1-ovh").await["email_status"], "bouncing");
    assert_eq!(me(&app, "aa1-ovh").await["email_status"], "ok");

    // The requester, the party and the previous holder see it; a stranger sees no request.
    for viewer in ["aa1-ovh", "nn1-ovh", "tt1-ovh"] {
        assert_eq!(app.request(&id, viewer).await["bouncing"], json!(["nn1-ovh"]), "as {viewer}");
        let mine = app.get("/v1/me/contact-changes", viewer).await;
        assert_eq!(mine.status, StatusCode::OK, "{}", mine.text());
        assert_eq!(mine.json()["requests"][0]["bouncing"], json!(["nn1-ovh"]), "as {viewer}");
    }
    assert_eq!(app.get(&format!("/v1/contact-changes/{id}"), "mm1-ovh").await.status, StatusCode::NOT_FOUND);

    // Once the request is closed no mail of it awaits an answer: the views no longer say it.
    assert_eq!(app.post(&format!("/v1/contact-changes/{id}/cancel"), "aa1-ovh", json!({})).await.status, StatusCode::OK);
    assert!(app.request(&id, "aa1-ovh").await.get("bouncing").is_none(), "closed: no list");
    let mine = app.get("/v1/me/contact-changes", "nn1-ovh").await.json();
    assert!(mine["requests"][0].get("bouncing").is_none());
}

async fn a_complaint_flags_the_address_and_a_transient_bounce_does_not(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    assert_eq!(bounce(&app, "nn1-ovh", &app.email_of("nn1-ovh"), "Transient").await, 0);
    assert_eq!(me(&app, "nn1-ovh").await["email_status"], "ok", "a full mailbox is no bad address");

    let mut complaint = TestApp::bounce_event("mm1-ovh", &app.email_of("mm1-ovh"), "Permanent");
    complaint["detail-type"] = "Email Complaint Received".into();
    complaint["detail"]["eventType"] = "Complaint".into();
    complaint["detail"]["complaint"] = json!({"complainedRecipients": [{"emailAddress": app.email_of("mm1-ovh")}], "complaintFeedbackType": "abuse"});
    assert_eq!(app.deliver_ses_event(complaint).await, 1);
    assert_eq!(me(&app, "mm1-ovh").await["email_status"], "bouncing");
}

async fn an_address_changed_since_the_mail_is_not_flagged(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let old = app.email_of("nn1-ovh");
    let new = format!("ned.{}@example.org", app.tag);
    let upsert = app.provider_put("/internal/accounts/nn1-ovh", json!({"name": "Ned New", "email": new, "language": "en", "payment_status": "ok"})).await;
    assert_eq!(upsert.status, StatusCode::OK, "{}", upsert.text());

    assert_eq!(bounce(&app, "nn1-ovh", &old, "Permanent").await, 0, "the mail went to the old address");
    assert_eq!(me(&app, "nn1-ovh").await["email_status"], "ok");
    assert_eq!(bounce(&app, "zz9-ovh", &old, "Permanent").await, 0, "no such account: nothing is created");
    assert_eq!(app.get("/v1/me", "zz9-ovh").await.status, StatusCode::NOT_FOUND);
}

async fn a_verified_new_address_clears_the_flag(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    assert_eq!(bounce(&app, "nn1-ovh", &app.email_of("nn1-ovh"), "Permanent").await, 1);
    let new = format!("ned.{}@example.org", app.tag);
    let asked = app.patch("/v1/me", "nn1-ovh", json!({"email": new})).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text());
    assert_eq!(asked.json()["email_status"], "bouncing", "asking is not verifying");

    let mails = app.mails().await;
    let token = mails.iter().rev().find(|m| m.to == new).and_then(|m| m.token()).expect("a verification mail");
    let agreed = mails.iter().rev().find(|m| m.to == app.email_of("nn1-ovh")).and_then(|m| m.token()).expect("an agreement mail");
    let half = app.post("/v1/me/email-verification", "nn1-ovh", json!({"token": agreed})).await;
    assert_eq!((half.status, half.json()["email_status"].as_str()), (StatusCode::OK, Some("bouncing")), "one code of two verifies nothing");
    let verified = app.post("/v1/me/email-verification", "nn1-ovh", json!({"token": token})).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text());
    assert_eq!((verified.json()["email"].as_str(), verified.json()["email_status"].as_str()), (Some(new.as_str()), Some("ok")));
    assert_eq!(me(&app, "nn1-ovh").await["email_status"], "ok");
}

async fn the_providers_upsert_with_a_new_address_clears_the_flag_and_with_the_same_one_keeps_it(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    assert_eq!(bounce(&app, "nn1-ovh", &app.email_of("nn1-ovh"), "Permanent").await, 1);
    let same = app
        .provider_put("/internal/accounts/nn1-ovh", json!({"name": "Ned Renamed", "email": app.email_of("nn1-ovh"), "language": "it", "payment_status": "ok"}))
        .await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.text());
    assert_eq!(me(&app, "nn1-ovh").await["email_status"], "bouncing", "the same address still bounces");
    let new = format!("ned.{}@example.org", app.tag);
    let upsert = app.provider_put("/internal/accounts/nn1-ovh", json!({"name": "Ned New", "email": new, "language": "en", "payment_status": "ok"})).await;
    assert_eq!(upsert.status, StatusCode::OK, "{}", upsert.text());
    assert_eq!(me(&app, "nn1-ovh").await["email_status"], "ok");
}
