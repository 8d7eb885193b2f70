//! SPEC §2-§4 through the router, as a client sees them: requests, confirmations, mails.

use http::StatusCode;
use integration_tests::{Backend, TestApp, on_every_backend};
use serde_json::json;

on_every_backend!(
    roles_move_only_within_one_zone_when_asked_and_when_the_change_takes_effect,
    my_services_carry_their_type_and_filter_by_type_and_name_prefix,
    services_show_each_contacts_name_as_the_account_has_it_now,
    a_new_contact_named_by_email_is_its_one_account_and_no_answer_tells_whether_an_address_exists,
    an_admin_replacing_the_tech_contact_takes_effect_once_both_parties_accept,
    an_admin_taking_the_billing_role_itself_confirms_alone_and_the_previous_holder_is_informed,
    an_admin_handing_over_the_admin_role_needs_the_new_admin_and_informs_nobody,
    a_tech_contact_may_hand_over_its_own_role_and_nothing_else,
    a_billing_contact_may_hand_over_its_own_role_when_both_are_in_good_standing,
    an_account_with_no_role_is_told_the_service_does_not_exist,
    the_new_contact_must_exist_and_must_not_already_hold_the_role,
    roles_moving_between_the_same_two_accounts_form_one_request,
    a_second_request_on_a_pending_role_is_a_conflict_but_another_role_is_free,
    one_refusal_refuses_the_request_and_changes_nothing,
    the_request_shows_who_is_still_awaited,
    a_wrong_token_is_refused_plainly_and_changes_nothing,
    a_party_cannot_answer_with_another_partys_token,
    a_closed_request_answers_409_whatever_the_token,
    the_requester_may_cancel_and_nobody_else,
    a_billing_change_fails_if_a_billing_contact_falls_overdue_before_it_takes_effect,
    a_change_fails_if_the_role_changed_hands_meanwhile,
    resend_rotates_the_tokens_and_mails_the_current_address,
    only_a_party_may_resend,
    a_request_is_visible_to_those_involved_and_the_services_contacts_only,
    the_confirmation_page_shows_the_request_and_changes_nothing,
    the_confirmation_form_answers_with_the_token_alone,
    names_are_escaped_in_mails_and_on_the_page,
    ;
    // Not through the functions: an_expired_request_takes_no_answer_reads_expired_and_blocks_nothing,
    // resend_is_allowed_at_once_then_once_per_cooldown, my_requests_lists_newest_first_and_filters_by_state
    // and a_caller_held_off_for_probing_addresses_may_ask_again_once_the_window_has_passed (they move the
    // clock), a_mail_that_cannot_be_sent_waits_in_the_outbox_and_goes_when_the_mail_service_is_back (it
    // makes the mail service fail).
    not_through_the_functions:
    a_caller_held_off_for_probing_addresses_may_ask_again_once_the_window_has_passed,
    an_expired_request_takes_no_answer_reads_expired_and_blocks_nothing,
    resend_is_allowed_at_once_then_once_per_cooldown,
    my_requests_lists_newest_first_and_filters_by_state,
    a_mail_that_cannot_be_sent_waits_in_the_outbox_and_goes_when_the_mail_service_is_back,
);

const ASK_TECH: &str = "nn1-ovh";

async fn an_admin_replacing_the_tech_contact_takes_effect_once_both_parties_accept(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": ASK_TECH })).await;

    let request = app.request(&id, "aa1-ovh").await;
    assert_eq!(request["state"], "pending");
    assert_eq!(request["from"], "tt1-ovh");
    assert_eq!(request["to"], "nn1-ovh");
    assert_eq!(request["parties"], json!([{"account": "aa1-ovh", "status": "pending"}, {"account": "nn1-ovh", "status": "pending"}]));
    assert_eq!(request["informed"], json!(["tt1-ovh"]));

    // The parties got their tokens, in their language; the previous holder is informed, in Italian.
    assert_eq!(app.mails_to("aa1-ovh").await.len(), 1);
    assert!(app.mails_to("aa1-ovh").await[0].subject.starts_with("Please confirm"));
    let informed = app.mails_to("tt1-ovh").await;
    assert_eq!(informed.len(), 1);
    assert!(informed[0].subject.contains("richiesta una modifica"), "{}", informed[0].subject);
    assert!(informed[0].token().is_none(), "the informed holder gets no token");

    let admin_token = app.token_of("aa1-ovh", &id).await;
    let new_token = app.token_of("nn1-ovh", &id).await;
    assert_ne!(admin_token, new_token);
    assert_eq!(app.accept(&id, "aa1-ovh", &admin_token).await.status, StatusCode::OK);
    assert_eq!(app.contacts("example.com", "aa1-ovh").await["tech"], "tt1-ovh", "nothing changes before every party accepts");
    let done = app.accept(&id, "nn1-ovh", &new_token).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert_eq!(done.json()["state"], "done");

    assert_eq!(app.contacts("example.com", "aa1-ovh").await, json!({"admin": "aa1-ovh", "tech": "nn1-ovh", "billing": "bb1-ovh"}));
    // Membership follows: the new contact sees the service, the previous one no longer does.
    let services = |body: serde_json::Value| body["services"].as_array().unwrap().iter().map(|s| s["service"].clone()).collect::<Vec<_>>();
    assert_eq!(services(app.get("/v1/me/services", "nn1-ovh").await.json()), vec![json!("example.com")]);
    assert!(services(app.get("/v1/me/services", "tt1-ovh").await.json()).is_empty());
    assert_eq!(app.get("/v1/services/example.com", "tt1-ovh").await.status, StatusCode::NOT_FOUND);

    // The outcome reaches every party and the previous holder, each in its language.
    assert!(app.mails_to("aa1-ovh").await.last().unwrap().subject.starts_with("Contact change done"));
    assert!(app.mails_to("nn1-ovh").await.last().unwrap().subject.starts_with("Contact change done"));
    assert!(app.mails_to("tt1-ovh").await.last().unwrap().subject.starts_with("Modifica dei contatti effettuata"));
    assert_eq!(app.mails().await.len(), 3 + 3);

    let history: Vec<String> = done.json()["history"].as_array().unwrap().iter().map(|h| h["event"].as_str().unwrap().to_owned()).collect();
    assert_eq!(history, ["created", "mailed", "mailed", "mailed", "accepted", "accepted", "done"]);
}

