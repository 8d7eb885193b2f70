//! SPEC §5's email changes (issues 18 and 27), through the router, on every backend: a PATCH of
//! the email mails a code to the new address and one to the current address, and moves no
//! mail until both came back; the old address is told when it is done; a stolen session and a
//! new mailbox alone move nothing; the profile cannot be used to mail addresses without bound.

use bytes::Bytes;
use http::{Method, StatusCode};
use integration_tests::{Backend, SentMail, TestApp, TestResponse, on_every_backend};
use serde_json::json;
use time::Duration;

on_every_backend!(
    a_patch_of_the_email_mails_a_code_to_each_address_and_moves_no_mail,
    a_stolen_session_and_a_new_mailbox_move_no_mail_and_complete_no_admin_handover,
    both_codes_in_either_order_move_the_address_and_the_old_one_is_told,
    the_verification_page_changes_nothing_and_its_form_verifies_with_the_code_alone,
    each_code_works_once,
    another_accounts_code_is_refused_and_changes_nothing,
    a_patch_back_to_the_current_address_withdraws_the_change,
    a_newer_patch_replaces_the_pending_change_and_its_codes,
    the_providers_upsert_sets_the_address_directly_and_drops_the_pending_change,
    a_new_address_kills_the_accounts_live_codes_and_its_pending_requests_mail_fresh_ones_there,
    a_new_address_set_by_the_provider_takes_the_accounts_codes_with_it,
    the_language_of_the_same_patch_applies_at_once_and_writes_the_mails,
    ;
    // Not through the functions: both_codes_must_come_back_within_24_hours and
    // email_changes_are_bounded_per_account_and_day (they move the clock),
    // when_a_code_cannot_be_sent_nothing_is_pending (it makes the mail service fail).
    not_through_the_functions:
    both_codes_must_come_back_within_24_hours,
    email_changes_are_bounded_per_account_and_day,
    when_a_code_cannot_be_sent_nothing_is_pending,
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

/// The code in the latest address-change mail the address `to` received: the verification of
/// a new address, or the agreement of the current one.
async fn code_at(app: &TestApp, to: &str) -> String {
    verification_mails(app, to).await.last().and_then(SentMail::token).unwrap_or_else(|| panic!("{to} received no address-change code"))
}

async fn verification_mails(app: &TestApp, to: &str) -> Vec<SentMail> {
    app.mails().await.into_iter().filter(|m| m.to == to && m.text.contains("/verify-email#token=")).collect()
}

async fn verify(app: &TestApp, caller: &str, token: &str) -> TestResponse {
    app.post("/v1/me/email-verification", caller, json!({ "token": token })).await
}

async fn verify_ok(app: &TestApp, caller: &str, token: &str) -> serde_json::Value {
    let verified = verify(app, caller, token).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text());
    verified.json()
}

/// Asks `caller`'s address to move to `new` and sends both codes back: the change is done.
async fn change_address(app: &TestApp, caller: &str, new: &str) {
    let old = me(app, caller).await["email"].as_str().unwrap().to_owned();
    ask_ok(app, caller, new).await;
    verify_ok(app, caller, &code_at(app, new).await).await;
    assert_eq!(verify_ok(app, caller, &code_at(app, &old).await).await["email"], new);
}

/// The codes the address `to` received for request `id`, oldest first.
async fn codes_at(app: &TestApp, to: &str, id: &str) -> Vec<String> {
    app.mails().await.into_iter().filter(|m| m.to == to && m.text.contains(id)).filter_map(|m| m.token()).collect()
}

fn form(token: &str) -> Bytes {
    Bytes::from(format!("token={token}"))
}

async fn me(app: &TestApp, caller: &str) -> serde_json::Value {
    let me = app.get("/v1/me", caller).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    me.json()
}

