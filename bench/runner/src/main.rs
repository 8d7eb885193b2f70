//! scripts/bench's driver. It expects what scripts/bench sets up: the release bootstraps
//! (`--bins`), the RIE (`--rie`), the Python peer and its interpreter (`--peer`, `--python`),
//! DynamoDB Local and the SES emulator (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SESV2`,
//! `SES_STORE_URL`). It seeds a table, measures, prints a markdown report and, with
//! `--update FILE`, writes it into FILE between its markers (the rest of FILE is kept).
//!
//! The bootstraps run under the RIE through `lambda_harness`, as the tests run them
//! (tests/tests/lambda_rie.rs). What is timed, and how, is written in the report itself
//! (see `definitions`).

mod work;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use lambda_harness::http::{Conn, split_url};
use lambda_harness::mail::SesStore;
use lambda_harness::{Launch, Rie, events};
use serde_json::{Value, json};

use work::{ADA, Bench, NED, Work};

const MIB: f64 = 1024.0 * 1024.0;
const BEGIN: &str = "<!-- bench:begin: written by scripts/bench, edit the text around it instead -->";
const END: &str = "<!-- bench:end -->";
const PUBLIC_BASE_URL: &str = "https://contacts.bench.test";
/// The functions' memory setting in template.yaml (MemorySize), for GB-seconds.
const LAMBDA_MEMORY_GB: f64 = 256.0 / 1024.0;

// ---- prices: list prices as recalled, NOT checked (no network here) -----------------------------
const PRICES_DATE: &str = "2025-06-01";
const PRICE_WRU: f64 = 0.625 / 1e6; // DynamoDB on-demand, per write request unit (since the 2024-11-01 cut)
const PRICE_RRU: f64 = 0.125 / 1e6; // DynamoDB on-demand, per read request unit
const PRICE_LAMBDA_GBS_ARM: f64 = 0.000_013_333_4; // Lambda arm64, per GB-second (first 7.5 G GB-s a month)
const PRICE_LAMBDA_REQUEST: f64 = 0.20 / 1e6; // Lambda, per request
const PRICE_HTTP_API_REQUEST: f64 = 1.00 / 1e6; // API Gateway HTTP API, per request (first 300 M a month)
const PRICE_SES_MAIL: f64 = 0.10 / 1000.0; // SES, per outbound mail

struct Args {
    bins: PathBuf,
    rie: PathBuf,
    python: PathBuf,
    peer: PathBuf,
    events: PathBuf,
    runs: usize,
    invokes: usize,
    changes: usize,
    update: Option<PathBuf>,
    /// Only these targets' cold starts (a comma-separated list), and nothing else: to try a change.
    only: Option<Vec<String>>,
}

fn args() -> Args {
    let mut map = BTreeMap::new();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        map.insert(flag.trim_start_matches('-').to_owned(), value);
    }
    // Absolute: the RIE runs each bootstrap from its own working directory.
    let path = |k: &str| {
        let path = PathBuf::from(map.get(k).unwrap_or_else(|| panic!("--{k} is required")));
        std::path::absolute(&path).unwrap_or(path)
    };
    let num = |k: &str, d: usize| map.get(k).map(|v| v.parse().expect("a number")).unwrap_or(d);
    Args {
        bins: path("bins"),
        rie: path("rie"),
        python: path("python"),
        peer: path("peer"),
        events: path("events"),
        runs: num("runs", 25),
        invokes: num("invokes", 2000),
        changes: num("changes", 10),
        update: map.get("update").map(PathBuf::from),
        only: map.get("only").map(|o| o.split(',').map(str::to_owned).collect()),
    }
}

fn env(name: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| panic!("{name} is not set: run scripts/bench"))
}

// ---- targets -------------------------------------------------------------------------------

struct Target {
    name: &'static str,
    launch: Launch,
    /// The event of its cold start: its cheapest real route.
    event: Value,
    event_name: String,
    expect: u16,
    /// The bootstrap's file, for its size (none for the Python peer).
    binary: Option<PathBuf>,
}