async fn an_admin_taking_the_billing_role_itself_confirms_alone_and_the_previous_holder_is_informed(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "billing": "aa1-ovh" })).await;
    let request = app.request(&id, "aa1-ovh").await;
    assert_eq!(request["parties"], json!([{"account": "aa1-ovh", "status": "pending"}]));
    assert_eq!(request["informed"], json!(["bb1-ovh"]));
    let informed = app.mails_to("bb1-ovh").await;
    assert_eq!(informed.len(), 1);
    assert!(informed[0].subject.starts_with("Un changement de contacts"), "French for Bea: {}", informed[0].subject);

    let token = app.token_of("aa1-ovh", &id).await;
    assert_eq!(app.accept(&id, "aa1-ovh", &token).await.json()["state"], "done");
    assert_eq!(app.contacts("example.com", "aa1-ovh").await["billing"], "aa1-ovh");
    assert!(app.mails_to("bb1-ovh").await.last().unwrap().subject.starts_with("Changement de contacts effectué"));
}

async fn an_admin_handing_over_the_admin_role_needs_the_new_admin_and_informs_nobody(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "admin": "nn1-ovh" })).await;
    let request = app.request(&id, "aa1-ovh").await;
    assert_eq!(request["parties"].as_array().unwrap().len(), 2);
    assert_eq!(request["informed"], json!([]));
    assert_eq!(app.mails().await.len(), 2, "only the two parties are mailed");
    for party in ["aa1-ovh", "nn1-ovh"] {
        let token = app.token_of(party, &id).await;
        assert_eq!(app.accept(&id, party, &token).await.status, StatusCode::OK);
    }
    assert_eq!(app.contacts("example.com", "nn1-ovh").await["admin"], "nn1-ovh");
}