async fn a_patch_of_the_email_mails_a_code_to_each_address_and_moves_no_mail(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let (old, new) = (app.email_of("nn1-ovh"), address(&app, "ned.new"));
    let asked = ask(&app, "nn1-ovh", &new).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text());
    assert_eq!((asked.json()["email"].as_str(), asked.json()["pending_email"].as_str()), (Some(old.as_str()), Some(new.as_str())));
    assert_eq!(me(&app, "nn1-ovh").await["pending_email"], new.as_str());
    assert_eq!(me(&app, "aa1-ovh").await["pending_email"], serde_json::Value::Null, "none is null");

    // The new address gets a link with a code; the current address a link with a code of its own.
    let verification = verification_mails(&app, &new).await;
    assert_eq!(verification.len(), 1);
    let to_new = verification[0].token().unwrap();
    assert!(verification[0].text.contains(&format!("https://contacts.test/verify-email#token={to_new}")));
    let agreement = app.mails_to("nn1-ovh").await;
    assert_eq!(agreement.len(), 1, "the current address gets one mail");
    let to_current = agreement[0].token().expect("the current address's own code");
    assert_ne!(to_new, to_current, "each address its own code");
    assert!(agreement[0].text.contains(&new), "it names the address asked for");
    assert!(!agreement[0].text.contains(&to_new) && !agreement[0].html.contains(&to_new), "not the new address's code");
    assert_eq!(agreement[0].html.matches("href").count(), 1, "exactly one link, the one to agree: {}", agreement[0].html);
    assert!(agreement[0].text.contains("If it was not you"), "it says in words what to do if it was not them: {}", agreement[0].text);
    assert!(!asked.text().contains(&to_new) && !asked.text().contains(&to_current), "the answer holds no code");

    // Until both came back, mail goes to the old address: a request naming Ned, and its resend.
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let resent = app.post(&format!("/v1/contact-changes/{id}/resend"), "aa1-ovh", json!({})).await;
    assert_eq!(resent.status, StatusCode::ACCEPTED, "{}", resent.text());
    let about: Vec<String> = app.mails().await.into_iter().filter(|m| m.text.contains(&id) && m.token().is_some()).map(|m| m.to).collect();
    assert_eq!(about.iter().filter(|to| **to == old).count(), 2, "Ned's code, created and resent, went to the old address: {about:?}");
    assert!(!about.contains(&new), "nothing about the request went to the unverified address");
}

/// Issue 27's attack, played end to end: Ada's session is stolen; the thief owns a mailbox and the
/// account `mm1-ovh`. The session and the mailbox alone must not move Ada's mail, nor hand the
/// thief the admin role of Ada's service.
async fn a_stolen_session_and_a_new_mailbox_move_no_mail_and_complete_no_admin_handover(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let thiefs = address(&app, "thief");
    ask_ok(&app, "aa1-ovh", &thiefs).await;
    let from_the_thiefs_mailbox = code_at(&app, &thiefs).await;
    let half = verify_ok(&app, "aa1-ovh", &from_the_thiefs_mailbox).await;
    assert_eq!((half["email"].as_str(), half["pending_email"].as_str()), (Some(app.email_of("aa1-ovh").as_str()), Some(thiefs.as_str())), "nothing moved");

    // The handover of example.com's admin role to the thief's own account: Ada must confirm.
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "admin": "mm1-ovh" })).await;
    let resent = app.post(&format!("/v1/contact-changes/{id}/resend"), "aa1-ovh", json!({})).await;
    assert_eq!(resent.status, StatusCode::ACCEPTED, "{}", resent.text());
    assert_eq!(app.accept(&id, "mm1-ovh", &app.token_of("mm1-ovh", &id).await).await.status, StatusCode::OK, "the thief's own part");
    let thiefs_mail = verification_mails(&app, &thiefs).await;
    assert_eq!(app.mails().await.into_iter().filter(|m| m.to == thiefs).count(), thiefs_mail.len(), "only the verification reached the thief");
    for wrong in [from_the_thiefs_mailbox.clone(), app.token_of("mm1-ovh", &id).await] {
        let refused = app.accept(&id, "aa1-ovh", &wrong).await;
        assert_eq!((refused.status, refused.code()), (StatusCode::FORBIDDEN, "token_mismatch".to_owned()));
    }
    let request = app.request(&id, "aa1-ovh").await;
    let adas = request["parties"].as_array().unwrap().iter().find(|p| p["account"] == "aa1-ovh").unwrap()["status"].clone();
    assert_eq!((request["state"].as_str(), adas.as_str()), (Some("pending"), Some("pending")), "{request}");
    assert_eq!(app.contacts("example.com", "aa1-ovh").await["admin"], "aa1-ovh", "Ada is still the admin");
    assert_eq!(me(&app, "aa1-ovh").await["email"], app.email_of("aa1-ovh").as_str(), "and her mail still reaches her");
    assert!(
        app.mails_to("aa1-ovh").await.iter().any(|m| m.text.contains(&thiefs) && m.text.contains("If it was not you")),
        "Ada was asked, and told what to do"
    );
}

