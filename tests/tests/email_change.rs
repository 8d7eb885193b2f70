//! SPEC §5's verified email changes (issue 18), through the router, on every backend: a PATCH
//! of the email moves no mail until the new address verifies it, the old address is told, and
//! a stolen session cannot use the profile to mail arbitrary addresses without bound.

use bytes::Bytes;
use http::{Method, StatusCode};
use integration_tests::{Backend, SentMail, TestApp, TestResponse, on_every_backend};
use serde_json::json;
use time::Duration;

on_every_backend!(
    a_patch_of_the_email_moves_no_mail_and_the_old_address_is_told,
    verifying_through_the_api_moves_the_address_and_mail_follows_it,
    the_verification_page_changes_nothing_and_its_form_verifies_with_the_token_alone,
    a_verification_token_works_once,
    another_accounts_token_is_refused_and_changes_nothing,
    a_patch_back_to_the_current_address_withdraws_the_change,
    a_newer_patch_replaces_the_pending_change_and_its_token,
    the_providers_upsert_sets_the_address_directly_and_drops_the_pending_change,
    the_language_of_the_same_patch_applies_at_once_and_writes_the_mails,
    ;
    // Not through the functions: a_verification_token_expires_after_24_hours and
    // email_changes_are_bounded_per_account_and_hour (they move the clock),
    // when_the_verification_mail_cannot_be_sent_nothing_is_pending (it makes the mail service fail).
    not_through_the_functions:
    a_verification_token_expires_after_24_hours,
    email_changes_are_bounded_per_account_and_hour,
    when_the_verification_mail_cannot_be_sent_nothing_is_pending,
);

/// An address of this app (the SES emulator is shared: its mails are told apart by the tag).
fn address(app: &TestApp, name: &str) -> String {
    format!("{name}.{}@example.org", app.tag)
}

async fn ask(app: &TestApp, caller: &str, email: &str) -> TestResponse {
    app.patch("/v1/me", caller, json!({ "email": email })).await
}

async fn ask_ok(app: &TestApp, caller: &str, email: &str) {
    let asked = ask(app, caller, email).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text());
}

/// The verification token in the latest verification mail `to` received.
async fn verification_token(app: &TestApp, to: &str) -> String {
    verification_mails(app, to).await.last().and_then(SentMail::token).unwrap_or_else(|| panic!("{to} received no verification mail"))
}

async fn verification_mails(app: &TestApp, to: &str) -> Vec<SentMail> {
    app.mails().await.into_iter().filter(|m| m.to == to && m.text.contains("/verify-email#token=")).collect()
}

async fn verify(app: &TestApp, caller: &str, token: &str) -> TestResponse {
    app.post("/v1/me/email-verification", caller, json!({ "token": token })).await
}

fn form(token: &str) -> Bytes {
    Bytes::from(format!("token={token}"))
}

async fn me(app: &TestApp, caller: &str) -> serde_json::Value {
    let me = app.get("/v1/me", caller).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    me.json()
}

async fn a_patch_of_the_email_moves_no_mail_and_the_old_address_is_told(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let (old, new) = (app.email_of("nn1-ovh"), address(&app, "ned.new"));
    let asked = ask(&app, "nn1-ovh", &new).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text());
    assert_eq!((asked.json()["email"].as_str(), asked.json()["pending_email"].as_str()), (Some(old.as_str()), Some(new.as_str())));
    assert_eq!(me(&app, "nn1-ovh").await["pending_email"], new.as_str());
    assert_eq!(me(&app, "aa1-ovh").await["pending_email"], serde_json::Value::Null, "none is null");

    // The new address gets the link; the old one is told, with neither the token nor a link.
    let verification = verification_mails(&app, &new).await;
    assert_eq!(verification.len(), 1);
    let token = verification[0].token().unwrap();
    assert!(verification[0].text.contains(&format!("https://contacts.test/verify-email#token={token}")));
    let told = app.mails_to("nn1-ovh").await;
    assert_eq!(told.len(), 1, "the old address is told once");
    assert!(told[0].text.contains(&new), "the notice names the address asked for");
    assert!(!told[0].text.contains(&token) && !told[0].html.contains(&token) && !told[0].text.contains("verify-email"), "no token, no link that verifies");
    assert!(!asked.text().contains(&token), "the answer holds no token");

    // Until verified, mail goes to the old address: a request naming Ned, and its resend.
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let resent = app.post(&format!("/v1/contact-changes/{id}/resend"), "aa1-ovh", json!({})).await;
    assert_eq!(resent.status, StatusCode::ACCEPTED, "{}", resent.text());
    let about: Vec<String> = app.mails().await.into_iter().filter(|m| m.text.contains(&id) && m.token().is_some()).map(|m| m.to).collect();
    assert_eq!(about.iter().filter(|to| **to == old).count(), 2, "Ned's token, created and resent, went to the old address: {about:?}");
    assert!(!about.contains(&new), "nothing about the request went to the unverified address");
}

