//! `contacts-admin erase` (SPEC §8): the library on both stores (the use case of the internal
//! API's erasure, with its refusals), then the binary once end to end on DynamoDB Local
//! (scripts/test starts it; these tests fail, never skip, without it).

use std::process::{Command, Output};

use contacts_admin::erase::{Outcome, erase, read_ids};
use contacts_domain::AccountId;
use http::StatusCode;
use integration_tests::{Backend, Emulators, TestApp, unique_tag};

fn id(text: &str) -> AccountId {
    AccountId::parse(text).unwrap()
}

async fn each_account_is_erased_or_refused_as_the_internal_api_would(backend: Backend) {
    let app = TestApp::seeded(backend).await;
    // Ned holds nothing; Teo holds the tech role; zz9 is no account.
    let ids = read_ids("nn1-ovh\nTT1-OVH\n# not this one: mm1-ovh\nzz9-ovh\nnn1-ovh\n").unwrap();
    let report = erase(app.router.app(), &ids).await;
    assert!(report.failed.is_none(), "{:?}", report.failed);
    assert_eq!(report.outcomes.len(), 3, "each once: {:?}", report.outcomes);
    assert_eq!(report.outcomes[0], (id("nn1-ovh"), Outcome::Erased));
    assert!(matches!(&report.outcomes[1], (teo, Outcome::InUse(why)) if *teo == id("tt1-ovh") && why.contains("example.com")), "{:?}", report.outcomes[1]);
    assert_eq!(report.outcomes[2], (id("zz9-ovh"), Outcome::Unknown));
    assert_eq!(report.counts(), (1, 1, 1));
    assert_eq!(app.get("/v1/me", "nn1-ovh").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/v1/me", "tt1-ovh").await.status, StatusCode::OK, "refused: as it was");
    assert_eq!(app.get("/v1/me", "mm1-ovh").await.status, StatusCode::OK, "not named");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_each_account_is_erased_or_refused_as_the_internal_api_would() {
    each_account_is_erased_or_refused_as_the_internal_api_would(Backend::Memory).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_each_account_is_erased_or_refused_as_the_internal_api_would() {
    each_account_is_erased_or_refused_as_the_internal_api_would(Backend::Aws).await
}

fn admin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_contacts-admin")).args(args).env_remove("TABLE_NAME").output().expect("contacts-admin runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_erases_reports_each_id_and_exits_with_the_documented_codes() {
    Emulators::from_env();
    let tag = unique_tag();
    let table = format!("contacts-admin-erase-{tag}");
    let dir = std::env::temp_dir().join(format!("contacts-admin-erase-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let person = |id: &str, name: &str| format!(r#"{{"kind":"account","id":"{id}","name":"{name}","email":"{id}.{tag}@example.com"}}"#);
    let cast = [
        person("aa1-ovh", "Ada"),
        person("nn1-ovh", "Ned"),
        person("mm1-ovh", "Mia"),
        r#"{"kind":"service","name":"example.com","admin":"aa1-ovh","tech":"aa1-ovh","billing":"aa1-ovh"}"#.to_owned(),
    ];
    let loaded = admin(&["import", &write("cast.jsonl", &cast.join("\n")), "--table", &table, "--create-table"]);
    assert_eq!(loaded.status.code(), Some(0), "{}", text(&loaded.stderr));

    // A line that names no account: each reported, nothing erased.
    let invalid = admin(&["erase", &write("bad.txt", "nn1-ovh\nnot-an-id\n"), "--table", &table]);
    assert_eq!(invalid.status.code(), Some(1), "{}", text(&invalid.stderr));
    assert!(text(&invalid.stderr).contains("line 2: ") && text(&invalid.stderr).contains("nothing erased"), "{}", text(&invalid.stderr));

    // Ada holds a role: refused, exit 4; Ned (by id) and Mia (by an export's line) erased.
    let ids = format!("aa1-ovh\nnn1-ovh\n{}\n", person("mm1-ovh", "Mia"));
    let erased = admin(&["erase", &write("ids.txt", &ids), "--table", &table]);
    let stdout = text(&erased.stdout);
    assert_eq!(erased.status.code(), Some(4), "{stdout}{}", text(&erased.stderr));
    assert!(stdout.contains("aa1-ovh: not erased: aa1-ovh is still in use") && stdout.contains("example.com"), "{stdout}");
    assert!(stdout.contains("nn1-ovh: erased\n") && stdout.contains("mm1-ovh: erased\n"), "{stdout}");
    assert!(stdout.contains("2 erased, 0 not found, 1 in use"), "{stdout}");

    // Again, without Ada: nothing left to erase is no failure.
    let again = admin(&["erase", &write("again.txt", "nn1-ovh\nmm1-ovh\n"), "--table", &table]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(text(&again.stdout).contains("0 erased, 2 not found, 0 in use"), "{}", text(&again.stdout));
    let exported = admin(&["export", "--table", &table]);
    let accounts: Vec<String> = text(&exported.stdout).lines().filter(|line| line.contains(r#""kind":"account""#)).map(str::to_owned).collect();
    assert_eq!(accounts.len(), 1, "Ada's alone: {accounts:?}");

    assert_eq!(admin(&["erase", &write("none.txt", "nn1-ovh\n"), "--table", "no-such-table"]).status.code(), Some(3));
    assert_eq!(admin(&["erase", "/nonexistent/ids.txt", "--table", &table]).status.code(), Some(2));
}