async fn a_tech_contact_may_hand_over_its_own_role_and_nothing_else(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    for body in [json!({"billing": "nn1-ovh"}), json!({"admin": "nn1-ovh"}), json!({"tech": "nn1-ovh", "billing": "nn1-ovh"})] {
        let refused = app.ask("example.com", "tt1-ovh", body.clone()).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(refused.header("content-type"), Some("application/problem+json"));
    }
    assert!(app.mails().await.is_empty());
    let id = app.ask_ok("example.com", "tt1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let request = app.request(&id, "tt1-ovh").await;
    assert_eq!(request["parties"], json!([{"account": "tt1-ovh", "status": "pending"}, {"account": "nn1-ovh", "status": "pending"}]));
    assert_eq!(request["informed"], json!([]));
}

async fn a_billing_contact_may_hand_over_its_own_role_when_both_are_in_good_standing(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    assert_eq!(app.ask("example.com", "bb1-ovh", json!({ "tech": "nn1-ovh" })).await.status, StatusCode::FORBIDDEN);
    let overdue = app.ask("example.com", "bb1-ovh", json!({ "billing": "oo1-ovh" })).await;
    assert_eq!(overdue.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(overdue.code(), "payment_overdue");
    let id = app.ask_ok("example.com", "bb1-ovh", json!({ "billing": "mm1-ovh" })).await;
    for party in ["bb1-ovh", "mm1-ovh"] {
        let token = app.token_of(party, &id).await;
        app.accept(&id, party, &token).await;
    }
    assert_eq!(app.contacts("example.com", "mm1-ovh").await["billing"], "mm1-ovh");
}

async fn an_account_with_no_role_is_told_the_service_does_not_exist(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let response = app.ask("example.com", "nn1-ovh", json!({ "tech": "nn1-ovh" })).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/v1/services/example.com", "nn1-ovh").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.ask("nope.example", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await.status, StatusCode::NOT_FOUND);
}

async fn the_new_contact_must_exist_and_must_not_already_hold_the_role(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let unknown = app.ask("example.com", "aa1-ovh", json!({ "tech": "zz9-ovh" })).await;
    assert_eq!((unknown.status, unknown.code().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_account"));
    let same = app.ask("example.com", "aa1-ovh", json!({ "tech": "tt1-ovh" })).await;
    assert_eq!((same.status, same.code().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "no_change"));
    let malformed = app.ask("example.com", "aa1-ovh", json!({ "tech": "not an id" })).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(app.mails().await.is_empty());
    // Nothing was left pending by the refusals.
    assert_eq!(app.get("/v1/services/example.com", "aa1-ovh").await.json()["pending"], json!([]));
}

async fn roles_moving_between_the_same_two_accounts_form_one_request(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    app.load(&json!({"services": [{"name": "vps.example", "admin": "aa1-ovh", "tech": "tt1-ovh", "billing": "tt1-ovh"}]})).await;
    let one = app.ask("vps.example", "aa1-ovh", json!({ "tech": "nn1-ovh", "billing": "nn1-ovh" })).await;
    assert_eq!(one.status, StatusCode::CREATED, "{}", one.text());
    let requests = one.json()["requests"].as_array().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["roles"], json!(["tech", "billing"]));

    let two = app.ask("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh", "billing": "nn1-ovh" })).await;
    assert_eq!(two.json()["requests"].as_array().unwrap().len(), 2, "different previous holders: one request each");
}

async fn a_second_request_on_a_pending_role_is_a_conflict_but_another_role_is_free(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let first = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let second = app.ask("example.com", "aa1-ovh", json!({ "tech": "mm1-ovh" })).await;
    assert_eq!((second.status, second.code().as_str()), (StatusCode::CONFLICT, "pending_exists"));
    let by_the_tech = app.ask("example.com", "tt1-ovh", json!({ "tech": "mm1-ovh" })).await;
    assert_eq!(by_the_tech.status, StatusCode::CONFLICT);
    app.ask_ok("example.com", "aa1-ovh", json!({ "billing": "mm1-ovh" })).await;
    let pending = app.get("/v1/services/example.com", "aa1-ovh").await.json()["pending"].clone();
    assert_eq!(pending.as_array().unwrap().len(), 2);
    assert!(pending.as_array().unwrap().contains(&json!(first)));
}

async fn one_refusal_refuses_the_request_and_changes_nothing(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let admin_token = app.token_of("aa1-ovh", &id).await;
    app.accept(&id, "aa1-ovh", &admin_token).await;
    let token = app.token_of("nn1-ovh", &id).await;
    let refused = app.refuse(&id, "nn1-ovh", &token).await;
    assert_eq!(refused.status, StatusCode::OK);
    assert_eq!(refused.json()["state"], "refused");
    assert!(refused.json()["closed_at"].is_string());
    assert_eq!(app.contacts("example.com", "aa1-ovh").await["tech"], "tt1-ovh");
    for party in ["aa1-ovh", "nn1-ovh"] {
        assert!(app.mails_to(party).await.last().unwrap().subject.contains("refused"), "{party}");
    }
    assert_eq!(app.mails_to("tt1-ovh").await.len(), 1, "the only-informed holder is not told of the refusal");
    // The role is free again.
    app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "mm1-ovh" })).await;
}

async fn the_request_shows_who_is_still_awaited(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    assert_eq!(app.request(&id, "aa1-ovh").await["awaiting"], json!(["aa1-ovh", "nn1-ovh"]));
    let token = app.token_of("nn1-ovh", &id).await;
    app.accept(&id, "nn1-ovh", &token).await;
    let request = app.request(&id, "aa1-ovh").await;
    assert_eq!(request["awaiting"], json!(["aa1-ovh"]));
    assert_eq!(request["parties"][1], json!({"account": "nn1-ovh", "status": "accepted"}));
    assert_eq!(request["state"], "pending");
}

async fn a_wrong_token_is_refused_plainly_and_changes_nothing(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    for wrong in ["", "short", "A".repeat(43).as_str(), "x".repeat(5000).as_str()] {
        let response = app.accept(&id, "aa1-ovh", wrong).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{wrong:?}");
        assert_eq!(response.code(), "token_mismatch");
        assert!(response.json()["detail"].as_str().unwrap().contains("did not match"));
    }
    let request = app.request(&id, "aa1-ovh").await;
    assert_eq!(request["awaiting"], json!(["aa1-ovh", "nn1-ovh"]));
    // The right token still works.
    let token = app.token_of("aa1-ovh", &id).await;
    assert_eq!(app.accept(&id, "aa1-ovh", &token).await.status, StatusCode::OK);
    // And works once.
    assert_eq!(app.accept(&id, "aa1-ovh", &token).await.status, StatusCode::FORBIDDEN);
}

async fn a_party_cannot_answer_with_another_partys_token(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let new_token = app.token_of("nn1-ovh", &id).await;
    assert_eq!(app.accept(&id, "aa1-ovh", &new_token).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.request(&id, "aa1-ovh").await["awaiting"], json!(["aa1-ovh", "nn1-ovh"]));
}

