//! What is measured: each release bootstrap (the six functions, the baseline, the read
//! function trusting the system's bundle through `AWS_CA_BUNDLE`) and the Python peer, under the RIE, each with the
//! event of its cold start (its cheapest real route) and a Lambda-like environment.

use std::path::{Path, PathBuf};

use lambda_harness::{Launch, events};
use serde_json::Value;

use crate::{Args, PUBLIC_BASE_URL, env};

pub struct Target {
    pub name: &'static str,
    pub launch: Launch,
    /// The event of its cold start: its cheapest real route.
    pub event: Value,
    pub event_name: String,
    pub expect: u16,
    /// The bootstrap's file, for its size (none for the Python peer).
    pub binary: Option<PathBuf>,
}

/// Every target, in the report's order; with `--only`, only those it names (the others'
/// bootstraps need not be built).
pub fn targets(args: &Args, table: &str, missing_service: &str) -> Vec<Target> {
    let wanted = |name: &str| args.only.as_ref().is_none_or(|only| only.iter().any(|o| o == name));
    let e = |f: &str| events::load(&args.events, f);
    let rust = |name: &'static str, event_file: &str, event: &dyn Fn() -> Value, expect: u16| {
        wanted(name).then(|| rust_target(args, table, name, event_file, event(), expect))
    };
    let create_event = || events::for_service(&e("create.post-services-contact-changes.json"), missing_service);
    [
        rust("baseline", "read.get-me.json (ignored)", &|| e("read.get-me.json"), 200),
        rust("read", "read.get-me.json", &|| e("read.get-me.json"), 200),
        rust("profile", "profile.patch-me.json", &|| e("profile.patch-me.json"), 200),
        rust("create", "create.post-services-contact-changes.json, on a service that does not exist", &create_event, 404),
        rust("confirm", "confirm.get-confirm.json (placeholder id)", &|| e("confirm.get-confirm.json"), 404),
        rust("resend", "resend.post-contact-changes-resend.json (placeholder id)", &|| e("resend.post-contact-changes-resend.json"), 404),
        rust("provider", "provider.put-internal-accounts.json", &|| e("provider.put-internal-accounts.json"), 200),
        wanted(READ_WITH_SYSTEM_BUNDLE).then(|| read_with_the_system_bundle(args, table)).flatten(),
        wanted("python peer").then(|| python_peer(args, table)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A release bootstrap of `args.bins`.
pub fn rust_target(args: &Args, table: &str, name: &'static str, event_file: &str, event: Value, expect: u16) -> Target {
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

/// The name of the read function's row with `AWS_CA_BUNDLE` naming the system's bundle.
pub const READ_WITH_SYSTEM_BUNDLE: &str = "read (AWS_CA_BUNDLE: the system's bundle)";

/// The read function again, trusting the system's bundle of root certificates through
/// `AWS_CA_BUNDLE` (as a deployment that needs its private CA would) instead of the
/// compiled-in roots: what the setting costs a cold start.
fn read_with_the_system_bundle(args: &Args, table: &str) -> Option<Target> {
    let bundle = Path::new("/etc/ssl/certs/ca-certificates.crt");
    if !bundle.is_file() {
        return None;
    }
    let mut read = rust_target(args, table, "read", "read.get-me.json", events::load(&args.events, "read.get-me.json"), 200);
    read.name = READ_WITH_SYSTEM_BUNDLE;
    read.launch = read.launch.env("AWS_CA_BUNDLE", bundle.display().to_string());
    Some(read)
}

fn python_peer(args: &Args, table: &str) -> Target {
    let launch = Launch::new("python peer", &args.rie, &args.python).args(["-m", "awslambdaric", "app.handler"]).cwd(&args.peer);
    Target {
        name: "python peer",
        // It reads the .pyc files that scripts/bench compiled.
        launch: lambda_launch(launch, table, "python-peer").env("PYTHONDONTWRITEBYTECODE", "1"),
        event: events::load(&args.events, "read.get-me.json"),
        event_name: "read.get-me.json".into(),
        expect: 200,
        binary: None,
    }
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
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        // The principal that signs events/provider.*.json: the internal API admits only those
        // ProviderPrincipals names.
        .env("PROVIDER_PRINCIPALS", "arn:aws:iam::123456789012:role/billing-sync");
    // For experiments only: BENCH_EXTRA_ENV="NAME=value,NAME=value".
    for pair in std::env::var("BENCH_EXTRA_ENV").unwrap_or_default().split(',').filter(|p| !p.is_empty()) {
        if let Some((k, v)) = pair.split_once('=') {
            launch = launch.env(k, v);
        }
    }
    launch
}
