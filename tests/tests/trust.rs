//! SPEC §2-§3, issue "trust": nobody without a say may veto, complete or flood a change.
//! - wrong codes are limited per caller, never per request: a bystander cannot lock a party out;
//! - authority is checked again when the change takes effect (`requester_lost_role`), and the
//!   service's current admin may cancel any pending request on it;
//! - resends are bounded, and so are the requests that end unaccepted towards one new contact;
//! - (issue "Trust, round 2") the emailed link's page names nobody to whoever holds the id, says
//!   only what the request's state says, and shows who is involved to a live code's holder alone.

use std::net::IpAddr;

use bytes::Bytes;
use contacts_api::Caller;
use contacts_app::ports::Clock;
use contacts_domain::Decision;
use contacts_domain::limits::{ATTEMPT_LIMIT, ATTEMPT_WINDOW};
use http::{Method, StatusCode};
use integration_tests::{Backend, TestApp, on_every_backend};
use serde_json::json;
use time::Duration;

on_every_backend!(
    a_bystander_who_knows_the_id_cannot_lock_the_parties_out,
    wrong_codes_on_the_page_are_counted_per_source_address,
    a_callers_own_wrong_codes_never_refuse_its_right_one,
    a_change_asked_by_an_admin_who_was_deposed_meanwhile_fails_and_changes_nothing,
    a_handover_still_takes_effect_when_only_the_admin_changed,
    the_services_current_admin_may_cancel_any_pending_request_on_it,
    pending_and_done_requests_never_count_against_the_limit,
    a_colluding_admin_cancelling_for_the_requester_counts_against_it,
    the_link_page_names_nobody_to_whoever_holds_the_id,
    a_crafted_answered_link_claims_nothing_the_state_does_not_say,
    a_live_code_reads_who_is_involved_and_changes_nothing,
    a_wrong_code_reads_nobody_and_spends_the_addresss_budget_of_the_page,
    a_spent_or_replaced_code_reads_nobody,
    ;
    // Not through the functions: a_caller_at_its_limit_may_try_again_once_the_window_has_passed,
    // resends_stop_at_the_limit and requests_that_end_unaccepted_towards_one_contact_are_limited_per_day
    // (they move the clock), the_largest_request_item_any_sequence_of_calls_can_make_stays_far_below_400_kb
    // (it makes the mail service fail and moves the clock).
    not_through_the_functions:
    a_caller_at_its_limit_may_try_again_once_the_window_has_passed,
    resends_stop_at_the_limit,
    requests_that_end_unaccepted_towards_one_contact_are_limited_per_day,
    the_largest_request_item_any_sequence_of_calls_can_make_stays_far_below_400_kb,
);

fn form(token: &str) -> Bytes {
    Bytes::from(format!("token={token}&decision=accept"))
}

fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

/// A wrong code: 43 characters of the token alphabet that no live token is.
fn guess(n: u32) -> String {
    format!("{n:0>43}")
}

async fn a_bystander_who_knows_the_id_cannot_lock_the_parties_out(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    // Teo, the tech being replaced, is only informed, but knows the id from his mail.
    for n in 0..ATTEMPT_LIMIT {
        let wrong = app.accept(&id, "tt1-ovh", &guess(n)).await;
        assert_eq!((wrong.status, wrong.code().as_str()), (StatusCode::FORBIDDEN, "token_mismatch"), "attempt {n}");
    }
    let limited = app.refuse(&id, "tt1-ovh", &guess(99)).await;
    assert_eq!((limited.status, limited.code().as_str()), (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"));
    let retry: i64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=ATTEMPT_WINDOW.whole_seconds()).contains(&retry), "{retry}");
    // The same through the page, from his address.
    for n in 0..=ATTEMPT_LIMIT {
        app.call_from(Method::POST, &format!("/confirm/{id}"), Caller::Anonymous, form(&guess(n)), ip("198.51.100.7")).await;
    }
    // The parties' own live tokens work as if nothing happened.
    assert_eq!(app.request(&id, "aa1-ovh").await["state"], "pending");
    let ada = app.token_of("aa1-ovh", &id).await;
    assert_eq!(app.accept(&id, "aa1-ovh", &ada).await.status, StatusCode::OK);
    let ned = app.token_of("nn1-ovh", &id).await;
    let page = app.call_from(Method::POST, &format!("/confirm/{id}"), Caller::Anonymous, form(&ned), ip("203.0.113.9")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());
    assert_eq!(app.contacts("example.com", "aa1-ovh").await["tech"], "nn1-ovh");
}