async fn a_closed_request_answers_409_whatever_the_token(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let token = app.token_of("nn1-ovh", &id).await;
    app.refuse(&id, "nn1-ovh", &token).await;
    let admin_token = app.token_of("aa1-ovh", &id).await;
    for token in [admin_token.as_str(), "garbage"] {
        let response = app.accept(&id, "aa1-ovh", token).await;
        assert_eq!((response.status, response.code().as_str()), (StatusCode::CONFLICT, "not_pending"));
        assert_eq!(app.refuse(&id, "aa1-ovh", token).await.status, StatusCode::CONFLICT);
    }
}

async fn the_requester_may_cancel_and_nobody_else(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let path = format!("/v1/contact-changes/{id}/cancel");
    assert_eq!(app.post(&path, "nn1-ovh", json!({})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.post(&path, "mm1-ovh", json!({})).await.status, StatusCode::NOT_FOUND);
    let cancelled = app.post(&path, "aa1-ovh", json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    assert_eq!(cancelled.json()["state"], "cancelled");
    assert!(app.mails_to("nn1-ovh").await.last().unwrap().subject.contains("cancelled"));
    assert_eq!(app.post(&path, "aa1-ovh", json!({})).await.status, StatusCode::CONFLICT);
    let token = app.token_of("nn1-ovh", &id).await;
    assert_eq!(app.accept(&id, "nn1-ovh", &token).await.code(), "not_pending");
}

async fn a_billing_change_fails_if_a_billing_contact_falls_overdue_before_it_takes_effect(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "billing": "nn1-ovh" })).await;
    let token = app.token_of("aa1-ovh", &id).await;
    app.accept(&id, "aa1-ovh", &token).await;
    // The provider's billing system marks the new contact overdue.
    let overdue = json!({"id": "nn1-ovh", "name": "Ned New", "email": app.email_of("nn1-ovh"), "language": "en", "payment_status": "overdue"});
    app.load(&json!({ "accounts": [overdue] })).await;
    let token = app.token_of("nn1-ovh", &id).await;
    let failed = app.accept(&id, "nn1-ovh", &token).await;
    assert_eq!(failed.status, StatusCode::OK, "{}", failed.text());
    assert_eq!(failed.json()["state"], "failed");
    assert_eq!(failed.json()["reason"], "payment_overdue");
    assert_eq!(app.contacts("example.com", "aa1-ovh").await["billing"], "bb1-ovh");
    assert!(app.mails_to("nn1-ovh").await.last().unwrap().subject.contains("failed"));
    // Nothing stays pending on the role.
    assert_eq!(app.get("/v1/services/example.com", "aa1-ovh").await.json()["pending"], json!([]));
}

async fn a_change_fails_if_the_role_changed_hands_meanwhile(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    // The provider's provisioning system moves the tech role elsewhere.
    app.load(&json!({"services": [{"name": "example.com", "admin": "aa1-ovh", "tech": "mm1-ovh", "billing": "bb1-ovh"}]})).await;
    for party in ["aa1-ovh", "nn1-ovh"] {
        let token = app.token_of(party, &id).await;
        app.accept(&id, party, &token).await;
    }
    let request = app.request(&id, "aa1-ovh").await;
    assert_eq!(request["state"], "failed");
    assert_eq!(request["reason"], "holders_changed");
    assert_eq!(app.contacts("example.com", "aa1-ovh").await["tech"], "mm1-ovh");
}

async fn an_expired_request_takes_no_answer_reads_expired_and_blocks_nothing(backend: Backend) {
    let app = TestApp::seeded_with(backend, |c| c.token_ttl = time::Duration::seconds(60)).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let token = app.token_of("aa1-ovh", &id).await;
    app.clock.advance(time::Duration::seconds(61));
    assert_eq!(app.request(&id, "aa1-ovh").await["state"], "expired");
    let late = app.accept(&id, "aa1-ovh", &token).await;
    assert_eq!((late.status, late.code().as_str()), (StatusCode::CONFLICT, "expired"));
    assert_eq!(app.refuse(&id, "aa1-ovh", "garbage").await.code(), "expired");
    assert_eq!(app.get("/v1/services/example.com", "aa1-ovh").await.json()["pending"], json!([]));
    app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "mm1-ovh" })).await;
    let history = app.request(&id, "aa1-ovh").await["history"].clone();
    assert!(history.as_array().unwrap().iter().any(|h| h["event"] == "expired"));
}

