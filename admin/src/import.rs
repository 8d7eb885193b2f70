//! `contacts-admin import`: a fixtures file (JSON Lines or the fixtures document) into the
//! table, through [`Bulk`].
//!
//! The file is read four times, each time streamed, so that memory does not grow with it
//! (it holds the set of the file's account ids, about 60 bytes each, and one chunk):
//!
//! 1. every record is validated by the domain's own types; the account ids are kept;
//! 2. every service's three accounts must be in the file (valid) or already in the table
//!    (`BatchGetItem`, per chunk, for those that are not in the file);
//! 3. the accounts are written, a chunk at a time;
//! 4. then the services and their memberships, a chunk at a time, reporting the pending
//!    requests whose role changes hands.
//!
//! Nothing is written when a record is invalid, unless invalid records are to be skipped (and
//! written to a file of rejects); `dry_run` reads and tells, and writes nothing. Within a
//! chunk, the last record of an id or name wins; chunks are written in the file's order, so
//! the file is a sequence of upserts and a later line wins over an earlier one.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use shared::adapters::dynamodb::bulk::{Bulk, Counts};
use shared::domain::{AccountId, Record, Role, Service};
use shared::ports::{PendingChange, StoreError};
use shared::seed::{Format, Location, ReadError, RecordReader, Rejected};
use time::OffsetDateTime;

use crate::progress::Progress;

/// Records per chunk: one `BatchGetItem` round and a few dozen `BatchWriteItem`s.
pub const CHUNK: usize = 1_000;
/// How many rejected records a report lists (all are counted, and all go to the rejects file).
pub const LISTED: usize = 1_000;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Validate and tell what would change; write nothing.
    pub dry_run: bool,
    /// Load the valid records even if some are not, and write the invalid ones (as they were
    /// in the file, one per line) to this file.
    pub skip_invalid: Option<PathBuf>,
    pub chunk: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self { dry_run: false, skip_invalid: None, chunk: CHUNK }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportReport {
    pub format: Format,
    /// The valid records read (a record given twice counts twice).
    pub records: u64,
    /// The first [`LISTED`] invalid records, by place in the file.
    pub rejected: Vec<Rejected>,
    pub rejected_count: u64,
    pub accounts: Counts,
    pub services: Counts,
    /// The pending requests the import overtook (`PendingChange`): a role moved, or a requester's authority gone.
    pub pending: Vec<PendingChange>,
    /// Whether anything was (or, in a dry run, would have been) written.
    pub dry_run: bool,
}

#[derive(Debug)]
pub enum ImportError {
    /// The file could not be opened or read (nothing, or only what came before, was written).
    File(String),
    /// Some records are invalid and they were not to be skipped: nothing was written.
    Invalid(ImportReport),
    /// DynamoDB failed. What was written is consistent (running the import again completes it).
    Store(StoreError),
}

impl From<StoreError> for ImportError {
    fn from(error: StoreError) -> Self {
        ImportError::Store(error)
    }
}

pub async fn import(bulk: &Bulk, path: &Path, options: &ImportOptions, now: OffsetDateTime, progress: &Progress) -> Result<ImportReport, ImportError> {
    let chunk = options.chunk.max(1);
    let same = |rejects: &PathBuf| matches!((std::fs::canonicalize(path), std::fs::canonicalize(rejects)), (Ok(a), Ok(b)) if a == b);
    if options.skip_invalid.as_ref().is_some_and(same) {
        return Err(ImportError::File(format!("the file for the rejected lines cannot be the file imported ({})", path.display())));
    }
    let mut rejects = Rejects::new(options.skip_invalid.as_deref())?;

    // 1. Every record, validated; the file's valid account ids kept.
    progress.start("reading", None);
    let mut in_file: HashSet<AccountId> = HashSet::new();
    let (mut accounts, mut services) = (0u64, 0u64);
    let reader = open(path)?;
    let format = reader.format();
    for entry in reader {
        progress.advance(1);
        match read(path, entry)? {
            Ok((_, Record::Account(account))) => {
                accounts += 1;
                in_file.insert(account.id);
            }
            Ok((_, Record::Service(_))) => services += 1,
            Err(rejected) => rejects.add(rejected)?,
        }
    }

    // 2. Every service's accounts: in the file, or in the table.
    let mut in_table: HashSet<AccountId> = HashSet::new();
    if services > 0 {
        progress.start("checking the services' accounts", Some(services));
        let mut batch: Vec<(Location, Service)> = Vec::new();
        for entry in open(path)? {
            let Ok((location, Record::Service(service))) = read(path, entry)? else { continue };
            if service.contacts.holders().iter().all(|a| in_file.contains(a)) {
                progress.advance(1);
                continue;
            }
            batch.push((location, service));
            if batch.len() >= chunk {
                check_in_table(bulk, std::mem::take(&mut batch), &in_file, &mut in_table, &mut rejects, progress).await?;
            }
        }
        check_in_table(bulk, batch, &in_file, &mut in_table, &mut rejects, progress).await?;
    }
    progress.finish();
    rejects.flush()?;

    let mut report = ImportReport {
        format,
        records: accounts + services - rejects.unresolved,
        rejected: rejects.listed(),
        rejected_count: rejects.count,
        accounts: Counts::default(),
        services: Counts::default(),
        pending: Vec::new(),
        dry_run: options.dry_run,
    };
    if rejects.count > 0 && options.skip_invalid.is_none() {
        return Err(ImportError::Invalid(report));
    }

    // 3. The accounts.
    let write = !options.dry_run;
    progress.start(if write { "accounts" } else { "accounts (dry run)" }, Some(accounts));
    let mut batch = Vec::new();
    for entry in open(path)? {
        let Ok((_, Record::Account(account))) = read(path, entry)? else { continue };
        batch.push(account);
        if batch.len() >= chunk {
            let done = batch.len() as u64;
            report.accounts.add(bulk.put_accounts(std::mem::take(&mut batch), write).await?);
            progress.advance(done);
        }
    }
    let done = batch.len() as u64;
    report.accounts.add(bulk.put_accounts(batch, write).await?);
    progress.advance(done);

    // 4. The services and their memberships.
    progress.start(if write { "services" } else { "services (dry run)" }, Some(services - rejects.unresolved));
    let known = |account: &AccountId| in_file.contains(account) || in_table.contains(account);
    let mut batch = Vec::new();
    for entry in open(path)? {
        let Ok((_, Record::Service(service))) = read(path, entry)? else { continue };
        if !service.contacts.holders().iter().all(known) {
            continue; // rejected in step 2
        }
        batch.push(service);
        if batch.len() >= chunk {
            let done = batch.len() as u64;
            let outcome = bulk.put_services(std::mem::take(&mut batch), now, write).await?;
            report.services.add(outcome.counts);
            report.pending.extend(outcome.pending);
            progress.advance(done);
        }
    }
    let done = batch.len() as u64;
    let outcome = bulk.put_services(batch, now, write).await?;
    report.services.add(outcome.counts);
    report.pending.extend(outcome.pending);
    progress.advance(done);
    progress.finish();
    Ok(report)
}

