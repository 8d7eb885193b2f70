//! Every function as Lambda runs it: the built bootstrap under the Lambda Runtime Interface
//! Emulator (what `sam local invoke` runs inside its container), against DynamoDB Local and
//! the SES v2 emulator. Every file of `events/` is invoked on the function it is named after
//! and must get the status SPEC.md gives; then a whole change goes through the functions:
//! create, both parties accept with the tokens the SES emulator received, the contacts move.
//!
//! The RIE, the events' placeholders and the SES emulator's mails are `lambda_harness`'s
//! (harness/), which scripts/bench's driver uses too.
//!
//! Needs what scripts/test provides: the functions' debug binaries (`LAMBDA_BIN_DIR`), the RIE
//! (`LAMBDA_RIE`), and both emulators (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SESV2`,
//! `SES_STORE_URL`). Without them it fails, naming what is missing: it never passes unrun.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use contacts_api::Function;
use contacts_app::App;
use contacts_app::config::Config;
use contacts_app::memory::MemoryMailer;
use contacts_app::ports::SystemClock;
use contacts_app::seed::Fixtures;
use contacts_domain::{AccountId, EmailStatus, HistoryEvent, Role, ServiceName};
use contacts_telemetry::Metric;
use integration_tests::functions::{AwsEndpoints, as_deployed};
use integration_tests::template::Template;
use integration_tests::{Emf, Emulators, dynamo_store, streams, unique_tag};
use lambda_harness::events::{for_service, with_caller, with_id, with_json_body, with_token};
use lambda_harness::mail::{SesStore, token_in};
use lambda_harness::{EnvChange, Launch, Response, Rie};
use serde_json::{Value, json};

const MAIL_FROM: &str = "no-reply@contacts.example.com";
const PUBLIC_BASE_URL: &str = "https://contacts.rie.test";
/// The AWS principal that signs the provider's events (events/provider.*.json).
const EVENTS_PROVIDER: &str = "arn:aws:iam::123456789012:role/billing-sync";
/// The demo set's addresses (contacts_app::seed), which the events' callers use.
const ADA: &str = "ada@example.com";
const NED: &str = "ned@example.com";
const TEO: &str = "teo@example.it";

// ---- the environment scripts/test provides --------------------------------------------------

struct Setup {
    rie: PathBuf,
    bin_dir: PathBuf,
    emulators: Emulators,
    /// Where the functions' AWS calls go: through the recorder, when one runs.
    endpoints: AwsEndpoints,
}

fn setup() -> Setup {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (Some(rie), Some(bin_dir)) = (var("LAMBDA_RIE"), var("LAMBDA_BIN_DIR")) else {
        panic!(
            "this test runs the functions' bootstraps under the Lambda Runtime Interface Emulator, but LAMBDA_RIE \
             and/or LAMBDA_BIN_DIR are not set. Run the project's test command, scripts/test: it installs the RIE \
             (with aws-sam-cli), builds the functions, starts DynamoDB Local and the SES emulator, and sets them all."
        )
    };
    let (rie, bin_dir) = (PathBuf::from(rie), PathBuf::from(bin_dir));
    assert!(rie.is_file(), "LAMBDA_RIE={} is not a file: run scripts/install-tools (or scripts/test)", rie.display());
    // The route table's functions, and those no route reaches.
    for name in Function::ALL.iter().map(|f| f.name()).chain(["sweeper", "bounces", "mailer", "publisher"]) {
        let bootstrap = bin_dir.join(name);
        assert!(bootstrap.is_file(), "{} is missing: build the functions first (scripts/test does: cargo build -p fn-{name})", bootstrap.display());
    }
    let emulators = Emulators::from_env();
    Setup { rie, bin_dir, endpoints: AwsEndpoints::from_env(&emulators), emulators }
}

// ---- one function under the RIE ---------------------------------------------------------------

/// `function`'s bootstrap under the RIE (lambda_harness: a free port of 127.0.0.1, a process
/// group of its own that dropping it kills, whatever happened to the test), on `table`.
fn start(setup: &Setup, function: Function, table: &str, tag: &str) -> Rie {
    start_with(setup, function, table, tag, &[])
}

/// [`start`], with `env` over its environment (the RIE passes its own to the bootstrap).
fn start_with(setup: &Setup, function: Function, table: &str, tag: &str, env: &[EnvChange<'_>]) -> Rie {
    start_binary(setup, function.name(), table, tag, env)
}

/// The bootstrap `name` (a function of the route table, or one no route reaches) under the RIE,
/// as deployed: signing with its logical id, through the recorder of AWS calls when one runs.
fn start_binary(setup: &Setup, name: &str, table: &str, tag: &str, env: &[EnvChange<'_>]) -> Rie {
    let launch = Launch::new(name, &setup.rie, setup.bin_dir.join(name))
        .env("TABLE_NAME", table)
        .env("MAIL_FROM", MAIL_FROM)
        .env("PUBLIC_BASE_URL", PUBLIC_BASE_URL)
        .env("RUST_LOG", "info")
        .env_changes(&[
            ("AWS_SESSION_TOKEN", None),
            ("AWS_PROFILE", None),
            ("ACCOUNT_CLAIM", None),
            ("AWS_LAMBDA_LOG_LEVEL", None),
            ("LOG_LEVEL", None),
            ("AWS_LAMBDA_FUNCTION_TIMEOUT", None),
            // The principal that signs events/provider.*.json, admitted as template.yaml's
            // ProviderPrincipals would name it.
            ("PROVIDER_PRINCIPALS", Some(EVENTS_PROVIDER)),
            ("JWT_ISSUER", None),
            ("JWT_AUDIENCE", None),
            ("PANEL_CLIENT_ID", None),
        ]);
    let launch = as_deployed(launch, name, &setup.endpoints).env_changes(env).log_kept_on_failure_only();
    Rie::start(&launch, &std::env::temp_dir().join(format!("contacts-rie-{tag}-{name}.log")))
}

/// The EMF lines a bootstrap printed (CloudWatch's embedded metric format), each checked
/// against the specification.
fn emf_lines(log: &str) -> Vec<Emf> {
    log.lines().filter_map(|line| serde_json::from_str::<Value>(line).ok()).filter(|line| line.get("_aws").is_some()).map(|line| Emf::parse(&line)).collect()
}

fn event(file: &str) -> Value {
    lambda_harness::events::load(&lambda_harness::events::dir(), file)
}

// ---- the data --------------------------------------------------------------------------------

/// A fresh table in DynamoDB Local with the demo set and one service per extra name (Ada
/// admin, Teo tech, Bea billing); an app on it whose mails go to an outbox, to read tokens.
async fn seeded_table(tag: &str, services: &[String]) -> (String, App, Arc<MemoryMailer>) {
    let store = dynamo_store(tag, Arc::new(SystemClock)).await;
    let table = store.table().to_owned();
    let outbox = Arc::new(MemoryMailer::new());
    let config = Config { public_base_url: PUBLIC_BASE_URL.to_owned(), ..Config::default() };
    let app = App::new(store, outbox.clone(), Arc::new(SystemClock), config);
    let mut fixtures = Fixtures::demo();
    let extra: Vec<Value> = services.iter().map(|name| json!({"name": name, "admin": "ad1000-ovh", "tech": "te2000-ovh", "billing": "bi3000-ovh"})).collect();
    fixtures.services.extend(Fixtures::parse(&json!({ "services": extra }).to_string()).expect("valid fixtures").services);
    fixtures.load(&app).await.expect("the fixtures load into DynamoDB Local");
    (table, app, outbox)
}

/// Ada asks Ned as the new tech contact of `service`: a pending request that Ada and Ned
/// must confirm. Its id, and the token each of them was mailed (the app's own mailer delivers
/// the outbox, in process, to its outbox).
async fn pending_request(app: &App, outbox: &MemoryMailer, service: &str) -> (String, HashMap<String, String>) {
    let ada = AccountId::parse("ad1000-ovh").unwrap();
    let ned = AccountId::parse("ne4000-ovh").unwrap();
    let changes = app
        .create(&ada, &ServiceName::parse(service).unwrap(), vec![(Role::Tech, contacts_domain::ContactRef::Account(ned))])
        .await
        .expect("a pending request");
    let id = changes[0].id.to_string();
    app.deliver_outbox(time::OffsetDateTime::now_utc()).await.expect("the outbox is delivered");
    let tokens = outbox.sent().into_iter().filter(|m| m.text.contains(&id)).filter_map(|m| Some((m.to.as_str().to_owned(), token_in(&m.text)?))).collect();
    (id, tokens)
}

/// The tokens the SES emulator received for request `id`, by recipient; every such mail is
/// from MAIL_FROM.
fn ses_tokens(setup: &Setup, id: &str) -> BTreeMap<String, String> {
    let store = SesStore::read(&setup.emulators.ses_store);
    for mail in store.about(id) {
        assert_eq!(mail.from, MAIL_FROM, "every mail is from MAIL_FROM");
    }
    store.tokens_about(id)
}

/// The recipients of the SES emulator's mails about request `id`.
fn ses_recipients(setup: &Setup, id: &str) -> Vec<String> {
    SesStore::read(&setup.emulators.ses_store).about(id).flat_map(|mail| mail.to.clone()).collect()
}

/// The token of the email verification mailed to `address`.
fn verification_token(setup: &Setup, address: &str) -> String {
    SesStore::read(&setup.emulators.ses_store).token_to(address).unwrap_or_else(|| panic!("{address} received no verification mail"))
}

fn start_all(setup: &Setup, functions: &[Function], table: &str, tag: &str) -> HashMap<Function, Rie> {
    let mut started = HashMap::new();
    // One after the other: each RIE is listening within milliseconds; the bootstraps start
    // on their first invocation.
    for &function in functions {
        started.insert(function, start(setup, function, table, tag));
    }
    started
}

// ---- the tests -------------------------------------------------------------------------------

/// The records the mailer's tests hand it are real: what DynamoDB Local's stream gave for a
/// change made through the app (tests/src/streams.rs), keys only, in Lambda's event shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tables_stream_gives_the_keys_of_every_item_a_change_wrote_in_lambdas_event_shape() {
    let emulators = Emulators::from_env();
    let tag = unique_tag();
    let service = format!("stream-{tag}.example.org");
    let (table, app, outbox) = seeded_table(&tag, std::slice::from_ref(&service)).await;
    let (id, _tokens) = pending_request(&app, &outbox, &service).await;

    let records = streams::read_stream(&emulators.dynamodb, &table).await;
    let request = records.iter().find(|r| r.key("pk") == format!("REQUEST#{id}") && r.key("sk") == "REQUEST").expect("the request item's record");
    assert_eq!(request.event_name(), "INSERT");
    let event = streams::lambda_event([request]);
    let record = &event["Records"][0];
    assert_eq!((record["eventSource"].as_str(), record["eventVersion"].as_str()), (Some("aws:dynamodb"), Some("1.1")), "{record}");
    assert_eq!(record["dynamodb"]["StreamViewType"], "KEYS_ONLY", "{record}");
    assert!(record["dynamodb"].get("NewImage").is_none() && record["dynamodb"]["SequenceNumber"].is_string(), "keys only: {record}");
    let arn = record["eventSourceARN"].as_str().expect("the stream's ARN, as Lambda adds it");
    assert!(arn.contains(&format!(":table/{table}/stream/")), "{arn}");
    // Oldest first, each once: the fixtures' writes, then the change's.
    let sequence: Vec<&str> = records.iter().map(|r| r.sequence_number()).collect();
    let mut sorted = sequence.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sequence, sorted);
}