async fn verifying_through_the_api_moves_the_address_and_mail_follows_it(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let new = address(&app, "ned.new");
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    ask_ok(&app, "nn1-ovh", &new).await;
    let verified = verify(&app, "nn1-ovh", &verification_token(&app, &new).await).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text());
    assert_eq!((verified.json()["email"].as_str(), verified.json()["pending_email"].clone()), (Some(new.as_str()), serde_json::Value::Null));
    assert_eq!(verified.json()["account"], "nn1-ovh");
    assert_eq!(me(&app, "nn1-ovh").await["email"], new.as_str());

    // A resend of the pending request now reaches the new address, with a token that works.
    let resent = app.post(&format!("/v1/contact-changes/{id}/resend"), "aa1-ovh", json!({})).await;
    assert_eq!(resent.status, StatusCode::ACCEPTED, "{}", resent.text());
    let fresh: Vec<SentMail> = app.mails().await.into_iter().filter(|m| m.to == new && m.text.contains(&id)).collect();
    assert_eq!(fresh.len(), 1);
    assert_eq!(app.accept(&id, "nn1-ovh", &fresh[0].token().unwrap()).await.status, StatusCode::OK);
}

async fn the_verification_page_changes_nothing_and_its_form_verifies_with_the_token_alone(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let new = address(&app, "ned.new");
    ask_ok(&app, "nn1-ovh", &new).await;
    let token = verification_token(&app, &new).await;

    let page = app.call(Method::GET, "/verify-email", None, Bytes::new()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("form-action 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    let html = page.text();
    let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap();
    assert!(html.contains(&format!("<script nonce=\"{nonce}\">")) && html.contains("name=\"token\"") && html.contains("Verify email address"));
    let opened = me(&app, "nn1-ovh").await;
    assert_eq!(
        (opened["email"].as_str(), opened["pending_email"].as_str()),
        (Some(app.email_of("nn1-ovh").as_str()), Some(new.as_str())),
        "opening the page changed nothing"
    );

    let wrong = app.call(Method::POST, "/verify-email", None, form(&"x".repeat(43))).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(wrong.header("content-type").unwrap().starts_with("text/html") && wrong.text().contains("did not match"), "{}", wrong.text());
    assert!(wrong.text().contains("name=\"token\""), "the error page lets one paste the code again");
    let empty = app.call(Method::POST, "/verify-email", None, form("")).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);

    let verified = app.call(Method::POST, "/verify-email", None, form(&token)).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text());
    assert!(verified.header("content-type").unwrap().starts_with("text/html") && verified.text().contains(&new));
    assert_eq!(verified.header("cache-control"), Some("no-store"));
    assert!(!verified.text().contains(&token));
    assert_eq!(me(&app, "nn1-ovh").await["email"], new.as_str());
}

