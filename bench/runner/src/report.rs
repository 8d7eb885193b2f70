//! The markdown report: what was measured, as BENCHMARKS.md's generated section, one
//! function per section; and the statistics and facts about the machine it needs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::Args;
use crate::measure::{ColdStarts, RESTARTS, Warm, Warms};
use crate::targets::{self, Target};
use crate::work::Work;

const MIB: f64 = 1024.0 * 1024.0;
const BEGIN: &str = "<!-- bench:begin: written by scripts/bench, edit the text around it instead -->";
const END: &str = "<!-- bench:end -->";
/// The functions' memory setting in template.yaml (MemorySize), for GB-seconds.
const LAMBDA_MEMORY_GB: f64 = 256.0 / 1024.0;
/// The functions the targets are about (not the baseline, the peer, or the trust store's variant).
const FUNCTIONS: [&str; 6] = ["read", "profile", "create", "confirm", "resend", "provider"];

// ---- prices: list prices as recalled, NOT checked (no network here) -----------------------------
const PRICES_DATE: &str = "2025-06-01";
const PRICE_WRU: f64 = 0.625 / 1e6; // DynamoDB on-demand, per write request unit (since the 2024-11-01 cut)
const PRICE_RRU: f64 = 0.125 / 1e6; // DynamoDB on-demand, per read request unit
const PRICE_LAMBDA_GBS_ARM: f64 = 0.000_013_333_4; // Lambda arm64, per GB-second (first 7.5 G GB-s a month)
const PRICE_LAMBDA_REQUEST: f64 = 0.20 / 1e6; // Lambda, per request
const PRICE_HTTP_API_REQUEST: f64 = 1.00 / 1e6; // API Gateway HTTP API, per request (first 300 M a month)
const PRICE_SES_MAIL: f64 = 0.10 / 1000.0; // SES, per outbound mail

/// Everything the run measured.
pub struct Measured<'a> {
    pub args: &'a Args,
    pub targets: &'a [Target],
    /// The DynamoDB calls of each target's cold-start event, in process.
    pub event_calls: BTreeMap<&'static str, String>,
    pub cold: ColdStarts,
    pub warm: Warms,
    pub work: Vec<Work>,
    /// Each whole change's three steps, in ms.
    pub flows: Vec<[f64; 3]>,
    pub load_before: String,
    /// When the run started.
    pub total: Instant,
}

impl Measured<'_> {
    fn index(&self, name: &str) -> usize {
        self.targets.iter().position(|t| t.name == name).unwrap()
    }

    fn cold_median(&self, name: &str) -> f64 {
        median(&self.cold.per_target[self.index(name)].ms)
    }

    fn baseline_cold(&self) -> f64 {
        self.cold_median("baseline")
    }

    fn cold_dynamodb(&self) -> f64 {
        median(&self.cold.dynamodb_ms)
    }

    /// Target `i`'s peak RSS over its cold starts (and, for read, its warm run).
    fn peak_rss(&self, i: usize) -> Option<u64> {
        let warm = if self.targets[i].name == "read" { self.warm.read.rss_kib } else { None };
        self.cold.per_target[i].rss_kib.iter().copied().chain(warm).max()
    }

    fn baseline_warm_p50(&self) -> f64 {
        pct(&self.warm.baseline.ms, 50.0)
    }
}

fn size_mib(target: &Target) -> Option<f64> {
    target.binary.as_ref().and_then(|b| std::fs::metadata(b).ok()).map(|m| m.len() as f64 / MIB)
}

/// A warm run's latency minus its DynamoDB time, at percentile `p`.
fn overhead(w: &Warm, p: f64) -> f64 {
    pct(&w.ms, p) - pct(&w.dynamodb_ms, p)
}

/// The report, between BENCHMARKS.md's markers.
pub fn markdown(m: &Measured) -> String {
    let mut md = String::new();
    header(&mut md, m);
    targets_table(&mut md, m);
    cold_table(&mut md, m);
    warm_table(&mut md, m);
    work_table(&mut md, m);
    cost(&mut md, m);
    writeln!(md, "\n{END}").unwrap();
    md
}

/// Writes `md` into the file at `path`, between its markers (at its end if it has none).
pub fn write_into(path: &Path, md: &str) {
    let old = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n\n".to_owned());
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if e > b => format!("{}{}{}", &old[..b], md.trim_end(), &old[e + END.len()..]),
        _ => format!("{}\n{md}", old.trim_end()),
    };
    std::fs::write(path, new).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    eprintln!("bench: figures written into {}", path.display());
}

