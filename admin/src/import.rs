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

use contacts_app::ports::{PendingChange, StoreError};
use contacts_app::seed::{Format, Location, ReadError, RecordReader, Rejected};
use contacts_aws::dynamodb::bulk::{Bulk, Counts, ServicesOutcome};
use contacts_domain::{AccountId, Record, Role, Service};
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

/// Imports the file at `path` in the four steps above; a report of what was (or, in a dry run, would be) written.
pub async fn import(bulk: &Bulk, path: &Path, options: &ImportOptions, now: OffsetDateTime, progress: &Progress) -> Result<ImportReport, ImportError> {
    let mut rejects = rejects_file(path, options)?;
    let pass = Pass { bulk, path, chunk: options.chunk.max(1), progress };
    let file = pass.validate(&mut rejects)?;
    let in_table = pass.check_services_accounts(&file, &mut rejects).await?;
    progress.finish();
    rejects.flush()?;

    let mut report = ImportReport {
        format: file.format,
        records: file.accounts + file.services - rejects.unresolved,
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
    let write = !options.dry_run;
    report.accounts = pass.write_accounts(file.accounts, write).await?;
    let known = |account: &AccountId| file.in_file.contains(account) || in_table.contains(account);
    let outcome = pass.write_services(file.services - rejects.unresolved, known, now, write).await?;
    (report.services, report.pending) = (outcome.counts, outcome.pending);
    progress.finish();
    Ok(report)
}

/// Where the invalid records go: a file only if they are to be skipped, and never the file
/// imported.
fn rejects_file(path: &Path, options: &ImportOptions) -> Result<Rejects, ImportError> {
    let same = |rejects: &PathBuf| matches!((std::fs::canonicalize(path), std::fs::canonicalize(rejects)), (Ok(a), Ok(b)) if a == b);
    if options.skip_invalid.as_ref().is_some_and(same) {
        return Err(ImportError::File(format!("the file for the rejected lines cannot be the file imported ({})", path.display())));
    }
    Rejects::new(options.skip_invalid.as_deref())
}

/// What step 1 learnt of the file.
struct FileSummary {
    format: Format,
    /// The valid accounts and services, counted (a record given twice counts twice).
    accounts: u64,
    services: u64,
    /// The ids of the file's valid accounts.
    in_file: HashSet<AccountId>,
}

/// One pass over the file, a chunk at a time.
struct Pass<'a> {
    bulk: &'a Bulk,
    path: &'a Path,
    chunk: usize,
    progress: &'a Progress,
}

impl Pass<'_> {
    fn open(&self) -> Result<RecordReader<BufReader<File>>, ImportError> {
        open(self.path)
    }

    /// Step 1: every record, validated; the file's valid account ids kept.
    fn validate(&self, rejects: &mut Rejects) -> Result<FileSummary, ImportError> {
        self.progress.start("reading", None);
        let reader = self.open()?;
        let mut file = FileSummary { format: reader.format(), accounts: 0, services: 0, in_file: HashSet::new() };
        for entry in reader {
            self.progress.advance(1);
            match read(self.path, entry)? {
                Ok((_, Record::Account(account))) => {
                    file.accounts += 1;
                    file.in_file.insert(account.id);
                }
                Ok((_, Record::Service(_))) => file.services += 1,
                Err(rejected) => rejects.add(rejected)?,
            }
        }
        Ok(file)
    }

    /// Step 2: every service's accounts, in the file or in the table. The accounts found in
    /// the table; the services that name one in neither are rejected.
    async fn check_services_accounts(&self, file: &FileSummary, rejects: &mut Rejects) -> Result<HashSet<AccountId>, ImportError> {
        let mut in_table: HashSet<AccountId> = HashSet::new();
        if file.services == 0 {
            return Ok(in_table);
        }
        self.progress.start("checking the services' accounts", Some(file.services));
        let mut batch: Vec<(Location, Service)> = Vec::new();
        for entry in self.open()? {
            let Ok((location, Record::Service(service))) = read(self.path, entry)? else { continue };
            if service.contacts.holders().iter().all(|a| file.in_file.contains(a)) {
                self.progress.advance(1);
                continue;
            }
            batch.push((location, service));
            if batch.len() >= self.chunk {
                check_in_table(self.bulk, std::mem::take(&mut batch), &file.in_file, &mut in_table, rejects, self.progress).await?;
            }
        }
        check_in_table(self.bulk, batch, &file.in_file, &mut in_table, rejects, self.progress).await?;
        Ok(in_table)
    }

    /// Step 3: the accounts (written unless `write` is false: a dry run).
    async fn write_accounts(&self, total: u64, write: bool) -> Result<Counts, ImportError> {
        self.progress.start(if write { "accounts" } else { "accounts (dry run)" }, Some(total));
        let mut counts = Counts::default();
        let mut batch = Vec::new();
        for entry in self.open()? {
            let Ok((_, Record::Account(account))) = read(self.path, entry)? else { continue };
            batch.push(account);
            if batch.len() >= self.chunk {
                let done = batch.len() as u64;
                counts.add(self.bulk.put_accounts(std::mem::take(&mut batch), write).await?);
                self.progress.advance(done);
            }
        }
        let done = batch.len() as u64;
        counts.add(self.bulk.put_accounts(batch, write).await?);
        self.progress.advance(done);
        Ok(counts)
    }

    /// Step 4: the services whose accounts are all `known`, and their memberships; the
    /// pending requests they overtake.
    async fn write_services(&self, total: u64, known: impl Fn(&AccountId) -> bool, now: OffsetDateTime, write: bool) -> Result<ServicesOutcome, ImportError> {
        self.progress.start(if write { "services" } else { "services (dry run)" }, Some(total));
        let mut outcome = ServicesOutcome::default();
        let mut batch = Vec::new();
        for entry in self.open()? {
            let Ok((_, Record::Service(service))) = read(self.path, entry)? else { continue };
            if !service.contacts.holders().iter().all(&known) {
                continue; // rejected in step 2
            }
            batch.push(service);
            if batch.len() >= self.chunk {
                let done = batch.len() as u64;
                add(&mut outcome, self.bulk.put_services(std::mem::take(&mut batch), now, write).await?);
                self.progress.advance(done);
            }
        }
        let done = batch.len() as u64;
        add(&mut outcome, self.bulk.put_services(batch, now, write).await?);
        self.progress.advance(done);
        Ok(outcome)
    }
}

fn add(outcome: &mut ServicesOutcome, more: ServicesOutcome) {
    outcome.counts.add(more.counts);
    outcome.pending.extend(more.pending);
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
