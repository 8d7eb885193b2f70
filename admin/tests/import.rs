//! `contacts-admin import` and `export` against DynamoDB Local (scripts/test starts it; these
//! tests fail, never skip, without it): the library functions directly, then the binary once
//! end to end.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use contacts_admin::export::export;
use contacts_admin::import::{ImportError, ImportOptions, ImportReport, import};
use contacts_admin::progress::Progress;
use contacts_app::ports::{Accounts, Clock, PendingChange, Services};
use contacts_app::seed::{Fixtures, Location};
use contacts_aws::DynamoStore;
use contacts_aws::dynamodb::bulk::{Bulk, Counts};
use contacts_domain::{AccountId, Record, Role, ServiceName};
use integration_tests::{Backend, Emulators, ManualClock, TestApp, dynamo_store, unique_tag};
use serde_json::json;

// ---- helpers -------------------------------------------------------------------------------

/// A fresh table in DynamoDB Local, a scratch directory, and the store on that table.
struct Subject {
    store: Arc<DynamoStore>,
    dir: PathBuf,
}

async fn subject() -> Subject {
    let tag = unique_tag();
    let store = dynamo_store(&format!("admin-{tag}"), Arc::new(ManualClock::new())).await;
    let dir = std::env::temp_dir().join(format!("contacts-admin-test-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    Subject { store, dir }
}

impl Subject {
    fn bulk(&self) -> Bulk {
        Bulk::new(self.store.client().clone(), self.store.table())
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    async fn import(&self, path: &Path, options: ImportOptions) -> (Result<ImportReport, ImportError>, Bulk) {
        let bulk = self.bulk();
        let result = import(&bulk, path, &options, ManualClock::new().now(), &Progress::silent()).await;
        (result, bulk)
    }

    async fn import_ok(&self, path: &Path, options: ImportOptions) -> (ImportReport, Bulk) {
        let (result, bulk) = self.import(path, options).await;
        (result.unwrap_or_else(|e| panic!("the import failed: {e:?}")), bulk)
    }

    /// Every item of the table, as text, sorted: to compare whole tables.
    async fn snapshot(&self) -> Vec<String> {
        snapshot(self.store.client(), self.store.table()).await
    }

    async fn services_of(&self, account: &str) -> Vec<(String, [String; 3])> {
        let page = self.store.services_of(&id(account), &Default::default(), None, 1000).await.unwrap();
        page.items.iter().map(|s| (s.name.to_string(), [s.contacts.admin.to_string(), s.contacts.tech.to_string(), s.contacts.billing.to_string()])).collect()
    }
}

async fn snapshot(client: &aws_sdk_dynamodb::Client, table: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client.scan().table_name(table).consistent_read(true).set_exclusive_start_key(start).send().await.unwrap();
        for item in page.items.unwrap_or_default() {
            let sorted: BTreeMap<_, _> = item.into_iter().map(|(k, v)| (k, format!("{v:?}"))).collect();
            items.push(format!("{sorted:?}"));
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    items.sort();
    items
}

fn id(text: &str) -> AccountId {
    AccountId::parse(text).unwrap()
}

fn account(id: &str, name: &str, payment: &str) -> String {
    json!({"kind": "account", "id": id, "name": name, "email": format!("{}@example.com", id.trim_end_matches("-ovh")), "language": "fr", "payment_status": payment}).to_string()
}

fn service(name: &str, admin: &str, tech: &str, billing: &str) -> String {
    // In the canonical form (`kind` first), as `export` and the rejects file write it.
    Record::Service(serde_json::from_value(json!({"name": name, "admin": admin, "tech": tech, "billing": billing})).unwrap()).to_line()
}

fn lines(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Six people and three services.
fn cast() -> Vec<String> {
    vec![
        account("aa1-ovh", "Ada", "ok"),
        account("tt1-ovh", "Teo", "ok"),
        account("bb1-ovh", "Bea", "ok"),
        account("nn1-ovh", "Ned", "ok"),
        account("mm1-ovh", "Mia", "ok"),
        account("oo1-ovh", "Otto", "overdue"),
        service("example.com", "aa1-ovh", "tt1-ovh", "bb1-ovh"),
        service("vps.example.net", "aa1-ovh", "aa1-ovh", "aa1-ovh"),
        service("shop.example.org", "tt1-ovh", "nn1-ovh", "bb1-ovh"),
    ]
}

fn small_chunks() -> ImportOptions {
    ImportOptions { chunk: 2, ..ImportOptions::default() }
}

fn counts(created: u64, updated: u64, unchanged: u64) -> Counts {
    Counts { created, updated, unchanged }
}

// ---- the library -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_twice_changes_nothing_and_the_second_run_writes_nothing() {
    let subject = subject().await;
    let file = subject.file("cast.jsonl", &lines(&cast()));
    let (first, bulk) = subject.import_ok(&file, small_chunks()).await;
    assert_eq!((first.records, first.accounts, first.services), (9, counts(6, 0, 0), counts(3, 0, 0)));
    assert!(bulk.metrics().batch_write_calls > 0);
    let after_first = subject.snapshot().await;
    // 6 accounts, 3 services, and a membership per holder: 3 + 1 + 3.
    assert_eq!(after_first.len(), 6 + 3 + 7);

    let (second, bulk) = subject.import_ok(&file, small_chunks()).await;
    assert_eq!((second.accounts, second.services), (counts(0, 0, 6), counts(0, 0, 3)));
    assert_eq!(bulk.metrics().batch_write_calls, 0, "nothing differs, nothing is written");
    assert_eq!(subject.snapshot().await, after_first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixtures_document_on_one_line_far_over_64_kib_imports_whole() {
    let subject = subject().await;
    // As `json.dump` writes it: no line breaks at all.
    let services: Vec<_> =
        (0..1200).map(|n| json!({"name": format!("s{n:05}.example.com"), "admin": "aa1-ovh", "tech": "aa1-ovh", "billing": "aa1-ovh"})).collect();
    let text = json!({"accounts": [{"id": "aa1-ovh", "name": "Ada", "email": "ada@example.com"}], "services": services}).to_string();
    assert!(text.len() > 64 * 1024 && !text.contains('\n'));
    let (report, _) = subject.import_ok(&subject.file("one-line.json", &text), ImportOptions::default()).await;
    assert_eq!((report.accounts, report.services), (counts(1, 0, 0), counts(1200, 0, 0)));
}

/// A file where lines 2, 4, 5 and 7 are invalid; line 6 names an account only the table holds.
fn with_bad_lines() -> String {
    lines(&[
        account("aa1-ovh", "Ada", "ok"),
        r#"{"kind":"account","id":"bb1-ovh","name":"Bea","email":"bea-at-example.com"}"#.to_owned(),
        service("example.com", "aa1-ovh", "aa1-ovh", "aa1-ovh"),
        r#"{"kind":"service","name":"x.example","admin":"aa1-ovh","tech":"aa1-ovh","billing":"aa1-ovh","owner":"aa1-ovh"}"#.to_owned(),
        service("ghost.example", "aa1-ovh", "zz9-ovh", "aa1-ovh"),
        service("known.example", "aa1-ovh", "ex1-ovh", "aa1-ovh"),
        "this is not JSON".to_owned(),
    ])
}

async fn with_an_account_in_the_table(subject: &Subject) {
    let ex1 = serde_json::from_value(json!({"id": "ex1-ovh", "name": "Existing", "email": "ex1@example.com"})).unwrap();
    subject.store.put_account(&ex1).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_line_is_reported_with_its_number_and_reason_and_nothing_is_written() {
    let subject = subject().await;
    with_an_account_in_the_table(&subject).await;
    let before = subject.snapshot().await;
    let file = subject.file("bad.jsonl", &with_bad_lines());
    for dry_run in [false, true] {
        let (result, bulk) = subject.import(&file, ImportOptions { dry_run, ..small_chunks() }).await;
        let Err(ImportError::Invalid(report)) = result else { panic!("invalid lines must fail the import: {result:?}") };
        assert_eq!(report.rejected_count, 4);
        let told: Vec<(Location, &str)> = report.rejected.iter().map(|r| (r.location, r.reason.as_str())).collect();
        let expected = [
            (2, "not an email address"),
            (4, "unknown field `owner`"),
            (5, "names an account that is neither in the file nor in the table: tech zz9-ovh"),
            (7, "not valid JSON"),
        ];
        assert_eq!(told.len(), expected.len(), "{told:#?}");
        for ((location, reason), (line, why)) in told.iter().zip(expected) {
            assert_eq!(*location, Location::Line(line));
            assert!(reason.contains(why), "line {line}: {reason:?} should say {why:?}");
        }
        assert_eq!(bulk.metrics().batch_write_calls, 0);
        assert_eq!(subject.snapshot().await, before, "nothing written");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_with_invisible_format_characters_is_an_invalid_line_and_nothing_is_written() {
    let subject = subject().await;
    let before = subject.snapshot().await;
    // A right-to-left override, a zero-width space, a left-to-right isolate, a soft hyphen.
    let file = subject.file(
        "format.jsonl",
        &lines(&[
            account("aa1-ovh", "Ada", "ok"),
            account("tt1-ovh", "Teo\u{202E}oeT", "ok"),
            account("bb1-ovh", "B\u{200B}ea", "ok"),
            account("nn1-ovh", "\u{2066}Ned", "ok"),
            account("mm1-ovh", "Mi\u{00AD}a", "ok"),
            account("zz1-ovh", "Zoé Ünal", "ok"),
        ]),
    );
    for dry_run in [false, true] {
        let (result, bulk) = subject.import(&file, ImportOptions { dry_run, ..small_chunks() }).await;
        let Err(ImportError::Invalid(report)) = result else { panic!("invalid lines must fail the import: {result:?}") };
        let told: Vec<(Location, &str)> = report.rejected.iter().map(|r| (r.location, r.reason.as_str())).collect();
        let expected = [(2, "U+202E"), (3, "U+200B"), (4, "U+2066"), (5, "U+00AD")];
        assert_eq!(told.len(), expected.len(), "{told:#?}");
        for ((location, reason), (line, code_point)) in told.iter().zip(expected) {
            assert_eq!(*location, Location::Line(line));
            assert!(reason.contains(code_point) && reason.contains("invisible formatting characters"), "line {line}: {reason:?} should name {code_point}");
        }
        assert_eq!(bulk.metrics().batch_write_calls, 0);
        assert_eq!(subject.snapshot().await, before, "nothing written");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_tells_what_would_change_and_writes_nothing() {
    let subject = subject().await;
    let file = subject.file("cast.jsonl", &lines(&cast()));
    let (report, bulk) = subject.import_ok(&file, ImportOptions { dry_run: true, ..small_chunks() }).await;
    assert!(report.dry_run);
    assert_eq!((report.accounts, report.services), (counts(6, 0, 0), counts(3, 0, 0)));
    assert_eq!(bulk.metrics().batch_write_calls, 0);
    assert!(subject.snapshot().await.is_empty());

    // Against a loaded table, it tells the differences.
    subject.import_ok(&file, small_chunks()).await;
    let before = subject.snapshot().await;
    let mut changed = cast();
    changed[0] = account("aa1-ovh", "Ada Lovelace", "ok");
    changed[6] = service("example.com", "aa1-ovh", "nn1-ovh", "bb1-ovh");
    let file = subject.file("changed.jsonl", &lines(&changed));
    let (report, _) = subject.import_ok(&file, ImportOptions { dry_run: true, ..small_chunks() }).await;
    assert_eq!((report.accounts, report.services), (counts(0, 1, 5), counts(0, 1, 2)));
    assert_eq!(subject.snapshot().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_invalid_loads_the_rest_and_writes_the_rejected_lines_to_a_file() {
    let subject = subject().await;
    with_an_account_in_the_table(&subject).await;
    let text = with_bad_lines();
    let file = subject.file("bad.jsonl", &text);
    let rejects = subject.dir.join("rejects.jsonl");
    let (report, _) = subject.import_ok(&file, ImportOptions { skip_invalid: Some(rejects.clone()), ..small_chunks() }).await;
    assert_eq!(report.rejected_count, 4);
    assert_eq!((report.records, report.accounts, report.services), (3, counts(1, 0, 0), counts(2, 0, 0)));

    let input: Vec<&str> = text.lines().collect();
    let rejected: BTreeSet<String> = std::fs::read_to_string(&rejects).unwrap().lines().map(str::to_owned).collect();
    let expected: BTreeSet<String> = [2, 4, 5, 7].iter().map(|line| input[line - 1].to_owned()).collect();
    assert_eq!(rejected, expected, "the rejected lines, as they were");

    assert!(subject.store.account(&id("aa1-ovh")).await.unwrap().is_some());
    assert!(subject.store.account(&id("bb1-ovh")).await.unwrap().is_none());
    assert_eq!(subject.services_of("ex1-ovh").await, vec![("known.example".to_owned(), ["aa1-ovh", "ex1-ovh", "aa1-ovh"].map(str::to_owned))]);
    assert_eq!(subject.services_of("aa1-ovh").await.len(), 2);
    assert!(subject.store.service(&ServiceName::parse("ghost.example").unwrap()).await.unwrap().is_none());

    // The rejects file is never the file imported (it would be emptied before being read).
    let (result, _) = subject.import(&file, ImportOptions { skip_invalid: Some(file.clone()), ..small_chunks() }).await;
    assert!(matches!(result, Err(ImportError::File(_))), "{result:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}

/// The same records, once through the store's own `put_account` / `put_service`, once
/// through the import: the two tables must hold the very same items.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memberships_follow_roles_moved_by_an_import_exactly_as_put_service_moves_them() {
    let imported = subject().await;
    let file = imported.file("cast.jsonl", &lines(&cast()));
    imported.import_ok(&file, small_chunks()).await;
    let moved = vec![
        service("example.com", "nn1-ovh", "nn1-ovh", "bb1-ovh"),      // Ada and Teo lose it, Ned gains it
        service("vps.example.net", "mm1-ovh", "aa1-ovh", "mm1-ovh"),  // Ada keeps tech only
        service("shop.example.org", "tt1-ovh", "nn1-ovh", "bb1-ovh"), // unchanged
        service("new.example", "oo1-ovh", "oo1-ovh", "tt1-ovh"),
        // A later line wins over an earlier one, across chunks too.
        service("shop.example.org", "bb1-ovh", "nn1-ovh", "bb1-ovh"),
    ];
    let file = imported.file("moved.jsonl", &lines(&moved));
    let (report, _) = imported.import_ok(&file, small_chunks()).await;
    assert_eq!(report.services.total(), 5);
    assert!(report.pending.is_empty());

    let contacts = |admin: &str, tech: &str, billing: &str| [admin, tech, billing].map(str::to_owned);
    assert_eq!(imported.services_of("aa1-ovh").await, vec![("vps.example.net".to_owned(), contacts("mm1-ovh", "aa1-ovh", "mm1-ovh"))]);
    assert_eq!(imported.services_of("tt1-ovh").await, vec![("new.example".to_owned(), contacts("oo1-ovh", "oo1-ovh", "tt1-ovh"))]);
    assert_eq!(
        imported.services_of("nn1-ovh").await,
        vec![("example.com".to_owned(), contacts("nn1-ovh", "nn1-ovh", "bb1-ovh")), ("shop.example.org".to_owned(), contacts("bb1-ovh", "nn1-ovh", "bb1-ovh"))]
    );
    assert_eq!(imported.services_of("bb1-ovh").await.len(), 2);
    assert_eq!(imported.services_of("mm1-ovh").await.len(), 1);

    let by_store = subject().await;
    for text in cast().iter().chain(&moved) {
        match serde_json::from_str::<Record>(text).unwrap() {
            Record::Account(account) => by_store.store.put_account(&account).await.unwrap(),
            Record::Service(service) => by_store.store.put_service(&service).await.unwrap(),
        }
    }
    assert_eq!(imported.snapshot().await, by_store.snapshot().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_gives_back_the_records_imported_and_its_output_imports_to_the_same_table() {
    let subject = subject().await;
    // The fixtures document this time.
    let records: Vec<Record> = cast().iter().map(|line| serde_json::from_str(line).unwrap()).collect();
    let (accounts, services): (Vec<_>, Vec<_>) = records.iter().partition(|r| matches!(r, Record::Account(_)));
    let strip = |r: &Record| {
        let mut value = serde_json::to_value(r).unwrap();
        value.as_object_mut().unwrap().remove("kind");
        value
    };
    let document =
        json!({"accounts": accounts.iter().map(|r| strip(r)).collect::<Vec<_>>(), "services": services.iter().map(|r| strip(r)).collect::<Vec<_>>()});
    let file = subject.file("cast.json", &serde_json::to_string_pretty(&document).unwrap());
    let (report, _) = subject.import_ok(&file, small_chunks()).await;
    assert_eq!(report.format, contacts_app::seed::Format::Document);

    let mut out = Vec::new();
    let exported = export(&subject.bulk(), 3, &mut out, &Progress::silent()).await.unwrap();
    assert_eq!((exported.accounts, exported.services), (6, 3));
    let text = String::from_utf8(out).unwrap();
    let back: BTreeSet<String> = text.lines().map(str::to_owned).collect();
    let given: BTreeSet<String> = records.iter().map(Record::to_line).collect();
    assert_eq!(back, given);

    let again = self::subject().await;
    let file = again.file("exported.jsonl", &text);
    again.import_ok(&file, ImportOptions::default()).await;
    assert_eq!(again.snapshot().await, subject.snapshot().await);
    // And the local server reads the exported file too.
    let fixtures = Fixtures::parse_any(&text).unwrap();
    assert_eq!((fixtures.accounts.len(), fixtures.services.len()), (6, 3));
}

/// The internal API upserts a service between a load's read and its write (its plan, then its
/// apply). The load's conditional write of that service fails, so it goes through the store's
/// `put_service`, which reads the service again: the load wrote last, and the memberships are
/// exactly its holders'. With unconditional writes, the upsert's holders would keep stale ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upsert_between_a_loads_read_and_its_write_leaves_no_stale_membership() {
    let subject = subject().await;
    subject.import_ok(&subject.file("cast.jsonl", &lines(&cast())), ImportOptions::default()).await;
    let parse = |line: String| match Fixtures::parse_any(&line).map(|mut f| f.services.pop()) {
        Ok(Some(service)) => service,
        other => panic!("a service line: {other:?}"),
    };
    // The load gives example.com's tech role to Mia, and creates a service of Ned's.
    let loaded = parse(service("example.com", "aa1-ovh", "mm1-ovh", "bb1-ovh"));
    let created = parse(service("ned.example", "nn1-ovh", "nn1-ovh", "nn1-ovh"));
    let bulk = subject.bulk();
    let plan = bulk.plan_services(vec![loaded.clone(), created], ManualClock::new().now()).await.unwrap();
    // Meanwhile, provisioning gives the tech role to Ned and billing to Otto.
    subject.store.put_service(&parse(service("example.com", "aa1-ovh", "nn1-ovh", "oo1-ovh"))).await.unwrap();
    assert!(subject.services_of("oo1-ovh").await.iter().any(|(name, _)| name == "example.com"));

    bulk.apply(plan).await.unwrap();
    let record = subject.store.service(&loaded.name).await.unwrap().expect("example.com");
    assert_eq!(record.service, loaded, "the load wrote last");
    let contacts = [loaded.contacts.admin.to_string(), loaded.contacts.tech.to_string(), loaded.contacts.billing.to_string()];
    for account in ["aa1-ovh", "tt1-ovh", "bb1-ovh", "nn1-ovh", "mm1-ovh", "oo1-ovh"] {
        let held: Vec<_> = subject.services_of(account).await.into_iter().filter(|(name, _)| name == "example.com").collect();
        let holder = loaded.contacts.holders().contains(&id(account));
        assert_eq!(held.len(), usize::from(holder), "{account}: a membership of example.com exactly when it holds a role: {held:?}");
        assert!(held.iter().all(|(_, copy)| copy == &contacts), "{account}: the membership carries the contacts as written: {held:?}");
    }
    assert!(subject.services_of("nn1-ovh").await.iter().any(|(name, _)| name == "ned.example"), "the rest of the transaction is written too");
    // Both services shared a transaction, which the failed condition cancelled whole.
    assert_eq!(bulk.metrics().written_again, 2, "{:?}", bulk.metrics());
}

/// Ada asks for Ned as tech and for Mia as billing; the provider's import then gives the tech
/// role to Mia. The import reports the tech request (not the billing one); completing it
/// fails with `holders_changed` and changes nothing, while the billing request still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_role_an_import_moved_is_reported_and_ends_failed_when_completed() {
    let app = TestApp::seeded(Backend::Aws).await;
    let tech = app.ask_ok("example.com", "aa1-ovh", json!({"tech": "nn1-ovh"})).await;
    let billing = app.ask_ok("example.com", "aa1-ovh", json!({"billing": "mm1-ovh"})).await;

    let dynamo = app.dynamo.clone().expect("on DynamoDB");
    let bulk = Bulk::new(dynamo.client().clone(), dynamo.table());
    let dir = std::env::temp_dir().join(format!("contacts-admin-test-{}", app.tag));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("moved.jsonl");
    // The accounts are only in the table; the service's tech moves from Teo to Mia.
    std::fs::write(&file, lines(&[service("example.com", "aa1-ovh", "mm1-ovh", "bb1-ovh")])).unwrap();
    let report = import(&bulk, &file, &ImportOptions::default(), app.clock.now(), &Progress::silent()).await.unwrap();
    assert_eq!(report.services, counts(0, 1, 0));
    let expected = PendingChange {
        service: ServiceName::parse("example.com").unwrap(),
        role: Role::Tech,
        request: tech.parse().unwrap(),
        from: id("tt1-ovh"),
        to: id("mm1-ovh"),
        reason: contacts_domain::FailReason::HoldersChanged,
    };
    assert_eq!(report.pending, vec![expected]);
    assert_eq!(bulk.metrics().transactional_services, 1, "a locked service is written by put_service's transaction");
    assert_eq!(app.contacts("example.com", "aa1-ovh").await, json!({"admin": "aa1-ovh", "tech": "mm1-ovh", "billing": "bb1-ovh"}));

    for party in ["aa1-ovh", "nn1-ovh"] {
        let token = app.token_of(party, &tech).await;
        let response = app.accept(&tech, party, &token).await;
        assert_eq!(response.status, http::StatusCode::OK, "{}", response.text());
    }
    let request = app.request(&tech, "aa1-ovh").await;
    assert_eq!((request["state"].as_str(), request["reason"].as_str()), (Some("failed"), Some("holders_changed")), "{request:#}");
    assert_eq!(app.contacts("example.com", "aa1-ovh").await["tech"], "mm1-ovh", "nothing changed");

    for party in ["aa1-ovh", "mm1-ovh"] {
        let token = app.token_of(party, &billing).await;
        app.accept(&billing, party, &token).await;
    }
    assert_eq!(app.request(&billing, "aa1-ovh").await["state"], "done");
    assert_eq!(app.contacts("example.com", "aa1-ovh").await, json!({"admin": "aa1-ovh", "tech": "mm1-ovh", "billing": "mm1-ovh"}));
    let services_of = |account: &str| {
        let store = dynamo.clone();
        let account = id(account);
        async move { store.services_of(&account, &Default::default(), None, 10).await.unwrap().items.iter().map(|s| s.name.to_string()).collect::<Vec<_>>() }
    };
    assert!(services_of("tt1-ovh").await.is_empty());
    assert!(services_of("bb1-ovh").await.is_empty());
    assert_eq!(services_of("mm1-ovh").await, vec!["example.com"]);
}

// ---- the binary, end to end ------------------------------------------------------------------

fn admin(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_contacts-admin"));
    command.args(args).env_remove("TABLE_NAME");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("contacts-admin runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_imports_exports_and_exits_with_the_documented_codes() {
    Emulators::from_env();
    let tag = unique_tag();
    let table = format!("contacts-admin-bin-{tag}");
    let dir = std::env::temp_dir().join(format!("contacts-admin-test-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cast.jsonl");
    std::fs::write(&file, lines(&cast())).unwrap();
    let path = file.to_str().unwrap();

    let first = admin(&["import", path, "--table", &table, "--create-table"], &[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let stdout = text(&first.stdout);
    assert!(stdout.contains("9 records, 0 rejected") && stdout.contains("accounts: created 6, updated 0, unchanged 0"), "{stdout}");
    assert!(text(&first.stderr).contains("services: 3/3 (100%)"), "plain progress lines when not on a terminal: {}", text(&first.stderr));

    let second = admin(&["import", path], &[("TABLE_NAME", &table)]);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    assert!(text(&second.stdout).contains("services: created 0, updated 0, unchanged 3"), "{}", text(&second.stdout));
    assert!(text(&second.stdout).contains("0 BatchWriteItem"), "{}", text(&second.stdout));

    let exported = admin(&["export", "--table", &table], &[]);
    assert_eq!(exported.status.code(), Some(0), "{}", text(&exported.stderr));
    let back: BTreeSet<String> = text(&exported.stdout).lines().map(str::to_owned).collect();
    let given: BTreeSet<String> = cast().iter().map(|line| serde_json::from_str::<Record>(line).unwrap().to_line()).collect();
    assert_eq!(back, given);

    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, with_bad_lines()).unwrap();
    let invalid = admin(&["import", bad.to_str().unwrap(), "--table", &table], &[]);
    assert_eq!(invalid.status.code(), Some(1));
    let stderr = text(&invalid.stderr);
    assert!(stderr.contains("line 2: ") && stderr.contains("line 7: not valid JSON") && stderr.contains("nothing written"), "{stderr}");

    let generated = admin(&["generate", "--accounts", "40", "--services", "90", "--heavy", "20"], &[]);
    assert_eq!(generated.status.code(), Some(0));
    let generated_file = dir.join("generated.jsonl");
    std::fs::write(&generated_file, &generated.stdout).unwrap();
    let dry = admin(&["import", generated_file.to_str().unwrap(), "--table", &table, "--dry-run"], &[]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    assert!(text(&dry.stdout).contains("would create 90"), "{}", text(&dry.stdout));

    assert_eq!(admin(&["import", path], &[]).status.code(), Some(2), "no table named");
    assert_eq!(admin(&["import", "/nonexistent/file.jsonl", "--table", &table], &[]).status.code(), Some(2));
    assert_eq!(admin(&["import", path, "--table", "no-such-table"], &[]).status.code(), Some(3));
    let unreachable = admin(&["import", path, "--table", &table], &[("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")]);
    assert_eq!(unreachable.status.code(), Some(3), "{}", text(&unreachable.stderr));
}

/// As the internal API's upsert: an import keeps a bouncing mark while the address stays (an
/// identical account is unchanged, a renamed one is rewritten with the mark) and a new address clears it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_keeps_a_bouncing_mark_at_the_same_address_and_a_new_address_clears_it() {
    use contacts_domain::{EmailAddress, EmailStatus};
    let subject = subject().await;
    let first = subject.file("first.jsonl", &lines(&[account("aa1-ovh", "Ada", "ok"), account("bb1-ovh", "Bea", "ok"), account("cc1-ovh", "Cyd", "ok")]));
    subject.import_ok(&first, ImportOptions::default()).await;
    for id in ["aa1-ovh", "bb1-ovh", "cc1-ovh"] {
        let address = EmailAddress::parse(&format!("{}@example.com", id.trim_end_matches("-ovh"))).unwrap();
        assert_eq!(subject.store.mark_bouncing(&AccountId::parse(id).unwrap(), &address).await, Ok(true));
    }
    let moved = json!({"kind": "account", "id": "cc1-ovh", "name": "Cyd", "email": "cyd@example.org", "language": "fr", "payment_status": "ok"}).to_string();
    let second = subject.file("second.jsonl", &lines(&[account("aa1-ovh", "Ada", "ok"), account("bb1-ovh", "Bea Renamed", "ok"), moved]));
    let (report, _) = subject.import_ok(&second, ImportOptions::default()).await;
    assert_eq!(report.accounts, counts(0, 2, 1));
    let status = |id: &str| {
        let store = subject.store.clone();
        let id = AccountId::parse(id).unwrap();
        async move { store.account(&id).await.unwrap().unwrap().email_status }
    };
    assert_eq!((status("aa1-ovh").await, status("bb1-ovh").await, status("cc1-ovh").await), (EmailStatus::Bouncing, EmailStatus::Bouncing, EmailStatus::Ok));
}