fn header(md: &mut String, m: &Measured) {
    let now = time::OffsetDateTime::now_utc();
    let commit = command_line("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = !command_line("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    writeln!(md, "{BEGIN}\n").unwrap();
    writeln!(md, "## Latest figures\n").unwrap();
    writeln!(
        md,
        "Measured {} UTC by `scripts/bench` at commit `{commit}`{}, {}. Machine: {}; load average {} at the start and {} at the end \
         (the 2 cores are shared with whatever else runs: these are one run's figures, not a controlled lab's). The whole run took {:.0} s after the build{}.\n",
        now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default().get(..16).unwrap_or_default().replace('T', " "),
        if dirty { " (with uncommitted changes)" } else { "" },
        command_line("rustc", &["--version"]),
        machine(),
        m.load_before,
        load_average(),
        m.total.elapsed().as_secs_f64(),
        match RESTARTS.load(Ordering::Relaxed) {
            0 => String::new(),
            n => format!("; {n} measurement(s) were taken again after the RIE's Runtime API dropped a bootstrap's connection (see `retried` in bench/runner)"),
        },
    )
    .unwrap();
}

/// Issue #15's targets, each against the baseline of the same run (ratios, so that the
/// machine's load falls on both sides), and the size and memory of the build before it.
const COLD_RATIO: f64 = 1.5;
const COLD_NET_RATIO: f64 = 1.1;
const COLD_CPU_RATIO: f64 = 2.0;
const WARM_RATIO: f64 = 1.3;
const WARM_CPU_RATIO: f64 = 2.5;
const RSS_MIB: f64 = 8.3;
const SIZE_MIB: f64 = 7.03;

fn targets_table(md: &mut String, m: &Measured) {
    let baseline_cold = m.baseline_cold();
    let worst = |ratio: &dyn Fn(&str) -> f64| FUNCTIONS.iter().map(|f| (ratio(f), *f)).fold((0.0, ""), |a, b| if b.0 > a.0 { b } else { a });
    let (worst_cold_ratio, cold_fn) = worst(&|f| m.cold_median(f) / baseline_cold);
    let cold_dynamodb = m.cold_dynamodb();
    let (worst_net_ratio, net_fn) = worst(&|f| (m.cold_median(f) - cold_dynamodb) / baseline_cold);
    let baseline_cpu = median(&m.cold.per_target[m.index("baseline")].cpu_ms);
    let (worst_cpu_ratio, cpu_fn) = worst(&|f| median(&m.cold.per_target[m.index(f)].cpu_ms) / baseline_cpu);
    let worst_rss_mib = FUNCTIONS.iter().filter_map(|f| m.peak_rss(m.index(f))).max().map(|k| k as f64 / 1024.0).unwrap_or(f64::NAN);
    let worst_size_mib = FUNCTIONS.iter().filter_map(|f| size_mib(&m.targets[m.index(f)])).fold(0.0, f64::max);
    let warm_ratio = overhead(&m.warm.read, 50.0) / m.baseline_warm_p50();
    let warm_cpu_ratio = m.warm.read.cpu_us / m.warm.baseline.cpu_us;

    writeln!(md, "### Targets\n").unwrap();
    writeln!(md, "Issue #15's, each function's figure over the baseline's of this run.\n").unwrap();
    writeln!(md, "| target | goal | measured | met |\n|---|---|---|---|").unwrap();
    let row =
        |md: &mut String, target: &str, goal: String, measured: String, met: bool| writeln!(md, "| {target} | {goal} | {measured} | {} |", yes(met)).unwrap();
    row(
        md,
        "cold start, each function / baseline (with its DynamoDB calls)",
        format!("<= {COLD_RATIO}x"),
        format!("worst {worst_cold_ratio:.2}x ({cold_fn})"),
        worst_cold_ratio <= COLD_RATIO,
    );
    row(
        md,
        &format!("the same, net of its DynamoDB time (replayed: {cold_dynamodb:.1} ms)"),
        format!("<= {COLD_NET_RATIO}x"),
        format!("worst {worst_net_ratio:.2}x ({net_fn})"),
        worst_net_ratio <= COLD_NET_RATIO,
    );
    row(
        md,
        "CPU to the first answer, each function / baseline",
        format!("<= {COLD_CPU_RATIO}x"),
        format!("worst {worst_cpu_ratio:.2}x ({cpu_fn})"),
        worst_cpu_ratio <= COLD_CPU_RATIO,
    );
    row(
        md,
        "warm overhead p50 (read minus its DynamoDB time) / baseline p50",
        format!("<= {WARM_RATIO}x"),
        format!("{warm_ratio:.2}x"),
        warm_ratio <= WARM_RATIO,
    );
    row(md, "CPU per warm invoke, read / baseline", format!("<= {WARM_CPU_RATIO}x"), format!("{warm_cpu_ratio:.2}x"), warm_cpu_ratio <= WARM_CPU_RATIO);
    row(md, "peak RSS of a function", format!("<= {RSS_MIB} MiB"), format!("worst {worst_rss_mib:.1} MiB"), worst_rss_mib <= RSS_MIB);
    row(md, "stripped binary of a function", format!("<= {SIZE_MIB} MiB"), format!("worst {worst_size_mib:.2} MiB"), worst_size_mib <= SIZE_MIB);
    for w in m.work.iter().filter(|w| w.target.is_some()) {
        let target = w.target.unwrap();
        writeln!(md, "| DynamoDB calls: {} | {}{target} | {} | {} |", w.operation, if target == 1 { "" } else { "<= " }, w.calls, yes(w.calls <= target))
            .unwrap();
    }
}

fn cold_table(md: &mut String, m: &Measured) {
    let (baseline_cold, cold_dynamodb) = (m.baseline_cold(), m.cold_dynamodb());
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
        m.args.runs,
        min(&m.cold.dynamodb_ms),
        max(&m.cold.dynamodb_ms),
    )
    .unwrap();
    writeln!(md, "| bootstrap | event (its DynamoDB calls) | cold median ms [min-max] | x baseline | net x baseline | init median ms | CPU median ms (x baseline) | peak RSS MiB | stripped size MiB |\n|---|---|---|---|---|---|---|---|---|").unwrap();
    let baseline_cpu = median(&m.cold.per_target[m.index("baseline")].cpu_ms);
    for (i, target) in m.targets.iter().enumerate() {
        let c = &m.cold.per_target[i];
        let calls = match target.name {
            "baseline" => "none".to_owned(),
            "python peer" | targets::READ_WITH_SYSTEM_BUNDLE => "GetItem".to_owned(),
            name => m.event_calls.get(name).cloned().unwrap_or_default(),
        };
        let rss = m.peak_rss(i).or(if target.name == "python peer" { m.warm.python.rss_kib } else { None });
        let net = match target.name {
            "baseline" | "python peer" => "-".to_owned(),
            _ => format!("{:.2}", (median(&c.ms) - cold_dynamodb) / baseline_cold),
        };
        writeln!(
            md,
            "| {} | {} ({calls}) | {:.1} [{:.1}-{:.1}] | {:.2} | {net} | {:.1} | {:.1} ({:.1}) | {} | {} |",
            target.name,
            target.event_name,
            median(&c.ms),
            min(&c.ms),
            max(&c.ms),
            median(&c.ms) / baseline_cold,
            median(&c.init_ms),
            median(&c.cpu_ms),
            median(&c.cpu_ms) / baseline_cpu,
            rss.map(|k| format!("{:.1}", k as f64 / 1024.0)).unwrap_or_else(|| "-".into()),
            size_mib(target).map(|m| format!("{m:.2}")).unwrap_or_else(|| "-".into()),
        )
        .unwrap();
    }
}