async fn wrong_codes_on_the_page_are_counted_per_source_address(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let path = format!("/confirm/{id}");
    for n in 0..ATTEMPT_LIMIT {
        let wrong = app.call_from(Method::POST, &path, Caller::Anonymous, form(&guess(n)), ip("198.51.100.7")).await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN);
        assert!(wrong.text().contains("did not match"));
    }
    let limited = app.call_from(Method::POST, &path, Caller::Anonymous, form(&guess(0)), ip("198.51.100.7")).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.header("retry-after").is_some());
    assert!(limited.header("content-type").unwrap().starts_with("text/html"), "the page answers as a page");
    // Another address, and a signed-in caller, each have a budget of their own.
    let other = app.call_from(Method::POST, &path, Caller::Anonymous, form(&guess(0)), ip("2001:db8::1")).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert_eq!(app.accept(&id, "aa1-ovh", &guess(0)).await.code(), "token_mismatch");
    // Even from the limited address (a NAT, a proxy: the hammering may be someone else's
    // behind it), a party's live token is never refused: only wrong codes are limited.
    assert_eq!(app.call_from(Method::POST, &path, Caller::Anonymous, form(&guess(1)), ip("198.51.100.7")).await.status, StatusCode::TOO_MANY_REQUESTS);
    let ada = app.token_of("aa1-ovh", &id).await;
    assert_eq!(app.call_from(Method::POST, &path, Caller::Anonymous, form(&ada), ip("198.51.100.7")).await.status, StatusCode::SEE_OTHER);
    // The same for the answer that makes the change take effect.
    let ned = app.token_of("nn1-ovh", &id).await;
    assert_eq!(app.call_from(Method::POST, &path, Caller::Anonymous, form(&ned), ip("198.51.100.7")).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.contacts("example.com", "aa1-ovh").await["tech"], "nn1-ovh");
    assert_eq!(app.request(&id, "nn1-ovh").await["state"], "done");
}

async fn a_caller_at_its_limit_may_try_again_once_the_window_has_passed(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    for n in 0..ATTEMPT_LIMIT {
        app.accept(&id, "nn1-ovh", &guess(n)).await;
    }
    let limited = app.accept(&id, "nn1-ovh", &guess(0)).await;
    assert_eq!(limited.code(), "too_many_attempts");
    let retry: i64 = limited.header("retry-after").unwrap().parse().unwrap();
    app.clock.advance(Duration::seconds(retry));
    // Its wrong codes are counted afresh: a wrong one is a plain mismatch again.
    assert_eq!(app.accept(&id, "nn1-ovh", &guess(1)).await.code(), "token_mismatch");
}

async fn a_callers_own_wrong_codes_never_refuse_its_right_one(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    for n in 0..=ATTEMPT_LIMIT {
        app.accept(&id, "nn1-ovh", &guess(n)).await;
    }
    assert_eq!(app.accept(&id, "nn1-ovh", &guess(0)).await.code(), "too_many_attempts", "its wrong codes are held off");
    let ned = app.token_of("nn1-ovh", &id).await;
    assert_eq!(app.accept(&id, "nn1-ovh", &ned).await.status, StatusCode::OK, "a mistyped code, then the right one: taken");
}

async fn a_change_asked_by_an_admin_who_was_deposed_meanwhile_fails_and_changes_nothing(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    // The provider makes Mia the admin: Ada has no say over the tech contact any more.
    let upsert = app.provider_put("/internal/services/example.com", json!({"admin": "mm1-ovh", "tech": "tt1-ovh", "billing": "bb1-ovh"})).await;
    assert_eq!(upsert.status, StatusCode::OK, "{}", upsert.text());
    assert_eq!(
        upsert.json()["pending_changes"],
        json!([{"request": id, "role": "tech", "from": "tt1-ovh", "to": "tt1-ovh", "reason": "requester_lost_role"}]),
        "the upsert names the request it overtakes"
    );
    for party in ["aa1-ovh", "nn1-ovh"] {
        let token = app.token_of(party, &id).await;
        assert_eq!(app.accept(&id, party, &token).await.status, StatusCode::OK);
    }
    let request = app.request(&id, "nn1-ovh").await;
    assert_eq!((request["state"].as_str(), request["reason"].as_str()), (Some("failed"), Some("requester_lost_role")));
    assert_eq!(app.contacts("example.com", "mm1-ovh").await, json!({"admin": "mm1-ovh", "tech": "tt1-ovh", "billing": "bb1-ovh"}));
    for party in ["aa1-ovh", "nn1-ovh"] {
        let last = app.mails_to(party).await.pop().unwrap();
        assert!(last.subject.contains("failed") && last.text.contains("no longer holds the role"), "{party}: {}", last.text);
    }
    assert_eq!(app.get("/v1/services/example.com", "mm1-ovh").await.json()["pending"], json!([]), "the lock went with it");
}

