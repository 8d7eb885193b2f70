//! scripts/bench's driver. It expects what scripts/bench sets up: the release bootstraps
//! (`--bins`), the RIE (`--rie`), the Python peer and its interpreter (`--peer`, `--python`),
//! DynamoDB Local and the SES emulator (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SESV2`,
//! `SES_STORE_URL`). It seeds a table, measures, prints a markdown report and, with
//! `--update FILE`, writes it into FILE between its markers (the rest of FILE is kept).
//!
//! The bootstraps run under the RIE through `lambda_harness`, as the tests run them
//! (tests/tests/lambda_rie.rs). What is timed, and how, is written in the report itself
//! (report.rs).

mod measure;
mod report;
mod targets;
mod work;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use measure::{ColdStarts, changes, cold_starts, event_calls, warm_runs, warm_runs_of};
use report::{Measured, median};
use targets::{Target, targets};
use work::Bench;

const PUBLIC_BASE_URL: &str = "https://contacts.bench.test";

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
    /// Only these targets' cold starts (a comma-separated list), and nothing else: to try a
    /// change (scripts/bench --only builds only their bootstraps).
    only: Option<Vec<String>>,
    /// With `only`: the warm run too, of those of them that have one (baseline, read, the
    /// Python peer), for a before/after of the warm path's CPU.
    warm: bool,
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
        warm: map.get("warm").is_some_and(|w| w == "yes"),
    }
}

fn env(name: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| panic!("{name} is not set: run scripts/bench"))
}

/// The names of this run's table and services, unique to it.
struct Names {
    table: String,
    /// The services of the DynamoDB work (`work`, `refuse`), then one per whole change.
    services: Vec<String>,
    /// The cold start's create event asks on it: it does not exist.
    missing_service: String,
}

impl Names {
    fn new(changes: usize) -> Names {
        let tag = format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() % 0xff_ffff_ffff);
        let mut services = vec![format!("work-{tag}.example.com"), format!("refuse-{tag}.example.com")];
        services.extend((0..changes).map(|i| format!("flow-{i}-{tag}.example.com")));
        Names { table: format!("contacts-bench-{tag}"), services, missing_service: format!("nothing-{tag}.example.com") }
    }

    fn flow_services(&self) -> &[String] {
        &self.services[2..]
    }
}

fn main() {
    let args = args();
    let total = Instant::now();
    let load_before = report::load_average();
    let names = Names::new(args.changes);

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    eprintln!("bench: seeding table {} in DynamoDB Local", names.table);
    let bench = runtime.block_on(Bench::seeded(&names.table, &names.services, PUBLIC_BASE_URL));
    let targets = targets(&args, &names.table, &names.missing_service);
    let event_calls = event_calls(&runtime, &bench, &targets);

    eprintln!("bench: cold starts, {} rounds over {} targets", args.runs, targets.len());
    let cold = cold_starts(&args, &targets, &names.table);
    if let Some(only) = &args.only {
        print_only(only, &targets, &cold);
        if args.warm {
            for (name, warm) in warm_runs_of(&args, &targets, &names.table, only) {
                println!(
                    "{name:26} warm p50 {:.3} ms, p99 {:.3} ms, DynamoDB direct p50 {:.3} ms, CPU per invoke {:.0} µs",
                    median(&warm.ms),
                    report::pct(&warm.ms, 99.0),
                    median(&warm.dynamodb_ms),
                    warm.cpu_us
                );
            }
        }
        return;
    }
    let warm = warm_runs(&args, &targets, &names.table);
    eprintln!("bench: DynamoDB work per operation");
    let work = runtime.block_on(bench.operations(&names.services[0], &names.services[1]));
    let flows = changes(&args, &runtime, &bench, &names.table, names.flow_services());

    let measured = Measured { args: &args, targets: &targets, event_calls, cold, warm, work, flows, load_before, total };
    let md = report::markdown(&measured);
    print!("{md}");
    if let Some(path) = &args.update {
        report::write_into(path, &md);
    }
}

/// `--only`: the cold starts of those targets, one line each.
fn print_only(only: &[String], targets: &[Target], cold: &ColdStarts) {
    for (target, c) in targets.iter().zip(&cold.per_target).filter(|(t, _)| only.iter().any(|o| o == t.name)) {
        let rss = c.rss_kib.iter().max().map(|k| *k as f64 / 1024.0).unwrap_or(f64::NAN);
        println!(
            "{:26} cold median {:6.1} ms [{:.1}-{:.1}], init median {:5.1} ms, CPU median {:5.1} ms, peak RSS {rss:.1} MiB",
            target.name,
            median(&c.ms),
            report::min(&c.ms),
            report::max(&c.ms),
            median(&c.init_ms),
            median(&c.cpu_ms)
        );
    }
    println!("DynamoDB cold replay median {:.1} ms", median(&cold.dynamodb_ms));
}