async fn a_verification_token_works_once(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let new = address(&app, "ned.new");
    ask_ok(&app, "nn1-ovh", &new).await;
    let token = verification_token(&app, &new).await;
    assert_eq!(verify(&app, "nn1-ovh", &token).await.status, StatusCode::OK);
    let again = verify(&app, "nn1-ovh", &token).await;
    assert_eq!((again.status, again.code()), (StatusCode::FORBIDDEN, "token_mismatch".to_owned()));
    let page = app.call(Method::POST, "/verify-email", None, form(&token)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    for malformed in ["", "short", "not a token at all, but long enough to be one"] {
        assert_eq!(verify(&app, "nn1-ovh", malformed).await.code(), "token_mismatch", "{malformed:?} is a code that does not match");
    }
    assert_eq!(me(&app, "nn1-ovh").await["email"], new.as_str());
}

async fn another_accounts_token_is_refused_and_changes_nothing(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let new = address(&app, "ned.new");
    ask_ok(&app, "nn1-ovh", &new).await;
    let token = verification_token(&app, &new).await;
    let stolen = verify(&app, "aa1-ovh", &token).await;
    assert_eq!((stolen.status, stolen.code()), (StatusCode::FORBIDDEN, "token_mismatch".to_owned()));
    assert!(stolen.json()["detail"].as_str().unwrap().contains("did not match"), "{}", stolen.text());
    assert_eq!(me(&app, "aa1-ovh").await["email"], app.email_of("aa1-ovh").as_str());
    assert_eq!(me(&app, "nn1-ovh").await["pending_email"], new.as_str(), "Ned's change is still pending");
    assert_eq!(verify(&app, "nn1-ovh", &token).await.status, StatusCode::OK, "and its token still works for Ned");
}

async fn a_verification_token_expires_after_24_hours(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let (new, other) = (address(&app, "ned.new"), address(&app, "mia.new"));
    ask_ok(&app, "nn1-ovh", &new).await;
    ask_ok(&app, "mm1-ovh", &other).await;
    let (ned_token, mia_token) = (verification_token(&app, &new).await, verification_token(&app, &other).await);
    app.clock.advance(Duration::hours(24) - Duration::seconds(1));
    assert_eq!(verify(&app, "mm1-ovh", &mia_token).await.status, StatusCode::OK, "live a second before 24 h");
    app.clock.advance(Duration::seconds(1));
    let late = verify(&app, "nn1-ovh", &ned_token).await;
    assert_eq!((late.status, late.code()), (StatusCode::FORBIDDEN, "token_mismatch".to_owned()));
    assert_eq!(app.call(Method::POST, "/verify-email", None, form(&ned_token)).await.status, StatusCode::FORBIDDEN);
    let ned = me(&app, "nn1-ovh").await;
    assert_eq!(
        (ned["email"].as_str(), ned["pending_email"].clone()),
        (Some(app.email_of("nn1-ovh").as_str()), serde_json::Value::Null),
        "an expired change is no longer pending"
    );
}

async fn a_patch_back_to_the_current_address_withdraws_the_change(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let (old, new) = (app.email_of("nn1-ovh"), address(&app, "ned.new"));
    ask_ok(&app, "nn1-ovh", &new).await;
    let token = verification_token(&app, &new).await;
    let mails = app.mails().await.len();
    let back = ask(&app, "nn1-ovh", &old).await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text());
    assert_eq!((back.json()["email"].as_str(), back.json()["pending_email"].clone()), (Some(old.as_str()), serde_json::Value::Null));
    assert_eq!(app.mails().await.len(), mails, "withdrawing mails nobody");
    assert_eq!(verify(&app, "nn1-ovh", &token).await.code(), "token_mismatch", "the withdrawn change's token works no more");
    assert_eq!(me(&app, "nn1-ovh").await["email"], old.as_str());
    // With nothing pending, the current address again is a no-op.
    assert_eq!(ask(&app, "nn1-ovh", &old).await.status, StatusCode::OK);
}

async fn a_newer_patch_replaces_the_pending_change_and_its_token(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let (first, second) = (address(&app, "ned.first"), address(&app, "ned.second"));
    ask_ok(&app, "nn1-ovh", &first).await;
    let first_token = verification_token(&app, &first).await;
    ask_ok(&app, "nn1-ovh", &second).await;
    assert_eq!(me(&app, "nn1-ovh").await["pending_email"], second.as_str());
    assert_eq!(app.mails_to("nn1-ovh").await.len(), 2, "the old address is told of each change");
    assert_eq!(verify(&app, "nn1-ovh", &first_token).await.code(), "token_mismatch", "the older token stopped working");
    let verified = verify(&app, "nn1-ovh", &verification_token(&app, &second).await).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text());
    assert_eq!(verified.json()["email"], second.as_str());
}

