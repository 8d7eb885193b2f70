//! The measurements under the RIE: cold starts, warm invokes, whole changes through the
//! functions; and the DynamoDB part of each, replayed straight to DynamoDB Local.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use lambda_harness::http::{Conn, split_url};
use lambda_harness::mail::SesStore;
use lambda_harness::{Rie, events};
use serde_json::json;

use crate::targets::{Target, rust_target};
use crate::work::{ADA, Bench, NED};
use crate::{Args, env};

pub struct Cold {
    pub ms: Vec<f64>,
    pub init_ms: Vec<f64>,
    pub rss_kib: Vec<u64>,
    /// The bootstrap's CPU time from its start to the end of the first answer.
    pub cpu_ms: Vec<f64>,
}

/// Every target's cold starts, and the DynamoDB part of a cold start replayed once a round.
pub struct ColdStarts {
    pub per_target: Vec<Cold>,
    pub dynamodb_ms: Vec<f64>,
}

pub struct Warm {
    pub ms: Vec<f64>,
    pub dynamodb_ms: Vec<f64>,
    pub rss_kib: Option<u64>,
    /// The bootstrap's CPU time per measured invoke, in µs.
    pub cpu_us: f64,
}

pub struct Warms {
    pub baseline: Warm,
    pub read: Warm,
    pub python: Warm,
}

/// How many measurements were taken again (see [`retried`]).
pub static RESTARTS: AtomicUsize = AtomicUsize::new(0);

fn log_path(name: &str) -> PathBuf {
    let dir = std::env::var("EMU_RUN_DIR").map(PathBuf::from).unwrap_or_else(|_| std::env::temp_dir());
    dir.join(format!("bench-{}.log", name.replace(' ', "-")))
}

/// What each cold-start event costs in DynamoDB calls, through the same router in process.
pub fn event_calls(runtime: &tokio::runtime::Runtime, bench: &Bench, targets: &[Target]) -> BTreeMap<&'static str, String> {
    let mut calls = BTreeMap::new();
    for target in targets.iter().filter(|t| t.binary.is_some() && t.name != "baseline") {
        let event = serde_json::from_value(target.event.clone()).expect("an HTTP API event");
        let request = contacts_lambda::api_request(event, "sub").expect("an event API Gateway would send");
        let (work, _) = runtime.block_on(bench.measure("event", None, bench.handle(request)));
        assert_eq!(work.status, target.expect, "{}: {} in process", target.name, target.event_name);
        calls.insert(target.name, work.operations.join(", "));
    }
    calls
}

/// `args.runs` rounds, round-robin over the targets (those of `--only`, if given: `targets`), so
/// that the machine's noise lands on every target alike.
pub fn cold_starts(args: &Args, targets: &[Target], table: &str) -> ColdStarts {
    let mut per_target: Vec<Cold> = targets.iter().map(|_| Cold { ms: vec![], init_ms: vec![], rss_kib: vec![], cpu_ms: vec![] }).collect();
    let mut dynamodb_ms = Vec::new();
    for round in 0..args.runs {
        for (target, cold) in targets.iter().zip(per_target.iter_mut()) {
            retried(target.name, || cold_once(target, cold));
        }
        dynamodb_ms.push(cold_dynamodb(table));
        eprintln!("bench:   round {}/{} done", round + 1, args.runs);
    }
    ColdStarts { per_target, dynamodb_ms }
}

fn cold_once(target: &Target, cold: &mut Cold) {
    let log = log_path(target.name);
    let rie = Rie::start(&target.launch, &log);
    assert!(rie.bootstrap_pid().is_none(), "{}: the RIE started the bootstrap before the first invocation", target.name);
    let body = target.event.to_string();
    let started = Instant::now();
    let mut conn = rie.connect();
    let answer = rie.send_event(&mut conn, body.as_bytes());
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    let status = rie.response(&answer).status;
    assert_eq!(status, target.expect, "{}: {} answered {status}; log {}", target.name, target.event_name, log.display());
    cold.ms.push(elapsed);
    if let Some(cpu) = rie.bootstrap_cpu_ms() {
        cold.cpu_ms.push(cpu);
    }
    if let Some(kib) = rie.bootstrap_peak_rss_kib() {
        cold.rss_kib.push(kib);
    }
    // The RIE writes its INIT REPORT before the invocation starts.
    if let Some(init) = rie.init_ms() {
        cold.init_ms.push(init);
    }
}

