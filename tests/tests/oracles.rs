//! SPEC §2, issue "Trust, round 2": no silent oracles. Naming a new contact probes another
//! account, so probing is bounded and never silent:
//! - the caller's right to ask on the service, and a request pending on the role, are decided
//!   before the new contact is looked up: their answers are the same whoever is named, and
//!   count for nothing;
//! - every create refused for the new contact's sake (an address that names no single account,
//!   `unknown_account`, `payment_overdue`, `different_zone`) counts against the caller's own
//!   budget of `ATTEMPT_LIMIT` per `ATTEMPT_WINDOW`, past which every create of that caller is
//!   429 `too_many_requests`, a valid one too, until the window has passed.

use contacts_domain::limits::{ATTEMPT_LIMIT, ATTEMPT_WINDOW};
use http::StatusCode;
use integration_tests::{Backend, TestApp, TestResponse, on_every_backend};
use serde_json::{Value, json};
use time::Duration;

on_every_backend!(
    a_caller_with_no_role_on_the_service_is_told_it_does_not_exist_whoever_it_names,
    a_contact_without_the_right_to_ask_for_the_role_is_refused_alike_whoever_it_names,
    with_a_request_pending_on_the_role_the_answer_is_the_same_conflict_whoever_it_names,
    after_the_budget_of_refusals_for_the_new_contacts_sake_every_create_is_held_off,
    no_change_does_not_count_against_the_budget,
    the_budget_is_each_callers_own,
    ;
    // Not through the functions: a_held_off_caller_may_create_again_once_the_window_has_passed
    // (it moves the clock).
    not_through_the_functions:
    a_held_off_caller_may_create_again_once_the_window_has_passed,
);

/// The standard cast, and strangers to name: `ca1-ovh` in Canada (another zone than the
/// service's holders), `sa1-ovh` and `sb1-ovh` sharing one address ([`shared_address`]).
async fn seeded(backend: Backend) -> TestApp {
    let app = TestApp::seeded(backend).await;
    let person =
        |id: &str, email: &str, zone: &str| json!({"id": id, "name": "A Stranger", "email": email, "language": "en", "payment_status": "ok", "zone": zone});
    let shared = shared_address(&app);
    app.load(&json!({"accounts": [person("ca1-ovh", &app.email_of("ca1-ovh"), "ca"), person("sa1-ovh", &shared, "eu"), person("sb1-ovh", &shared, "eu")]}))
        .await;
    app
}

fn shared_address(app: &TestApp) -> String {
    format!("shared.{}@example.com", app.tag)
}

fn unknown_address(app: &TestApp) -> String {
    format!("nobody.{}@example.com", app.tag)
}

/// `{role: name}`.
fn naming(role: &str, name: &str) -> Value {
    json!({ role: name })
}

/// Every kind of account a caller may name: one that exists, an unknown id, one behind on its
/// payments, an account's address, an address of none, an address of two.
fn strangers(app: &TestApp) -> Vec<String> {
    vec!["mm1-ovh".to_owned(), "zz9-ovh".to_owned(), "oo1-ovh".to_owned(), app.email_of("mm1-ovh"), unknown_address(app), shared_address(app)]
}

/// The answer as a client sees it, to compare answers whole.
fn seen(answer: &TestResponse) -> (StatusCode, Value) {
    (answer.status, answer.json())
}

/// Asks every body of `bodies` as `caller` on `service`: each answer must be the same as the
/// first, which is `(status, code)`.
async fn answered_alike(app: &TestApp, service: &str, caller: &str, bodies: &[Value], status: StatusCode, code: &str) {
    let first = app.ask(service, caller, bodies[0].clone()).await;
    assert_eq!((first.status, first.code().as_str()), (status, code), "{}", first.text());
    for body in &bodies[1..] {
        let answer = app.ask(service, caller, body.clone()).await;
        assert_eq!(seen(&answer), seen(&first), "{caller} naming {body} on {service}: the same answer whoever is named");
    }
}