/// `events/bounces.ses-bounce.json` (SES's bounce through EventBridge, tagged with Ned's
/// account) on the bounces bootstrap: Ned's address is marked, and his profile shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bounce_event_marks_the_tagged_accounts_address_under_the_runtime_interface_emulator() {
    let setup = setup();
    let tag = unique_tag();
    let (table, app, _outbox) = seeded_table(&tag, &[]).await;
    let ned = AccountId::parse("ne4000-ovh").unwrap();
    assert_eq!(app.my_profile(&ned).await.unwrap().account.email_status, EmailStatus::Ok);

    let rie = start_binary(&setup, "bounces", &table, &tag, &[("METRICS_NAMESPACE", Some("Contacts/Rie"))]);
    let answer = rie.send_event(&mut rie.connect(), event("bounces.ses-bounce.json").to_string().as_bytes());
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or_else(|e| panic!("{e}: {}\n{}", String::from_utf8_lossy(&answer.body), rie.log_tail()));
    assert_eq!((answer.status, &body), (200, &json!({"marked": 1})), "{}", rie.log_tail());
    assert_eq!(app.my_profile(&ned).await.unwrap().account.email_status, EmailStatus::Bouncing);
    // The invocation's metrics, as the bootstrap printed them on stdout: one EMF line.
    let emf = emf_lines(&rie.log());
    assert_eq!(emf.len(), 1, "one line per invocation: {}", rie.log_tail());
    assert_eq!((emf[0].namespace.as_str(), emf[0].dimension("function")), ("Contacts/Rie", Some("bounces")));
    assert_eq!(emf[0].get(Metric::AddressesBouncing), Some(1.0), "{}", emf[0].line);
    assert!(emf[0].get(Metric::DynamoCalls).is_some_and(|n| n >= 1.0) && emf[0].get(Metric::Latency).is_some(), "{}", emf[0].line);

    let read = start(&setup, Function::Read, &table, &tag);
    let me = read.invoke(&event("read.get-me.json"));
    let me: Value = serde_json::from_str(&me.body).unwrap();
    assert_eq!((me["account"].as_str(), me["email_status"].as_str()), (Some("ad1000-ovh"), Some("ok")), "Ada's address is fine");
    let ned_me = read.invoke(&with_caller(&event("read.get-me.json"), "ne4000-ovh"));
    assert_eq!(serde_json::from_str::<Value>(&ned_me.body).unwrap()["email_status"], "bouncing", "{}", ned_me.body);
    let emf = emf_lines(&read.log());
    assert_eq!(emf.len(), 2, "one line per invocation: {}", read.log_tail());
    for line in &emf {
        assert_eq!((line.namespace.as_str(), line.dimension("function")), ("ServiceContacts", Some("read")), "{}", line.line);
        assert_eq!((line.get(Metric::DynamoCalls), line.get(Metric::AddressesBouncing)), (Some(1.0), None), "{}", line.line);
    }
}

/// The mailer's bootstrap under the RIE, fed what DynamoDB Local's stream really gave for a
/// change (tests/src/streams.rs) in Lambda's event shape, filtered as `MailerStream` filters:
/// each mail goes out through SES once and `mailed` is in the request's history; the same batch
/// again sends nothing; a batch with a record whose keys do not parse answers that record, and
/// only it, as failed, and still delivers the others. The sample event names no mail as it is,
/// and a request's first mail with that request's id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mailer_sends_the_mails_of_real_stream_records_once_and_answers_only_a_bad_record_as_failed() {
    let setup = setup();
    let tag = unique_tag();
    let services = [format!("mail-one-{tag}.example.org"), format!("mail-two-{tag}.example.org")];
    let (table, app, _outbox) = seeded_table(&tag, &services).await;
    let mailer = start_binary(&setup, "mailer", &table, &tag, &[]);
    let invoke = |event: &Value| -> Value {
        let answer = mailer.send_event(&mut mailer.connect(), event.to_string().as_bytes());
        assert_eq!(answer.status, 200, "{}\n{}", String::from_utf8_lossy(&answer.body), mailer.log_tail());
        serde_json::from_slice(&answer.body).unwrap_or_else(|e| panic!("{e}: {}\n{}", String::from_utf8_lossy(&answer.body), mailer.log_tail()))
    };
    let no_failures = json!({"batchItemFailures": []});

    // The sample as it is: a mail of no request, nothing to do.
    assert_eq!(invoke(&event("mailer.dynamodb-stream.json")), no_failures, "{}", mailer.log_tail());

    // Ada asks Ned as the new tech contact: three mail items (Ada's and Ned's codes, Teo told)
    // in the change's transaction, three INSERTs on the stream.
    let first = create_request(&app, &services[0]).await;
    assert!(ses_recipients(&setup, &first).is_empty(), "the change itself mails nobody");
    // The sample with this request's id: its creation's first mail, and only that one.
    assert_eq!(invoke(&with_id(&event("mailer.dynamodb-stream.json"), &first)), no_failures, "{}", mailer.log_tail());
    assert_eq!(ses_recipients(&setup, &first).len(), 1, "the sample's mail");
    let records = streams::read_stream(&setup.emulators.dynamodb, &table).await;
    let mails = mail_inserts_of(&records, &first);
    assert_eq!(mails.len(), 3, "{mails:?}");
    let batch = streams::lambda_event(mails.iter().copied());
    assert_eq!(invoke(&batch), no_failures, "{}", mailer.log_tail());
    assert_mailed_once(&setup, &app, &first, &[ADA, NED, TEO]).await;
    let tokens = ses_tokens(&setup, &first);
    assert!(tokens.contains_key(ADA) && tokens.contains_key(NED) && !tokens.contains_key(TEO), "codes to the parties only: {tokens:?}");

    // Lambda retries a batch as it was: nothing is sent twice.
    assert_eq!(invoke(&batch), no_failures, "{}", mailer.log_tail());
    assert_mailed_once(&setup, &app, &first, &[ADA, NED, TEO]).await;

    // A second change's records, every one the stream gave (not only the mails: the filter is
    // the mapping's, and the function ignores the rest anyway), with a mail item whose key does
    // not parse among them.
    let second = create_request(&app, &services[1]).await;
    let records = streams::read_stream(&setup.emulators.dynamodb, &table).await;
    let ours: Vec<&streams::StreamRecord> = records.iter().filter(|r| r.key("pk") == format!("REQUEST#{second}")).collect();
    assert!(ours.iter().any(|r| !Template::deployed().stream_mapping_of("mailer").lets_through(&r.record)), "the request item's own record is there too");
    let mut event = streams::lambda_event(ours.iter().copied());
    let mut bad = event["Records"][0].clone();
    bad["eventName"] = json!("INSERT");
    bad["dynamodb"]["Keys"]["sk"]["S"] = json!("MAIL#not-a-version#00");
    bad["dynamodb"]["SequenceNumber"] = json!("999999999999999999999");
    event["Records"].as_array_mut().unwrap().insert(1, bad);
    let answer = invoke(&event);
    assert_eq!(answer, json!({"batchItemFailures": [{"itemIdentifier": "999999999999999999999"}]}), "{}", mailer.log_tail());
    assert_mailed_once(&setup, &app, &second, &[ADA, NED, TEO]).await;
    assert_mailed_once(&setup, &app, &first, &[ADA, NED, TEO]).await;
}