/// The DynamoDB (Local) part of a Rust function's cold start, replayed directly: a new
/// connection, the warm-up GetItem of init (`zz0-ovh`), then the event's GetItem on it.
fn cold_dynamodb(table: &str) -> f64 {
    let started = Instant::now();
    let mut conn = dynamodb_local();
    get_item(&mut conn, table, "zz0-ovh");
    get_item(&mut conn, table, ADA);
    started.elapsed().as_secs_f64() * 1000.0
}

/// Runs `measure` again (at most twice more) when a bootstrap fails under the RIE. Rarely, the
/// RIE's Runtime API closes a keep-alive connection just as the runtime sends its next request
/// (`hyper ... IncompleteMessage` in the bootstrap's log), and the bootstrap exits: that is the
/// emulator's, not the function's, and it is counted in the report (`RESTARTS`).
fn retried<T>(what: &str, mut measure: impl FnMut() -> T) -> T {
    for attempt in 1.. {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut measure)) {
            Ok(value) => return value,
            Err(panic) if attempt < 3 => {
                let message = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
                eprintln!("bench: {what} failed ({message}); measuring it again");
                RESTARTS.fetch_add(1, Ordering::Relaxed);
            }
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    unreachable!()
}

fn dynamodb_local() -> Conn {
    let (authority, _) = split_url(&env("AWS_ENDPOINT_URL_DYNAMODB"));
    Conn::connect(&authority).expect("a connection to DynamoDB Local")
}

/// The GetItem that GET /v1/me makes for `account`, sent as is to DynamoDB Local (which
/// checks no signature); its time in ms.
fn get_item(conn: &mut Conn, table: &str, account: &str) -> f64 {
    let body = json!({"TableName": table, "Key": {"pk": {"S": format!("ACCOUNT#{account}")}, "sk": {"S": "PROFILE"}}, "ConsistentRead": true, "ReturnConsumedCapacity": "TOTAL"}).to_string();
    let headers = [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("X-Amz-Target", "DynamoDB_20120810.GetItem"),
        ("X-Amz-Date", "20260101T000000Z"),
        ("Authorization", "AWS4-HMAC-SHA256 Credential=local/20260101/eu-west-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0"),
    ];
    let started = Instant::now();
    let answer = conn.send("POST", "/", &headers, body.as_bytes()).expect("a GetItem to DynamoDB Local");
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(answer.status, 200, "direct GetItem: {}", String::from_utf8_lossy(&answer.body));
    ms
}

/// The targets that have a warm run: the baseline, the read function and the Python peer.
const WARM_TARGETS: [&str; 3] = ["baseline", "read", "python peer"];

/// The warm run of `name`, one of [`WARM_TARGETS`].
fn warm_of(args: &Args, targets: &[Target], table: &str, name: &str) -> Warm {
    let target = targets.iter().find(|t| t.name == name).unwrap();
    retried(name, || warm(target, args.invokes, table))
}

/// The warm runs of [`WARM_TARGETS`].
pub fn warm_runs(args: &Args, targets: &[Target], table: &str) -> Warms {
    eprintln!("bench: warm, {} invokes each of baseline, read and the Python peer", args.invokes);
    let [baseline, read, python] = WARM_TARGETS.map(|name| warm_of(args, targets, table, name));
    Warms { baseline, read, python }
}

/// `--only ... --warm`: the warm run of each of `names` that is one of [`WARM_TARGETS`].
pub fn warm_runs_of(args: &Args, targets: &[Target], table: &str, names: &[String]) -> Vec<(String, Warm)> {
    names.iter().filter(|name| WARM_TARGETS.contains(&name.as_str())).map(|name| (name.clone(), warm_of(args, targets, table, name))).collect()
}