/// Only what Lambda gives a function, and the function's variables.
fn lambda_launch(launch: Launch, table: &str, function: &str) -> Launch {
    let mut launch = launch
        .lambda_environment()
        .env("TABLE_NAME", table)
        .env("MAIL_FROM", "no-reply@contacts.example.com")
        .env("PUBLIC_BASE_URL", PUBLIC_BASE_URL)
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "info")
        .env("AWS_ENDPOINT_URL_DYNAMODB", env("AWS_ENDPOINT_URL_DYNAMODB"))
        .env("AWS_ENDPOINT_URL_SESV2", env("AWS_ENDPOINT_URL_SESV2"))
        .env("AWS_LAMBDA_FUNCTION_NAME", format!("contacts-{function}"))
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256");
    // For experiments only: BENCH_EXTRA_ENV="NAME=value,NAME=value".
    for pair in std::env::var("BENCH_EXTRA_ENV").unwrap_or_default().split(',').filter(|p| !p.is_empty()) {
        if let Some((k, v)) = pair.split_once('=') {
            launch = launch.env(k, v);
        }
    }
    launch
}

fn rust_target(args: &Args, table: &str, name: &'static str, event_file: &str, event: Value, expect: u16) -> Target {
    let binary = args.bins.join(name);
    assert!(binary.is_file(), "{} is missing: scripts/bench builds it", binary.display());
    Target {
        name,
        launch: lambda_launch(Launch::new(name, &args.rie, &binary).cwd(&args.bins), table, name),
        event,
        event_name: event_file.to_owned(),
        expect,
        binary: Some(binary),
    }
}

fn targets(args: &Args, table: &str, missing_service: &str) -> Vec<Target> {
    let e = |f: &str| events::load(&args.events, f);
    let mut all = vec![
        rust_target(args, table, "baseline", "read.get-me.json (ignored)", e("read.get-me.json"), 200),
        rust_target(args, table, "read", "read.get-me.json", e("read.get-me.json"), 200),
        rust_target(args, table, "profile", "profile.patch-me.json", e("profile.patch-me.json"), 200),
        rust_target(
            args,
            table,
            "create",
            "create.post-services-contact-changes.json, on a service that does not exist",
            events::for_service(&e("create.post-services-contact-changes.json"), missing_service),
            404,
        ),
        rust_target(args, table, "confirm", "confirm.get-confirm.json (placeholder id)", e("confirm.get-confirm.json"), 404),
        rust_target(args, table, "resend", "resend.post-contact-changes-resend.json (placeholder id)", e("resend.post-contact-changes-resend.json"), 404),
        rust_target(args, table, "provider", "provider.put-internal-accounts.json", e("provider.put-internal-accounts.json"), 200),
    ];
    // The read function again, with the trust store as one bundle file (as on Amazon Linux,
    // which has no directory of hashed certificate files): what this machine's
    // /etc/ssl/certs directory costs the SDK's start.
    let bundle = Path::new("/etc/ssl/certs/ca-certificates.crt");
    if bundle.is_file() {
        let empty = std::env::temp_dir().join("contacts-bench-no-certs");
        std::fs::create_dir_all(&empty).expect("an empty directory");
        let mut read = rust_target(args, table, "read", "read.get-me.json", e("read.get-me.json"), 200);
        read.name = "read (1-file trust store)";
        read.launch = read.launch.env("SSL_CERT_FILE", bundle.display().to_string()).env("SSL_CERT_DIR", empty.display().to_string());
        all.push(read);
    }
    let peer = Launch::new("python peer", &args.rie, &args.python).args(["-m", "awslambdaric", "app.handler"]).cwd(&args.peer);
    all.push(Target {
        name: "python peer",
        // It reads the .pyc files that scripts/bench compiled.
        launch: lambda_launch(peer, table, "python-peer").env("PYTHONDONTWRITEBYTECODE", "1"),
        event: e("read.get-me.json"),
        event_name: "read.get-me.json".into(),
        expect: 200,
        binary: None,
    });
    all
}

// ---- measuring -----------------------------------------------------------------------------

fn log_path(name: &str) -> PathBuf {
    let dir = std::env::var("EMU_RUN_DIR").map(PathBuf::from).unwrap_or_else(|_| std::env::temp_dir());
    dir.join(format!("bench-{}.log", name.replace(' ', "-")))
}

struct Cold {
    ms: Vec<f64>,
    init_ms: Vec<f64>,
    rss_kib: Vec<u64>,
    /// The bootstrap's CPU time from its start to the end of the first answer.
    cpu_ms: Vec<f64>,
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
    let (authority, _) = split_url(&env("AWS_ENDPOINT_URL_DYNAMODB"));
    let started = Instant::now();
    let mut conn = Conn::connect(&authority).expect("a connection to DynamoDB Local");
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
                RESTARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    unreachable!()
}

static RESTARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

struct Warm {
    ms: Vec<f64>,
    dynamodb_ms: Vec<f64>,
    rss_kib: Option<u64>,
    /// The bootstrap's CPU time per measured invoke, in µs.
    cpu_us: f64,
}

/// The GetItem that GET /v1/me makes, sent as is to DynamoDB Local (which checks no signature).
fn direct_get_item(conn: &mut Conn, table: &str) -> f64 {
    get_item(conn, table, ADA)
}

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

fn warm(target: &Target, invokes: usize, table: &str) -> Warm {
    let rie = Rie::start(&target.launch, &log_path(&format!("{}-warm", target.name)));
    let mut conn = rie.connect();
    let (dynamodb_authority, _) = split_url(&env("AWS_ENDPOINT_URL_DYNAMODB"));
    let mut dynamodb = Conn::connect(&dynamodb_authority).expect("a connection to DynamoDB Local");
    let body = target.event.to_string();
    for _ in 0..100 {
        assert_eq!(rie.response(&rie.send_event(&mut conn, body.as_bytes())).status, target.expect);
        direct_get_item(&mut dynamodb, table);
    }
    let (mut ms, mut dynamodb_ms) = (Vec::with_capacity(invokes), Vec::with_capacity(invokes));
    let cpu_before = rie.bootstrap_cpu_ms().unwrap_or(f64::NAN);
    for _ in 0..invokes {
        let started = Instant::now();
        let answer = rie.send_event(&mut conn, body.as_bytes());
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(rie.response(&answer).status, target.expect);
        // Interleaved, so that the machine's noise lands on both series alike.
        dynamodb_ms.push(direct_get_item(&mut dynamodb, table));
    }
    let cpu_us = (rie.bootstrap_cpu_ms().unwrap_or(f64::NAN) - cpu_before) * 1000.0 / invokes as f64;
    Warm { ms, dynamodb_ms, rss_kib: rie.bootstrap_peak_rss_kib(), cpu_us }
}

/// A whole change through the release functions under the RIE: create, then both parties
/// accept, each step timed from the client (for the Lambda GB-seconds of the cost).
fn changes(args: &Args, table: &str, services: &[String]) -> Vec<[f64; 3]> {
    let create = rust_target(args, table, "create", "", Value::Null, 201);
    let confirm = rust_target(args, table, "confirm", "", Value::Null, 200);
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

// ---- statistics ----------------------------------------------------------------------------

/// Nearest-rank percentile.
fn pct(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

fn yes(met: bool) -> &'static str {
    if met { "yes" } else { "**no**" }
}

// ---- the machine ---------------------------------------------------------------------------

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_owned())))
        .unwrap_or_default();
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().find_map(|l| l.strip_prefix("MemTotal:").and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())))
        .map(|kib| kib / MIB)
        .unwrap_or(f64::NAN);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cores} cores ({cpu}), {memory_gib:.1} GiB of memory, {}", std::env::consts::ARCH)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").ok().and_then(|l| l.split_whitespace().next().map(str::to_owned)).unwrap_or_default()
}

fn command_line(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program).args(args).output().ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default()
}

// ---- the report ----------------------------------------------------------------------------

