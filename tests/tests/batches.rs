//! SPEC §7 through the router, as a client sees it: a batch moves the same roles to the same
//! new account on many services, one mail and one code per party, each service its own change.

use http::StatusCode;
use integration_tests::{Backend, TestApp, on_every_backend};
use serde_json::{Value, json};

on_every_backend!(
    a_batch_moves_a_role_on_many_services_with_one_mail_and_one_code_per_party,
    a_part_whose_service_changed_hands_fails_alone,
    ;
    // They move the clock, or reach into the store; the rest are the same use cases through the
    // same router, which the two above and lambda_rie's events already take through every
    // function that serves a batch (kept off the RIE for the test command's time).
    not_through_the_functions:
    services_that_do_not_qualify_are_named_with_their_problem_and_none_qualifying_is_the_first_ones,
    one_refusal_closes_the_batch_and_frees_every_role,
    the_requester_cancels_the_batch_and_a_services_admin_only_its_own_part,
    a_batch_is_seen_whole_by_its_parties_and_in_part_by_its_services_contacts,
    the_batchs_link_page_names_nobody_and_answers_with_the_code_alone,
    a_batch_is_one_entry_in_my_batches_and_its_parts_none_in_my_requests,
    a_partys_new_address_kills_its_batch_code_and_gets_a_fresh_one,
    one_batch_counts_once_against_the_limit_of_unaccepted_requests,
    a_pending_batch_expires_with_its_parts,
    the_sweep_finishes_a_batch_whose_parts_a_stopped_function_left_pending,
    a_batch_is_counted_with_its_size_and_each_parts_outcome_on_the_functions_lines,
    a_last_acceptance_too_close_to_its_deadline_leaves_the_parts_to_the_sweep,
    the_sweep_ends_the_parts_of_a_batch_refused_by_a_function_that_stopped,
    naming_services_not_ones_own_spends_the_budget_of_probes_and_reads_none_of_them,
);

/// Ada (aa1) is admin of four services; Teo (tt1) holds the tech role of a.example and
/// b.example, Tina (tt2) of c.example and d.example. Ned (nn1) is to be the technical contact.
async fn cast(backend: Backend) -> TestApp {
    let app = TestApp::seeded(backend).await;
    let person = |id: &str, name: &str| json!({"id": id, "name": name, "email": app.email_of(id), "language": "en", "payment_status": "ok"});
    let service = |name: &str, tech: &str| json!({"name": name, "admin": "aa1-ovh", "tech": tech, "billing": "bb1-ovh"});
    app.load(&json!({
        "accounts": [person("tt2-ovh", "Tina Tech")],
        "services": [service("a.example", "tt1-ovh"), service("b.example", "tt1-ovh"), service("c.example", "tt2-ovh"), service("d.example", "tt2-ovh")]
    }))
    .await;
    app
}

const FOUR: [&str; 4] = ["a.example", "b.example", "c.example", "d.example"];

/// Asks for a batch as Ada: the answer.
async fn ask_batch(app: &TestApp, services: &[&str], body: Value) -> (StatusCode, Value) {
    let mut body = body;
    body["services"] = json!(services);
    let response = app.post("/v1/contact-change-batches", "aa1-ovh", body).await;
    (response.status, response.json())
}