async fn a_handover_still_takes_effect_when_only_the_admin_changed(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "tt1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let upsert = app.provider_put("/internal/services/example.com", json!({"admin": "mm1-ovh", "tech": "tt1-ovh", "billing": "bb1-ovh"})).await;
    assert_eq!(upsert.json()["pending_changes"], json!([]), "the tech's own role entitles a handover: {}", upsert.text());
    for party in ["tt1-ovh", "nn1-ovh"] {
        let token = app.token_of(party, &id).await;
        app.accept(&id, party, &token).await;
    }
    assert_eq!(app.request(&id, "nn1-ovh").await["state"], "done");
    assert_eq!(app.contacts("example.com", "mm1-ovh").await["tech"], "nn1-ovh");
}

async fn the_services_current_admin_may_cancel_any_pending_request_on_it(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    // Teo hands his tech role to Ned; Bea (billing) may not cancel it, Ada (admin) may.
    let id = app.ask_ok("example.com", "tt1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let path = format!("/v1/contact-changes/{id}/cancel");
    let refused = app.post(&path, "bb1-ovh", json!({})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    let cancelled = app.post(&path, "aa1-ovh", json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text());
    let request = cancelled.json();
    assert_eq!(request["state"], "cancelled");
    assert!(request["history"].as_array().unwrap().iter().any(|h| h["event"] == "cancelled" && h["by"] == "aa1-ovh"));
    for (told, word) in [("tt1-ovh", "annullata"), ("nn1-ovh", "cancelled")] {
        assert!(app.mails_to(told).await.last().unwrap().subject.contains(word), "{told}");
    }
    // A deposed admin loses that power with the role; the new one has it.
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "billing": "nn1-ovh" })).await;
    app.provider_put("/internal/services/example.com", json!({"admin": "mm1-ovh", "tech": "tt1-ovh", "billing": "bb1-ovh"})).await;
    let by_new_admin = app.post(&format!("/v1/contact-changes/{id}/cancel"), "mm1-ovh", json!({})).await;
    assert_eq!(by_new_admin.status, StatusCode::OK, "{}", by_new_admin.text());
}

async fn resends_stop_at_the_limit(backend: Backend) {
    let app = TestApp::seeded_with(backend, |c| {
        c.resend_cooldown = Duration::seconds(60);
        c.resend_limit = 2;
    })
    .await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let path = format!("/v1/contact-changes/{id}/resend");
    for _ in 0..2 {
        assert_eq!(app.post(&path, "nn1-ovh", json!({})).await.status, StatusCode::ACCEPTED);
        app.clock.advance(Duration::seconds(60));
    }
    let mails = app.mails().await.len();
    let limited = app.post(&path, "nn1-ovh", json!({})).await;
    assert_eq!((limited.status, limited.code().as_str()), (StatusCode::TOO_MANY_REQUESTS, "resend_limit"));
    let retry: i64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 6 * 86_400, "until the request ends: {retry}");
    assert_eq!(app.mails().await.len(), mails, "nothing more was mailed");
    // Ned used up his resends, not Ada's: one hostile party cannot leave the others without
    // theirs. Hers are limited the same way.
    for _ in 0..2 {
        assert_eq!(app.post(&path, "aa1-ovh", json!({})).await.status, StatusCode::ACCEPTED);
        app.clock.advance(Duration::seconds(60));
    }
    assert_eq!(app.post(&path, "aa1-ovh", json!({})).await.code(), "resend_limit");
    // The latest tokens still work.
    for party in ["aa1-ovh", "nn1-ovh"] {
        let token = app.token_of(party, &id).await;
        assert_eq!(app.accept(&id, party, &token).await.status, StatusCode::OK);
    }
}