fn warm_table(md: &mut String, m: &Measured) {
    let baseline_p50 = m.baseline_warm_p50();
    writeln!(md, "\n### Warm\n").unwrap();
    writeln!(
        md,
        "{} invokes of `GET /v1/me` (read.get-me.json) after 100 unmeasured ones, one keep-alive connection to the RIE, timed at the client. \
         After each invoke the same GetItem (`ACCOUNT#ad1000-ovh`/`PROFILE`, consistent) goes straight to DynamoDB Local over a keep-alive \
         connection: that is the time spent in DynamoDB, and `overhead` is the invoke minus it (SDK, signing, routing, logging, the runtime and the RIE, \
         and the extra process wake-ups a call to DynamoDB costs on a busy machine). `CPU per invoke`: the bootstrap's own on-CPU time \
         (/proc schedstat) over the measured invokes, divided by their number; it does not grow with the machine's load.\n",
        m.args.invokes
    )
    .unwrap();
    writeln!(md, "| bootstrap | p50 ms | p99 ms | DynamoDB direct p50 / p99 ms | overhead p50 / p99 ms | overhead p50 x baseline p50 | bootstrap CPU per invoke µs (x baseline) |\n|---|---|---|---|---|---|---|").unwrap();
    let warm = &m.warm;
    for (name, w, has_dynamodb) in [("baseline", &warm.baseline, false), ("read", &warm.read, true), ("python peer", &warm.python, true)] {
        let (o50, o99) = if has_dynamodb { (overhead(w, 50.0), overhead(w, 99.0)) } else { (pct(&w.ms, 50.0), pct(&w.ms, 99.0)) };
        writeln!(
            md,
            "| {name} | {:.3} | {:.3} | {} | {o50:.3} / {o99:.3} | {:.2} | {:.0} ({:.1}) |",
            pct(&w.ms, 50.0),
            pct(&w.ms, 99.0),
            if has_dynamodb { format!("{:.3} / {:.3}", pct(&w.dynamodb_ms, 50.0), pct(&w.dynamodb_ms, 99.0)) } else { "- (none)".into() },
            o50 / baseline_p50,
            w.cpu_us,
            w.cpu_us / warm.baseline.cpu_us,
        )
        .unwrap();
    }
}