/// Creates that `caller` (admin of example.com) makes which are refused for the new contact's
/// sake, of every kind, by customer id and by address, `count` of them (at most ten).
async fn refused_for_the_new_contacts_sake(app: &TestApp, caller: &str, count: usize) {
    let refusals = [
        (json!({"tech": "zz9-ovh"}), "unknown_account"),
        (json!({"billing": "oo1-ovh"}), "payment_overdue"),
        (json!({"admin": unknown_address(app)}), "unknown_account"),
        (json!({"billing": shared_address(app)}), "unknown_account"),
        (json!({"tech": "ca1-ovh"}), "different_zone"),
        (json!({"billing": app.email_of("oo1-ovh")}), "payment_overdue"),
        (json!({"admin": app.email_of("ca1-ovh")}), "different_zone"),
        (json!({"tech": "nn1-ovh", "billing": "oo1-ovh"}), "payment_overdue"),
        (json!({"tech": "zz8-ovh"}), "unknown_account"),
        (json!({"admin": "zz7-ovh"}), "unknown_account"),
    ];
    assert!(count <= refusals.len());
    for (n, (body, code)) in refusals.into_iter().take(count).enumerate() {
        let refused = app.ask("example.com", caller, body.clone()).await;
        assert_eq!((refused.status, refused.code().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, code), "refusal {n}, {body}: {}", refused.text());
    }
}