async fn the_providers_upsert_sets_the_address_directly_and_drops_the_pending_change(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let (new, provider_says) = (address(&app, "ned.new"), address(&app, "ned.billing"));
    ask_ok(&app, "nn1-ovh", &new).await;
    let token = verification_token(&app, &new).await;
    let upsert =
        app.provider_put("/internal/accounts/nn1-ovh", json!({"name": "Ned New", "email": provider_says, "language": "en", "payment_status": "ok"})).await;
    assert_eq!(upsert.status, StatusCode::OK, "{}", upsert.text());
    let ned = me(&app, "nn1-ovh").await;
    assert_eq!((ned["email"].as_str(), ned["pending_email"].clone()), (Some(provider_says.as_str()), serde_json::Value::Null), "set directly, nothing pending");
    // The change asked before cannot overwrite the provider's address later.
    assert_eq!(verify(&app, "nn1-ovh", &token).await.code(), "token_mismatch");
    assert_eq!(app.call(Method::POST, "/verify-email", None, form(&token)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(me(&app, "nn1-ovh").await["email"], provider_says.as_str());
}

async fn email_changes_are_bounded_per_account_and_hour(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    for n in 0..3 {
        ask_ok(&app, "nn1-ovh", &address(&app, &format!("ned.try{n}"))).await;
        app.clock.advance(Duration::minutes(10));
    }
    let mails = app.mails().await.len();
    let flood = ask(&app, "nn1-ovh", &address(&app, "victim")).await;
    assert_eq!((flood.status, flood.code()), (StatusCode::TOO_MANY_REQUESTS, "too_many_requests".to_owned()), "{}", flood.text());
    assert_eq!(flood.header("retry-after"), Some("1800"), "the first ask leaves the window 30 minutes later");
    assert_eq!(app.mails().await.len(), mails, "refused asks mail nobody");
    assert_eq!(me(&app, "nn1-ovh").await["pending_email"], address(&app, "ned.try2").as_str(), "and change nothing");
    assert_eq!(ask(&app, "mm1-ovh", &address(&app, "mia.new")).await.status, StatusCode::OK, "the bound is per account");
    // Withdrawing mails nobody, so it is always allowed.
    assert_eq!(ask(&app, "nn1-ovh", &app.email_of("nn1-ovh")).await.status, StatusCode::OK);
    app.clock.advance(Duration::minutes(30));
    ask_ok(&app, "nn1-ovh", &address(&app, "ned.later")).await;
}

async fn the_language_of_the_same_patch_applies_at_once_and_writes_the_mails(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let new = address(&app, "ned.nuovo");
    let patched = app.patch("/v1/me", "nn1-ovh", json!({ "email": new, "language": "it" })).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text());
    assert_eq!((patched.json()["language"].as_str(), patched.json()["pending_email"].as_str()), (Some("it"), Some(new.as_str())));
    assert_eq!(verification_mails(&app, &new).await[0].subject, "Verifica il tuo nuovo indirizzo email");
    assert_eq!(app.mails_to("nn1-ovh").await[0].subject, "È stata chiesta una modifica del tuo indirizzo email");
    // A language alone keeps the pending change.
    let french = app.patch("/v1/me", "nn1-ovh", json!({ "language": "fr" })).await.json();
    assert_eq!((french["language"].as_str(), french["pending_email"].as_str()), (Some("fr"), Some(new.as_str())));
}

async fn when_the_verification_mail_cannot_be_sent_nothing_is_pending(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    app.set_mail_unavailable(true);
    for n in 0..4 {
        let failed = app.patch("/v1/me", "nn1-ovh", json!({ "email": address(&app, &format!("ned.down{n}")), "language": "fr" })).await;
        assert_eq!((failed.status, failed.code()), (StatusCode::SERVICE_UNAVAILABLE, "unavailable".to_owned()), "{}", failed.text());
        assert!(failed.header("retry-after").is_some());
    }
    let ned = me(&app, "nn1-ovh").await;
    assert_eq!((ned["pending_email"].clone(), ned["language"].as_str()), (serde_json::Value::Null, Some("en")), "nothing pending, nothing else changed");
    app.set_mail_unavailable(false);
    // The failed asks did not count against the bound.
    for n in 0..3 {
        ask_ok(&app, "nn1-ovh", &address(&app, &format!("ned.up{n}"))).await;
    }
}