/// SES unreachable (its endpoint a closed port): every mail record of the batch is answered as
/// failed, nothing is lost, and Lambda's retry of the same records, with SES back, sends each
/// mail once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mailer_answers_the_mails_it_could_not_send_as_failed_and_the_retry_sends_them() {
    let setup = setup();
    let tag = unique_tag();
    let service = format!("mail-down-{tag}.example.org");
    let (table, app, _outbox) = seeded_table(&tag, std::slice::from_ref(&service)).await;
    let id = create_request(&app, &service).await;
    let records = streams::read_stream(&setup.emulators.dynamodb, &table).await;
    let mails = mail_inserts_of(&records, &id);
    let batch = streams::lambda_event(mails.iter().copied()).to_string();

    let closed = lambda_harness::free_address();
    let down = start_binary(&setup, "mailer", &table, &tag, &[("AWS_ENDPOINT_URL_SESV2", Some(&format!("http://{closed}")))]);
    let answer = down.send_event(&mut down.connect(), batch.as_bytes());
    let answer: Value = serde_json::from_slice(&answer.body).unwrap_or_else(|e| panic!("{e}\n{}", down.log_tail()));
    let failed: Vec<&str> =
        answer["batchItemFailures"].as_array().expect("a partial batch response").iter().filter_map(|f| f["itemIdentifier"].as_str()).collect();
    let all: Vec<&str> = mails.iter().map(|r| r.sequence_number()).collect();
    assert_eq!(failed, all, "every mail failed, by its record: {answer}\n{}", down.log_tail());
    assert!(ses_recipients(&setup, &id).is_empty(), "nothing reached SES");
    drop(down);

    let up = start_binary(&setup, "mailer", &table, &tag, &[]);
    let answer = up.send_event(&mut up.connect(), batch.as_bytes());
    assert_eq!(String::from_utf8_lossy(&answer.body), r#"{"batchItemFailures":[]}"#, "{}", up.log_tail());
    assert_mailed_once(&setup, &app, &id, &[ADA, NED, TEO]).await;
}

/// Ada (admin) asks Ned as the new tech contact of `service`: the request's id.
async fn create_request(app: &App, service: &str) -> String {
    let ada = AccountId::parse("ad1000-ovh").unwrap();
    let ned = AccountId::parse("ne4000-ovh").unwrap();
    let changes = app
        .create(&ada, &ServiceName::parse(service).unwrap(), vec![(Role::Tech, contacts_domain::ContactRef::Account(ned))])
        .await
        .expect("a pending request");
    changes[0].id.to_string()
}

/// The records the mailer's event source mapping (template.yaml's `MailerStream`) lets through
/// for request `id`.
fn mail_inserts_of<'a>(records: &'a [streams::StreamRecord], id: &str) -> Vec<&'a streams::StreamRecord> {
    let mailer = Template::deployed().stream_mapping_of("mailer");
    records.iter().filter(|r| mailer.lets_through(&r.record) && r.key("pk") == format!("REQUEST#{id}")).collect()
}

