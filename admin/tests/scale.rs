//! A measurement for BENCHMARKS.md ("Provisioning at scale"), not a test of the suite: it is
//! `#[ignore]`d, and admin/bench.sh runs it (on DynamoDB Local) with
//! `cargo test --release -p contacts-admin --test scale -- --ignored --nocapture`.
//!
//! The first page of `GET /v1/me/services`, through the router on a `DynamoStore`, for
//! accounts holding 10, 100 and 10,000 services: its time and its DynamoDB calls (the page's
//! Query and the `BatchGetItem` of its holders' names). With
//! `BENCH_TABLE` set, on that table (loaded from `contacts-admin generate --heavy 10000`:
//! `ge0-ovh` holds 10,000 services, `ge1-ovh` 10, `ge2-ovh` 100); otherwise on a fresh table
//! loaded here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use contacts_admin::generate::{Spec, generate};
use contacts_admin::import::{ImportOptions, import};
use contacts_admin::progress::Progress;
use contacts_api::{ApiRequest, Caller, Router};
use contacts_app::App;
use contacts_app::config::Config;
use contacts_app::memory::MemoryMailer;
use contacts_app::ports::SystemClock;
use contacts_aws::dynamodb::bulk::Bulk;
use contacts_aws::{DynamoStore, dynamodb, sdk};
use http::{HeaderMap, Method, StatusCode};
use integration_tests::unique_tag;

const HEAVY: u64 = 10_000;
const RUNS: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement for BENCHMARKS.md (admin/bench.sh runs it), not a test"]
async fn first_page_of_my_services_costs_the_same_for_10_and_10_000_services() {
    // DynamoDB Local only (no mail here): fail, never skip, without it.
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_default();
    assert!(contacts_admin::is_loopback(&endpoint), "set AWS_ENDPOINT_URL_DYNAMODB to DynamoDB Local (admin/bench.sh does): {endpoint:?}");
    let client = sdk::dynamodb_client(&sdk::emulator_sdk_config().await);
    let table = match std::env::var("BENCH_TABLE") {
        Ok(table) if !table.is_empty() => table,
        _ => {
            let table = format!("contacts-bench-{}", unique_tag());
            dynamodb::create_table_if_missing(&client, &table).await.unwrap();
            let file = std::env::temp_dir().join(format!("{table}.jsonl"));
            generate(Spec { accounts: 100, services: HEAVY + 110, heavy: HEAVY, seed: 1 }, &mut std::fs::File::create(&file).unwrap()).unwrap();
            let bulk = Bulk::new(client.clone(), &table);
            import(&bulk, &file, &ImportOptions::default(), time::OffsetDateTime::now_utc(), &Progress::silent()).await.unwrap();
            table
        }
    };
    let store = Arc::new(DynamoStore::new(client, &table));
    let router = Router::new(App::new(store.clone(), Arc::new(MemoryMailer::new()), Arc::new(SystemClock), Config::default()));

    println!("table {table}; {RUNS} runs each after 5 warm-up runs");
    println!("| account | services held | first page: items | median | p95 | DynamoDB calls | Query | read units |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut costs = Vec::new();
    for (account, held) in [("ge1-ovh", 10), ("ge2-ovh", 100), ("ge0-ovh", HEAVY)] {
        let call = || {
            router.handle(ApiRequest {
                method: Method::GET,
                path: "/v1/me/services".to_owned(),
                query: None,
                headers: HeaderMap::new(),
                body: Default::default(),
                caller: Caller::customer(Some(account)),
                source: None,
            })
        };
        for _ in 0..5 {
            call().await;
        }
        let mut times = Vec::with_capacity(RUNS);
        let mut items = 0;
        store.reset_metrics();
        for _ in 0..RUNS {
            let started = Instant::now();
            let response = call().await;
            times.push(started.elapsed());
            assert_eq!(response.status(), StatusCode::OK);
            let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
            items = body["services"].as_array().unwrap().len();
            assert_eq!(body["next_cursor"].is_string(), held > items as u64, "a next page exactly when there is more");
        }
        let metrics = store.metrics();
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let per_call = |n: f64| n / RUNS as f64;
        let queries = metrics.operations.iter().filter(|op| **op == "Query").count() as f64;
        println!(
            "| {account} | {held} | {items} | {:.1} ms | {:.1} ms | {} | {} | {} |",
            ms(times[RUNS / 2]),
            ms(times[RUNS * 95 / 100]),
            per_call(metrics.calls as f64),
            per_call(queries),
            per_call(metrics.capacity_units)
        );
        costs.push((per_call(metrics.calls as f64), per_call(queries), per_call(metrics.capacity_units)));
    }
    // One Query of the page and one BatchGetItem of its holders' names (#13), whatever the size.
    assert!(costs.iter().all(|(calls, queries, _)| (*calls, *queries) == (2.0, 1.0)), "one Query and one BatchGetItem for the first page: {costs:?}");
    // A full page's read units depend on its 50 services and their distinct holders, not on how
    // many more the account holds: 100 times the services may not cost twice as much.
    assert!(costs[2].2 < 2.0 * costs[1].2, "a full first page costs about the same whatever the account's size: {costs:?}");
}