async fn requests_that_end_unaccepted_towards_one_contact_are_limited_per_day(backend: Backend) {
    let app = TestApp::seeded_with(backend, |c| c.token_ttl = Duration::hours(2)).await;
    let ask = || app.ask("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" }));
    // Cancelled by the requester, refused by the new contact, expired: three that count.
    let first = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    app.post(&format!("/v1/contact-changes/{first}/cancel"), "aa1-ovh", json!({})).await;
    let second = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let token = app.token_of("nn1-ovh", &second).await;
    assert_eq!(app.refuse(&second, "nn1-ovh", &token).await.status, StatusCode::OK);
    app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    app.clock.advance(Duration::hours(2));
    // Nobody read the third since it expired: it counts all the same.
    let mails_to_ned = app.mails_to("nn1-ovh").await.len();
    let limited = ask().await;
    assert_eq!((limited.status, limited.code().as_str()), (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"), "{}", limited.text());
    let retry: i64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert_eq!(retry, Duration::hours(22).whole_seconds(), "until the cancelled one is a day old");
    assert_eq!(app.mails_to("nn1-ovh").await.len(), mails_to_ned, "Ned was not mailed again");
    // Another new contact is not concerned; the requester itself never is.
    app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "mm1-ovh" })).await;
    app.ask_ok("example.com", "aa1-ovh", json!({ "billing": "aa1-ovh" })).await;
    // A day after the first two ended, Ned may be asked again (Mia's request has expired by then).
    app.clock.advance(Duration::hours(22));
    assert_eq!(ask().await.status, StatusCode::CREATED);
}