/// Rejects the services of `batch` that name an account neither in the file nor in the
/// table; remembers the accounts found in the table.
async fn check_in_table(
    bulk: &Bulk,
    batch: Vec<(Location, Service)>,
    in_file: &HashSet<AccountId>,
    in_table: &mut HashSet<AccountId>,
    rejects: &mut Rejects,
    progress: &Progress,
) -> Result<(), ImportError> {
    if batch.is_empty() {
        return Ok(());
    }
    let unknown: Vec<AccountId> =
        batch.iter().flat_map(|(_, service)| service.contacts.holders()).filter(|a| !in_file.contains(a) && !in_table.contains(a)).collect();
    let missing: HashSet<AccountId> = bulk.missing_accounts(&unknown).await?.into_iter().collect();
    in_table.extend(unknown.into_iter().filter(|a| !missing.contains(a)));
    progress.advance(batch.len() as u64);
    for (location, service) in batch {
        let absent: Vec<String> = Role::ALL
            .into_iter()
            .filter(|role| missing.contains(service.contacts.holder(*role)))
            .map(|role| format!("{role} {}", service.contacts.holder(role)))
            .collect();
        if !absent.is_empty() {
            let reason = format!("names an account that is neither in the file nor in the table: {}", absent.join(", "));
            rejects.unresolved += 1;
            rejects.add(Rejected::new(location, reason, Record::Service(service).to_line()))?;
        }
    }
    Ok(())
}

fn open(path: &Path) -> Result<RecordReader<BufReader<File>>, ImportError> {
    let file = File::open(path).map_err(|e| ImportError::File(format!("cannot open {}: {e}", path.display())))?;
    RecordReader::new(BufReader::with_capacity(256 * 1024, file)).map_err(|e| ImportError::File(format!("cannot read {}: {e}", path.display())))
}

/// A record or why it is invalid; an error if the file cannot be read.
fn read(path: &Path, entry: Result<(Location, Record), ReadError>) -> Result<Result<(Location, Record), Rejected>, ImportError> {
    match entry {
        Ok(record) => Ok(Ok(record)),
        Err(ReadError::Invalid(rejected)) => Ok(Err(rejected)),
        Err(ReadError::Io(error)) => Err(ImportError::File(format!("cannot read {}: {error}", path.display()))),
    }
}

/// The invalid records: counted, the first ones listed, all written to the rejects file.
struct Rejects {
    file: Option<(PathBuf, BufWriter<File>)>,
    listed: Vec<Rejected>,
    count: u64,
    /// Services rejected for an unknown account (they were valid records in step 1).
    unresolved: u64,
}

impl Rejects {
    fn new(path: Option<&Path>) -> Result<Self, ImportError> {
        let file = match path {
            Some(path) => {
                let file = File::create(path).map_err(|e| ImportError::File(format!("cannot create {}: {e}", path.display())))?;
                Some((path.to_owned(), BufWriter::new(file)))
            }
            None => None,
        };
        Ok(Self { file, listed: Vec::new(), count: 0, unresolved: 0 })
    }

    fn add(&mut self, rejected: Rejected) -> Result<(), ImportError> {
        self.count += 1;
        if let Some((path, file)) = &mut self.file {
            writeln!(file, "{}", rejected.text).map_err(|e| ImportError::File(format!("cannot write {}: {e}", path.display())))?;
        }
        if self.listed.len() < LISTED {
            self.listed.push(Rejected { text: String::new(), ..rejected });
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ImportError> {
        if let Some((path, file)) = &mut self.file {
            file.flush().map_err(|e| ImportError::File(format!("cannot write {}: {e}", path.display())))?;
        }
        Ok(())
    }

    /// The listed ones, in the file's order.
    fn listed(&self) -> Vec<Rejected> {
        let mut listed = self.listed.clone();
        listed.sort_by_key(|rejected| match rejected.location {
            Location::Document => (0, "", 0),
            Location::Line(line) => (1, "", line),
            Location::Entry { list, index } => (2, list, index as u64),
        });
        listed
    }
}