fn main() {
    let args = args();
    let total = Instant::now();
    let load_before = load_average();
    let tag = format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() % 0xff_ffff_ffff);
    let table = format!("contacts-bench-{tag}");
    let flow_services: Vec<String> = (0..args.changes).map(|i| format!("flow-{i}-{tag}.example.com")).collect();
    let mut services = vec![format!("work-{tag}.example.com"), format!("refuse-{tag}.example.com")];
    services.extend(flow_services.iter().cloned());
    let missing_service = format!("nothing-{tag}.example.com");

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    eprintln!("bench: seeding table {table} in DynamoDB Local");
    let bench = runtime.block_on(Bench::seeded(&table, &services, PUBLIC_BASE_URL));

    let targets = targets(&args, &table, &missing_service);

    // What each cold-start event costs in DynamoDB calls, through the same router in process.
    let mut event_calls = BTreeMap::new();
    for target in targets.iter().filter(|t| t.binary.is_some() && t.name != "baseline") {
        let request = lambda_http::request::from_str(&target.event.to_string()).expect("an HTTP API event");
        let request = shared::entrypoints::lambda::api_request(request, "sub");
        let (work, _) = runtime.block_on(bench.measure("event", None, bench.handle(request)));
        assert_eq!(work.status, target.expect, "{}: {} in process", target.name, target.event_name);
        event_calls.insert(target.name, work.operations.join(", "));
    }

    eprintln!("bench: cold starts, {} rounds over {} targets", args.runs, targets.len());
    let mut cold: Vec<Cold> = targets.iter().map(|_| Cold { ms: vec![], init_ms: vec![], rss_kib: vec![], cpu_ms: vec![] }).collect();
    let mut cold_dynamodb_ms = Vec::new();
    for round in 0..args.runs {
        // Round-robin: the machine's noise lands on every target alike.
        for (target, cold) in targets.iter().zip(cold.iter_mut()) {
            if args.only.as_ref().is_some_and(|only| !only.iter().any(|o| o == target.name)) {
                continue;
            }
            retried(target.name, || cold_once(target, cold));
        }
        cold_dynamodb_ms.push(cold_dynamodb(&table));
        eprintln!("bench:   round {}/{} done", round + 1, args.runs);
    }

    if let Some(only) = &args.only {
        for (target, c) in targets.iter().zip(&cold).filter(|(t, _)| only.iter().any(|o| o == t.name)) {
            let rss = c.rss_kib.iter().max().map(|k| *k as f64 / 1024.0).unwrap_or(f64::NAN);
            println!(
                "{:26} cold median {:6.1} ms [{:.1}-{:.1}], init median {:5.1} ms, CPU median {:5.1} ms, peak RSS {rss:.1} MiB",
                target.name,
                median(&c.ms),
                min(&c.ms),
                max(&c.ms),
                median(&c.init_ms),
                median(&c.cpu_ms)
            );
        }
        println!("DynamoDB cold replay median {:.1} ms", median(&cold_dynamodb_ms));
        return;
    }

    eprintln!("bench: warm, {} invokes each of baseline, read and the Python peer", args.invokes);
    let warm_of = |name: &str| {
        let target = targets.iter().find(|t| t.name == name).unwrap();
        retried(name, || warm(target, args.invokes, &table))
    };
    let (warm_baseline, warm_read, warm_python) = (warm_of("baseline"), warm_of("read"), warm_of("python peer"));

    eprintln!("bench: DynamoDB work per operation");
    let work = runtime.block_on(bench.operations(&services[0], &services[1]));

    eprintln!("bench: {} whole changes through the create and confirm functions", args.changes);
    let flows = changes(&args, &table, &flow_services);

    // ---- figures ----
    let index = |name: &str| targets.iter().position(|t| t.name == name).unwrap();
    let cold_median = |name: &str| median(&cold[index(name)].ms);
    let baseline_cold = cold_median("baseline");
    let functions = ["read", "profile", "create", "confirm", "resend", "provider"];
    let worst_cold_ratio = functions.iter().map(|f| cold_median(f) / baseline_cold).fold(0.0, f64::max);
    let cold_dynamodb = median(&cold_dynamodb_ms);
    let net = |name: &str| cold_median(name) - cold_dynamodb;
    let worst_net_ratio = functions.iter().map(|f| net(f) / baseline_cold).fold(0.0, f64::max);
    let python_over_read = cold_median("python peer") / cold_median("read");
    let peak_rss = |i: usize| -> Option<u64> { cold[i].rss_kib.iter().copied().chain(if targets[i].name == "read" { warm_read.rss_kib } else { None }).max() };
    let worst_rss_mib = functions.iter().filter_map(|f| peak_rss(index(f))).max().map(|k| k as f64 / 1024.0).unwrap_or(f64::NAN);
    let size_mib = |t: &Target| t.binary.as_ref().and_then(|b| std::fs::metadata(b).ok()).map(|m| m.len() as f64 / MIB);
    let worst_size_mib = functions.iter().filter_map(|f| size_mib(&targets[index(f)])).fold(0.0, f64::max);

    let overhead = |w: &Warm, p: f64| pct(&w.ms, p) - pct(&w.dynamodb_ms, p);
    let read_overhead_p50 = overhead(&warm_read, 50.0);
    let baseline_p50 = pct(&warm_baseline.ms, 50.0);
    let warm_ratio = read_overhead_p50 / baseline_p50;

    let mut md = String::new();
    let now = time::OffsetDateTime::now_utc();
    let commit = command_line("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = !command_line("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    writeln!(md, "{BEGIN}\n").unwrap();
    writeln!(md, "## Latest figures\n").unwrap();
    writeln!(
        md,
        "Measured {} UTC by `scripts/bench` at commit `{commit}`{}, {}. Machine: {}; load average {load_before} at the start and {} at the end \
         (the 2 cores are shared with whatever else runs: these are one run's figures, not a controlled lab's). The whole run took {:.0} s after the build{}.\n",
        now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default().get(..16).unwrap_or_default().replace('T', " "),
        if dirty { " (with uncommitted changes)" } else { "" },
        command_line("rustc", &["--version"]),
        machine(),
        load_average(),
        total.elapsed().as_secs_f64(),
        match RESTARTS.load(std::sync::atomic::Ordering::Relaxed) {
            0 => String::new(),
            n => format!("; {n} measurement(s) were taken again after the RIE's Runtime API dropped a bootstrap's connection (see `retried` in bench/runner)"),
        },
    )
    .unwrap();

    writeln!(md, "### Targets\n").unwrap();
    writeln!(md, "| target | goal | measured | met |\n|---|---|---|---|").unwrap();
    writeln!(md, "| cold start, each function / baseline | <= 1.3x | worst {worst_cold_ratio:.2}x | {} |", yes(worst_cold_ratio <= 1.3)).unwrap();
    writeln!(
        md,
        "| the same, net of its DynamoDB time (replayed: {cold_dynamodb:.1} ms) | <= 1.3x | worst {worst_net_ratio:.2}x | {} |",
        yes(worst_net_ratio <= 1.3)
    )
    .unwrap();
    writeln!(md, "| cold start, Python peer / read | >= 5x | {python_over_read:.1}x | {} |", yes(python_over_read >= 5.0)).unwrap();
    writeln!(md, "| warm overhead p50 (read minus its DynamoDB time) / baseline p50 | <= 1.2x | {warm_ratio:.2}x | {} |", yes(warm_ratio <= 1.2)).unwrap();
    writeln!(md, "| peak RSS of a function | <= 32 MiB | worst {worst_rss_mib:.1} MiB | {} |", yes(worst_rss_mib <= 32.0)).unwrap();
    writeln!(md, "| stripped binary of a function | <= 8 MiB | worst {worst_size_mib:.2} MiB | {} |", yes(worst_size_mib <= 8.0)).unwrap();
    for w in work.iter().filter(|w| w.target.is_some()) {
        let target = w.target.unwrap();
        writeln!(md, "| DynamoDB calls: {} | {}{target} | {} | {} |", w.operation, if target == 1 { "" } else { "<= " }, w.calls, yes(w.calls <= target))
            .unwrap();
    }

    writeln!(md, "\n### Cold start, memory, size\n").unwrap();
    writeln!(
        md,
        "Cold start: from sending the first invocation to a listening RIE (which only then starts the bootstrap) to the end of its answer; \
         median of {} rounds, round-robin over the targets; `init` is the RIE's own `INIT REPORT` (bootstrap start to its first `/next`). \
         Peak RSS: the bootstrap's `VmHWM` (/proc) after its last invocation (for read, after the warm run too). \
         CPU: the bootstrap's own on-CPU time (its threads' /proc schedstat) from its start to the first answer, which the machine's load does not inflate. \
         Each bootstrap gets only a Lambda-like environment (no variable of this machine's). The DynamoDB part of a function's cold start, \
         replayed straight to DynamoDB Local once per round (a new connection, init's warm-up GetItem, the event's GetItem): median \
         {cold_dynamodb:.1} ms [{:.1}-{:.1}]; `net` is the cold start minus it.\n",
        args.runs,
        min(&cold_dynamodb_ms),
        max(&cold_dynamodb_ms),
    )
    .unwrap();
    writeln!(md, "| bootstrap | event (its DynamoDB calls) | cold median ms [min-max] | x baseline | net x baseline | init median ms | CPU median ms (x baseline) | peak RSS MiB | stripped size MiB |\n|---|---|---|---|---|---|---|---|---|").unwrap();
    for (i, target) in targets.iter().enumerate() {
        let c = &cold[i];
        let calls = match target.name {
            "baseline" => "none".to_owned(),
            "python peer" | "read (1-file trust store)" => "GetItem".to_owned(),
            name => event_calls.get(name).cloned().unwrap_or_default(),
        };
        let rss = peak_rss(i).or(if target.name == "python peer" { warm_python.rss_kib } else { None });
        writeln!(
            md,
            "| {} | {} ({calls}) | {:.1} [{:.1}-{:.1}] | {:.2} | {} | {:.1} | {:.1} ({:.1}) | {} | {} |",
            target.name,
            target.event_name,
            median(&c.ms),
            min(&c.ms),
            max(&c.ms),
            median(&c.ms) / baseline_cold,
            if target.name == "baseline" || target.name == "python peer" {
                "-".to_owned()
            } else {
                format!("{:.2}", (median(&c.ms) - cold_dynamodb) / baseline_cold)
            },
            median(&c.init_ms),
            median(&c.cpu_ms),
            median(&c.cpu_ms) / median(&cold[index("baseline")].cpu_ms),
            rss.map(|k| format!("{:.1}", k as f64 / 1024.0)).unwrap_or_else(|| "-".into()),
            size_mib(target).map(|m| format!("{m:.2}")).unwrap_or_else(|| "-".into()),
        )
        .unwrap();
    }

    writeln!(md, "\n### Warm\n").unwrap();
    writeln!(
        md,
        "{} invokes of `GET /v1/me` (read.get-me.json) after 100 unmeasured ones, one keep-alive connection to the RIE, timed at the client. \
         After each invoke the same GetItem (`ACCOUNT#ad1000-ovh`/`PROFILE`, consistent) goes straight to DynamoDB Local over a keep-alive \
         connection: that is the time spent in DynamoDB, and `overhead` is the invoke minus it (SDK, signing, routing, logging, the runtime and the RIE, \
         and the extra process wake-ups a call to DynamoDB costs on a busy machine). `CPU per invoke`: the bootstrap's own on-CPU time \
         (/proc schedstat) over the measured invokes, divided by their number; it does not grow with the machine's load.\n",
        args.invokes
    )
    .unwrap();
    writeln!(md, "| bootstrap | p50 ms | p99 ms | DynamoDB direct p50 / p99 ms | overhead p50 / p99 ms | overhead p50 x baseline p50 | bootstrap CPU per invoke µs (x baseline) |\n|---|---|---|---|---|---|---|").unwrap();
    for (name, w, has_dynamodb) in [("baseline", &warm_baseline, false), ("read", &warm_read, true), ("python peer", &warm_python, true)] {
        let (o50, o99) = if has_dynamodb { (overhead(w, 50.0), overhead(w, 99.0)) } else { (pct(&w.ms, 50.0), pct(&w.ms, 99.0)) };
        writeln!(
            md,
            "| {name} | {:.3} | {:.3} | {} | {o50:.3} / {o99:.3} | {:.2} | {:.0} ({:.1}) |",
            pct(&w.ms, 50.0),
            pct(&w.ms, 99.0),
            if has_dynamodb { format!("{:.3} / {:.3}", pct(&w.dynamodb_ms, 50.0), pct(&w.dynamodb_ms, 99.0)) } else { "- (none)".into() },
            o50 / baseline_p50,
            w.cpu_us,
            w.cpu_us / warm_baseline.cpu_us,
        )
        .unwrap();
    }

    writeln!(md, "\n### DynamoDB work per operation\n").unwrap();
    writeln!(
        md,
        "Through the router the functions run, on a `DynamoStore` over DynamoDB Local: calls from `DynamoStore::metrics()`, read units from each \
         answer's `ConsumedCapacity` (`ReturnConsumedCapacity=TOTAL`). Write units of a `TransactWriteItems` by DynamoDB's published rules, from the \
         items sent (2 WRU per KB of each item put, 2 per item deleted or condition-checked), because DynamoDB Local's own figure for transactions \
         does not follow them (in brackets). Ada asks for Ned as the tech contact (two parties), both accept with a resend in between; Ned refuses \
         another such request. Mails are SES calls, apart.\n"
    )
    .unwrap();
    writeln!(md, "| operation | calls | target | the calls | RRU | WRU [Local's figure] | mails | transactions |\n|---|---|---|---|---|---|---|---|").unwrap();
    for w in &work {
        writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} [{}] | {} | {} |",
            w.operation,
            w.calls,
            match w.target {
                Some(1) => "1 ".to_owned() + yes(w.calls <= 1),
                Some(t) => format!("<= {t} {}", yes(w.calls <= t)),
                None => "-".into(),
            },
            w.operations.join(", "),
            w.read_units,
            w.write_units,
            w.write_units_reported,
            w.mails,
            if w.transactions.is_empty() { "-".to_owned() } else { w.transactions.join("; then ") },
        )
        .unwrap();
    }

    // ---- cost ----
    let find = |name: &str| -> &Work { work.iter().find(|w| w.operation == name).unwrap() };
    let change: Vec<&Work> = vec![find("create"), find("first accept"), find("last accept")];
    let rru: f64 = change.iter().map(|w| w.read_units).sum();
    let wru: f64 = change.iter().map(|w| w.write_units).sum();
    let mails: usize = change.iter().map(|w| w.mails).sum();
    let step_ms: Vec<f64> = (0..3).map(|s| median(&flows.iter().map(|f| f[s]).collect::<Vec<_>>())).collect();
    let billed_ms: f64 = step_ms.iter().map(|ms| ms.ceil()).sum();
    let gb_s = LAMBDA_MEMORY_GB * billed_ms / 1000.0;
    let per_million = 1e6;
    let cost_dynamodb = (rru * PRICE_RRU + wru * PRICE_WRU) * per_million;
    let cost_lambda = (gb_s * PRICE_LAMBDA_GBS_ARM + 3.0 * PRICE_LAMBDA_REQUEST) * per_million;
    let cost_api = 3.0 * PRICE_HTTP_API_REQUEST * per_million;
    let cost_ses = mails as f64 * PRICE_SES_MAIL * per_million;
    writeln!(md, "\n### Cost per 1M completed changes\n").unwrap();
    writeln!(
        md,
        "A completed change = create + first accept + last accept (the two-party case above): {} DynamoDB calls, {rru} RRU and {wru} WRU, \
         3 Lambda invocations and 3 HTTP API requests, {mails} mails. Lambda time: the median client-side time of each step over {} whole changes \
         through the release create and confirm functions under the RIE ({:.1} + {:.1} + {:.1} ms, each rounded up to the ms as Lambda bills), at 256 MB \
         (template.yaml). On AWS each DynamoDB and SES call takes longer than on the loopback, so the Lambda line is a floor; it is the smallest line anyway.\n\n\
         **Prices: list prices as I recall them (us-east-1, on-demand, no free tier), assumed valid on {PRICES_DATE}; not checked, there is no network here.** \
         DynamoDB $0.625 per million WRU and $0.125 per million RRU; Lambda arm64 $0.0000133334 per GB-s and $0.20 per million requests; \
         API Gateway HTTP API $1.00 per million requests; SES $0.10 per 1,000 mails. Storage, PITR, logs and data transfer are left out.\n",
        change.iter().map(|w| w.calls).sum::<u64>(),
        args.changes,
        step_ms[0],
        step_ms[1],
        step_ms[2],
    )
    .unwrap();
    writeln!(md, "| item | per change | USD per 1M changes |\n|---|---|---|").unwrap();
    writeln!(md, "| DynamoDB on-demand | {rru} RRU + {wru} WRU | {cost_dynamodb:.2} |").unwrap();
    writeln!(md, "| Lambda (arm64, 256 MB) | 3 requests, {gb_s:.5} GB-s | {cost_lambda:.2} |").unwrap();
    writeln!(md, "| API Gateway HTTP API | 3 requests | {cost_api:.2} |").unwrap();
    writeln!(md, "| **total, SES apart** | | **{:.2}** |", cost_dynamodb + cost_lambda + cost_api).unwrap();
    writeln!(md, "| SES (apart) | {mails} mails | {cost_ses:.2} |").unwrap();
    writeln!(md, "\n{END}").unwrap();

    print!("{md}");
    if let Some(path) = &args.update {
        let old = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n\n".to_owned());
        let new = match (old.find(BEGIN), old.find(END)) {
            (Some(b), Some(e)) if e > b => format!("{}{}{}", &old[..b], md.trim_end(), &old[e + END.len()..]),
            _ => format!("{}\n{md}", old.trim_end()),
        };
        std::fs::write(path, new).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("bench: figures written into {}", path.display());
    }
}