async fn both_codes_in_either_order_move_the_address_and_the_old_one_is_told(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    for (account, name, new_first) in [("nn1-ovh", "ned.new", true), ("mm1-ovh", "mia.new", false)] {
        let (old, new) = (app.email_of(account), address(&app, name));
        ask_ok(&app, account, &new).await;
        let (first, second) = if new_first { (&new, &old) } else { (&old, &new) };
        let half = verify_ok(&app, account, &code_at(&app, first).await).await;
        assert_eq!((half["email"].as_str(), half["pending_email"].as_str()), (Some(old.as_str()), Some(new.as_str())), "one code of two moves nothing");
        assert!(!app.mails().await.iter().any(|m| m.to == old && m.subject.contains("has been changed")), "and tells nothing");
        let done = verify_ok(&app, account, &code_at(&app, second).await).await;
        assert_eq!((done["email"].as_str(), done["pending_email"].clone()), (Some(new.as_str()), serde_json::Value::Null), "{account}");
        assert_eq!(done["account"], account);
        assert_eq!(me(&app, account).await["email"], new.as_str());
        let told: Vec<SentMail> = app.mails().await.into_iter().filter(|m| m.to == old && m.token().is_none()).collect();
        assert_eq!(told.len(), 1, "{account}: the old address is told once it is done");
        assert!(told[0].text.contains(&new) && !told[0].html.contains("href"), "{account}: it names the new address, and links nowhere");
    }

    // A resend of the pending request now reaches Ned's new address, with a code that works.
    let resent = app.post(&format!("/v1/contact-changes/{id}/resend"), "aa1-ovh", json!({})).await;
    assert_eq!(resent.status, StatusCode::ACCEPTED, "{}", resent.text());
    let new = address(&app, "ned.new");
    let fresh = app.mails().await.into_iter().rev().find(|m| m.to == new && m.text.contains(&id)).expect("a code at the new address");
    assert_eq!(app.accept(&id, "nn1-ovh", &fresh.token().unwrap()).await.status, StatusCode::OK);
}

async fn the_verification_page_changes_nothing_and_its_form_verifies_with_the_code_alone(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let new = address(&app, "ned.new");
    ask_ok(&app, "nn1-ovh", &new).await;
    let (to_new, to_current) = (code_at(&app, &new).await, code_at(&app, &app.email_of("nn1-ovh")).await);

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

    let half = app.call(Method::POST, "/verify-email", None, form(&to_current)).await;
    assert_eq!(half.status, StatusCode::OK, "{}", half.text());
    assert!(half.text().contains("other address") && !half.text().contains("is now the email address"), "one of two: {}", half.text());
    assert_eq!(me(&app, "nn1-ovh").await["email"], app.email_of("nn1-ovh").as_str());
    let verified = app.call(Method::POST, "/verify-email", None, form(&to_new)).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text());
    assert!(verified.header("content-type").unwrap().starts_with("text/html") && verified.text().contains(&new));
    assert!(verified.text().contains("is now the email address"), "{}", verified.text());
    assert_eq!(verified.header("cache-control"), Some("no-store"));
    assert!(!verified.text().contains(&to_new));
    assert_eq!(me(&app, "nn1-ovh").await["email"], new.as_str());
}