async fn a_colluding_admin_cancelling_for_the_requester_counts_against_it(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    // Teo (tech) asks Ned to take his role, and Ada (admin) cancels each time: a loop that
    // would mail Ned at API Gateway's rate if an admin's cancel did not count.
    for _ in 0..3 {
        let teo = app.ask_ok("example.com", "tt1-ovh", json!({ "tech": "nn1-ovh" })).await;
        assert_eq!(app.post(&format!("/v1/contact-changes/{teo}/cancel"), "aa1-ovh", json!({})).await.status, StatusCode::OK);
    }
    let mails_to_ned = app.mails_to("nn1-ovh").await.len();
    let limited = app.ask("example.com", "tt1-ovh", json!({ "tech": "nn1-ovh" })).await;
    assert_eq!((limited.status, limited.code().as_str()), (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"), "{}", limited.text());
    assert!(limited.header("retry-after").is_some());
    assert_eq!(app.mails_to("nn1-ovh").await.len(), mails_to_ned, "Ned was not mailed again");

    // A request the new contact accepted is no unwanted mail, whoever cancels it afterwards:
    // Mia accepts each of Teo's asks, and Ada's cancels never count.
    for _ in 0..4 {
        let teo = app.ask_ok("example.com", "tt1-ovh", json!({ "tech": "mm1-ovh" })).await;
        let token = app.token_of("mm1-ovh", &teo).await;
        assert_eq!(app.accept(&teo, "mm1-ovh", &token).await.status, StatusCode::OK);
        assert_eq!(app.post(&format!("/v1/contact-changes/{teo}/cancel"), "aa1-ovh", json!({})).await.status, StatusCode::OK);
    }
}

async fn pending_and_done_requests_never_count_against_the_limit(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    // Four services handed to Ned at once: all pending, none counted.
    let services: Vec<_> = (1..=4).map(|n| json!({"name": format!("s{n}.example.com"), "admin": "aa1-ovh", "tech": "tt1-ovh", "billing": "bb1-ovh"})).collect();
    app.load(&json!({ "services": services })).await;
    let mut ids = Vec::new();
    for n in 1..=4 {
        ids.push(app.ask_ok(&format!("s{n}.example.com"), "aa1-ovh", json!({ "tech": "nn1-ovh" })).await);
    }
    // Two take effect: done does not count either.
    for id in &ids[..2] {
        for party in ["aa1-ovh", "nn1-ovh"] {
            let token = app.token_of(party, id).await;
            app.accept(id, party, &token).await;
        }
        assert_eq!(app.request(id, "aa1-ovh").await["state"], "done");
    }
    assert_eq!(app.ask("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await.status, StatusCode::CREATED);
}

/// DynamoDB's size of an item: every attribute's name and value (UTF-8 bytes for strings,
/// at most 21 bytes for a number), as its item size limit counts them.
fn item_size(item: &contacts_aws::dynamodb::items::Item) -> usize {
    item.iter().map(|(name, value)| name.len() + value.as_s().map(String::len).unwrap_or(21)).sum()
}

async fn the_largest_request_item_any_sequence_of_calls_can_make_stays_far_below_400_kb(backend: Backend) {
    // The longest names there are, the most resends allowed, and a mail service that fails
    // every mail (each failure is a history entry, as each success would be).
    let app = TestApp::spawn_with(backend, |c| {
        c.resend_limit = contacts_app::config::MAX_COUNT;
        c.resend_cooldown = Duration::seconds(1);
    })
    .await;
    let long = |letters: &str| format!("{letters}{}-ovh", "9".repeat(64 - 6));
    let (admin, tech, new) = (long("aa"), long("tt"), long("nn"));
    let service = "s".repeat(253);
    let person = |id: &str| json!({"id": id, "name": "N".repeat(200), "email": format!("{}.{}@example.com", &id[..2], app.tag), "language": "it"});
    app.load(
        &json!({"accounts": [person(&admin), person(&tech), person(&new)], "services": [{"name": service, "admin": admin, "tech": tech, "billing": admin}]}),
    )
    .await;
    app.set_mail_unavailable(true);
    let id = app.ask_ok(&service, &admin, json!({ "tech": new })).await;
    let resend = format!("/v1/contact-changes/{id}/resend");
    // Each party may resend up to the limit, its own.
    for party in [&admin, &new] {
        loop {
            let answer = app.post(&resend, party, json!({})).await;
            app.clock.advance(Duration::seconds(1));
            if answer.status != StatusCode::ACCEPTED {
                assert_eq!(answer.code(), "resend_limit");
                break;
            }
        }
    }
    // Everything else anyone may try adds nothing: refused resends, wrong codes, cancels by others.
    let entries = app.request(&id, &admin).await["history"].as_array().unwrap().len();
    for n in 0..30 {
        app.post(&resend, &new, json!({})).await;
        app.accept(&id, &tech, &guess(n)).await;
        app.post(&format!("/v1/contact-changes/{id}/cancel"), &new, json!({})).await;
    }
    assert_eq!(app.request(&id, &admin).await["history"].as_array().unwrap().len(), entries, "refused calls leave no trace in the item");
    // The parties accept with the tokens the store holds (no mail got through to carry them).
    app.set_mail_unavailable(false);
    let change = app.store.contact_change(id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(change.resends(), 2 * contacts_app::config::MAX_COUNT, "each party's resends");
    app.set_mail_unavailable(true);
    let mut change = change;
    for party in [admin.as_str(), new.as_str()] {
        change.step(contacts_domain::Step::Accept { party: party.parse().unwrap() }, app.clock.now()).unwrap();
    }
    change.step(contacts_domain::Step::Complete, app.clock.now()).unwrap();
    for to in [&admin, &new, &tech] {
        change.step(contacts_domain::Step::MailFailed { to: to.parse().unwrap() }, app.clock.now()).unwrap();
    }
    let (request, copies) = contacts_aws::dynamodb::items::request_items(&change).unwrap();
    let largest = copies.iter().chain([&request]).map(item_size).max().unwrap();
    eprintln!("{} history entries; the largest item is {largest} bytes", change.history.len());
    assert!(largest < 40 * 1024, "a request item is {largest} bytes: within a tenth of DynamoDB's 400 KB limit");
}

// ---- the emailed link's page (SPEC §4, issue "Trust, round 2") --------------------------------

/// Every name and customer id of the standard cast: none of them is for whoever holds an id.
const CAST: [&str; 12] =
    ["aa1-ovh", "tt1-ovh", "bb1-ovh", "nn1-ovh", "mm1-ovh", "oo1-ovh", "Ada Admin", "Teo Tecnico", "Bea Billing", "Ned New", "Mia Nouvelle", "Otto Overdue"];

fn assert_names_nobody(text: &str, what: &str) {
    for who in CAST {
        assert!(!text.contains(who), "{what} names {who}: {text}");
    }
}

async fn page(app: &TestApp, id: &str, query: &str) -> integration_tests::TestResponse {
    let page = app.call(Method::GET, &format!("/confirm/{id}{query}"), None, Bytes::new()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    page
}

async fn details(app: &TestApp, id: &str, token: &str, from: Option<IpAddr>) -> integration_tests::TestResponse {
    app.call_from(Method::POST, &format!("/confirm/{id}/details"), Caller::Anonymous, Bytes::from(format!("token={token}")), from).await
}

async fn the_link_page_names_nobody_to_whoever_holds_the_id(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    // Ada (admin) asks for Ned as tech: Teo, the tech replaced, is informed and holds the id.
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let pending = page(&app, &id, "").await;
    let html = pending.text();
    assert_names_nobody(&html, "the pending request's page");
    let shown = ["example.com", "tech", "pending", "the requester and the new contact", "name=\"token\"", "value=\"accept\"", "value=\"refuse\""];
    for shown in [id.as_str()].into_iter().chain(shown) {
        assert!(html.contains(shown), "the page lacks {shown}: {html}");
    }
    assert_eq!((pending.header("cache-control"), pending.header("referrer-policy")), (Some("no-store"), Some("no-referrer")));
    let csp = pending.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    // Once Ada accepted, the page says who is still awaited by part, not by name.
    let ada = app.token_of("aa1-ovh", &id).await;
    assert_eq!(app.accept(&id, "aa1-ovh", &ada).await.status, StatusCode::OK);
    let html = page(&app, &id, "").await.text();
    assert!(html.contains("<dt>Awaiting</dt><dd>the new contact</dd>"), "{html}");
    assert_names_nobody(&html, "the half-accepted request's page");
    // Closed, the outcome's page names nobody either, and reads nothing more (no connection).
    let ned = app.token_of("nn1-ovh", &id).await;
    assert_eq!(app.accept(&id, "nn1-ovh", &ned).await.status, StatusCode::OK);
    let done = page(&app, &id, "?answered=accept").await;
    assert!(done.text().contains("the change has taken effect"), "{}", done.text());
    assert_names_nobody(&done.text(), "the done request's page");
    assert!(!done.header("content-security-policy").unwrap().contains("connect-src"), "a closed request has no details to read");
}

async fn a_crafted_answered_link_claims_nothing_the_state_does_not_say(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    // Nobody has answered: whatever the link says, the page says what the state says.
    for query in ["?answered=accept", "?answered=refuse"] {
        let html = page(&app, &id, query).await.text().to_lowercase();
        for claim in ["recorded", "accepted", "refused", "thank you", "taken effect", "closed"] {
            assert!(!html.contains(claim), "{query} on a request nobody answered says {claim:?}: {html}");
        }
        assert!(html.contains("still pending: it awaits the requester and the new contact"), "{query}: {html}");
        assert!(html.contains("value=\"accept\""), "{query}: the parties still awaited can answer from it: {html}");
    }
    assert_eq!(app.request(&id, "aa1-ovh").await["parties"], json!([{"account": "aa1-ovh", "status": "pending"}, {"account": "nn1-ovh", "status": "pending"}]));
    // Refused by Ned: a link that says accept claims no acceptance, nor that the change took effect.
    let ned = app.token_of("nn1-ovh", &id).await;
    assert_eq!(app.refuse(&id, "nn1-ovh", &ned).await.status, StatusCode::OK);
    let html = page(&app, &id, "?answered=accept").await.text().to_lowercase();
    assert!(html.contains("the request was refused"), "{html}");
    assert!(!html.contains("thank you") && !html.contains("taken effect") && !html.contains("accepted"), "{html}");
}

async fn a_live_code_reads_who_is_involved_and_changes_nothing(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let ned = app.token_of("nn1-ovh", &id).await;
    let (request, stored, mails) = (app.request(&id, "aa1-ovh").await, app.store.contact_change(id.parse().unwrap()).await.unwrap(), app.mails().await.len());
    for token in [ned.clone(), app.token_of("aa1-ovh", &id).await] {
        let read = details(&app, &id, &token, ip("198.51.100.7")).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text());
        assert_eq!(read.header("cache-control"), Some("no-store"));
        assert_eq!(
            read.json(),
            json!({
                "id": id,
                "from": {"account": "tt1-ovh", "name": "Teo Tecnico"},
                "to": {"account": "nn1-ovh", "name": "Ned New"},
                "requested_by": {"account": "aa1-ovh", "name": "Ada Admin"},
                "parties": [
                    {"account": "aa1-ovh", "name": "Ada Admin", "status": "pending"},
                    {"account": "nn1-ovh", "name": "Ned New", "status": "pending"}
                ]
            })
        );
    }
    // Reading spent no code and wrote nothing: not the history, not a token, not a mail.
    assert_eq!(app.request(&id, "aa1-ovh").await, request, "reading the details changed the request");
    assert_eq!(app.store.contact_change(id.parse().unwrap()).await.unwrap(), stored, "reading the details changed the stored request or its tokens");
    assert_eq!(app.mails().await.len(), mails, "reading the details mailed someone");
    let answered = app.call_from(Method::POST, &format!("/confirm/{id}"), Caller::Anonymous, form(&ned), ip("198.51.100.7")).await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER, "the code read with still answers: {}", answered.text());
    assert_eq!(app.request(&id, "aa1-ovh").await["parties"][1], json!({"account": "nn1-ovh", "status": "accepted"}));
}

async fn a_wrong_code_reads_nobody_and_spends_the_addresss_budget_of_the_page(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let from = ip("198.51.100.7");
    let wrong = details(&app, &id, &guess(0), from).await;
    assert_eq!((wrong.status, wrong.code().as_str()), (StatusCode::FORBIDDEN, "token_mismatch"), "{}", wrong.text());
    assert!(wrong.text().contains("did not match"), "{}", wrong.text());
    assert_eq!(wrong.header("cache-control"), Some("no-store"));
    assert_names_nobody(&wrong.text(), "a wrong code's answer");
    let malformed = details(&app, &id, "not-a-code", from).await;
    assert_eq!(malformed.status, StatusCode::FORBIDDEN, "a malformed code is a wrong one: {}", malformed.text());
    // The details and the answers of the page spend one budget per address: wrong codes through
    // either count towards the limit of both.
    for n in 2..ATTEMPT_LIMIT {
        let answer = app.call_from(Method::POST, &format!("/confirm/{id}"), Caller::Anonymous, form(&guess(n)), from).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "attempt {n}");
    }
    let limited = details(&app, &id, &guess(99), from).await;
    assert_eq!((limited.status, limited.code().as_str()), (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"), "{}", limited.text());
    let retry: i64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=ATTEMPT_WINDOW.whole_seconds()).contains(&retry), "{retry}");
    assert_names_nobody(&limited.text(), "a limited caller's answer");
    let answer = app.call_from(Method::POST, &format!("/confirm/{id}"), Caller::Anonymous, form(&guess(100)), from).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "the page's answers share the budget the details spent");
    // Another address has a budget of its own; and a live code is never refused for wrong ones.
    assert_eq!(details(&app, &id, &guess(0), ip("2001:db8::1")).await.status, StatusCode::FORBIDDEN);
    let ned = app.token_of("nn1-ovh", &id).await;
    let read = details(&app, &id, &ned, from).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text());
    assert_eq!(read.json()["to"], json!({"account": "nn1-ovh", "name": "Ned New"}));
    assert_eq!(app.request(&id, "aa1-ovh").await["state"], "pending", "wrong codes changed nothing");
}

async fn a_spent_or_replaced_code_reads_nobody(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    // Ada's code is spent once she accepted; Ned's first one once the mails went again.
    let ada = app.token_of("aa1-ovh", &id).await;
    assert_eq!(app.accept(&id, "aa1-ovh", &ada).await.status, StatusCode::OK);
    let first = app.token_of("nn1-ovh", &id).await;
    assert_eq!(app.post(&format!("/v1/contact-changes/{id}/resend"), "nn1-ovh", json!({})).await.status, StatusCode::ACCEPTED);
    let fresh = app.token_of("nn1-ovh", &id).await;
    assert_ne!(first, fresh);
    for (code, what) in [(&ada, "a spent code"), (&first, "a replaced code")] {
        let read = details(&app, &id, code, ip("198.51.100.7")).await;
        assert_eq!((read.status, read.code().as_str()), (StatusCode::FORBIDDEN, "token_mismatch"), "{what}: {}", read.text());
        assert_names_nobody(&read.text(), what);
    }
    assert_eq!(details(&app, &id, &fresh, ip("198.51.100.7")).await.status, StatusCode::OK, "the live one reads");
    // Closed, no code is live: 409, as for an answer, and nobody named.
    assert_eq!(app.accept(&id, "nn1-ovh", &fresh).await.status, StatusCode::OK);
    let closed = details(&app, &id, &fresh, ip("198.51.100.7")).await;
    assert_eq!((closed.status, closed.code().as_str()), (StatusCode::CONFLICT, "not_pending"), "{}", closed.text());
    assert_names_nobody(&closed.text(), "a closed request's details");
}