/// A batch of `services` moving tech to Ned, created: its id, and each party's code once mailed.
async fn batch_to_ned(app: &TestApp, services: &[&str]) -> (String, String, String) {
    let (status, created) = ask_batch(app, services, json!({"tech": "nn1-ovh"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["batch"]["id"].as_str().unwrap().to_owned();
    app.deliver().await;
    (id.clone(), app.token_of("aa1-ovh", &id).await, app.token_of("nn1-ovh", &id).await)
}

async fn answer(app: &TestApp, id: &str, caller: &str, token: &str, decision: &str) -> (StatusCode, Value) {
    let response = app.post(&format!("/v1/contact-change-batches/{id}/{decision}"), caller, json!({ "token": token })).await;
    (response.status, response.json())
}

async fn batch(app: &TestApp, id: &str, caller: &str) -> (StatusCode, Value) {
    let response = app.get(&format!("/v1/contact-change-batches/{id}"), caller).await;
    (response.status, response.json())
}

fn part_states(batch: &Value) -> Vec<(String, String)> {
    batch["parts"].as_array().unwrap().iter().map(|p| (p["service"].as_str().unwrap().to_owned(), p["state"].as_str().unwrap().to_owned())).collect()
}

async fn a_batch_moves_a_role_on_many_services_with_one_mail_and_one_code_per_party(backend: Backend) {
    let app = cast(backend).await;
    let (status, created) = ask_batch(&app, &FOUR, json!({"tech": "nn1-ovh"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["parts"].as_array().unwrap().len(), 4);
    assert!(created["parts"].as_array().unwrap().iter().all(|p| p["request"].is_string() && p["problem"].is_null()), "{created}");
    let id = created["batch"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["batch"]["state"], "pending");
    app.deliver().await;
    // One mail per party and per holder only told, whatever the number of services.
    for (account, mails) in [("aa1-ovh", 1), ("nn1-ovh", 1), ("tt1-ovh", 1), ("tt2-ovh", 1)] {
        assert_eq!(app.mails_to(account).await.len(), mails, "{account}");
    }
    assert!(app.mails_to("tt2-ovh").await[0].text.contains("c.example") && !app.mails_to("tt2-ovh").await[0].text.contains("a.example"));
    assert!(app.mails_to("tt1-ovh").await[0].token().is_none(), "a holder only told gets no code");
    let (ada, ned) = (app.token_of("aa1-ovh", &id).await, app.token_of("nn1-ovh", &id).await);
    let (status, after_ada) = answer(&app, &id, "aa1-ovh", &ada, "accept").await;
    assert_eq!((status, after_ada["state"].as_str()), (StatusCode::OK, Some("pending")));
    assert_eq!(app.contacts("a.example", "aa1-ovh").await["tech"], "tt1-ovh", "nothing changes before every party accepts");
    let (status, done) = answer(&app, &id, "nn1-ovh", &ned, "accept").await;
    assert_eq!((status, done["state"].as_str()), (StatusCode::OK, Some("done")), "{done}");
    for service in FOUR {
        assert_eq!(app.contacts(service, "aa1-ovh").await["tech"], "nn1-ovh", "{service}");
    }
    // Each part is a request of its own, done, naming its batch.
    let part = done["parts"][0]["request"].as_str().unwrap();
    let request = app.request(part, "aa1-ovh").await;
    assert_eq!((request["state"].as_str(), request["batch"].as_str()), (Some("done"), Some(id.as_str())));
    // The closing mails: one per party and per holder told, with the outcome per service.
    app.deliver().await;
    for account in ["aa1-ovh", "nn1-ovh", "tt1-ovh", "tt2-ovh"] {
        assert_eq!(app.mails_to(account).await.len(), 2, "{account}");
    }
    let spent = answer(&app, &id, "nn1-ovh", &ned, "accept").await;
    assert_eq!(spent.0, StatusCode::CONFLICT, "a closed batch takes no answer: {}", spent.1);
}

async fn services_that_do_not_qualify_are_named_with_their_problem_and_none_qualifying_is_the_first_ones(backend: Backend) {
    let app = cast(backend).await;
    app.ask_ok("b.example", "aa1-ovh", json!({ "tech": "mm1-ovh" })).await;
    let (status, created) = ask_batch(&app, &["a.example", "b.example", "nowhere.example"], json!({"tech": "nn1-ovh"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let parts = created["parts"].as_array().unwrap();
    assert!(parts[0]["request"].is_string());
    assert_eq!((parts[1]["problem"]["status"].as_u64(), parts[1]["problem"]["code"].as_str()), (Some(409), Some("pending_exists")));
    assert_eq!(parts[2]["problem"]["status"], 404);
    assert_eq!(created["batch"]["services"], json!(["a.example"]));

    let (status, refused) = ask_batch(&app, &["nowhere.example", "b.example"], json!({"tech": "nn1-ovh"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "none qualifies: the first service's problem: {refused}");
    let (status, refused) = ask_batch(&app, &["c.example"], json!({"tech": "zz9-ovh"})).await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_account")), "the new contact's problem is the batch's");
    for (body, why) in [
        (json!({"services": [], "tech": "nn1-ovh"}), "no service"),
        (json!({"services": ["c.example", "c.example"], "tech": "nn1-ovh"}), "a service twice"),
        (json!({"services": ["c.example"], "tech": "nn1-ovh", "admin": "mm1-ovh"}), "two new accounts"),
        (json!({"services": ["c.example"]}), "no role"),
        (json!({"services": ["c.example"], "tech": "nn1-ovh", "extra": 1}), "an unknown field"),
    ] {
        let response = app.post("/v1/contact-change-batches", "aa1-ovh", body).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{why}: {}", response.text());
    }
    let thousand_and_one: Vec<String> = (0..1001).map(|i| format!("s{i}.example")).collect();
    let too_many = app.post("/v1/contact-change-batches", "aa1-ovh", json!({"services": thousand_and_one, "tech": "nn1-ovh"})).await;
    assert_eq!(too_many.status, StatusCode::BAD_REQUEST, "{}", too_many.text());
    assert_eq!(app.get("/v1/services/c.example", "aa1-ovh").await.json()["pending"], json!([]), "nothing was kept of a refused batch");
}

async fn a_part_whose_service_changed_hands_fails_alone(backend: Backend) {
    let app = cast(backend).await;
    let (id, ada, ned) = batch_to_ned(&app, &FOUR).await;
    app.load(&json!({"services": [{"name": "c.example", "admin": "aa1-ovh", "tech": "mm1-ovh", "billing": "bb1-ovh"}]})).await;
    answer(&app, &id, "aa1-ovh", &ada, "accept").await;
    let (status, settled) = answer(&app, &id, "nn1-ovh", &ned, "accept").await;
    assert_eq!((status, settled["state"].as_str()), (StatusCode::OK, Some("partly_done")), "{settled}");
    let failed: Vec<&Value> = settled["parts"].as_array().unwrap().iter().filter(|p| p["state"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0]["service"].as_str(), failed[0]["reason"].as_str()), (Some("c.example"), Some("holders_changed")));
    assert_eq!(app.contacts("c.example", "aa1-ovh").await["tech"], "mm1-ovh");
    assert_eq!(app.contacts("d.example", "aa1-ovh").await["tech"], "nn1-ovh");
}

async fn one_refusal_closes_the_batch_and_frees_every_role(backend: Backend) {
    let app = cast(backend).await;
    let (id, ada, ned) = batch_to_ned(&app, &FOUR).await;
    answer(&app, &id, "aa1-ovh", &ada, "accept").await;
    let (status, refused) = answer(&app, &id, "nn1-ovh", &ned, "refuse").await;
    assert_eq!((status, refused["state"].as_str()), (StatusCode::OK, Some("refused")), "{refused}");
    assert!(part_states(&refused).iter().all(|(_, state)| state == "refused"));
    let part = refused["parts"][0]["request"].as_str().unwrap();
    assert_eq!(app.request(part, "aa1-ovh").await["state"], "refused");
    // Every lock went with the batch: the services take new requests.
    for service in FOUR {
        app.ask_ok(service, "aa1-ovh", json!({ "tech": "mm1-ovh" })).await;
    }
}

async fn the_requester_cancels_the_batch_and_a_services_admin_only_its_own_part(backend: Backend) {
    let app = cast(backend).await;
    // Bea is admin of d.example only: she may cancel that part, not the batch.
    app.load(&json!({"services": [{"name": "d.example", "admin": "bb1-ovh", "tech": "tt2-ovh", "billing": "aa1-ovh"}]})).await;
    let (status, created) = ask_batch(&app, &["a.example", "d.example"], json!({"billing": "nn1-ovh"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["batch"]["id"].as_str().unwrap().to_owned();
    let part_of_d = created["parts"][1]["request"].as_str().unwrap().to_owned();
    let by_bea = app.post(&format!("/v1/contact-change-batches/{id}/cancel"), "bb1-ovh", json!({})).await;
    assert_eq!(by_bea.status, StatusCode::FORBIDDEN, "{}", by_bea.text());
    let alone = app.post(&format!("/v1/contact-changes/{part_of_d}/cancel"), "aa1-ovh", json!({})).await;
    assert_eq!((alone.status, alone.code().as_str()), (StatusCode::CONFLICT, "part_of_batch"), "a part is withdrawn with its batch");
    let part_cancelled = app.post(&format!("/v1/contact-changes/{part_of_d}/cancel"), "bb1-ovh", json!({})).await;
    assert_eq!(part_cancelled.status, StatusCode::OK, "{}", part_cancelled.text());
    let (_, after) = batch(&app, &id, "aa1-ovh").await;
    assert_eq!(after["state"], "pending");
    assert_eq!(part_states(&after), [("a.example".to_owned(), "pending".to_owned()), ("d.example".to_owned(), "cancelled".to_owned())]);
    let cancelled = app.post(&format!("/v1/contact-change-batches/{id}/cancel"), "aa1-ovh", json!({})).await;
    assert_eq!((cancelled.status, cancelled.json()["state"].as_str()), (StatusCode::OK, Some("cancelled")));
    app.ask_ok("a.example", "aa1-ovh", json!({ "billing": "mm1-ovh" })).await;
}

async fn a_batch_is_seen_whole_by_its_parties_and_in_part_by_its_services_contacts(backend: Backend) {
    let app = cast(backend).await;
    let (id, ..) = batch_to_ned(&app, &FOUR).await;
    for party in ["aa1-ovh", "nn1-ovh"] {
        let (status, seen) = batch(&app, &id, party).await;
        assert_eq!((status, seen["parts"].as_array().unwrap().len()), (StatusCode::OK, 4), "{party}");
    }
    let (status, teo) = batch(&app, &id, "tt1-ovh").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(teo["services"], json!(["a.example", "b.example"]), "a previous holder sees its own services' parts only");
    assert_eq!(teo["from"], "tt1-ovh");
    assert_eq!(batch(&app, &id, "mm1-ovh").await.0, StatusCode::NOT_FOUND, "an outsider is told it does not exist");
    let wrong = answer(&app, &id, "tt1-ovh", "not-a-code", "accept").await;
    assert_eq!(wrong.0, StatusCode::FORBIDDEN, "{}", wrong.1);
}

async fn the_batchs_link_page_names_nobody_and_answers_with_the_code_alone(backend: Backend) {
    let app = cast(backend).await;
    let (id, ada, _) = batch_to_ned(&app, &FOUR).await;
    let mail = app.mails_to("aa1-ovh").await.into_iter().find(|m| m.text.contains(&id)).unwrap();
    assert!(mail.text.contains(&format!("/confirm/batch/{id}#token=")), "the link leads to the batch's page");
    let page = app.call(http::Method::GET, &format!("/confirm/batch/{id}"), None, bytes::Bytes::new()).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("c.example") && !html.contains("Ada") && !html.contains("aa1-ovh") && !html.contains("nn1-ovh"), "{html}");
    let details_path = format!("/confirm/batch/{id}/details");
    let details = |token: &str| app.call(http::Method::POST, &details_path, None, bytes::Bytes::from(format!("token={token}")));
    assert_eq!(details("wrong").await.status, StatusCode::FORBIDDEN);
    let named = details(&ada).await;
    assert_eq!(named.status, StatusCode::OK, "{}", named.text());
    assert_eq!(named.json()["requested_by"]["name"], "Ada Admin");
    assert_eq!(named.json()["previous"].as_array().unwrap().len(), 2);
    let form = bytes::Bytes::from(format!("token={ada}&decision=accept"));
    let answered = app.call(http::Method::POST, &format!("/confirm/batch/{id}"), None, form).await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER, "{}", answered.text());
    assert_eq!(batch(&app, &id, "aa1-ovh").await.1["parties"][0]["status"], "accepted");
}

async fn a_batch_is_one_entry_in_my_batches_and_its_parts_none_in_my_requests(backend: Backend) {
    let app = cast(backend).await;
    let (id, ..) = batch_to_ned(&app, &FOUR).await;
    let mine = app.get("/v1/me/contact-change-batches", "aa1-ovh").await.json();
    assert_eq!(mine["batches"].as_array().unwrap().len(), 1);
    assert_eq!((mine["batches"][0]["id"].as_str(), mine["batches"][0]["parts"].as_array().unwrap().len()), (Some(id.as_str()), 4));
    assert_eq!(app.get("/v1/me/contact-changes", "aa1-ovh").await.json()["requests"], json!([]), "the parts are listed with their batch");
    assert_eq!(app.get("/v1/me/contact-change-batches?state=done", "aa1-ovh").await.json()["batches"], json!([]));
    let told = app.get("/v1/me/contact-change-batches", "tt2-ovh").await.json();
    assert_eq!(told["batches"][0]["services"], json!(["c.example", "d.example"]));
    assert_eq!(app.get("/v1/me/contact-change-batches", "mm1-ovh").await.json()["batches"], json!([]));
}

async fn a_partys_new_address_kills_its_batch_code_and_gets_a_fresh_one(backend: Backend) {
    let app = cast(backend).await;
    let (id, ada, ned) = batch_to_ned(&app, &FOUR).await;
    // The provider's support sets Ned's new address (SPEC §3: a code belongs to an address).
    let new_address = format!("moved.{}", app.email_of("nn1-ovh"));
    let moved = app.provider_put("/internal/accounts/nn1-ovh", json!({"name": "Ned New", "email": new_address, "language": "en"})).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text());
    app.deliver().await;
    let dead = answer(&app, &id, "nn1-ovh", &ned, "accept").await;
    assert_eq!(dead.0, StatusCode::FORBIDDEN, "the code mailed to the old address died: {}", dead.1);
    let fresh = app.mails().await.into_iter().rev().find(|m| m.to == new_address).expect("a fresh code at the new address");
    let fresh = fresh.token().expect("it carries the code");
    answer(&app, &id, "aa1-ovh", &ada, "accept").await;
    let (status, done) = answer(&app, &id, "nn1-ovh", &fresh, "accept").await;
    assert_eq!((status, done["state"].as_str()), (StatusCode::OK, Some("done")), "{done}");
}

async fn one_batch_counts_once_against_the_limit_of_unaccepted_requests(backend: Backend) {
    let app = cast(backend).await;
    let limit = app.router.app().config().unaccepted_request_limit as usize;
    // A refused batch of more services than the limit counts once: as many single requests
    // as the limit still leaves are taken, then no more.
    let (id, _, ned) = batch_to_ned(&app, &FOUR).await;
    assert!(FOUR.len() > limit);
    answer(&app, &id, "nn1-ovh", &ned, "refuse").await;
    for service in &FOUR[1..limit] {
        let asked = app.ask_ok(service, "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
        let token = app.token_of("nn1-ovh", &asked).await;
        app.refuse(&asked, "nn1-ovh", &token).await;
    }
    let over = app.ask("a.example", "aa1-ovh", json!({ "tech": "nn1-ovh" })).await;
    assert_eq!((over.status, over.code().as_str()), (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"), "{}", over.text());
}

async fn a_pending_batch_expires_with_its_parts(backend: Backend) {
    let app = cast(backend).await;
    let (id, ada, _) = batch_to_ned(&app, &FOUR).await;
    app.clock.advance(app.router.app().config().token_ttl + time::Duration::seconds(1));
    let report = app.sweep().await;
    assert_eq!(report.batches.expired, 1, "{report:?}");
    let (_, expired) = batch(&app, &id, "aa1-ovh").await;
    assert_eq!(expired["state"], "expired");
    assert!(part_states(&expired).iter().all(|(_, state)| state == "expired"));
    let late = answer(&app, &id, "aa1-ovh", &ada, "accept").await;
    assert_eq!((late.0, late.1["code"].as_str()), (StatusCode::CONFLICT, Some("expired")));
    app.ask_ok("a.example", "aa1-ovh", json!({ "tech": "mm1-ovh" })).await;
}

async fn the_sweep_finishes_a_batch_whose_parts_a_stopped_function_left_pending(backend: Backend) {
    let app = cast(backend).await;
    let (id, ..) = batch_to_ned(&app, &FOUR).await;
    // Every party accepted, and the function stopped before any part took effect: as the
    // store has it then.
    let mut stored = app.store.batch(id.parse().unwrap()).await.unwrap().unwrap();
    let now = contacts_app::ports::Clock::now(&*app.clock);
    for party in ["aa1-ovh", "nn1-ovh"] {
        stored.step(contacts_domain::BatchStep::Accept { party: party.parse().unwrap() }, now).unwrap();
    }
    stored.version += 1;
    app.store.save_batch(&stored).await.unwrap();
    assert_eq!(app.sweep().await.batches.finished, 0, "the function that took the acceptance has its time first");
    app.clock.advance(contacts_app::SETTLE_GRACE);
    assert_eq!(app.sweep().await.batches.finished, 1);
    assert_eq!(batch(&app, &id, "aa1-ovh").await.1["state"], "done");
    for service in FOUR {
        assert_eq!(app.contacts(service, "aa1-ovh").await["tech"], "nn1-ovh", "{service}");
    }
}

async fn a_batch_is_counted_with_its_size_and_each_parts_outcome_on_the_functions_lines(backend: Backend) {
    use contacts_telemetry::Metric;
    let app = cast(backend).await;
    app.take_emf();
    let (id, ada, ned) = batch_to_ned(&app, &FOUR).await;
    let lines = app.take_emf();
    let create = lines.iter().find(|line| line.dimension("function") == Some("create")).expect("the create function's line");
    assert_eq!(
        (create.get(Metric::BatchesRequested), create.get(Metric::BatchParts), create.get(Metric::ChangesRequested)),
        (Some(1.0), Some(4.0), Some(4.0)),
        "{}",
        create.line
    );
    app.load(&json!({"services": [{"name": "c.example", "admin": "aa1-ovh", "tech": "mm1-ovh", "billing": "bb1-ovh"}]})).await;
    answer(&app, &id, "aa1-ovh", &ada, "accept").await;
    answer(&app, &id, "nn1-ovh", &ned, "accept").await;
    // The parts take effect side by side, each counted on the line of the call that applied them.
    let confirm: Vec<_> =
        app.take_emf().into_iter().filter(|line| line.dimension("function") == Some("confirm") && line.dimension("reason").is_none()).collect();
    let sum = |metric| confirm.iter().filter_map(|line| line.get(metric)).sum::<f64>();
    assert_eq!((sum(Metric::ChangesDone), sum(Metric::ChangesFailed)), (3.0, 1.0), "{:?}", confirm.iter().map(|l| &l.line).collect::<Vec<_>>());
}

async fn a_last_acceptance_too_close_to_its_deadline_leaves_the_parts_to_the_sweep(backend: Backend) {
    let app = cast(backend).await;
    let (id, ada, ned) = batch_to_ned(&app, &FOUR).await;
    answer(&app, &id, "aa1-ovh", &ada, "accept").await;
    // The function that takes the last acceptance has a second left: too little to begin a part.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
    let (status, settling) = contacts_app::deadline::scope(Some(deadline), answer(&app, &id, "nn1-ovh", &ned, "accept")).await;
    assert_eq!((status, settling["state"].as_str()), (StatusCode::OK, Some("pending")), "{settling}");
    assert!(part_states(&settling).iter().all(|(_, state)| state == "pending"));
    assert_eq!(app.contacts("a.example", "aa1-ovh").await["tech"], "tt1-ovh");
    let again = answer(&app, &id, "aa1-ovh", &ada, "refuse").await;
    assert_eq!((again.0, again.1["code"].as_str()), (StatusCode::CONFLICT, Some("taking_effect")), "nothing stops a batch every party accepted");
    app.clock.advance(contacts_app::SETTLE_GRACE);
    assert_eq!(app.sweep().await.batches.finished, 1);
    assert_eq!(batch(&app, &id, "aa1-ovh").await.1["state"], "done");
}

async fn the_sweep_ends_the_parts_of_a_batch_refused_by_a_function_that_stopped(backend: Backend) {
    let app = cast(backend).await;
    let (id, ..) = batch_to_ned(&app, &FOUR).await;
    // Ned's refusal was saved, and the function stopped before it ended the parts.
    let mut stored = app.store.batch(id.parse().unwrap()).await.unwrap().unwrap();
    stored.step(contacts_domain::BatchStep::Refuse { party: "nn1-ovh".parse().unwrap() }, contacts_app::ports::Clock::now(&*app.clock)).unwrap();
    stored.version += 1;
    app.store.save_batch(&stored).await.unwrap();
    let part = stored.parts[0].request.to_string();
    assert_eq!(app.request(&part, "aa1-ovh").await["state"], "pending", "the part's own request is still pending");
    assert_eq!(app.ask("a.example", "aa1-ovh", json!({ "tech": "mm1-ovh" })).await.code(), "pending_exists");
    assert_eq!(app.sweep().await.batches.finished, 1);
    assert_eq!(app.request(&part, "aa1-ovh").await["state"], "refused");
    app.ask_ok("a.example", "aa1-ovh", json!({ "tech": "mm1-ovh" })).await;
    assert_eq!(app.sweep().await.batches.finished, 0, "once is enough");
}

/// A measurement for BENCHMARKS.md ("A batch of 1,000 services"), not a test of the suite: it
/// is `#[ignore]`d. On DynamoDB Local (`AWS_ENDPOINT_URL_DYNAMODB`, as scripts/emulators'
/// `start_dynamodb` sets it), through the router on a `DynamoStore`, mails into memory:
/// `cargo test -p integration-tests --test batches -- --ignored --nocapture measure_`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement for BENCHMARKS.md, not a test"]
async fn measure_a_batch_of_1000_services_on_dynamodb_local() {
    use std::time::Instant;
    let clock: std::sync::Arc<dyn contacts_app::ports::Clock> = std::sync::Arc::new(contacts_app::ports::SystemClock);
    let store = integration_tests::dynamo_store(&integration_tests::unique_tag(), clock.clone()).await;
    let mailer = std::sync::Arc::new(contacts_app::memory::MemoryMailer::new());
    let app = contacts_app::App::new(store.clone(), mailer.clone(), clock.clone(), contacts_app::config::Config::default());
    let router = contacts_api::Router::new(app.clone());
    let holders: Vec<String> = (0..10).map(|i| format!("th{i}-ovh")).collect();
    let mut accounts: Vec<Value> = holders.iter().map(|id| json!({"id": id, "name": "Tech", "email": format!("{id}@example.com")})).collect();
    accounts.extend(["aa1-ovh", "bb1-ovh", "nn1-ovh"].map(|id| json!({"id": id, "name": "Someone", "email": format!("{id}@example.com")})));
    let names: Vec<String> = (0..1000).map(|i| format!("s{i:04}.example")).collect();
    let services: Vec<Value> =
        names.iter().enumerate().map(|(i, name)| json!({"name": name, "admin": "aa1-ovh", "tech": holders[i % 10], "billing": "bb1-ovh"})).collect();
    let fixtures = contacts_app::seed::Fixtures::parse(&json!({"accounts": accounts, "services": services}).to_string()).unwrap();
    fixtures.load(&app).await.unwrap();
    let call = |caller: &str, path: String, body: Value| {
        router.handle(contacts_api::ApiRequest {
            method: http::Method::POST,
            path,
            query: None,
            headers: http::HeaderMap::new(),
            body: bytes::Bytes::from(body.to_string()),
            caller: contacts_api::Caller::customer(Some(caller)),
            source: None,
        })
    };
    let mut rows = Vec::new();
    let mut step = |label: &str, started: Instant, mails: usize| {
        let metrics = store.metrics();
        store.reset_metrics();
        rows.push(format!("| {label} | {:.2} s | {} | {:.0} | {mails} |", started.elapsed().as_secs_f64(), metrics.calls, metrics.capacity_units));
    };
    store.reset_metrics();
    let started = Instant::now();
    let created = call("aa1-ovh", "/v1/contact-change-batches".into(), json!({"services": names, "tech": "nn1-ovh"})).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = serde_json::from_slice::<Value>(created.body()).unwrap()["batch"]["id"].as_str().unwrap().to_owned();
    step("create (1,000 parts)", started, 0);
    let started = Instant::now();
    let sent = app.deliver_outbox(clock.now()).await.unwrap().sent;
    step("mailer: the batch's mails", started, sent);
    let code = |to: &str| {
        let mail = mailer.sent().into_iter().rev().find(|m| m.to.as_str() == format!("{to}@example.com") && m.text.contains("#token=")).unwrap();
        mail.text.split("#token=").nth(1).unwrap()[..43].to_owned()
    };
    let (ada, ned) = (code("aa1-ovh"), code("nn1-ovh"));
    let started = Instant::now();
    assert_eq!(call("aa1-ovh", format!("/v1/contact-change-batches/{id}/accept"), json!({ "token": ada })).await.status(), StatusCode::OK);
    step("first accept", started, 0);
    let started = Instant::now();
    let done = call("nn1-ovh", format!("/v1/contact-change-batches/{id}/accept"), json!({ "token": ned })).await;
    assert_eq!(serde_json::from_slice::<Value>(done.body()).unwrap()["state"], "done");
    step("last accept: 1,000 parts take effect", started, 0);
    let started = Instant::now();
    let sent = app.deliver_outbox(clock.now()).await.unwrap().sent;
    step("mailer: the closing mails", started, sent);
    println!("| step | time | DynamoDB calls | capacity units (Local's figure) | mails |\n|---|---|---|---|---|\n{}", rows.join("\n"));
}

/// A batch is read from the caller's memberships first: a service it holds no role of is
/// answered as not found (whether or not it exists) without its record being read, and each
/// create that names one counts against the caller's budget of probes (SPEC §2's), so that a
/// script cannot have a thousand services read per call for nothing. Naming one's own never counts.
async fn naming_services_not_ones_own_spends_the_budget_of_probes_and_reads_none_of_them(backend: Backend) {
    let app = cast(backend).await;
    app.load(&json!({"services": [{"name": "elsewhere.example", "admin": "tt2-ovh", "tech": "tt2-ovh", "billing": "tt2-ovh"}]})).await;
    let (status, created) = ask_batch(&app, &FOUR, json!({"tech": "nn1-ovh"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // Her own services again, more times than the budget: refused (pending), never counted.
    for _ in 0..=contacts_domain::limits::ATTEMPT_LIMIT {
        let (status, again) = ask_batch(&app, &FOUR, json!({"tech": "nn1-ovh"})).await;
        assert_eq!((status, again["code"].as_str()), (StatusCode::CONFLICT, Some("pending_exists")), "{again}");
    }
    // Another's service and none at all: the same answer, each create counted.
    for _ in 0..contacts_domain::limits::ATTEMPT_LIMIT {
        let (status, refused) = ask_batch(&app, &["elsewhere.example", "nowhere.example"], json!({"tech": "nn1-ovh"})).await;
        assert_eq!((status, refused["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{refused}");
    }
    let (status, mixed) = ask_batch(&app, &["a.example", "elsewhere.example"], json!({"tech": "nn1-ovh"})).await;
    assert_eq!((status, mixed["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_requests")), "{mixed}");
    let (status, own) = ask_batch(&app, &FOUR, json!({"tech": "mm1-ovh"})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the budget is the caller's, whatever it names next: {own}");
    if let Some(store) = &app.dynamo {
        // Her memberships only: no service's partition read for a service she does not hold.
        store.reset_metrics();
        app.clock.advance(time::Duration::minutes(15));
        let (status, _) = ask_batch(&app, &["elsewhere.example", "nowhere.example"], json!({"tech": "nn1-ovh"})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let calls = store.metrics();
        assert!(!calls.operations.contains(&"Query"), "no service's partition queried: {:?}", calls.operations);
    }
}