async fn each_code_works_once(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let new = address(&app, "ned.new");
    ask_ok(&app, "nn1-ovh", &new).await;
    let (to_new, to_current) = (code_at(&app, &new).await, code_at(&app, &app.email_of("nn1-ovh")).await);
    verify_ok(&app, "nn1-ovh", &to_new).await;
    let again = verify(&app, "nn1-ovh", &to_new).await;
    assert_eq!((again.status, again.code()), (StatusCode::FORBIDDEN, "token_mismatch".to_owned()), "twice the same code is not both");
    assert_eq!(app.call(Method::POST, "/verify-email", None, form(&to_new)).await.status, StatusCode::FORBIDDEN);
    for malformed in ["", "short", "not a token at all, but long enough to be one"] {
        assert_eq!(verify(&app, "nn1-ovh", malformed).await.code(), "token_mismatch", "{malformed:?} is a code that does not match");
    }
    assert_eq!(me(&app, "nn1-ovh").await["pending_email"], new.as_str(), "still pending");
    verify_ok(&app, "nn1-ovh", &to_current).await;
    assert_eq!(verify(&app, "nn1-ovh", &to_current).await.code(), "token_mismatch");
    assert_eq!(me(&app, "nn1-ovh").await["email"], new.as_str());
}

async fn another_accounts_code_is_refused_and_changes_nothing(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let new = address(&app, "ned.new");
    ask_ok(&app, "nn1-ovh", &new).await;
    let token = code_at(&app, &new).await;
    let stolen = verify(&app, "aa1-ovh", &token).await;
    assert_eq!((stolen.status, stolen.code()), (StatusCode::FORBIDDEN, "token_mismatch".to_owned()));
    assert!(stolen.json()["detail"].as_str().unwrap().contains("did not match"), "{}", stolen.text());
    assert_eq!(me(&app, "aa1-ovh").await["email"], app.email_of("aa1-ovh").as_str());
    assert_eq!(me(&app, "nn1-ovh").await["pending_email"], new.as_str(), "Ned's change is still pending");
    assert_eq!(verify(&app, "nn1-ovh", &token).await.status, StatusCode::OK, "and its code still works for Ned");
}

async fn both_codes_must_come_back_within_24_hours(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let (new, other) = (address(&app, "ned.new"), address(&app, "mia.new"));
    ask_ok(&app, "nn1-ovh", &new).await;
    ask_ok(&app, "mm1-ovh", &other).await;
    verify_ok(&app, "nn1-ovh", &code_at(&app, &new).await).await;
    verify_ok(&app, "mm1-ovh", &code_at(&app, &other).await).await;
    let (ned_last, mia_last) = (code_at(&app, &app.email_of("nn1-ovh")).await, code_at(&app, &app.email_of("mm1-ovh")).await);
    app.clock.advance(Duration::hours(24) - Duration::seconds(1));
    assert_eq!(verify_ok(&app, "mm1-ovh", &mia_last).await["email"], other.as_str(), "live a second before 24 h");
    app.clock.advance(Duration::seconds(1));
    let late = verify(&app, "nn1-ovh", &ned_last).await;
    assert_eq!((late.status, late.code()), (StatusCode::FORBIDDEN, "token_mismatch".to_owned()));
    assert_eq!(app.call(Method::POST, "/verify-email", None, form(&ned_last)).await.status, StatusCode::FORBIDDEN);
    let ned = me(&app, "nn1-ovh").await;
    assert_eq!(
        (ned["email"].as_str(), ned["pending_email"].clone()),
        (Some(app.email_of("nn1-ovh").as_str()), serde_json::Value::Null),
        "an expired change is no longer pending, whatever came back of it"
    );
}

async fn a_patch_back_to_the_current_address_withdraws_the_change(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let (old, new) = (app.email_of("nn1-ovh"), address(&app, "ned.new"));
    ask_ok(&app, "nn1-ovh", &new).await;
    let (to_new, to_current) = (code_at(&app, &new).await, code_at(&app, &old).await);
    let mails = app.mails().await.len();
    let back = ask(&app, "nn1-ovh", &old).await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text());
    assert_eq!((back.json()["email"].as_str(), back.json()["pending_email"].clone()), (Some(old.as_str()), serde_json::Value::Null));
    assert_eq!(app.mails().await.len(), mails, "withdrawing mails nobody");
    for code in [&to_new, &to_current] {
        assert_eq!(verify(&app, "nn1-ovh", code).await.code(), "token_mismatch", "the withdrawn change's codes work no more");
    }
    assert_eq!(me(&app, "nn1-ovh").await["email"], old.as_str());
    // With nothing pending, the current address again is a no-op.
    assert_eq!(ask(&app, "nn1-ovh", &old).await.status, StatusCode::OK);
}