/// What Lambda does with the table's stream: every record of it for request `id` that
/// `MailerStream` lets through, in one batch, to the mailer under the RIE (those it sent
/// already it skips). Panics unless every record was delivered.
async fn mail_through_the_stream(setup: &Setup, table: &str, mailer: &Rie, id: &str) {
    let records = streams::read_stream(&setup.emulators.dynamodb, table).await;
    let event = streams::lambda_event(mail_inserts_of(&records, id));
    let answer = mailer.send_event(&mut mailer.connect(), event.to_string().as_bytes());
    assert_eq!(String::from_utf8_lossy(&answer.body), r#"{"batchItemFailures":[]}"#, "{}", mailer.log_tail());
}

/// The SES emulator holds exactly one mail about request `id` for each of `addresses`, and
/// the request's history has `mailed` once per mail.
async fn assert_mailed_once(setup: &Setup, app: &App, id: &str, addresses: &[&str]) {
    let mut recipients = ses_recipients(setup, id);
    recipients.sort();
    let mut expected: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
    expected.sort();
    assert_eq!(recipients, expected, "one mail each about {id}");
    let ada = AccountId::parse("ad1000-ovh").unwrap();
    let change = app.contact_change(&ada, id.parse().unwrap()).await.expect("Ada reads her request");
    let mailed = change.history.iter().filter(|e| e.event == HistoryEvent::Mailed).count();
    assert_eq!(mailed, addresses.len(), "{:?}", change.history);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_gets_the_status_the_spec_gives_under_the_runtime_interface_emulator() {
    let setup = setup();
    let tag = unique_tag();
    // One pending request per event that acts on an existing one, each on its own service
    // (one pending request per role and service).
    let purposes = ["read", "accept", "refuse", "resend", "cancel", "page", "form", "provider", "details"];
    let services: Vec<String> = purposes.iter().map(|p| format!("rie-{p}-{tag}.example.com")).collect();
    let (table, app, outbox) = seeded_table(&tag, &services).await;
    let mut requests = HashMap::new();
    for (purpose, service) in purposes.iter().zip(&services) {
        requests.insert(*purpose, pending_request(&app, &outbox, service).await);
    }
    let rie = start_all(&setup, &Function::ALL, &table, &tag);
    let on = |file: &str| -> &Rie {
        let function = Function::ALL.into_iter().find(|f| file.starts_with(&format!("{}.", f.name()))).expect("a function's event");
        &rie[&function]
    };
    let id_of = |purpose: &str| requests[purpose].0.clone();
    let token_of =
        |purpose: &str, address: &str| requests[purpose].1.get(address).cloned().unwrap_or_else(|| panic!("{address} got no token for the {purpose} request"));

    // Each event as it is, or with a seeded request's id (and a party's token): the status.
    let mut checked = Vec::new();
    let mut expect = |file: &str, status: u16, answer: Response| {
        assert_eq!(answer.status, status, "{file}: {}\n{}", answer.body, on(file).log_tail());
        checked.push(file.to_owned());
        answer
    };

    let file = "read.get-me.json";
    let me = expect(file, 200, on(file).invoke(&event(file)));
    assert_eq!(me.json()["account"], "ad1000-ovh");
    assert!(me.content_type().starts_with("application/json"));

    let file = "profile.patch-me.json";
    let profile = expect(file, 200, on(file).invoke(&event(file)));
    assert_eq!((profile.json()["account"].as_str(), profile.json()["language"].as_str()), (Some("ne4000-ovh"), Some("it")));

    let file = "read.get-me-services.json";
    let services_page = expect(file, 200, on(file).invoke(&event(file))).json();
    let names: Vec<&str> = services_page["services"].as_array().unwrap().iter().filter_map(|s| s["service"].as_str()).collect();
    assert!(names.contains(&"example.com") && names.contains(&"vps-42.example.net"), "{names:?}");

    let file = "read.get-services.json";
    let service = expect(file, 200, on(file).invoke(&event(file))).json();
    assert_eq!(service["contacts"]["admin"], "ad1000-ovh");

    let file = "create.post-services-contact-changes.json";
    let created = expect(file, 201, on(file).invoke(&event(file))).json();
    assert_eq!(created["requests"][0]["state"], "pending");
    assert_eq!(created["requests"][0]["to"], "ne4000-ovh");

    let file = "read.get-me-contact-changes.json";
    let listed = expect(file, 200, on(file).invoke(&event(file))).json();
    let listed = listed["requests"].as_array().unwrap().clone();
    assert!(listed.len() >= purposes.len() && listed.iter().all(|r| r["state"] == "pending"), "{listed:?}");

    let file = "read.get-contact-changes.json";
    let one = expect(file, 200, on(file).invoke(&with_id(&event(file), &id_of("read")))).json();
    assert_eq!(one["id"], id_of("read").as_str());

    let file = "confirm.post-contact-changes-accept.json";
    let accept = with_id(&event(file), &id_of("accept"));
    let wrong = expect(file, 403, on(file).invoke(&accept));
    assert!(wrong.content_type().starts_with("application/problem+json"), "{wrong:?}");
    let accepted = expect(file, 200, on(file).invoke(&with_token(&accept, &token_of("accept", ADA)))).json();
    assert_eq!(accepted["state"], "pending", "Ned has yet to accept");

    let file = "confirm.post-contact-changes-refuse.json";
    let refuse = with_id(&event(file), &id_of("refuse"));
    expect(file, 403, on(file).invoke(&refuse));
    let refused = expect(file, 200, on(file).invoke(&with_token(&refuse, &token_of("refuse", NED)))).json();
    assert_eq!(refused["state"], "refused");

    let file = "resend.post-contact-changes-resend.json";
    let resent = expect(file, 202, on(file).invoke(&with_id(&event(file), &id_of("resend")))).json();
    assert_eq!(resent["state"], "pending");

    let file = "confirm.post-contact-changes-cancel.json";
    let cancelled = expect(file, 200, on(file).invoke(&with_id(&event(file), &id_of("cancel")))).json();
    assert_eq!(cancelled["state"], "cancelled");

    let file = "confirm.get-confirm.json";
    let page = expect(file, 200, on(file).invoke(&with_id(&event(file), &id_of("page"))));
    assert!(page.content_type().starts_with("text/html"), "{page:?}");
    assert_eq!(page.headers.get("cache-control").map(String::as_str), Some("no-store"));
    assert!(page.body.contains(&id_of("page")));
    assert!(!page.body.contains("ne4000-ovh") && !page.body.contains("Ned Newcomer"), "the id alone names nobody: {page:?}");

    let file = "confirm.post-confirm.json";
    let form = with_id(&event(file), &id_of("form"));
    let wrong = expect(file, 403, on(file).invoke(&form));
    assert!(wrong.content_type().starts_with("text/html"), "the page's errors are pages: {wrong:?}");
    let answered = expect(file, 303, on(file).invoke(&with_token(&form, &token_of("form", ADA))));
    assert_eq!(answered.headers.get("location"), Some(&format!("{}?answered=accept", id_of("form"))), "to the outcome's page: {answered:?}");

    // The page's script reads who is involved with the code: the placeholder reads nobody.
    let file = "confirm.post-confirm-details.json";
    let read = with_id(&event(file), &id_of("details"));
    let wrong = expect(file, 403, on(file).invoke(&read));
    assert!(wrong.content_type().starts_with("application/problem+json") && !wrong.body.contains("Ned"), "{wrong:?}");
    let named = expect(file, 200, on(file).invoke(&with_token(&read, &token_of("details", NED))));
    assert_eq!(named.headers.get("cache-control").map(String::as_str), Some("no-store"));
    let named = named.json();
    assert_eq!((named["to"]["account"].as_str(), named["to"]["name"].as_str()), (Some("ne4000-ovh"), Some("Ned Newcomer")), "{named}");
    assert_eq!(named["requested_by"]["account"], "ad1000-ovh");

    let file = "provider.put-internal-accounts.json";
    let account = expect(file, 200, on(file).invoke(&event(file))).json();
    assert_eq!((account["id"].as_str(), account["payment_status"].as_str()), (Some("gi6000-ovh"), Some("ok")));

    // The account just made holds nothing: erased (SPEC §8), then gone; one with a role is refused.
    let file = "provider.delete-internal-accounts.json";
    let erased = expect(file, 204, on(file).invoke(&event(file)));
    assert!(erased.body.is_empty(), "{erased:?}");
    assert_eq!(expect(file, 404, on(file).invoke(&event(file))).json()["code"], "not_found");
    let teo = serde_json::from_str(&event(file).to_string().replace("gi6000-ovh", "te2000-ovh")).expect("still JSON");
    assert_eq!(expect(file, 409, on(file).invoke(&teo)).json()["code"], "account_in_use");

    let file = "provider.put-internal-services.json";
    let service = expect(file, 200, on(file).invoke(&event(file))).json();
    assert_eq!((service["name"].as_str(), service["pending_changes"].clone()), (Some("shop.example.org"), json!([])));
    // Provisioning moves the tech role of a service with a pending request for it: the
    // answer names the request, which can no longer take effect.
    let moved = with_json_body(&for_service(&event(file), &services[7]), &json!({"admin": "ad1000-ovh", "tech": "bi3000-ovh", "billing": "bi3000-ovh"}));
    let moved = expect(file, 200, on(file).invoke(&moved)).json();
    assert_eq!(
        moved["pending_changes"],
        json!([{"request": id_of("provider"), "role": "tech", "from": "te2000-ovh", "to": "bi3000-ovh", "reason": "holders_changed"}])
    );

    // Email changes through the Profile function: the page (which changes nothing), the
    // placeholder token (403, a problem or a page), then a real change verified by the API
    // (Ned) and by the page's form (Ada), with the tokens the SES emulator received.
    let file = "profile.get-verify-email.json";
    let page = expect(file, 200, on(file).invoke(&event(file)));
    assert!(page.content_type().starts_with("text/html") && page.body.contains("name=\"token\""), "{page:?}");
    assert_eq!(page.headers.get("cache-control").map(String::as_str), Some("no-store"));
    let file = "profile.post-me-email-verification.json";
    let wrong = expect(file, 403, on(file).invoke(&event(file)));
    assert_eq!(wrong.json()["code"], "token_mismatch");
    let file = "profile.post-verify-email.json";
    let wrong = expect(file, 403, on(file).invoke(&event(file)));
    assert!(wrong.content_type().starts_with("text/html"), "{wrong:?}");
    for (caller, verification) in [("ne4000-ovh", "profile.post-me-email-verification.json"), ("ad1000-ovh", "profile.post-verify-email.json")] {
        let new = format!("{}.{tag}@example.org", &caller[..2]);
        let current = app.my_profile(&AccountId::parse(caller).unwrap()).await.unwrap().account.email;
        let patch = with_caller(&with_json_body(&event("profile.patch-me.json"), &json!({ "email": new })), caller);
        let asked = expect("profile.patch-me.json", 200, on("profile.patch-me.json").invoke(&patch)).json();
        assert_eq!((asked["account"].as_str(), asked["pending_email"].as_str()), (Some(caller), Some(new.as_str())));
        // Both addresses send their code back (SPEC §5): the current one's first, which moves nothing.
        let agreed = verification_token(&setup, current.as_str());
        let half = expect(verification, 200, on(verification).invoke(&with_token(&event(verification), &agreed)));
        assert!(half.body.contains(&new), "{half:?}");
        assert_eq!(app.my_profile(&AccountId::parse(caller).unwrap()).await.unwrap().account.email, current, "one code of two");
        let token = verification_token(&setup, &new);
        let verified = expect(verification, 200, on(verification).invoke(&with_token(&event(verification), &token)));
        assert!(verified.body.contains(&new), "{verified:?}");
        assert_eq!(app.my_profile(&AccountId::parse(caller).unwrap()).await.unwrap().account.email.as_str(), new, "{caller}'s address moved");
    }

    // The control panel: the page, its sign-in (no issuer here: not configured), an asset by
    // its hashed name (the event's placeholder name is none).
    let file = "panel.get.json";
    let page = expect(file, 200, on(file).invoke(&event(file)));
    assert!(page.content_type().starts_with("text/html") && page.body.contains("src=\"panel/app."), "{page:?}");
    assert_eq!(page.headers.get("cache-control").map(String::as_str), Some("no-store"));
    assert!(page.headers.get("content-security-policy").is_some_and(|csp| csp.contains("script-src 'self';")), "{page:?}");
    let file = "panel.get-panel-config.json";
    let config = expect(file, 200, on(file).invoke(&event(file))).json();
    assert_eq!(config["sign_in"], "none", "deployed without JWT_ISSUER, nobody signs in: {config}");
    let file = "panel.get-panel.json";
    expect(file, 404, on(file).invoke(&event(file)));
    let app_js = &contacts_api::panel::BUILT.assets.iter().find(|a| a.name.starts_with("app.")).expect("app.js").name;
    let named = serde_json::from_str(&event(file).to_string().replace("app.000000000000.js", app_js)).expect("still JSON");
    let asset = expect(file, 200, on(file).invoke(&named));
    assert!(asset.content_type().starts_with("text/javascript"), "{asset:?}");
    assert_eq!(asset.headers.get("cache-control").map(String::as_str), Some("public, max-age=31536000, immutable"));

    // A batch (SPEC §7) through the functions: Ada moves the tech role of vps-42 (hers) and of
    // example.com (a request pends on it since the create above: left out, with its problem).
    let file = "create.post-contact-change-batches.json";
    let body = json!({"services": ["vps-42.example.net", "example.com"], "tech": "ne4000-ovh"});
    let created = expect(file, 201, on(file).invoke(&with_json_body(&event(file), &body))).json();
    assert_eq!(created["parts"][1]["problem"]["code"], "pending_exists", "{created}");
    let batch = created["batch"]["id"].as_str().expect("a batch id").to_owned();
    let file = "read.get-contact-change-batches.json";
    assert_eq!(expect(file, 200, on(file).invoke(&with_id(&event(file), &batch))).json()["services"], json!(["vps-42.example.net"]));
    let file = "read.get-me-contact-change-batches.json";
    let listed = expect(file, 200, on(file).invoke(&event(file))).json();
    assert!(listed["batches"].as_array().unwrap().iter().any(|b| b["id"] == batch.as_str()), "{listed}");
    for file in ["confirm.post-contact-change-batches-accept.json", "confirm.post-contact-change-batches-refuse.json"] {
        assert_eq!(expect(file, 403, on(file).invoke(&with_id(&event(file), &batch))).json()["code"], "token_mismatch");
    }
    let file = "resend.post-contact-change-batches-resend.json";
    assert_eq!(expect(file, 202, on(file).invoke(&with_id(&event(file), &batch))).json()["state"], "pending");
    let file = "confirm.get-confirm-batch.json";
    let page = expect(file, 200, on(file).invoke(&with_id(&event(file), &batch)));
    assert!(page.body.contains("vps-42.example.net") && !page.body.contains("Ned Newcomer"), "the id alone names nobody: {page:?}");
    for file in ["confirm.post-confirm-batch.json", "confirm.post-confirm-batch-details.json"] {
        expect(file, 403, on(file).invoke(&with_id(&event(file), &batch)));
    }
    let file = "confirm.post-contact-change-batches-cancel.json";
    assert_eq!(expect(file, 200, on(file).invoke(&with_id(&event(file), &batch))).json()["state"], "cancelled");

    // SPEC §8: everything held about Ada in one document, her requests and the batch above with them.
    let file = "read.get-me-data.json";
    let data = expect(file, 200, on(file).invoke(&event(file)));
    assert!(data.headers.get("content-disposition").is_some_and(|d| d.starts_with("attachment; filename=\"contacts-data-ad1000-ovh-")), "{data:?}");
    let data = data.json();
    assert_eq!(data["profile"]["account"], "ad1000-ovh");
    assert!(data["batches"].as_array().unwrap().iter().any(|b| b["id"] == batch.as_str() && b["state"] == "cancelled"), "{data}");
    let ids: Vec<&str> = data["requests"].as_array().unwrap().iter().filter_map(|r| r["id"].as_str()).collect();
    assert!(ids.contains(&id_of("read").as_str()) && ids.contains(&id_of("cancel").as_str()), "{ids:?}");

    // As they are, the events that name a request name none that exists.
    for file in [
        "read.get-contact-changes.json",
        "confirm.post-contact-changes-accept.json",
        "confirm.post-contact-changes-refuse.json",
        "resend.post-contact-changes-resend.json",
        "confirm.post-contact-changes-cancel.json",
        "confirm.get-confirm.json",
        "confirm.post-confirm.json",
        "confirm.post-confirm-details.json",
        "read.get-contact-change-batches.json",
        "confirm.post-contact-change-batches-accept.json",
        "resend.post-contact-change-batches-resend.json",
        "confirm.get-confirm-batch.json",
    ] {
        expect(file, 404, on(file).invoke(&event(file)));
    }

    // Every file of events/ was invoked (the sweeper's, the bounces function's, the mailer's and the publisher's
    // events by tests of their own: no route, no HTTP response).
    let mut all = lambda_harness::events::names(&lambda_harness::events::dir());
    all.retain(|name| !name.starts_with("sweeper.") && !name.starts_with("bounces.") && !name.starts_with("mailer.") && !name.starts_with("publisher."));
    checked.sort();
    checked.dedup();
    assert_eq!(checked, all, "every event is invoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_identity_is_the_authorizers_claim_and_never_a_header() {
    let setup = setup();
    let tag = unique_tag();
    let (table, _app, _outbox) = seeded_table(&tag, &[]).await;
    let read = start(&setup, Function::Read, &table, &tag);

    let mut no_authorizer = event("read.get-me.json");
    no_authorizer["requestContext"].as_object_mut().unwrap().remove("authorizer");
    no_authorizer["headers"]["authorization"] = json!("Bearer ad1000-ovh");
    no_authorizer["headers"]["x-account-id"] = json!("ad1000-ovh");
    let answer = read.invoke(&no_authorizer);
    assert_eq!(answer.status, 401, "{answer:?}");

    let malformed = with_caller(&event("read.get-me.json"), "not-an-account");
    assert_eq!(read.invoke(&malformed).status, 401);

    // Another function's route: API Gateway never sends it here; the function knows only its own.
    let answer = read.invoke(&event("profile.patch-me.json"));
    assert_eq!(answer.status, 405, "{answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_internal_api_takes_the_iam_principal_and_never_a_customer() {
    let setup = setup();
    let tag = unique_tag();
    let (table, app, _outbox) = seeded_table(&tag, &[]).await;
    let provider = start(&setup, Function::Provider, &table, &tag);
    let overdue_ada = json!({"name": "Ada Admin", "email": ADA, "payment_status": "overdue"});
    let put_ada = |event: Value| {
        let raw_path = "/internal/accounts/ad1000-ovh";
        let mut event = with_json_body(&event, &overdue_ada);
        event["rawPath"] = json!(raw_path);
        event["requestContext"]["http"]["path"] = json!(raw_path);
        event["pathParameters"]["id"] = json!("ad1000-ovh");
        event
    };

    // No IAM context, whatever the headers say: 401. A customer's verified JWT instead: 403.
    let mut unsigned = put_ada(event("provider.put-internal-accounts.json"));
    unsigned["requestContext"].as_object_mut().unwrap().remove("authorizer");
    unsigned["headers"]["authorization"] = json!("Bearer ad1000-ovh");
    let answer = provider.invoke(&unsigned);
    assert_eq!(answer.status, 401, "{answer:?}");
    let mut customer = put_ada(event("provider.put-internal-accounts.json"));
    customer["requestContext"]["authorizer"] = event("read.get-me.json")["requestContext"]["authorizer"].clone();
    let answer = provider.invoke(&customer);
    assert_eq!(answer.status, 403, "{answer:?}");
    let ada = AccountId::parse("ad1000-ovh").unwrap();
    assert_eq!(app.my_profile(&ada).await.unwrap().account.payment_status.as_str(), "ok", "nothing was written");

    // Signed, but by a principal no ProviderPrincipals names (the template's default names
    // none): 403, nothing written.
    let unnamed = start_with(&setup, Function::Provider, &table, &tag, &[("PROVIDER_PRINCIPALS", None)]);
    let answer = unnamed.invoke(&put_ada(event("provider.put-internal-accounts.json")));
    assert_eq!(answer.status, 403, "{answer:?}");
    assert_eq!(app.my_profile(&ada).await.unwrap().account.payment_status.as_str(), "ok", "nothing was written");

    // Signed by a named principal: written, and the principal is in the function's log, as the
    // audit trail.
    let answer = provider.invoke(&put_ada(event("provider.put-internal-accounts.json")));
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(app.my_profile(&ada).await.unwrap().account.payment_status.as_str(), "overdue");
    assert!(provider.log_tail().contains("arn:aws:iam::123456789012:role/billing-sync"), "{}", provider.log_tail());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_goes_through_the_functions_from_request_to_new_contacts() {
    let setup = setup();
    let tag = unique_tag();
    let service = format!("flow-{tag}.example.org");
    let (table, _app, _outbox) = seeded_table(&tag, std::slice::from_ref(&service)).await;
    let rie = start_all(&setup, &[Function::Create, Function::Confirm, Function::Read], &table, &tag);
    let mailer = start_binary(&setup, "mailer", &table, &tag, &[]);

    // Ada (admin) asks for Ned as the new tech contact.
    let create = with_json_body(&for_service(&event("create.post-services-contact-changes.json"), &service), &json!({"tech": "ne4000-ovh"}));
    let created = rie[&Function::Create].invoke(&create);
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["requests"][0]["id"].as_str().expect("the request's id").to_owned();

    // The table's stream takes the mails to the mailer: both parties get their own token
    // through SES; Teo, the previous holder, is informed.
    mail_through_the_stream(&setup, &table, &mailer, &id).await;
    let tokens = ses_tokens(&setup, &id);
    let (ada, ned) = (tokens.get(ADA).expect("Ada's token in the SES emulator"), tokens.get(NED).expect("Ned's token in the SES emulator"));
    assert_ne!(ada, ned, "each party has its own token");
    assert!(ses_recipients(&setup, &id).iter().any(|to| to == TEO), "the previous holder is informed");

    // Ada accepts through the API, Ned through the emailed link's page.
    let accept = with_token(&with_id(&event("confirm.post-contact-changes-accept.json"), &id), ada);
    let accepted = rie[&Function::Confirm].invoke(&accept);
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(accepted.json()["state"], "pending");
    let form = with_token(&with_id(&event("confirm.post-confirm.json"), &id), ned);
    let page = rie[&Function::Confirm].invoke(&form);
    assert_eq!(page.status, 303, "{}", page.body);

    // The contacts changed, and the request is done.
    let read = rie[&Function::Read].invoke(&for_service(&event("read.get-services.json"), &service));
    assert_eq!(read.status, 200, "{}", read.body);
    let contacts = &read.json()["contacts"];
    assert_eq!(
        (contacts["admin"].as_str(), contacts["tech"].as_str(), contacts["billing"].as_str()),
        (Some("ad1000-ovh"), Some("ne4000-ovh"), Some("bi3000-ovh"))
    );
    let done = rie[&Function::Read].invoke(&with_id(&event("read.get-contact-changes.json"), &id));
    assert_eq!(done.json()["state"], "done", "{}", done.body);
    // And the outcome is mailed to both parties and to Teo.
    mail_through_the_stream(&setup, &table, &mailer, &id).await;
    let outcome: Vec<String> =
        SesStore::read(&setup.emulators.ses_store).about(&id).filter(|m| token_in(&m.text).is_none()).flat_map(|m| m.to.clone()).collect();
    for address in [ADA, NED] {
        assert!(outcome.iter().any(|to| to == address), "{address} was told the outcome: {outcome:?}");
    }

    // A spent token spends nothing twice.
    let again = rie[&Function::Confirm].invoke(&form);
    assert_eq!(again.status, 409, "{}", again.body);

    // The functions logged the request's id, and never a token.
    let logs: String = rie.values().chain([&mailer]).map(Rie::log).collect();
    assert!(logs.contains(&format!("\"contact_change\":\"{id}\"")), "the invocations' log lines carry the request id");
    // Every line written within an invocation (the router's, the use cases', the mailer's in a
    // mail's span, the runtime's) names Lambda's request id one way: `span.lambda_request_id`.
    let spans: Vec<Value> = logs.lines().filter_map(|line| serde_json::from_str::<Value>(line).ok()).filter_map(|line| line.get("span").cloned()).collect();
    assert!(spans.iter().any(|span| span["name"] == "mail"), "the mailer's lines in a mail's span are among them");
    assert!(spans.iter().any(|span| span["name"] == "answer" && span["contact_change"] == id.as_str()), "and the use cases' lines in their spans");
    for span in &spans {
        assert!(span["lambda_request_id"].as_str().is_some_and(|id| !id.is_empty()), "a line without span.lambda_request_id: {span}");
        assert!(span.get("requestId").is_none() && span.get("request_id").is_none(), "another name for the request id: {span}");
    }
    for token in [ada, ned] {
        assert!(!logs.contains(token.as_str()), "a token is in the functions' logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_on_its_scheduled_event_ends_an_expired_request_and_mails_the_notices_through_ses() {
    let setup = setup();
    let tag = unique_tag();
    let service = format!("sweep-{tag}.example.org");
    // A request made 8 days ago (7 days to live): expired a day ago, and nobody read it since.
    let past = Arc::new(integration_tests::ManualClock::new());
    past.advance(time::Duration::days(-8));
    let store = dynamo_store(&tag, past.clone()).await;
    let table = store.table().to_owned();
    let outbox = Arc::new(MemoryMailer::new());
    let config = Config { public_base_url: PUBLIC_BASE_URL.to_owned(), ..Config::default() };
    let app = App::new(store.clone(), outbox.clone(), past, config);
    let mut fixtures = Fixtures::demo();
    let extra = json!({ "services": [{"name": service, "admin": "ad1000-ovh", "tech": "te2000-ovh", "billing": "bi3000-ovh"}] });
    fixtures.services.extend(Fixtures::parse(&extra.to_string()).expect("valid fixtures").services);
    fixtures.load(&app).await.expect("the fixtures load into DynamoDB Local");
    let (id, _tokens) = pending_request(&app, &outbox, &service).await;

    let rie = start_binary(&setup, "sweeper", &table, &tag, &[]);
    let answer = rie.send_event(&mut rie.connect(), event("sweeper.scheduled.json").to_string().as_bytes());
    let body = String::from_utf8_lossy(&answer.body).into_owned();
    assert_eq!(answer.status, 200, "{body}\n{}", rie.log_tail());
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("a JSON report"),
        json!({"expired": 1, "reminded": 0, "redelivered": 0, "republished": 0, "purged": 0, "batches": {"expired": 0, "reminded": 0, "finished": 0, "discarded": 0}}),
        "{}",
        rie.log_tail()
    );

    // Ended in the table, its locks gone; every party and the requester told through SES.
    let stored = contacts_app::ports::Requests::contact_change(store.as_ref(), id.parse().unwrap()).await.unwrap().expect("the request");
    assert_eq!(stored.state.as_str(), "expired");
    let record = contacts_app::ports::Services::service(store.as_ref(), &ServiceName::parse(&service).unwrap()).await.unwrap().expect("the service");
    assert!(record.locks.is_empty(), "{:?}", record.locks);
    // The notices are mail items of the sweep's save: the stream takes them to the mailer.
    mail_through_the_stream(&setup, &table, &start_binary(&setup, "mailer", &table, &tag, &[]), &id).await;
    let notices: Vec<String> =
        SesStore::read(&setup.emulators.ses_store).about(&id).filter(|mail| mail.text.contains("expired")).flat_map(|mail| mail.to.clone()).collect();
    for address in [ADA, NED] {
        assert!(notices.iter().any(|to| to == address), "{address} got no expiry notice: {notices:?}");
    }
    // A second run finds nothing.
    let again = rie.send_event(&mut rie.connect(), event("sweeper.scheduled.json").to_string().as_bytes());
    let again: Value = serde_json::from_slice(&again.body).expect("a JSON report");
    let nothing = json!({"expired": 0, "reminded": 0, "redelivered": 0, "republished": 0, "purged": 0, "batches": {"expired": 0, "reminded": 0, "finished": 0, "discarded": 0}});
    assert_eq!(again, nothing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_debug_no_token_reaches_any_log_of_the_functions_or_the_rie() {
    let setup = setup();
    let tag = unique_tag();
    let service = format!("debug-{tag}.example.org");
    let (table, _app, _outbox) = seeded_table(&tag, std::slice::from_ref(&service)).await;
    // The most verbose level the template allows (LogLevel), as the template passes it (LOG_LEVEL)
    // beside Lambda's own filter (ApplicationLogLevel, always DEBUG).
    let debug: [EnvChange; 3] = [("LOG_LEVEL", Some("DEBUG")), ("AWS_LAMBDA_LOG_LEVEL", Some("DEBUG")), ("RUST_LOG", None)];
    let mut rie = HashMap::new();
    for function in [Function::Create, Function::Resend, Function::Confirm, Function::Read, Function::Profile] {
        rie.insert(function, start_with(&setup, function, &table, &tag, &debug));
    }
    // The mailer renders every token into its mail: its log is checked too.
    let mailer = start_binary(&setup, "mailer", &table, &tag, &debug);
    // Every body sent that held a token, as sent (the form's is base64): none may be logged either.
    let mut sent_with_tokens: Vec<String> = Vec::new();

    // The whole change through the functions, step by step (each step reads the tokens it
    // needs from the SES emulator). Ada (admin) asks for Ned as the new tech contact.
    let create = with_json_body(&for_service(&event("create.post-services-contact-changes.json"), &service), &json!({"tech": "ne4000-ovh"}));
    let created = rie[&Function::Create].invoke(&create);
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["requests"][0]["id"].as_str().expect("the request's id").to_owned();
    mail_through_the_stream(&setup, &table, &mailer, &id).await;
    let first = ses_tokens(&setup, &id);
    assert!(first.contains_key(ADA) && first.contains_key(NED), "both parties were mailed: {first:?}");

    // Ada has the emails sent again: fresh tokens, the first ones dead.
    let resent = rie[&Function::Resend].invoke(&with_id(&event("resend.post-contact-changes-resend.json"), &id));
    assert_eq!(resent.status, 202, "{}", resent.body);
    mail_through_the_stream(&setup, &table, &mailer, &id).await;
    let fresh = ses_tokens(&setup, &id);
    let (ada, ned) = (fresh[ADA].clone(), fresh[NED].clone());
    assert!(ada != first[ADA] && ned != first[NED], "the resend mailed fresh tokens");

    // Ada accepts through the API, Ned through the emailed link's page.
    let accept = with_token(&with_id(&event("confirm.post-contact-changes-accept.json"), &id), &ada);
    sent_with_tokens.push(accept["body"].as_str().unwrap_or_default().to_owned());
    let accepted = rie[&Function::Confirm].invoke(&accept);
    assert_eq!((accepted.status, accepted.json()["state"].as_str()), (200, Some("pending")), "{}", accepted.body);
    let form = with_token(&with_id(&event("confirm.post-confirm.json"), &id), &ned);
    sent_with_tokens.push(form["body"].as_str().unwrap_or_default().to_owned());
    let page = rie[&Function::Confirm].invoke(&form);
    assert_eq!(page.status, 303, "{}", page.body);

    let done = rie[&Function::Read].invoke(&with_id(&event("read.get-contact-changes.json"), &id));
    assert_eq!(done.json()["state"], "done", "{}", done.body);

    // Ned changes his address: the new one gets a verification link, and he verifies it
    // through the public page's form.
    let new = format!("ne.debug.{tag}@example.org");
    let patch = with_caller(&with_json_body(&event("profile.patch-me.json"), &json!({ "email": new })), "ne4000-ovh");
    let asked = rie[&Function::Profile].invoke(&patch);
    assert_eq!((asked.status, asked.json()["pending_email"].as_str()), (200, Some(new.as_str())), "{}", asked.body);
    let verification = verification_token(&setup, &new);
    let verify = with_token(&event("profile.post-verify-email.json"), &verification);
    sent_with_tokens.push(verify["body"].as_str().unwrap_or_default().to_owned());
    let verified = rie[&Function::Profile].invoke(&verify);
    assert!(verified.status == 200 && verified.body.contains(&new), "{}", verified.body);

    // Every token the SES emulator ever got (this change's four, and any other), against
    // every byte the RIEs and the bootstraps wrote.
    // Every token in every mail the SES emulator holds (`#token=` in a link of the text or the HTML).
    let tokens = SesStore::read(&setup.emulators.ses_store).tokens();
    for token in [&first[ADA], &first[NED], &ada, &ned, &verification] {
        assert!(tokens.contains(token), "the store's tokens include this change's and the verification's");
    }
    let logged = rie.iter().map(|(function, rie)| (function.name(), rie)).chain([("mailer", &mailer)]);
    for (name, rie) in logged {
        let log = std::fs::read(rie.log_path()).expect("the function's log");
        let text = String::from_utf8_lossy(&log);
        // Not empty: at DEBUG the bootstrap logs (its own lines and the SDK's), so that this
        // test cannot pass by logging nothing.
        assert!(text.contains("\"level\":\"DEBUG\""), "{name} logged nothing at DEBUG:\n{}", rie.log_tail());
        assert!(!text.contains("\"level\":\"TRACE\""), "{name} logged at TRACE");
        for needle in tokens.iter().chain(&sent_with_tokens) {
            assert!(
                log.windows(needle.len()).all(|w| w != needle.as_bytes()),
                "{name}'s log holds a token (or a body that holds one): {}",
                rie.log_path().display()
            );
        }
    }
}

/// A mail service that takes connections and never answers: SES at its slowest.
fn silent_mail_service() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = listener.local_addr().expect("its address");
    let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(stream);
        }
    });
    (format!("http://{address}"), connections)
}

/// SES that never answers: the change does not wait for it at all (its mails are items of
/// its transaction), and the mailer, which does, never outlives its invocation: the mail it
/// tried and the ones it had no time left for are answered as failed, nothing is recorded as
/// sent or lost, and the retry with SES back sends each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_service_that_never_answers_holds_up_no_change_and_cannot_outlive_the_mailer() {
    let setup = setup();
    let tag = unique_tag();
    let service = format!("slow-{tag}.example.org");
    let (table, app, _outbox) = seeded_table(&tag, std::slice::from_ref(&service)).await;
    // Short functions (the RIE reads AWS_LAMBDA_FUNCTION_TIMEOUT, and gives the bootstrap the
    // deadline it implies), against an SES that holds each connection: the SDK alone would
    // wait for it 40 s (aws::emulator_timeouts), far past the functions' end.
    const TIMEOUT: Duration = Duration::from_secs(6);
    const MAILER_TIMEOUT: Duration = Duration::from_secs(12);
    let (slow_ses, connections) = silent_mail_service();
    let (timeout, mailer_timeout) = (TIMEOUT.as_secs().to_string(), MAILER_TIMEOUT.as_secs().to_string());
    let env: [EnvChange; 2] = [("AWS_LAMBDA_FUNCTION_TIMEOUT", Some(&timeout)), ("AWS_ENDPOINT_URL_SESV2", Some(&slow_ses))];
    let create = start_with(&setup, Function::Create, &table, &tag, &env);
    // The bootstrap's start (and its connection warm-up) is not this invocation's business: a
    // first invocation on a service that does not exist starts it.
    let ask = |service: &str| with_json_body(&for_service(&event("create.post-services-contact-changes.json"), service), &json!({"tech": "ne4000-ovh"}));
    assert_eq!(create.invoke(&ask(&format!("nowhere-{tag}.example.org"))).status, 404);

    let started = Instant::now();
    let created = create.invoke(&ask(&service));
    let took = started.elapsed();
    assert_eq!(created.status, 201, "{}\n{}", created.body, create.log_tail());
    assert!(took < TIMEOUT, "answered in {took:?}, within the function's {TIMEOUT:?}");
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0, "the change never called SES");
    let id = created.json()["requests"][0]["id"].as_str().expect("the request's id").to_owned();

    // The mailer on the change's records: it tries the first mail until its deadline allows,
    // and answers it and the two it had no time left for as failed, within its timeout.
    let env: [EnvChange; 2] = [("AWS_LAMBDA_FUNCTION_TIMEOUT", Some(&mailer_timeout)), ("AWS_ENDPOINT_URL_SESV2", Some(&slow_ses))];
    let mailer = start_binary(&setup, "mailer", &table, &tag, &env);
    let records = streams::read_stream(&setup.emulators.dynamodb, &table).await;
    let mails = mail_inserts_of(&records, &id);
    let batch = streams::lambda_event(mails.iter().copied()).to_string();
    let started = Instant::now();
    let answer = mailer.send_event(&mut mailer.connect(), batch.as_bytes());
    let took = started.elapsed();
    assert!(took < MAILER_TIMEOUT, "answered in {took:?}, within the mailer's {MAILER_TIMEOUT:?}");
    let answer: Value = serde_json::from_slice(&answer.body).unwrap_or_else(|e| panic!("{e}\n{}", mailer.log_tail()));
    let failed: Vec<&str> =
        answer["batchItemFailures"].as_array().expect("a partial batch response").iter().filter_map(|f| f["itemIdentifier"].as_str()).collect();
    assert_eq!(failed, mails.iter().map(|r| r.sequence_number()).collect::<Vec<_>>(), "{answer}\n{}", mailer.log_tail());
    assert!(connections.load(std::sync::atomic::Ordering::SeqCst) >= 1, "the mail was tried against the silent SES");
    let ada = AccountId::parse("ad1000-ovh").unwrap();
    let history = app.contact_change(&ada, id.parse().unwrap()).await.expect("the request").history;
    assert!(!history.iter().any(|e| matches!(e.event, HistoryEvent::Mailed | HistoryEvent::MailFailed)), "nothing sent, nothing given up: {history:?}");

    // Lambda's retry, with SES back: each mail once.
    let mailer = start_binary(&setup, "mailer", &table, &tag, &[]);
    mail_through_the_stream(&setup, &table, &mailer, &id).await;
    assert_mailed_once(&setup, &app, &id, &[ADA, NED, TEO]).await;
}

// ---- the publisher, against moto's EventBridge -------------------------------------------------

/// moto's server (scripts/emulators `start_moto`): EventBridge and SQS in one, spoken to over
/// plain HTTP in their JSON protocols (moto checks no signature; the credential scope names
/// the service).
struct Moto {
    authority: String,
}

impl Moto {
    fn from_env() -> Self {
        let url = std::env::var("MOTO_URL").ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| {
            panic!("this test publishes on moto's EventBridge, but MOTO_URL is not set: run scripts/test (or `source scripts/emulators; start_moto`)")
        });
        let authority = url.strip_prefix("http://").unwrap_or(&url).trim_end_matches('/').to_owned();
        assert!(authority.starts_with("127.0.0.1:"), "MOTO_URL must be on the loopback interface: {url}");
        Self { authority }
    }

    /// One call of `target` (`AWSEvents.PutRule`, `AmazonSQS.ReceiveMessage`) with `body`.
    fn call(&self, service: &str, target: &str, body: Value) -> Value {
        let (content_type, scope) = match service {
            "events" => ("application/x-amz-json-1.1", "events"),
            _ => ("application/x-amz-json-1.0", "sqs"),
        };
        let authorization = format!("AWS4-HMAC-SHA256 Credential=local/20260101/eu-west-1/{scope}/aws4_request, SignedHeaders=host, Signature=0");
        let headers = [("Content-Type", content_type), ("X-Amz-Target", target), ("Authorization", authorization.as_str()), ("Connection", "close")];
        let mut conn = lambda_harness::http::Conn::connect(&self.authority).expect("moto is listening");
        let answer = conn.send("POST", "/", &headers, body.to_string().as_bytes()).expect("moto answers");
        let text = String::from_utf8_lossy(&answer.body).into_owned();
        assert_eq!(answer.status, 200, "{target}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// A bus of its own, an SQS queue, and a rule on the bus sending every event of ours to
    /// the queue: the bus's name and the queue's URL.
    fn bus_into_a_queue(&self, tag: &str) -> (String, String) {
        let bus = format!("contacts-{tag}");
        let queue = format!("events-{tag}");
        self.call("events", "AWSEvents.CreateEventBus", json!({"Name": bus}));
        let url = self.call("sqs", "AmazonSQS.CreateQueue", json!({"QueueName": queue}))["QueueUrl"].as_str().expect("a queue URL").to_owned();
        let arn = self.call("sqs", "AmazonSQS.GetQueueAttributes", json!({"QueueUrl": url, "AttributeNames": ["QueueArn"]}))["Attributes"]["QueueArn"]
            .as_str()
            .expect("the queue's ARN")
            .to_owned();
        let pattern = json!({"source": [contacts_domain::events::EVENT_SOURCE]}).to_string();
        self.call("events", "AWSEvents.PutRule", json!({"Name": "all", "EventBusName": bus, "EventPattern": pattern, "State": "ENABLED"}));
        self.call("events", "AWSEvents.PutTargets", json!({"Rule": "all", "EventBusName": bus, "Targets": [{"Id": "queue", "Arn": arn}]}));
        (bus, url)
    }

    /// Every message in the queue now, each an EventBridge event as a rule delivers it, deleted.
    fn drain(&self, queue: &str) -> Vec<Value> {
        let mut events = Vec::new();
        loop {
            let answer = self.call("sqs", "AmazonSQS.ReceiveMessage", json!({"QueueUrl": queue, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0}));
            let messages = answer["Messages"].as_array().cloned().unwrap_or_default();
            if messages.is_empty() {
                return events;
            }
            for message in messages {
                self.call("sqs", "AmazonSQS.DeleteMessage", json!({"QueueUrl": queue, "ReceiptHandle": message["ReceiptHandle"]}));
                events.push(serde_json::from_str(message["Body"].as_str().expect("a body")).expect("an EventBridge event"));
            }
        }
    }
}

/// The records `PublisherStream` lets through (template.yaml): the inserts of event items.
fn event_inserts(records: &[streams::StreamRecord]) -> Vec<&streams::StreamRecord> {
    let publisher = Template::deployed().stream_mapping_of("publisher");
    records.iter().filter(|r| publisher.lets_through(&r.record)).collect()
}

/// The publisher's bootstrap under the RIE, fed what DynamoDB Local's stream really gave, puts
/// each event on moto's EventBridge once: a rule of the bus takes it to an SQS queue, where it
/// is read back, `Source` and `DetailType` as docs/events.md says, its `Detail` of the
/// schema, ids only. The same batch again puts nothing; with the bus unreachable every event
/// record is answered as failed, and the retry puts each once, under the same id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_publisher_puts_each_committed_event_on_the_bus_once_under_its_id_under_the_runtime_interface_emulator() {
    let setup = setup();
    let moto = Moto::from_env();
    let tag = unique_tag();
    let service = format!("events-{tag}.example.org");
    let (table, app, outbox) = seeded_table(&tag, std::slice::from_ref(&service)).await;
    let (bus, queue) = moto.bus_into_a_queue(&tag);
    // Its EventBridge is moto's, through the recorder when one runs (start_binary).
    let publisher = start_binary(&setup, "publisher", &table, &tag, &[("EVENT_BUS_NAME", Some(&bus))]);
    let invoke = |rie: &Rie, event: &Value| -> Value {
        let answer = rie.send_event(&mut rie.connect(), event.to_string().as_bytes());
        assert_eq!(answer.status, 200, "{}\n{}", String::from_utf8_lossy(&answer.body), rie.log_tail());
        serde_json::from_slice(&answer.body).unwrap_or_else(|e| panic!("{e}: {}\n{}", String::from_utf8_lossy(&answer.body), rie.log_tail()))
    };
    let no_failures = json!({"batchItemFailures": []});

    let (id, _tokens) = pending_request(&app, &outbox, &service).await;
    let records = streams::read_stream(&setup.emulators.dynamodb, &table).await;
    let batch = streams::lambda_event(event_inserts(&records));
    assert_eq!(batch["Records"].as_array().map(Vec::len), Some(1), "the create committed one event: {batch}");
    assert_eq!(invoke(&publisher, &batch), no_failures, "{}", publisher.log_tail());
    let got = moto.drain(&queue);
    assert_eq!(got.len(), 1, "{got:?}");
    let requested = &got[0];
    assert_eq!((requested["source"].as_str(), requested["detail-type"].as_str()), (Some("service-contacts"), Some("ContactChangeRequested")), "{requested}");
    let expected = json!({
        "schema": 1, "id": format!("{id}-0-0"), "type": "ContactChangeRequested", "at": requested["detail"]["at"],
        "request": id, "service": service, "roles": ["tech"], "from": "te2000-ovh", "to": "ne4000-ovh", "requester": "ad1000-ovh",
        "state": "pending", "reason": null,
    });
    assert_eq!(requested["detail"], expected);
    assert!(contacts_domain::Event::from_detail(&requested["detail"].to_string()).is_some(), "the detail reads back as an event of the schema");

    // The same batch again (Lambda's retry, a duplicate delivery): published already, nothing more.
    assert_eq!(invoke(&publisher, &batch), no_failures);
    assert_eq!(moto.drain(&queue), Vec::<Value>::new(), "published once");

    // The request cancelled: its event, while the bus is unreachable, is answered as failed...
    let ada = AccountId::parse("ad1000-ovh").unwrap();
    app.cancel(&ada, contacts_domain::RequestId::parse(&id).unwrap()).await.expect("cancelled");
    let records = streams::read_stream(&setup.emulators.dynamodb, &table).await;
    let inserts = event_inserts(&records);
    // (Its id names the save that closed it: the mails' settling moved the request's version on.)
    let cancel_inserts: Vec<_> =
        inserts.iter().copied().filter(|r| r.key("pk").starts_with(&format!("EVENT#{id}-")) && r.key("pk") != format!("EVENT#{id}-0-0")).collect();
    assert_eq!(cancel_inserts.len(), 1, "the cancel committed one event");
    let cancel_id = cancel_inserts[0].key("pk").trim_start_matches("EVENT#").to_owned();
    let cancelled = streams::lambda_event(cancel_inserts);
    let sequence_number = cancelled["Records"][0]["dynamodb"]["SequenceNumber"].as_str().expect("the cancel's event record").to_owned();
    let closed = lambda_harness::free_address();
    let down =
        start_binary(&setup, "publisher", &table, &tag, &[("EVENT_BUS_NAME", Some(&bus)), ("AWS_ENDPOINT_URL_EVENTBRIDGE", Some(&format!("http://{closed}")))]);
    assert_eq!(invoke(&down, &cancelled), json!({"batchItemFailures": [{"itemIdentifier": sequence_number}]}), "{}", down.log_tail());
    assert_eq!(moto.drain(&queue), Vec::<Value>::new());
    // ...and Lambda's retry of it publishes it once, with the id it was committed under.
    assert_eq!(invoke(&publisher, &cancelled), no_failures, "{}", publisher.log_tail());
    let got = moto.drain(&queue);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0]["detail-type"].as_str(), got[0]["detail"]["id"].as_str()), (Some("ContactChangeCancelled"), Some(cancel_id.as_str())));
    assert_eq!((got[0]["detail"]["state"].as_str(), got[0]["detail"]["request"].as_str()), (Some("cancelled"), Some(id.as_str())));
    // The publisher counted what it put, as the mailer counts its mails: the last two
    // invocations' lines (both bootstraps log to one file, named after the function).
    let emf = emf_lines(&publisher.log());
    let counts: Vec<_> = emf.iter().rev().take(2).map(|line| (line.get(Metric::EventsPublished), line.get(Metric::EventsRetried))).collect();
    assert_eq!(counts, [(Some(1.0), None), (None, Some(1.0))], "the retry, and before it the failure: {}", publisher.log_tail());
}
