//! `contacts-admin import|export|erase|data|generate`: see USAGE.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use std::sync::Arc;

use contacts_admin::data::{DataError, document};
use contacts_admin::erase::{Outcome, erase, read_ids};
use contacts_admin::export::{ExportError, SEGMENTS, export};
use contacts_admin::generate::{Spec, generate};
use contacts_admin::import::{CHUNK, ImportError, ImportOptions, ImportReport, import};
use contacts_admin::progress::Progress;
use contacts_app::App;
use contacts_app::config::{AwsConfig, Config};
use contacts_app::memory::MemoryMailer;
use contacts_app::ports::SystemClock;
use contacts_app::seed::Format;
use contacts_aws::DynamoStore;
use contacts_aws::dynamodb::bulk::Bulk;
use contacts_aws::dynamodb::{create_table_if_missing, table_exists};
use contacts_domain::AccountId;

const USAGE: &str = "usage:
  contacts-admin import FILE [--table NAME] [--dry-run] [--skip-invalid REJECTS_FILE] [--create-table]
  contacts-admin export [--table NAME] [--out FILE] [--segments N]
  contacts-admin erase FILE [--table NAME]
  contacts-admin data ACCOUNT [--table NAME] [--out FILE]
  contacts-admin generate --accounts N --services N [--heavy N] [--seed N]