async fn a_newer_patch_replaces_the_pending_change_and_its_codes(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let (old, first, second) = (app.email_of("nn1-ovh"), address(&app, "ned.first"), address(&app, "ned.second"));
    ask_ok(&app, "nn1-ovh", &first).await;
    let (first_new, first_current) = (code_at(&app, &first).await, code_at(&app, &old).await);
    ask_ok(&app, "nn1-ovh", &second).await;
    assert_eq!(me(&app, "nn1-ovh").await["pending_email"], second.as_str());
    assert_eq!(verification_mails(&app, &old).await.len(), 2, "the current address is asked about each change");
    for code in [&first_new, &first_current] {
        assert_eq!(verify(&app, "nn1-ovh", code).await.code(), "token_mismatch", "the older codes stopped working");
    }
    verify_ok(&app, "nn1-ovh", &code_at(&app, &second).await).await;
    assert_eq!(verify_ok(&app, "nn1-ovh", &code_at(&app, &old).await).await["email"], second.as_str());
}

async fn the_providers_upsert_sets_the_address_directly_and_drops_the_pending_change(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let (new, provider_says) = (address(&app, "ned.new"), address(&app, "ned.billing"));
    ask_ok(&app, "nn1-ovh", &new).await;
    let (to_new, to_current) = (code_at(&app, &new).await, code_at(&app, &app.email_of("nn1-ovh")).await);
    verify_ok(&app, "nn1-ovh", &to_new).await;
    let upsert =
        app.provider_put("/internal/accounts/nn1-ovh", json!({"name": "Ned New", "email": provider_says, "language": "en", "payment_status": "ok"})).await;
    assert_eq!(upsert.status, StatusCode::OK, "{}", upsert.text());
    let ned = me(&app, "nn1-ovh").await;
    assert_eq!((ned["email"].as_str(), ned["pending_email"].clone()), (Some(provider_says.as_str()), serde_json::Value::Null), "set directly, nothing pending");
    // The change asked before cannot overwrite the provider's address later.
    assert_eq!(verify(&app, "nn1-ovh", &to_current).await.code(), "token_mismatch");
    assert_eq!(app.call(Method::POST, "/verify-email", None, form(&to_current)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(me(&app, "nn1-ovh").await["email"], provider_says.as_str());
}

async fn email_changes_are_bounded_per_account_and_day(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    for n in 0..3 {
        ask_ok(&app, "nn1-ovh", &address(&app, &format!("ned.try{n}"))).await;
        app.clock.advance(Duration::minutes(10));
    }
    let mails = app.mails().await.len();
    let flood = ask(&app, "nn1-ovh", &address(&app, "victim")).await;
    assert_eq!((flood.status, flood.code()), (StatusCode::TOO_MANY_REQUESTS, "too_many_requests".to_owned()), "{}", flood.text());
    let retry_after = (Duration::hours(24) - Duration::minutes(30)).whole_seconds().to_string();
    assert_eq!(flood.header("retry-after"), Some(retry_after.as_str()), "3 per 24 hours: the first ask leaves the window 23 h 30 min later");
    assert_eq!(app.mails().await.len(), mails, "refused asks mail nobody");
    assert_eq!(me(&app, "nn1-ovh").await["pending_email"], address(&app, "ned.try2").as_str(), "and change nothing");
    assert_eq!(ask(&app, "mm1-ovh", &address(&app, "mia.new")).await.status, StatusCode::OK, "the bound is per account");
    // Withdrawing mails nobody, so it is always allowed.
    assert_eq!(ask(&app, "nn1-ovh", &app.email_of("nn1-ovh")).await.status, StatusCode::OK);
    app.clock.advance(Duration::hours(23));
    assert_eq!(ask(&app, "nn1-ovh", &address(&app, "ned.still")).await.status, StatusCode::TOO_MANY_REQUESTS, "an hour is not a day");
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
    assert_eq!(app.mails_to("nn1-ovh").await[0].subject, "Approva la modifica del tuo indirizzo email");
    // A language alone keeps the pending change.
    let french = app.patch("/v1/me", "nn1-ovh", json!({ "language": "fr" })).await.json();
    assert_eq!((french["language"].as_str(), french["pending_email"].as_str()), (Some("fr"), Some(new.as_str())));
}

async fn when_a_code_cannot_be_sent_nothing_is_pending(backend: Backend) {
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

/// SPEC §3: a code belongs to an address. Ned is awaited on two requests and has answered a
/// third; his address changes (his two codes came back).
async fn a_new_address_kills_the_accounts_live_codes_and_its_pending_requests_mail_fresh_ones_there(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let (old, new) = (app.email_of("nn1-ovh"), address(&app, "ned.new"));
    let tech = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let billing = app.ask_ok("example.com", "aa1-ovh", json!({ "billing": "nn1-ovh" })).await;
    let admin = app.ask_ok("example.com", "aa1-ovh", json!({ "admin": "nn1-ovh" })).await;
    assert_eq!(app.accept(&admin, "nn1-ovh", &app.token_of("nn1-ovh", &admin).await).await.status, StatusCode::OK, "answered before");
    let (old_tech, old_billing) = (app.token_of("nn1-ovh", &tech).await, app.token_of("nn1-ovh", &billing).await);
    let adas = app.token_of("aa1-ovh", &tech).await;

    change_address(&app, "nn1-ovh", &new).await;
    for (id, code) in [(&tech, &old_tech), (&billing, &old_billing)] {
        let dead = app.accept(id, "nn1-ovh", code).await;
        assert_eq!((dead.status, dead.code()), (StatusCode::FORBIDDEN, "token_mismatch".to_owned()), "the code at the old address died at once");
        let page = app.call(Method::POST, &format!("/confirm/{id}"), None, Bytes::from(format!("token={code}&decision=accept"))).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "on the page too");
    }
    assert_eq!(codes_at(&app, &new, &admin).await, Vec::<String>::new(), "a request that no longer awaits Ned mails him no code");
    let request = app.request(&tech, "aa1-ovh").await;
    assert!(request["history"].as_array().unwrap().iter().any(|h| h["event"] == "readdressed" && h["to"] == "nn1-ovh"), "{request}");
    for id in [&tech, &billing] {
        let codes = codes_at(&app, &new, id).await;
        assert_eq!(codes.len(), 1, "one fresh code at the new address for {id}");
        assert_eq!(app.accept(id, "nn1-ovh", &codes[0]).await.status, StatusCode::OK, "and it works");
    }
    assert!(
        !app.mails().await.iter().any(|m| m.to == old && m.text.contains(&tech) && m.token().is_some_and(|t| t != old_tech)),
        "no code went to the old address"
    );
    assert_eq!(app.accept(&tech, "aa1-ovh", &adas).await.status, StatusCode::OK, "the other parties' codes are untouched");
    assert_eq!(app.request(&tech, "aa1-ovh").await["state"], "done");
}

/// As above, when the provider's support sets the address (the owner lost the old mailbox).
async fn a_new_address_set_by_the_provider_takes_the_accounts_codes_with_it(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let provider_says = address(&app, "ned.support");
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let old_code = app.token_of("nn1-ovh", &id).await;
    let unchanged = json!({"name": "Ned New", "email": app.email_of("nn1-ovh"), "language": "en", "payment_status": "ok"});
    assert_eq!(app.provider_put("/internal/accounts/nn1-ovh", unchanged).await.status, StatusCode::OK);
    assert_eq!(
        app.request(&id, "nn1-ovh").await["history"].as_array().unwrap().iter().filter(|h| h["event"] == "readdressed").count(),
        0,
        "the same address: codes live"
    );
    let upsert =
        app.provider_put("/internal/accounts/nn1-ovh", json!({"name": "Ned New", "email": provider_says, "language": "en", "payment_status": "ok"})).await;
    assert_eq!(upsert.status, StatusCode::OK, "{}", upsert.text());
    assert_eq!(app.accept(&id, "nn1-ovh", &old_code).await.code(), "token_mismatch", "the old mailbox's code died");
    let fresh = app.mails().await.into_iter().rev().find(|m| m.to == provider_says && m.text.contains(&id)).and_then(|m| m.token()).expect("a fresh code");
    assert_eq!(app.accept(&id, "nn1-ovh", &fresh).await.status, StatusCode::OK);
}