async fn resend_rotates_the_tokens_and_mails_the_current_address(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let before = app.request(&id, "aa1-ovh").await;
    let old_token = app.token_of("nn1-ovh", &id).await;
    let new_address = format!("ned.fixed.{}@example.org", app.tag);
    assert_eq!(app.patch("/v1/me", "nn1-ovh", json!({ "email": new_address })).await.status, StatusCode::OK);
    // The new address becomes current once both addresses sent their code back (tests/tests/email_change.rs),
    // and the request mails Ned a fresh code there (SPEC §3: a code belongs to an address).
    for to in [new_address.clone(), app.email_of("nn1-ovh")] {
        let code = app.mails().await.into_iter().rev().find(|m| m.to == to && m.text.contains("/verify-email")).and_then(|m| m.token()).unwrap();
        assert_eq!(app.post("/v1/me/email-verification", "nn1-ovh", json!({ "token": code })).await.status, StatusCode::OK);
    }
    let codes_at_new_address =
        || async { app.mails().await.into_iter().filter(|m| m.to == new_address && m.text.contains(&id)).filter_map(|m| m.token()).collect::<Vec<_>>() };
    let readdressed = codes_at_new_address().await;
    assert_eq!(readdressed.len(), 1);

    let resent = app.post(&format!("/v1/contact-changes/{id}/resend"), "aa1-ovh", json!({})).await;
    assert_eq!(resent.status, StatusCode::ACCEPTED, "{}", resent.text());
    assert_eq!(resent.json()["expires_at"], before["expires_at"], "resend does not move the expiry");
    let to_new_address = codes_at_new_address().await;
    assert_eq!(to_new_address.len(), 2, "the resend went to the current address too");
    let fresh = &to_new_address[1];
    assert_ne!(*fresh, old_token);
    for dead in [&old_token, &readdressed[0]] {
        assert_eq!(app.accept(&id, "nn1-ovh", dead).await.code(), "token_mismatch");
    }
    assert_eq!(app.accept(&id, "nn1-ovh", fresh).await.status, StatusCode::OK);
    assert!(resent.json()["history"].as_array().unwrap().iter().any(|h| h["event"] == "resent"));
}

async fn resend_is_allowed_at_once_then_once_per_cooldown(backend: Backend) {
    let app = TestApp::seeded_with(backend, |c| c.resend_cooldown = time::Duration::seconds(60)).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let path = format!("/v1/contact-changes/{id}/resend");
    assert_eq!(app.post(&path, "aa1-ovh", json!({})).await.status, StatusCode::ACCEPTED);
    app.clock.advance(time::Duration::seconds(20));
    let too_soon = app.post(&path, "nn1-ovh", json!({})).await;
    assert_eq!(too_soon.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(too_soon.header("retry-after"), Some("40"));
    app.clock.advance(time::Duration::seconds(40));
    assert_eq!(app.post(&path, "nn1-ovh", json!({})).await.status, StatusCode::ACCEPTED);
}

async fn only_a_party_may_resend(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let path = format!("/v1/contact-changes/{id}/resend");
    assert_eq!(app.post(&path, "tt1-ovh", json!({})).await.status, StatusCode::FORBIDDEN, "the informed holder is no party");
    assert_eq!(app.post(&path, "mm1-ovh", json!({})).await.status, StatusCode::NOT_FOUND);
}

async fn a_request_is_visible_to_those_involved_and_the_services_contacts_only(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    for account in ["aa1-ovh", "nn1-ovh", "tt1-ovh", "bb1-ovh"] {
        assert_eq!(app.get(&format!("/v1/contact-changes/{id}"), account).await.status, StatusCode::OK, "{account}");
    }
    assert_eq!(app.get(&format!("/v1/contact-changes/{id}"), "mm1-ovh").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/v1/contact-changes/01ARZ3NDEKTSV4RRFFQ69G5FAV", "aa1-ovh").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/v1/contact-changes/not-an-id", "aa1-ovh").await.status, StatusCode::BAD_REQUEST);
}