fn warm(target: &Target, invokes: usize, table: &str) -> Warm {
    let rie = Rie::start(&target.launch, &log_path(&format!("{}-warm", target.name)));
    let mut conn = rie.connect();
    let mut dynamodb = dynamodb_local();
    let body = target.event.to_string();
    let mut invoke = || {
        let started = Instant::now();
        let answer = rie.send_event(&mut conn, body.as_bytes());
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(rie.response(&answer).status, target.expect);
        ms
    };
    for _ in 0..100 {
        invoke();
        get_item(&mut dynamodb, table, ADA);
    }
    let (mut ms, mut dynamodb_ms) = (Vec::with_capacity(invokes), Vec::with_capacity(invokes));
    let cpu_before = rie.bootstrap_cpu_ms().unwrap_or(f64::NAN);
    for _ in 0..invokes {
        ms.push(invoke());
        // Interleaved, so that the machine's noise lands on both series alike.
        dynamodb_ms.push(get_item(&mut dynamodb, table, ADA));
    }
    let cpu_us = (rie.bootstrap_cpu_ms().unwrap_or(f64::NAN) - cpu_before) * 1000.0 / invokes as f64;
    Warm { ms, dynamodb_ms, rss_kib: rie.bootstrap_peak_rss_kib(), cpu_us }
}

/// A whole change through the release functions under the RIE, on each of `services`:
/// create, then both parties accept, each step timed from the client (for the Lambda
/// GB-seconds of the cost).
pub fn changes(args: &Args, runtime: &tokio::runtime::Runtime, bench: &Bench, table: &str, services: &[String]) -> Vec<[f64; 3]> {
    eprintln!("bench: {} whole changes through the create and confirm functions", args.changes);
    let create = rust_target(args, table, "create", "", serde_json::Value::Null, 201);
    let confirm = rust_target(args, table, "confirm", "", serde_json::Value::Null, 200);
    let (create_rie, confirm_rie) = (Rie::start(&create.launch, &log_path("create-flow")), Rie::start(&confirm.launch, &log_path("confirm-flow")));
    let (mut create_conn, mut confirm_conn) = (create_rie.connect(), confirm_rie.connect());
    let ask = events::with_json_body(&events::load(&args.events, "create.post-services-contact-changes.json"), &json!({"tech": NED}));
    let accept = events::load(&args.events, "confirm.post-contact-changes-accept.json");
    let mut timings = Vec::new();
    for (i, service) in services.iter().enumerate() {
        let request = events::for_service(&ask, service).to_string();
        let started = Instant::now();
        let answer = create_rie.send_event(&mut create_conn, request.as_bytes());
        let create_ms = started.elapsed().as_secs_f64() * 1000.0;
        let created = create_rie.response(&answer);
        assert_eq!(created.status, 201, "create on {service}: {}; log {}", created.body, create_rie.log_path().display());
        let id = created.json()["requests"][0]["id"].as_str().expect("an id").to_owned();
        // The mailer's part, untimed here (its work per mail is in the DynamoDB table).
        runtime.block_on(bench.deliver("flow's mails"));
        let tokens = SesStore::read(&env("SES_STORE_URL")).tokens_about(&id);
        let mut step = [create_ms, 0.0, 0.0];
        for (n, (caller, address)) in [(ADA, "ada@example.com"), (NED, "ned@example.com")].into_iter().enumerate() {
            let token = tokens.get(address).unwrap_or_else(|| panic!("no token for {address} in the SES emulator for {id}"));
            let request = events::with_caller(&events::with_token(&events::with_id(&accept, &id), token), caller).to_string();
            let started = Instant::now();
            let answer = confirm_rie.send_event(&mut confirm_conn, request.as_bytes());
            step[n + 1] = started.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(confirm_rie.response(&answer).status, 200, "accept {n} of change {i}; log {}", confirm_rie.log_path().display());
        }
        timings.push(step);
    }
    timings
}