import   loads the accounts and services of FILE into the table, writing only what differs
         (running it twice changes nothing). FILE is JSON Lines, one record per line:
           {\"kind\": \"account\", \"id\", \"name\", \"email\", \"language\", \"payment_status\"}
           {\"kind\": \"service\", \"name\", \"admin\", \"tech\", \"billing\"}
         or the fixtures document {\"accounts\": [...], \"services\": [...]} (SPEC 6).
         A service's accounts must be in the file or already in the table. If any record is
         invalid, each is reported with its line and nothing is written, unless
         --skip-invalid, which loads the rest and writes the invalid lines to REJECTS_FILE.
         --dry-run checks everything and tells what would change, writing nothing.
         Services whose role held by a pending request changes hands are reported: those
         requests will end `failed` (holders_changed) if completed.
         --create-table creates the table when missing (DynamoDB Local; in AWS the SAM
         template creates it).
export   writes the table's accounts and services as JSON Lines to FILE (or stdout), in no
         particular order, scanning N segments of the table at once (4).
erase    erases the accounts FILE names (SPEC 8), one a line: a customer id, or an account's
         line as export writes it; blank lines and lines starting with # are skipped. Each is
         erased as the internal API's DELETE /internal/accounts/{id} does, or refused while it
         holds a role or a pending request or batch involves it; each id's outcome is printed.
         If a line names no account, each such line is reported and nothing is erased.
data     writes everything held about the account ACCOUNT (SPEC 8) to FILE (or stdout): the
         document GET /v1/me/data answers, whatever its size, for an account whose data one
         answer cannot carry (422 export_too_large). What closed longer ago than
         RETENTION_SECONDS (400 days unless set) is left out, as the API leaves it out.
generate writes made-up accounts ge{i}-ovh and services s{i}.example.net as JSON Lines
         to stdout, for measuring; with --heavy N, ge0-ovh holds N services, ge1-ovh 10
         and ge2-ovh 100 (the first services).

The table is --table or TABLE_NAME. AWS configuration comes from the environment, as for
any AWS tool (AWS_REGION, AWS_PROFILE, credentials); AWS_ENDPOINT_URL_DYNAMODB points at
another endpoint (on 127.0.0.1: DynamoDB Local, with dummy credentials).
Tuning: --chunk N records per round (1000), --parallelism N calls in flight (4).

Exit status: 0 done, 1 invalid input (nothing written), 2 usage or unreadable file,
3 DynamoDB failed (what was written is consistent; running the import, or the erasure, again
completes it; data: nothing written), 4 erase: some accounts are still in use and were not erased (the others were;
an id with no account is reported, and counts as done).";

const INVALID: u8 = 1;
const USAGE_ERROR: u8 = 2;
const STORE_ERROR: u8 = 3;
const IN_USE: u8 = 4;

#[derive(Debug)]
enum Command {
    Help,
    Import { file: PathBuf, table: String, options: ImportOptions, create_table: bool, parallelism: usize },
    Export { table: String, out: Option<PathBuf>, segments: u32 },
    Erase { file: PathBuf, table: String },
    Data { account: String, table: String, out: Option<PathBuf> },
    Generate(Spec),
}

/// The command `args` name; the table is `--table`, else `table_name` (`TABLE_NAME`).
fn parse_args(args: impl IntoIterator<Item = String>, table_name: Option<&str>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let command = args.next().ok_or("name a command")?;
    let (mut file, mut table, mut out) = (None, None, None);
    let (mut dry_run, mut skip_invalid, mut create_table) = (false, None, false);
    let (mut chunk, mut parallelism, mut segments) = (CHUNK, 4, SEGMENTS);
    let mut spec = Spec { accounts: 0, services: 0, heavy: 0, seed: 1 };
    let (mut accounts, mut services) = (false, false);
    fn number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
        let value = value.ok_or(format!("{flag} needs a number"))?;
        value.parse().map_err(|_| format!("{flag} needs a number, not {value:?}"))
    }
    while let Some(arg) = args.next() {
        match (command.as_str(), arg.as_str()) {
            (_, "-h" | "--help") => return Ok(Command::Help),
            ("import" | "export" | "erase" | "data", "--table") => table = Some(args.next().ok_or("--table needs a name")?),
            ("import", "--dry-run") => dry_run = true,
            ("import", "--skip-invalid") => skip_invalid = Some(PathBuf::from(args.next().ok_or("--skip-invalid needs a file for the rejected lines")?)),
            ("import", "--create-table") => create_table = true,
            ("import", "--chunk") => chunk = number::<usize>("--chunk", args.next())?.max(1),
            ("import", "--parallelism") => parallelism = number::<usize>("--parallelism", args.next())?.clamp(1, 64),
            ("export" | "data", "--out") => out = Some(PathBuf::from(args.next().ok_or("--out needs a file")?)),
            ("export", "--segments") => segments = number::<u32>("--segments", args.next())?.clamp(1, 1_000),
            ("generate", "--accounts") => (spec.accounts, accounts) = (number("--accounts", args.next())?, true),
            ("generate", "--services") => (spec.services, services) = (number("--services", args.next())?, true),
            ("generate", "--heavy") => spec.heavy = number("--heavy", args.next())?,
            ("generate", "--seed") => spec.seed = number("--seed", args.next())?,
            ("import" | "erase" | "data", path) if !path.starts_with('-') && file.is_none() => file = Some(PathBuf::from(path)),
            (_, other) => return Err(format!("unknown argument {other:?} for {command}")),
        }
    }
    let table = || table.clone().or_else(|| table_name.map(str::to_owned)).filter(|t| !t.trim().is_empty()).ok_or("name the table: --table NAME or TABLE_NAME");
    match command.as_str() {
        "import" => {
            let file = file.ok_or("import needs a FILE")?;
            Ok(Command::Import { file, table: table()?, options: ImportOptions { dry_run, skip_invalid, chunk }, create_table, parallelism })
        }
        "export" => Ok(Command::Export { table: table()?, out, segments }),
        "erase" => Ok(Command::Erase { file: file.ok_or("erase needs a FILE")?, table: table()? }),
        "data" => {
            let account = file.ok_or("data needs an ACCOUNT")?.to_string_lossy().into_owned();
            Ok(Command::Data { account, table: table()?, out })
        }
        "generate" => {
            if !(accounts && services) {
                return Err("generate needs --accounts N and --services N".to_owned());
            }
            if spec.services > 0 && spec.accounts < 4 {
                return Err("generate needs at least 4 accounts for services".to_owned());
            }
            Ok(Command::Generate(spec))
        }
        "help" | "-h" | "--help" => Ok(Command::Help),
        other => Err(format!("unknown command {other:?}")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = match AwsConfig::from_env() {
        Ok(config) => config,
        Err(error) => return fail(USAGE_ERROR, error),
    };
    let command = match parse_args(std::env::args().skip(1), config.table_name.as_deref()) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("contacts-admin: {message}\n\n{USAGE}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    match command {
        Command::Help => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::Generate(spec) => {
            let stdout = std::io::stdout().lock();
            match generate(spec, &mut BufWriter::with_capacity(256 * 1024, stdout)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => fail(USAGE_ERROR, format!("cannot write: {error}")),
            }
        }
        Command::Import { file, table, options, create_table, parallelism } => run_import(&config, file, table, options, create_table, parallelism).await,
        Command::Export { table, out, segments } => run_export(&config, table, out, segments).await,
        Command::Erase { file, table } => run_erase(&config, file, table).await,
        Command::Data { account, table, out } => run_data(&config, &account, table, out).await,
    }
}

fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("contacts-admin: {message}");
    ExitCode::from(code)
}

/// A client and the table, which must exist (or is created, with `create`).
async fn table(config: &AwsConfig, table: &str, create: bool) -> Result<aws_sdk_dynamodb::Client, ExitCode> {
    let client = contacts_admin::dynamodb_client(config).await;
    let exists = if create { create_table_if_missing(&client, table).await.map(|_| true) } else { table_exists(&client, table).await };
    match exists {
        Ok(true) => Ok(client),
        Ok(false) => Err(fail(STORE_ERROR, format!("there is no table {table} (with DynamoDB Local, --create-table creates it)"))),
        Err(error) => Err(fail(STORE_ERROR, format!("table {table}: {error}"))),
    }
}

async fn run_import(config: &AwsConfig, file: PathBuf, name: String, options: ImportOptions, create_table: bool, parallelism: usize) -> ExitCode {
    if let Err(error) = File::open(&file) {
        return fail(USAGE_ERROR, format!("cannot open {}: {error}", file.display()));
    }
    let client = match table(config, &name, create_table && !options.dry_run).await {
        Ok(client) => client,
        Err(code) => return code,
    };
    let bulk = Bulk::with_parallelism(client, name, parallelism);
    let started = Instant::now();
    let now = time::OffsetDateTime::now_utc();
    let result = import(&bulk, &file, &options, now, &Progress::stderr()).await;
    let elapsed = started.elapsed();
    match result {
        Ok(report) => {
            list_rejected(&report, options.skip_invalid.is_some());
            summary(&file, &report, &bulk, elapsed);
            ExitCode::SUCCESS
        }
        Err(ImportError::Invalid(report)) => {
            list_rejected(&report, false);
            fail(
                INVALID,
                format!(
                    "{} invalid record(s) in {}: nothing written (fix them, or load the rest with --skip-invalid REJECTS_FILE)",
                    report.rejected_count,
                    file.display()
                ),
            )
        }
        Err(ImportError::File(message)) => fail(USAGE_ERROR, message),
        Err(ImportError::Store(error)) => {
            fail(STORE_ERROR, format!("DynamoDB failed: {error}. What was written is consistent; run the same import again to complete it ({})", calls(&bulk)))
        }
    }
}

fn list_rejected(report: &ImportReport, skipped: bool) {
    if report.rejected_count == 0 {
        return;
    }
    let mut err = std::io::stderr().lock();
    for rejected in &report.rejected {
        let _ = writeln!(err, "{}: {}", rejected.location, rejected.reason);
    }
    if report.rejected_count > report.rejected.len() as u64 {
        let _ = writeln!(err, "... and {} more", report.rejected_count - report.rejected.len() as u64);
    }
    if skipped {
        let _ = writeln!(err, "{} invalid record(s) skipped", report.rejected_count);
    }
}

fn summary(file: &std::path::Path, report: &ImportReport, bulk: &Bulk, elapsed: std::time::Duration) {
    let format = match report.format {
        Format::JsonLines => "JSON Lines",
        Format::Document => "fixtures document",
    };
    let verb = if report.dry_run { "dry run, nothing written: would create" } else { "created" };
    let seconds = elapsed.as_secs_f64().max(0.001);
    println!(
        "{} ({format}): {} records, {} rejected, in {seconds:.1} s ({:.0} records/s)",
        file.display(),
        report.records,
        report.rejected_count,
        report.records as f64 / seconds
    );
    for (what, counts) in [("accounts", report.accounts), ("services", report.services)] {
        println!("{what}: {verb} {}, updated {}, unchanged {}", counts.created, counts.updated, counts.unchanged);
    }
    if !report.pending.is_empty() {
        println!("{} pending request(s) were overtaken by this import; each will end `failed` with the reason shown if completed:", report.pending.len());
        for pending in &report.pending {
            println!("  {} {}: request {} ({} -> {}): {}", pending.service, pending.role, pending.request, pending.from, pending.to, pending.reason.as_str());
        }
    }
    println!("DynamoDB: {}", calls(bulk));
}

fn calls(bulk: &Bulk) -> String {
    let m = bulk.metrics();
    format!(
        "{} BatchGetItem, {} BatchWriteItem ({} items), {} TransactWriteItems of service items, {} calls retried for unprocessed items, \
         {} services written one by one (a pending request, or changed by someone else during the load: {}), {:.0} capacity units",
        m.batch_get_calls,
        m.batch_write_calls,
        m.items_written,
        m.service_transactions,
        m.retried_calls,
        m.transactional_services,
        m.written_again,
        m.capacity_units
    )
}

async fn run_export(config: &AwsConfig, name: String, out: Option<PathBuf>, segments: u32) -> ExitCode {
    let client = match table(config, &name, false).await {
        Ok(client) => client,
        Err(code) => return code,
    };
    let bulk = Bulk::new(client, name);
    let result = match &out {
        Some(path) => match File::create(path) {
            Ok(file) => export(&bulk, segments, &mut BufWriter::with_capacity(256 * 1024, file), &Progress::stderr()).await,
            Err(error) => return fail(USAGE_ERROR, format!("cannot create {}: {error}", path.display())),
        },
        None => export(&bulk, segments, &mut BufWriter::with_capacity(256 * 1024, std::io::stdout().lock()), &Progress::silent()).await,
    };
    match result {
        Ok(report) => {
            eprintln!("exported {} accounts and {} services", report.accounts, report.services);
            ExitCode::SUCCESS
        }
        Err(ExportError::Store(error)) => fail(STORE_ERROR, format!("DynamoDB failed: {error}")),
        Err(ExportError::Write(error)) => fail(USAGE_ERROR, format!("cannot write: {error}")),
    }
}

async fn run_erase(config: &AwsConfig, file: PathBuf, name: String) -> ExitCode {
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(error) => return fail(USAGE_ERROR, format!("cannot read {}: {error}", file.display())),
    };
    let ids = match read_ids(&text) {
        Ok(ids) => ids,
        Err(invalid) => {
            let mut err = std::io::stderr().lock();
            for line in &invalid {
                let _ = writeln!(err, "line {}: {}", line.line, line.reason);
            }
            return fail(INVALID, format!("{} line(s) of {} name no account: nothing erased", invalid.len(), file.display()));
        }
    };
    let client = match table(config, &name, false).await {
        Ok(client) => client,
        Err(code) => return code,
    };
    // The use case of the internal API's erasure, on the table; it sends no mail.
    let store = Arc::new(DynamoStore::new(client, name));
    let app = App::new(store, Arc::new(MemoryMailer::new()), Arc::new(SystemClock), Config::default());
    let report = erase(&app, &ids).await;
    for (id, outcome) in &report.outcomes {
        match outcome {
            Outcome::Erased => println!("{id}: erased"),
            Outcome::Unknown => println!("{id}: no such account (never was, or erased already): nothing to erase"),
            Outcome::InUse(why) => println!("{id}: not erased: {why}"),
        }
    }
    let (erased, unknown, in_use) = report.counts();
    println!("{erased} erased, {unknown} not found, {in_use} in use (not erased)");
    if let Some((id, error)) = &report.failed {
        let left = ids.len() - report.outcomes.len();
        return fail(STORE_ERROR, format!("DynamoDB failed at {id}: {error}. The {left} account(s) from it on were not tried; run the same erasure again"));
    }
    if in_use > 0 { ExitCode::from(IN_USE) } else { ExitCode::SUCCESS }
}

async fn run_data(config: &AwsConfig, account: &str, name: String, out: Option<PathBuf>) -> ExitCode {
    let Ok(account) = AccountId::parse(account) else { return fail(INVALID, format!("{account:?} is no customer id")) };
    let retention = match Config::from_env() {
        Ok(app_config) => app_config.retention,
        Err(error) => return fail(USAGE_ERROR, error),
    };
    let client = match table(config, &name, false).await {
        Ok(client) => client,
        Err(code) => return code,
    };
    // The export's use case, on the table; it sends no mail.
    let store = Arc::new(DynamoStore::new(client, name).with_retention(retention));
    let app = App::new(store, Arc::new(MemoryMailer::new()), Arc::new(SystemClock), Config::default());
    let bytes = match document(&app, &account).await {
        Ok(bytes) => bytes,
        Err(DataError::NoSuchAccount) => return fail(INVALID, format!("there is no account {account} (never was, or erased)")),
        Err(DataError::Failed(why)) => return fail(STORE_ERROR, why),
    };
    let written = match &out {
        Some(path) => std::fs::write(path, &bytes),
        None => std::io::stdout().lock().write_all(&bytes),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(USAGE_ERROR, format!("cannot write the document: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Command, String> {
        parse_args(line.split_whitespace().map(str::to_owned), None)
    }

    #[test]
    fn arguments_are_checked_before_anything_runs() {
        assert!(matches!(
            parse("import f.jsonl --table t --dry-run --skip-invalid r.jsonl"),
            Ok(Command::Import { options: ImportOptions { dry_run: true, skip_invalid: Some(_), .. }, .. })
        ));
        assert!(parse("import --table t").unwrap_err().contains("needs a FILE"));
        assert!(parse("import f --table t --out x").unwrap_err().contains("unknown argument"));
        assert!(parse("export --table").unwrap_err().contains("needs a name"));
        assert!(parse("generate --accounts 3 --services 5").unwrap_err().contains("at least 4"));
        assert!(parse("generate --accounts x --services 5").unwrap_err().contains("needs a number"));
        assert!(parse("frobnicate").unwrap_err().contains("unknown command"));
        assert!(matches!(parse("export --table t --out x.jsonl"), Ok(Command::Export { .. })));
        assert!(matches!(parse("import --help"), Ok(Command::Help)));
        let from_table_name = parse_args(["export".to_owned()], Some("contacts"));
        assert!(matches!(from_table_name, Ok(Command::Export { table, .. }) if table == "contacts"), "TABLE_NAME when there is no --table");
        assert!(parse("export").unwrap_err().contains("--table NAME or TABLE_NAME"));
        assert!(matches!(parse("erase ids.txt --table t"), Ok(Command::Erase { .. })));
        assert!(parse("erase --table t").unwrap_err().contains("needs a FILE"));
        assert!(parse("erase ids.txt --dry-run --table t").unwrap_err().contains("unknown argument"));
    }
}