fn work_table(md: &mut String, m: &Measured) {
    writeln!(md, "\n### DynamoDB work per operation\n").unwrap();
    writeln!(
        md,
        "Through the router the functions run, on a `DynamoStore` over DynamoDB Local: calls from `DynamoStore::metrics()`, read units from each \
         answer's `ConsumedCapacity` (`ReturnConsumedCapacity=TOTAL`). Write units of a `TransactWriteItems` by DynamoDB's published rules, from the \
         items sent (2 WRU per KB of each item put, 2 per item deleted or condition-checked), because DynamoDB Local's own figure for transactions \
         does not follow them (in brackets). Ada asks for Ned as the tech contact (two parties), both accept with a resend in between; Ned refuses \
         another such request. The mailer's rows are `App::deliver_outbox` in process (the stream's mailer function does the same per \
         record): its cost per mail is its row over its mails. Mails are SES calls, apart.\n"
    )
    .unwrap();
    writeln!(md, "| operation | calls | target | the calls | RRU | WRU [Local's figure] | mails | transactions |\n|---|---|---|---|---|---|---|---|").unwrap();
    for w in &m.work {
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
}

fn cost(md: &mut String, m: &Measured) {
    let find = |name: &str| -> &Work { m.work.iter().find(|w| w.operation == name).unwrap() };
    // The mailer's work is the change's too: the create's mails and the outcome's.
    let change: Vec<&Work> = vec![find("create"), find("mailer: create's 3 mails"), find("first accept"), find("last accept"), find("mailer: done's 3 mails")];
    let rru: f64 = change.iter().map(|w| w.read_units).sum();
    let wru: f64 = change.iter().map(|w| w.write_units).sum();
    let mails: usize = change.iter().map(|w| w.mails).sum();
    let step_ms: Vec<f64> = (0..3).map(|s| median(&m.flows.iter().map(|f| f[s]).collect::<Vec<_>>())).collect();
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
        "A completed change = create + first accept + last accept and the mailer's work for their mails (the two-party case above): {} DynamoDB calls, {rru} RRU and {wru} WRU, \
         3 Lambda invocations and 3 HTTP API requests, {mails} mails. Lambda time: the median client-side time of each step over {} whole changes \
         through the release create and confirm functions under the RIE ({:.1} + {:.1} + {:.1} ms, each rounded up to the ms as Lambda bills), at 256 MB \
         (template.yaml). On AWS each DynamoDB and SES call takes longer than on the loopback, so the Lambda line is a floor; it is the smallest line anyway.\n\n\
         **Prices: list prices as I recall them (us-east-1, on-demand, no free tier), assumed valid on {PRICES_DATE}; not checked, there is no network here.** \
         DynamoDB $0.625 per million WRU and $0.125 per million RRU; Lambda arm64 $0.0000133334 per GB-s and $0.20 per million requests; \
         API Gateway HTTP API $1.00 per million requests; SES $0.10 per 1,000 mails. Storage, PITR, logs and data transfer are left out.\n",
        change.iter().map(|w| w.calls).sum::<u64>(),
        m.args.changes,
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
}

// ---- statistics ----------------------------------------------------------------------------

/// Nearest-rank percentile.
pub fn pct(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

pub fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

pub fn max(values: &[f64]) -> f64 {
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

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").ok().and_then(|l| l.split_whitespace().next().map(str::to_owned)).unwrap_or_default()
}

fn command_line(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program).args(args).output().ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default()
}