async fn my_requests_lists_newest_first_and_filters_by_state(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let first = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    app.clock.advance(time::Duration::seconds(1));
    let second = app.ask_ok("example.com", "aa1-ovh", json!({ "billing": "mm1-ovh" })).await;
    let token = app.token_of("mm1-ovh", &second).await;
    app.refuse(&second, "mm1-ovh", &token).await;

    let ids = |path: &str, who: &'static str| {
        let app = &app;
        let path = path.to_owned();
        async move {
            let body = app.get(&path, who).await.json();
            body["requests"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(ids("/v1/me/contact-changes", "aa1-ovh").await, vec![second.clone(), first.clone()]);
    assert_eq!(ids("/v1/me/contact-changes?state=pending", "aa1-ovh").await, vec![first.clone()]);
    assert_eq!(ids("/v1/me/contact-changes?state=refused", "aa1-ovh").await, vec![second.clone()]);
    assert_eq!(ids("/v1/me/contact-changes", "tt1-ovh").await, vec![first.clone()], "the previous holder sees it");
    assert_eq!(ids("/v1/me/contact-changes", "bb1-ovh").await, vec![second.clone()]);
    assert!(ids("/v1/me/contact-changes", "oo1-ovh").await.is_empty());
    assert_eq!(app.get("/v1/me/contact-changes?state=bogus", "aa1-ovh").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/v1/me/contact-changes?cursor=bogus", "aa1-ovh").await.status, StatusCode::BAD_REQUEST);
}

async fn the_confirmation_page_shows_the_request_and_changes_nothing(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let before = app.request(&id, "aa1-ovh").await;
    let page = app.call(http::Method::GET, &format!("/confirm/{id}"), None, bytes::Bytes::new()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    let html = page.text();
    // Who is involved is not for whoever holds the id (trust::the_link_page_names_nobody_to_whoever_holds_the_id).
    for shown in ["example.com", "tech", "pending", "the requester and the new contact", "name=\"token\"", "value=\"accept\"", "value=\"refuse\""] {
        assert!(html.contains(shown), "the page lacks {shown}");
    }
    let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap();
    assert!(html.contains(&format!("<script nonce=\"{nonce}\">")));
    assert_eq!(app.request(&id, "aa1-ovh").await, before, "opening the page changed the request");
    assert_eq!(app.call(http::Method::GET, "/confirm/01ARZ3NDEKTSV4RRFFQ69G5FAV", None, bytes::Bytes::new()).await.status, StatusCode::NOT_FOUND);
}

async fn the_confirmation_form_answers_with_the_token_alone(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let form = |token: &str, decision: &str| bytes::Bytes::from(format!("token={token}&decision={decision}"));
    let wrong = app.call(http::Method::POST, &format!("/confirm/{id}"), None, form("nope", "accept")).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(wrong.text().contains("did not match"));
    for (party, outcome, still_pending) in [("aa1-ovh", "still pending: it awaits the new contact", true), ("nn1-ovh", "the change has taken effect", false)] {
        let token = app.token_of(party, &id).await;
        let answered = app.call(http::Method::POST, &format!("/confirm/{id}"), None, form(&token, "accept")).await;
        // Post/Redirect/Get: a reload of the outcome posts nothing again.
        assert_eq!(answered.status, StatusCode::SEE_OTHER, "{}", answered.text());
        let location = answered.header("location").unwrap().to_owned();
        assert_eq!(location, format!("{id}?answered=accept"), "relative to /confirm/{{id}}, so it holds behind a stage");
        let page = app.call(http::Method::GET, &format!("/confirm/{location}"), None, bytes::Bytes::new()).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.header("content-type").unwrap().starts_with("text/html"));
        assert!(page.text().contains(outcome), "{party}: {}", page.text());
        // While the request is pending its outcome's page still offers the form: the link cannot
        // tell who opens it, and a party still awaited must be able to answer from it.
        assert_eq!(page.text().contains("name=\"token\""), still_pending, "{party}: {}", page.text());
    }
    assert_eq!(app.request(&id, "aa1-ovh").await["state"], "done");
    let odd = app.call(http::Method::GET, &format!("/confirm/{id}?answered=maybe"), None, bytes::Bytes::new()).await;
    assert_eq!(odd.status, StatusCode::BAD_REQUEST);
    let bad = app.call(http::Method::POST, &format!("/confirm/{id}"), None, form("x", "maybe")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

async fn a_mail_that_cannot_be_sent_waits_in_the_outbox_and_goes_when_the_mail_service_is_back(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    app.set_mail_unavailable(true);
    let created = app.ask("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    assert_eq!(created.status, StatusCode::CREATED, "the request is made without the mail service: {}", created.text());
    let id = created.json()["requests"][0]["id"].as_str().unwrap().to_owned();
    let report = app.outbox_pass().await;
    assert!(report.interrupted && report.sent == 0, "{report:?}");
    assert!(app.sent_mails().await.is_empty());
    let history = app.request(&id, "aa1-ovh").await["history"].clone();
    assert!(history.as_array().unwrap().iter().all(|h| h["event"] != "mail_failed" && h["event"] != "mailed"), "nothing is lost nor sent yet: {history}");

    app.set_mail_unavailable(false);
    assert_eq!(app.outbox_pass().await.sent, 3, "the two confirmations and the notice, with no resend");
    let request = app.request(&id, "aa1-ovh").await;
    let mailed = request["history"].as_array().unwrap().iter().filter(|h| h["event"] == "mailed").count();
    assert_eq!(mailed, 3, "{request}");
    for party in ["aa1-ovh", "nn1-ovh"] {
        let token = app.token_of(party, &id).await;
        assert_eq!(app.accept(&id, party, &token).await.status, StatusCode::OK);
    }
    assert_eq!(app.contacts("example.com", "aa1-ovh").await["tech"], "nn1-ovh");
    assert_eq!(app.outbox_pass().await.sent, 3, "the outcome, to both parties and the previous holder");
    assert_eq!(app.outbox_pass().await.sent, 0, "a mail goes once");
    assert_eq!(app.sent_mails().await.len(), 6);
}

async fn names_are_escaped_in_mails_and_on_the_page(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let evil = json!({"id": "ev1-ovh", "name": "<script>alert(1)</script>", "email": app.email_of("ev1-ovh"), "language": "en"});
    app.load(&json!({ "accounts": [evil] })).await;
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "ev1-ovh" })).await;
    let mail = app.mails_to("ev1-ovh").await.remove(0);
    assert!(!mail.html.contains("<script>"), "{}", mail.html);
    assert!(mail.html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "escaped by askama: {}", mail.html);
    // The page names nobody; its script shows the name from the details as text, never as HTML.
    let page = app.call(http::Method::GET, &format!("/confirm/{id}"), None, bytes::Bytes::new()).await.text();
    assert!(!page.contains("<script>alert") && !page.contains("alert(1)"), "{page}");
    assert!(page.contains("dd.textContent = row[1]") && !page.contains("innerHTML"), "{page}");
    let token = app.token_of("ev1-ovh", &id).await;
    let details = app.call(http::Method::POST, &format!("/confirm/{id}/details"), None, bytes::Bytes::from(format!("token={token}"))).await;
    assert!(details.header("content-type").unwrap().starts_with("application/json"), "data, not markup: {details:?}");
    assert_eq!(details.json()["to"]["name"], "<script>alert(1)</script>");
}

async fn roles_move_only_within_one_zone_when_asked_and_when_the_change_takes_effect(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let canadian = |id: &str, name: &str| json!({"id": id, "name": name, "email": app.email_of(id), "language": "fr", "zone": "ca"});
    assert_eq!(app.provider_put("/internal/accounts/mm1-ovh", canadian("mm1-ovh", "Mia Nouvelle")).await.json()["zone"], "ca");
    assert_eq!(app.get("/v1/me", "mm1-ovh").await.json()["zone"], "ca", "the profile says its zone");
    assert_eq!(app.get("/v1/me", "aa1-ovh").await.json()["zone"], "eu", "the default");
    let across = app.ask("example.com", "aa1-ovh", json!({ "tech": "mm1-ovh" })).await;
    assert_eq!((across.status, across.code().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "different_zone"), "{}", across.text());
    assert!(app.mails_to("mm1-ovh").await.is_empty(), "nobody is asked");
    assert_eq!(app.get("/v1/services/example.com", "aa1-ovh").await.json()["pending"], json!([]), "no lock left");

    // Asked within Europe; the provider moves Ned to Canada before the change takes effect.
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let admin = app.token_of("aa1-ovh", &id).await;
    assert_eq!(app.accept(&id, "aa1-ovh", &admin).await.status, StatusCode::OK);
    let ned = app.token_of("nn1-ovh", &id).await;
    app.provider_put("/internal/accounts/nn1-ovh", canadian("nn1-ovh", "Ned New")).await;
    let last = app.accept(&id, "nn1-ovh", &ned).await;
    assert_eq!(last.status, StatusCode::OK, "{}", last.text());
    assert_eq!((last.json()["state"].as_str(), last.json()["reason"].as_str()), (Some("failed"), Some("different_zone")));
    assert_eq!(app.contacts("example.com", "aa1-ovh").await["tech"], "tt1-ovh", "nothing moved");
    let told = app.mails_to("nn1-ovh").await.pop().unwrap();
    assert!(told.text.contains("zone"), "the outcome says why: {}", told.text);
}

async fn my_services_carry_their_type_and_filter_by_type_and_name_prefix(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    for (name, kind) in [("example.net", Some("domain")), ("exa-vps.example", Some("vps")), ("shop.example", Some("domain"))] {
        let mut body = json!({"name": name, "admin": "aa1-ovh", "tech": "tt1-ovh", "billing": "bb1-ovh"});
        if let Some(kind) = kind {
            body["type"] = json!(kind);
        }
        let put = app.provider_put(&format!("/internal/services/{name}"), body).await;
        assert_eq!((put.status, put.json()["type"].clone()), (StatusCode::OK, json!(kind.unwrap())), "{}", put.text());
    }
    let listed = |query: &str| {
        let app = &app;
        let path = format!("/v1/me/services{query}");
        async move {
            let response = app.get(&path, "aa1-ovh").await;
            assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.text());
            response.json()["services"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| format!("{} {}", s["service"].as_str().unwrap(), s["type"].as_str().unwrap()))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed("").await,
        ["exa-vps.example vps", "example.com other", "example.net domain", "shop.example domain"],
        "each with its type; none given is other"
    );
    assert_eq!(listed("?type=domain").await, ["example.net domain", "shop.example domain"]);
    assert_eq!(listed("?q=exa").await, ["exa-vps.example vps", "example.com other", "example.net domain"]);
    assert_eq!(listed("?type=domain&q=EXA").await, ["example.net domain"], "the prefix ignores case");
    assert_eq!(listed("?type=hosting").await, Vec::<String>::new());
    assert_eq!(app.get("/v1/services/example.net", "aa1-ovh").await.json()["type"], "domain");
    for bad in ["?type=Domain", "?type=a%20b", "?q=%3Cscript%3E"] {
        let response = app.get(&format!("/v1/me/services{bad}"), "aa1-ovh").await;
        assert_eq!((response.status, response.code().as_str()), (StatusCode::BAD_REQUEST, "invalid_input"), "{bad}");
    }
}

async fn services_show_each_contacts_name_as_the_account_has_it_now(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let names = |body: &serde_json::Value| body["names"].clone();
    let seeded = json!({"aa1-ovh": "Ada Admin", "tt1-ovh": "Teo Tecnico", "bb1-ovh": "Bea Billing"});
    let listed = app.get("/v1/me/services", "tt1-ovh").await.json();
    assert_eq!(names(&listed["services"][0]), seeded, "the guide's table shows each contact's name and id");
    assert_eq!(names(&app.get("/v1/services/example.com", "bb1-ovh").await.json()), seeded);

    // Read with the page, not copied at some earlier write: a rename shows at once.
    let renamed = app
        .provider_put("/internal/accounts/tt1-ovh", json!({"name": "Teo Renamed", "email": app.email_of("tt1-ovh"), "language": "it", "payment_status": "ok"}))
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text());
    let listed = app.get("/v1/me/services", "aa1-ovh").await.json();
    assert_eq!(listed["services"][0]["names"]["tt1-ovh"], "Teo Renamed");

    // One account holding two roles is named once; a new holder is named once the change is done.
    let id = app.ask_ok("example.com", "aa1-ovh", json!({"billing": "aa1-ovh"})).await;
    let token = app.token_of("aa1-ovh", &id).await;
    assert_eq!(app.accept(&id, "aa1-ovh", &token).await.json()["state"], "done");
    let service = app.get("/v1/services/example.com", "aa1-ovh").await.json();
    assert_eq!(names(&service), json!({"aa1-ovh": "Ada Admin", "tt1-ovh": "Teo Renamed"}), "bb1-ovh holds nothing now");
}

async fn a_new_contact_named_by_email_is_its_one_account_and_no_answer_tells_whether_an_address_exists(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    let by_address = app.ask("example.com", "aa1-ovh", json!({ "tech": app.email_of("nn1-ovh").to_uppercase() })).await;
    assert_eq!(by_address.status, StatusCode::CREATED, "{}", by_address.text());
    let request = &by_address.json()["requests"][0];
    assert_eq!(request["to"], "nn1-ovh", "the request records the account");
    assert!(!by_address.text().contains(&app.email_of("nn1-ovh")), "no address in the answer");
    // Two accounts share an address; another address has none: one answer for both.
    for id in ["mm1-ovh", "oo1-ovh"] {
        app.provider_put(&format!("/internal/accounts/{id}"), json!({"name": "Shared", "email": format!("shared.{}@example.com", app.tag)})).await;
    }
    let several = app.ask("example.com", "aa1-ovh", json!({ "billing": format!("shared.{}@example.com", app.tag) })).await;
    let none = app.ask("example.com", "aa1-ovh", json!({ "billing": format!("nobody.{}@example.com", app.tag) })).await;
    assert_eq!((several.status, several.code().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_account"));
    let strip = |body: serde_json::Value| {
        let mut body = body;
        body.as_object_mut().unwrap().remove("instance");
        body
    };
    assert_eq!((none.status, strip(none.json())), (several.status, strip(several.json())), "none and several look alike");
    let malformed = app.ask("example.com", "aa1-ovh", json!({ "billing": "not@an address" })).await;
    assert_eq!((malformed.status, malformed.code().as_str()), (StatusCode::BAD_REQUEST, "invalid_input"));

    // Probing: after ATTEMPT_LIMIT addresses that name no single account, Ada is held off
    // for the window, even for an address or a customer id that would work; Bea is not.
    for n in 2..contacts_domain::limits::ATTEMPT_LIMIT {
        let probe = app.ask("example.com", "aa1-ovh", json!({ "billing": format!("probe{n}.{}@example.com", app.tag) })).await;
        assert_eq!(probe.code(), "unknown_account");
    }
    let held = app.ask("example.com", "aa1-ovh", json!({ "billing": app.email_of("mm1-ovh") })).await;
    assert_eq!((held.status, held.code().as_str()), (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"), "{}", held.text());
    assert!(held.header("retry-after").is_some());
    let by_id = app.ask("example.com", "aa1-ovh", json!({ "billing": "mm1-ovh" })).await;
    assert_eq!(by_id.status, StatusCode::TOO_MANY_REQUESTS, "a 201 beside the 429 would still tell who exists: {}", by_id.text());
    // (Bea: Ada's request pending on tech answers Teo 409 before any address is looked up.)
    let bea = app.ask("example.com", "bb1-ovh", json!({ "billing": app.email_of("oo1-ovh") })).await;
    assert_eq!(bea.code(), "unknown_account", "Bea's budget is her own: {}", bea.text());
}

async fn a_caller_held_off_for_probing_addresses_may_ask_again_once_the_window_has_passed(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    for n in 0..contacts_domain::limits::ATTEMPT_LIMIT {
        let probe = app.ask("example.com", "aa1-ovh", json!({ "billing": format!("probe{n}.{}@example.com", app.tag) })).await;
        assert_eq!(probe.code(), "unknown_account");
    }
    let held = app.ask("example.com", "aa1-ovh", json!({ "admin": app.email_of("mm1-ovh") })).await;
    assert_eq!(held.status, StatusCode::TOO_MANY_REQUESTS, "{}", held.text());
    app.clock.advance(contacts_domain::limits::ATTEMPT_WINDOW);
    let later = app.ask("example.com", "aa1-ovh", json!({ "admin": app.email_of("mm1-ovh") })).await;
    assert_ne!(later.status, StatusCode::TOO_MANY_REQUESTS, "the window passed: {}", later.text());
}
