//! Races: the change takes effect once, and one pending request per role, whatever the concurrency.

use std::sync::Arc;

use http::StatusCode;
use integration_tests::{Backend, TestApp, on_every_backend};
use serde_json::json;

on_every_backend!(
    sixteen_concurrent_final_accepts_apply_the_change_once,
    twelve_concurrent_requests_on_one_role_create_exactly_one,
    accept_refuse_cancel_and_resend_at_once_end_in_one_coherent_outcome,
);

// None through the functions: each needs concurrent invocations of one function, which one
// bootstrap under the RIE takes one at a time.

async fn sixteen_concurrent_final_accepts_apply_the_change_once(backend: Backend) {
    let app = Arc::new(TestApp::seeded(backend).await);
    let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    let token = app.token_of("aa1-ovh", &id).await;
    assert_eq!(app.accept(&id, "aa1-ovh", &token).await.status, StatusCode::OK);
    let last = app.token_of("nn1-ovh", &id).await;
    let mails_before = app.mails().await.len();

    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (app, id, last) = (app.clone(), id.clone(), last.clone());
            tokio::spawn(async move { app.accept(&id, "nn1-ovh", &last).await })
        })
        .collect();
    let mut done = 0;
    for task in tasks {
        let response = task.await.unwrap();
        match response.status {
            StatusCode::OK => {
                assert_eq!(response.json()["state"], "done");
                done += 1;
            }
            StatusCode::CONFLICT => assert_eq!(response.code(), "not_pending"),
            StatusCode::FORBIDDEN => assert_eq!(response.code(), "token_mismatch", "the token was spent"),
            other => panic!("unexpected {other}: {}", response.text()),
        }
    }
    assert_eq!(done, 1, "exactly one acceptance applies the change");
    let request = app.request(&id, "aa1-ovh").await;
    let applied = request["history"].as_array().unwrap().iter().filter(|h| h["event"] == "done").count();
    assert_eq!(applied, 1);
    assert_eq!(app.contacts("example.com", "aa1-ovh").await["tech"], "nn1-ovh");
    let outcome: Vec<String> = app.mails().await[mails_before..].iter().map(|m| m.to.clone()).collect();
    let mut recipients = outcome.clone();
    recipients.sort();
    recipients.dedup();
    assert_eq!(outcome.len(), 3, "one completion mail per recipient: {outcome:?}");
    assert_eq!(recipients.len(), 3);
}

async fn twelve_concurrent_requests_on_one_role_create_exactly_one(backend: Backend) {
    let app = Arc::new(TestApp::seeded(backend).await);
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let app = app.clone();
            let new = if i % 2 == 0 { "nn1-ovh" } else { "mm1-ovh" };
            tokio::spawn(async move { app.ask("example.com", "aa1-ovh", json!({ "tech": new })).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let response = task.await.unwrap();
        match response.status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => assert_eq!(response.code(), "pending_exists"),
            other => panic!("unexpected {other}: {}", response.text()),
        }
    }
    assert_eq!(created, 1);
    let pending = app.get("/v1/services/example.com", "aa1-ovh").await.json()["pending"].clone();
    assert_eq!(pending.as_array().unwrap().len(), 1);
    assert_eq!(app.get("/v1/me/contact-changes", "aa1-ovh").await.json()["requests"].as_array().unwrap().len(), 1);
}

async fn accept_refuse_cancel_and_resend_at_once_end_in_one_coherent_outcome(backend: Backend) {
    for round in 0..6 {
        let app = Arc::new(TestApp::seeded(backend).await);
        let id = app.ask_ok("example.com", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
        let (admin, new) = (app.token_of("aa1-ovh", &id).await, app.token_of("nn1-ovh", &id).await);
        let created_mails = app.mails().await.len();
        let resend = format!("/v1/contact-changes/{id}/resend");
        let cancel = format!("/v1/contact-changes/{id}/cancel");
        // Everything a party can do, at once; the order differs per round.
        let mut calls: Vec<(&str, String, serde_json::Value)> = vec![
            ("aa1-ovh", format!("/v1/contact-changes/{id}/accept"), json!({ "token": admin })),
            ("nn1-ovh", format!("/v1/contact-changes/{id}/accept"), json!({ "token": new })),
            ("nn1-ovh", format!("/v1/contact-changes/{id}/refuse"), json!({ "token": new })),
            ("aa1-ovh", cancel, json!({})),
            ("nn1-ovh", resend, json!({})),
        ];
        let turn = round % calls.len();
        calls.rotate_left(turn);
        let tasks: Vec<_> = calls
            .into_iter()
            .map(|(who, path, body)| {
                let app = app.clone();
                tokio::spawn(async move { app.post(&path, who, body).await })
            })
            .collect();
        for task in tasks {
            let status = task.await.unwrap().status;
            assert!(status.is_success() || status.is_client_error(), "round {round}: {status}");
        }

        let request = app.request(&id, "aa1-ovh").await;
        let state = request["state"].as_str().unwrap().to_owned();
        let closings = request["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| ["done", "refused", "cancelled", "failed"].contains(&h["event"].as_str().unwrap()))
            .count();
        let tech = app.contacts("example.com", "aa1-ovh").await["tech"].clone();
        let outcome: Vec<String> = app.mails().await[created_mails..].iter().filter(|m| m.token().is_none()).map(|m| m.to.clone()).collect();
        let mut distinct = outcome.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), outcome.len(), "round {round}: someone got two outcome mails: {outcome:?}");
        match state.as_str() {
            "done" => {
                assert_eq!((closings, tech, outcome.len()), (1, json!("nn1-ovh"), 3), "round {round}");
            }
            "refused" | "cancelled" => {
                assert_eq!((closings, tech, outcome.len()), (1, json!("tt1-ovh"), 2), "round {round}: {state}");
            }
            "pending" => {
                // A resend won the race and spent the tokens the answers carried.
                assert_eq!((closings, tech, outcome.len()), (0, json!("tt1-ovh"), 0), "round {round}");
            }
            other => panic!("round {round}: unexpected state {other}"),
        }
    }
}