/// `answer` is the budget's 429, with the time until the window ends.
fn held_off(answer: &TestResponse) {
    assert_eq!((answer.status, answer.code().as_str()), (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"), "{}", answer.text());
    let retry: i64 = answer.header("retry-after").expect("a Retry-After").parse().unwrap();
    assert!((1..=ATTEMPT_WINDOW.whole_seconds()).contains(&retry), "until the window ends: {retry}");
}

async fn a_caller_with_no_role_on_the_service_is_told_it_does_not_exist_whoever_it_names(backend: Backend) {
    let app = seeded(backend).await;
    // Ned holds no role of example.com (nor of a service that does not exist); he is admin of
    // a service of his own, where his budget shows afterwards.
    app.load(&json!({"services": [{"name": "ned.example", "admin": "nn1-ovh", "tech": "nn1-ovh", "billing": "nn1-ovh"}]})).await;
    let bodies: Vec<Value> = ["tech", "billing"].iter().flat_map(|role| strangers(&app).into_iter().map(move |name| naming(role, &name))).collect();
    answered_alike(&app, "example.com", "nn1-ovh", &bodies, StatusCode::NOT_FOUND, "not_found").await;
    let elsewhere = app.ask("nowhere.example", "nn1-ovh", bodies[0].clone()).await;
    assert_eq!(seen(&elsewhere), seen(&app.ask("example.com", "nn1-ovh", bodies[0].clone()).await), "as a service that does not exist");
    answered_alike(&app, "nowhere.example", "nn1-ovh", &bodies, StatusCode::NOT_FOUND, "not_found").await;
    assert!(app.mails().await.is_empty(), "nobody was asked");
    // Far more than the budget, and none of it counted: on his own service Ned is answered plainly.
    assert!(2 * bodies.len() > ATTEMPT_LIMIT as usize);
    assert_eq!(app.ask("ned.example", "nn1-ovh", json!({"tech": "zz9-ovh"})).await.code(), "unknown_account");
    let created = app.ask("ned.example", "nn1-ovh", json!({"tech": "mm1-ovh"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
}

async fn a_contact_without_the_right_to_ask_for_the_role_is_refused_alike_whoever_it_names(backend: Backend) {
    let app = seeded(backend).await;
    // Teo (tech) may not ask for billing or admin, Bea (billing) not for tech: whoever they
    // name, the role's holder, themselves or a stranger by id or address, it is the same 403.
    for (caller, role, holder) in [("tt1-ovh", "billing", "bb1-ovh"), ("tt1-ovh", "admin", "aa1-ovh"), ("bb1-ovh", "tech", "tt1-ovh")] {
        let mut names = strangers(&app);
        names.extend([holder.to_owned(), app.email_of(holder), caller.to_owned()]);
        let bodies: Vec<Value> = names.iter().map(|name| naming(role, name)).collect();
        answered_alike(&app, "example.com", caller, &bodies, StatusCode::FORBIDDEN, "forbidden").await;
    }
    assert!(app.mails().await.is_empty(), "nobody was asked");
    // None of it counted: Teo may still hand over his own role.
    let created = app.ask("example.com", "tt1-ovh", json!({"tech": "nn1-ovh"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
}

async fn with_a_request_pending_on_the_role_the_answer_is_the_same_conflict_whoever_it_names(backend: Backend) {
    let app = seeded(backend).await;
    app.ask_ok("example.com", "aa1-ovh", json!({"billing": "nn1-ovh"})).await;
    let mut names = strangers(&app);
    names.extend(["bb1-ovh".to_owned(), app.email_of("bb1-ovh"), "ca1-ovh".to_owned()]);
    // Alone, or beside a role that is free: the pending role answers first.
    let mut bodies: Vec<Value> = names.iter().map(|name| naming("billing", name)).collect();
    bodies.extend(names.iter().map(|name| json!({"tech": "mm1-ovh", "billing": name})));
    answered_alike(&app, "example.com", "aa1-ovh", &bodies, StatusCode::CONFLICT, "pending_exists").await;
    // None of it counted: another role may be asked at once.
    assert!(bodies.len() > ATTEMPT_LIMIT as usize);
    let created = app.ask("example.com", "aa1-ovh", json!({"tech": "mm1-ovh"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
}

async fn after_the_budget_of_refusals_for_the_new_contacts_sake_every_create_is_held_off(backend: Backend) {
    let app = seeded(backend).await;
    refused_for_the_new_contacts_sake(&app, "aa1-ovh", ATTEMPT_LIMIT as usize).await;
    // Every create is held off now: a valid one by id or by address (a 201 beside the 429s
    // would still tell who exists), and one that would be refused (the refusal is not told).
    for body in [json!({"tech": "nn1-ovh"}), json!({"tech": app.email_of("nn1-ovh")}), json!({"billing": "oo1-ovh"}), json!({"tech": "zz9-ovh"})] {
        held_off(&app.ask("example.com", "aa1-ovh", body).await);
    }
    assert!(app.mails().await.is_empty(), "nobody was asked");
    assert_eq!(app.get("/v1/services/example.com", "aa1-ovh").await.json()["pending"], json!([]), "nothing was created");
}

async fn no_change_does_not_count_against_the_budget(backend: Backend) {
    let app = seeded(backend).await;
    refused_for_the_new_contacts_sake(&app, "aa1-ovh", ATTEMPT_LIMIT as usize - 1).await;
    // Naming who holds the role already tells nothing Ada cannot see on the service.
    for body in [json!({"tech": "tt1-ovh"}), json!({"admin": "aa1-ovh"}), json!({"billing": app.email_of("bb1-ovh")}), json!({"tech": app.email_of("tt1-ovh")})]
    {
        let same = app.ask("example.com", "aa1-ovh", body.clone()).await;
        assert_eq!((same.status, same.code().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "no_change"), "{body}: {}", same.text());
    }
    // The budget's last refusal is still told as such; then Ada is held off.
    assert_eq!(app.ask("example.com", "aa1-ovh", json!({"tech": "zz6-ovh"})).await.code(), "unknown_account");
    held_off(&app.ask("example.com", "aa1-ovh", json!({"tech": "nn1-ovh"})).await);
}

async fn the_budget_is_each_callers_own(backend: Backend) {
    let app = seeded(backend).await;
    refused_for_the_new_contacts_sake(&app, "aa1-ovh", ATTEMPT_LIMIT as usize).await;
    held_off(&app.ask("example.com", "aa1-ovh", json!({"tech": "nn1-ovh"})).await);
    // Teo, on the same service, is told plainly and may ask.
    assert_eq!(app.ask("example.com", "tt1-ovh", json!({"tech": "zz9-ovh"})).await.code(), "unknown_account");
    let created = app.ask("example.com", "tt1-ovh", json!({"tech": "nn1-ovh"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
}

async fn a_held_off_caller_may_create_again_once_the_window_has_passed(backend: Backend) {
    let app = seeded(backend).await;
    refused_for_the_new_contacts_sake(&app, "aa1-ovh", ATTEMPT_LIMIT as usize).await;
    let held = app.ask("example.com", "aa1-ovh", json!({"tech": "nn1-ovh"})).await;
    held_off(&held);
    let retry: i64 = held.header("retry-after").unwrap().parse().unwrap();
    app.clock.advance(Duration::seconds(retry - 1));
    held_off(&app.ask("example.com", "aa1-ovh", json!({"tech": "nn1-ovh"})).await);
    app.clock.advance(Duration::seconds(1));
    // A new window: counted afresh, a refusal is told plainly again, and a valid create goes.
    assert_eq!(app.ask("example.com", "aa1-ovh", json!({"tech": "zz9-ovh"})).await.code(), "unknown_account");
    let created = app.ask("example.com", "aa1-ovh", json!({"tech": "nn1-ovh"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
}
