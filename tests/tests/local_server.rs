//! `contacts-local` over real HTTP: what SPEC §6 adds to the API, and that the API is the same.

use std::sync::Arc;

use contacts_api::Router;
use contacts_app::App;
use contacts_app::config::Config;
use contacts_app::memory::{MemoryMailer, MemoryStore};
use contacts_app::ports::SystemClock;
use contacts_app::seed::Fixtures;
use contacts_local::{Local, deliver_every, serve, sweep_every};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// contacts-local's configuration: its internal API at `/_local/...` admits itself, as its
/// `main` says.
fn local_config() -> Config {
    Config { provider_principals: vec![contacts_local::LOCAL_PROVIDER.to_owned()], ..Config::default() }
}

/// A local server on a free port, loaded with the demo data; stops with the test's runtime.
async fn spawn_local() -> String {
    let outbox = Arc::new(MemoryMailer::new());
    let app = App::new(Arc::new(MemoryStore::new()), outbox.clone(), Arc::new(SystemClock), local_config());
    Fixtures::demo().load(&app).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve(listener, Local { router: Router::new(app), outbox: Some(outbox), events: None, sign_in: None }));
    address
}

#[tokio::test]
async fn it_sweeps_in_process_every_sweep_interval() {
    // A reminder as long before expiry as the request lives: due at the first sweep.
    let config = Config { reminder_before: time::Duration::days(7), ..local_config() };
    let outbox = Arc::new(MemoryMailer::new());
    let app = App::new(Arc::new(MemoryStore::new()), outbox.clone(), Arc::new(SystemClock), config);
    Fixtures::demo().load(&app).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve(listener, Local { router: Router::new(app.clone()), outbox: Some(outbox.clone()), events: None, sign_in: None }));
    tokio::spawn(deliver_every(app.clone(), std::time::Duration::from_millis(20)));
    tokio::spawn(sweep_every(app, std::time::Duration::from_millis(50)));
    let created = http(&local, "POST", "/v1/services/example.com/contact-changes", Some("ad1000-ovh"), br#"{"tech":"ne4000-ovh"}"#).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let reminders = || outbox.sent().into_iter().filter(|m| m.subject.starts_with("Reminder")).count();
    for _ in 0..100 {
        if reminders() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(reminders(), 2, "each party reminded once, by the sweep alone");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(reminders(), 2, "once");
}

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One HTTP/1.1 exchange on a fresh connection.
async fn http(address: &str, method: &str, path: &str, bearer: Option<&str>, body: &[u8]) -> Reply {
    let auth = bearer.map(|b| format!("Authorization: Bearer {b}\r\n")).unwrap_or_default();
    http_with(address, method, path, &format!("Host: {address}\r\n{auth}"), body).await
}

/// One HTTP/1.1 exchange on a fresh connection, with `headers` (each line ending in CRLF) as given.
async fn http_with(address: &str, method: &str, path: &str, headers: &str, body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!("{method} {path} HTTP/1.1\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    stream.write_all(head.as_bytes()).await.unwrap();
    // A server may answer (413) before reading all of a large body; that is fine.
    let _ = stream.write_all(body).await;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Reply { status, head: head.to_owned(), body: body.to_owned() }
}

#[tokio::test]
async fn identity_comes_from_the_development_bearer_token() {
    let local = spawn_local().await;
    assert_eq!(http(&local, "GET", "/v1/me", Some("ad1000-ovh"), b"").await.json()["name"], "Ada Admin");
    assert_eq!(http(&local, "GET", "/v1/me", None, b"").await.status, 401);
}

#[tokio::test]
async fn it_answers_only_requests_addressed_to_its_own_loopback_host() {
    let local = spawn_local().await;
    let port = local.rsplit_once(':').unwrap().1;
    for own in [format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("LOCALHOST:{port}"), format!("[::1]:{port}")] {
        let reply = http_with(&local, "GET", "/_local/outbox", &format!("Host: {own}\r\n"), b"").await;
        assert_eq!(reply.status, 200, "Host: {own}: {}", reply.body);
    }
    // A name rebound to 127.0.0.1 arrives under that name: the development routes (every code in
    // the outbox) and the API alike are 421, and so is a request with another port or no Host.
    for foreign in [
        "Host: rebound.attacker.example\r\n".to_owned(),
        format!("Host: rebound.attacker.example:{port}\r\n"),
        "Host: 127.0.0.1:1\r\n".to_owned(),
        String::new(),
    ] {
        for (method, path) in [("GET", "/_local/outbox"), ("GET", "/v1/me"), ("PUT", "/_local/accounts/ne4000-ovh")] {
            let reply = http_with(&local, method, path, &format!("{foreign}Authorization: Bearer ad1000-ovh\r\n"), b"{}").await;
            assert_eq!(reply.status, 421, "{foreign:?} {method} {path}: {}", reply.body);
            assert_eq!(reply.json()["code"], "misdirected_request");
            assert!(!reply.body.contains("#token="), "{}", reply.body);
        }
    }
    // What it echoes of a Host is bounded, as every echo of input is.
    let long = format!("Host: {}.example\r\n", "a".repeat(4000));
    let reply = http_with(&local, "GET", "/v1/me", &long, b"").await;
    assert_eq!(reply.status, 421);
    assert!(reply.body.len() < 600, "{}", reply.body.len());
}

#[tokio::test]
async fn it_takes_no_write_from_a_page_of_another_origin() {
    let local = spawn_local().await;
    let host = format!("Host: {local}\r\nAuthorization: Bearer ad1000-ovh\r\n");
    let ask = br#"{"tech":"ne4000-ovh"}"#;
    for origin in ["http://attacker.example", "null", "http://localhost:1", "https://127.0.0.1"] {
        let reply = http_with(&local, "POST", "/v1/services/example.com/contact-changes", &format!("{host}Origin: {origin}\r\n"), ask).await;
        assert_eq!(reply.status, 403, "Origin: {origin}: {}", reply.body);
        let upsert = http_with(
            &local,
            "PUT",
            "/_local/accounts/ne4000-ovh",
            &format!("Host: {local}\r\nOrigin: {origin}\r\n"),
            br#"{"name":"Ned","email":"ned@example.com","payment_status":"overdue"}"#,
        )
        .await;
        assert_eq!(upsert.status, 403, "Origin: {origin}: {}", upsert.body);
    }
    // Nothing of it happened: no request, no mail, Ned still in good standing.
    assert!(http(&local, "GET", "/_local/outbox", None, b"").await.json().as_array().unwrap().is_empty());
    assert_eq!(http(&local, "GET", "/v1/me", Some("ne4000-ovh"), b"").await.json()["payment_status"], "ok");
    // What a browser says of a page elsewhere: Sec-Fetch-Site, whatever Origin says.
    for site in ["cross-site", "same-site"] {
        let headers = format!("{host}Sec-Fetch-Site: {site}\r\nOrigin: http://{local}\r\n");
        let reply = http_with(&local, "POST", "/v1/services/example.com/contact-changes", &headers, ask).await;
        assert_eq!(reply.status, 403, "Sec-Fetch-Site: {site}: {}", reply.body);
    }
    assert!(http(&local, "GET", "/_local/outbox", None, b"").await.json().as_array().unwrap().is_empty());
    // A read from another origin is answered (the browser keeps it from the page); a write from
    // the panel's own origin, or from a client that names none (curl), is taken: the pages' own
    // form posts too, whose Origin their no-referrer policy blanks to `null`.
    let read = http_with(&local, "GET", "/v1/me", &format!("{host}Origin: http://attacker.example\r\n"), b"").await;
    assert_eq!(read.status, 200, "{}", read.body);
    let own = http_with(&local, "POST", "/v1/services/example.com/contact-changes", &format!("{host}Origin: http://{local}\r\n"), ask).await;
    assert_eq!(own.status, 201, "{}", own.body);
    let own_form = format!("{host}Sec-Fetch-Site: same-origin\r\nOrigin: null\r\n");
    let id = own.json()["requests"][0]["id"].as_str().unwrap().to_owned();
    let cancelled = http_with(&local, "POST", &format!("/v1/contact-changes/{id}/cancel"), &own_form, b"").await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
}

#[tokio::test]
async fn the_demo_flow_runs_end_to_end_with_mails_read_from_the_outbox() {
    let local = spawn_local().await;
    let created = http(&local, "POST", "/v1/services/example.com/contact-changes", Some("ad1000-ovh"), br#"{"tech":"ne4000-ovh"}"#).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["requests"][0]["id"].as_str().unwrap().to_owned();
    let outbox = http(&local, "GET", "/_local/outbox", None, b"").await.json();
    let mails = outbox.as_array().unwrap();
    assert_eq!(mails.len(), 3);
    for mail in mails {
        for key in ["to", "subject", "text", "html"] {
            assert!(mail[key].is_string(), "{key}");
        }
    }
    for (who, email) in [("ad1000-ovh", "ada@example.com"), ("ne4000-ovh", "ned@example.com")] {
        let text = mails.iter().find(|m| m["to"] == email).unwrap()["text"].as_str().unwrap();
        let token: String = text.split("#token=").nth(1).unwrap().chars().take(43).collect();
        let body = format!("token={token}&decision=accept");
        let page = http(&local, "POST", &format!("/confirm/{id}"), None, body.as_bytes()).await;
        assert_eq!(page.status, 303, "{who}: {}", page.body);
        let head = page.head.to_ascii_lowercase();
        assert!(head.contains("content-security-policy"));
        assert!(head.contains(&format!("location: {}?answered=accept", id.to_ascii_lowercase())), "{who}: {}", page.head);
    }
    let service = http(&local, "GET", "/v1/services/example.com", Some("ne4000-ovh"), b"").await.json();
    assert_eq!(service["contacts"]["tech"], "ne4000-ovh");
}

#[tokio::test]
async fn the_providers_upserts_and_erasures_change_accounts_and_services_and_refuse_bad_input() {
    let local = spawn_local().await;
    let account = json!({"name": "Zoe", "email": "zoe@example.com", "language": "it", "payment_status": "overdue"});
    let put = http(&local, "PUT", "/_local/accounts/ZZ1-ovh", None, account.to_string().as_bytes()).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(http(&local, "GET", "/v1/me", Some("zz1-ovh"), b"").await.json()["payment_status"], "overdue");

    let service = json!({"admin": "zz1-ovh", "tech": "zz1-ovh", "billing": "ad1000-ovh"});
    assert_eq!(http(&local, "PUT", "/_local/services/new.example", None, service.to_string().as_bytes()).await.status, 200);
    assert_eq!(http(&local, "GET", "/v1/me/services", Some("zz1-ovh"), b"").await.json()["services"][0]["service"], "new.example");

    for (path, body) in [
        ("/_local/accounts/not-an-id", account.to_string()),
        ("/_local/accounts/zz1-ovh", json!({"name": "Zoe", "email": "nope"}).to_string()),
        ("/_local/accounts/zz1-ovh", json!({"id": "aa1-ovh", "name": "Zoe", "email": "z@e.co"}).to_string()),
        ("/_local/services/new.example", json!({"admin": "zz1-ovh", "tech": "zz1-ovh"}).to_string()),
        ("/_local/services/new.example", json!({"admin": "zz1-ovh", "tech": "zz1-ovh", "billing": "no1-ovh"}).to_string()),
        ("/_local/services/new.example", json!({"admin": "zz1-ovh", "tech": "zz1-ovh", "billing": "zz1-ovh", "owner": "x"}).to_string()),
    ] {
        let reply = http(&local, "PUT", path, None, body.as_bytes()).await;
        assert!(matches!(reply.status, 400 | 422), "{path} {body}: {} {}", reply.status, reply.body);
    }
    assert_eq!(http(&local, "GET", "/v1/services/new.example", Some("zz1-ovh"), b"").await.json()["contacts"]["billing"], "ad1000-ovh");

    // The deployed internal API's paths need AWS IAM, which this server does not have: refused,
    // with a customer's bearer token (403, saying why) or without (401), and nothing changes.
    let moved = json!({"admin": "ad1000-ovh", "tech": "ad1000-ovh", "billing": "ad1000-ovh"}).to_string();
    let reply = http(&local, "PUT", "/internal/services/new.example", Some("zz1-ovh"), moved.as_bytes()).await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert!(reply.body.contains("AWS IAM"), "{}", reply.body);
    assert_eq!(http(&local, "PUT", "/internal/services/new.example", None, moved.as_bytes()).await.status, 401);
    assert_eq!(http(&local, "GET", "/v1/services/new.example", Some("zz1-ovh"), b"").await.json()["contacts"]["tech"], "zz1-ovh");

    // The erasure (SPEC §8), as the provider's systems: refused while Zoe holds roles; once they
    // are given away, erased, and her id is 404. `/internal/...` is refused as above.
    assert_eq!(http(&local, "DELETE", "/internal/accounts/zz1-ovh", Some("zz1-ovh"), b"").await.status, 403);
    let refused = http(&local, "DELETE", "/_local/accounts/zz1-ovh", None, b"").await;
    assert_eq!((refused.status, refused.json()["code"].as_str()), (409, Some("account_in_use")), "{}", refused.body);
    assert_eq!(http(&local, "PUT", "/_local/services/new.example", None, moved.as_bytes()).await.status, 200);
    assert_eq!(http(&local, "DELETE", "/_local/accounts/zz1-ovh", None, b"").await.status, 204);
    assert_eq!(http(&local, "GET", "/v1/me", Some("zz1-ovh"), b"").await.status, 404);
    assert_eq!(http(&local, "DELETE", "/_local/accounts/zz1-ovh", None, b"").await.status, 404);
}

#[tokio::test]
async fn a_body_over_16_kib_is_refused_before_it_is_read_whole() {
    let local = spawn_local().await;
    let reply = http(&local, "POST", "/v1/services/example.com/contact-changes", Some("ad1000-ovh"), &vec![b' '; 64 * 1024]).await;
    assert_eq!(reply.status, 413);
}

#[tokio::test]
async fn pointed_at_dynamodb_and_ses_it_runs_on_them_and_creates_its_table() {
    let endpoint =
        |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/test, which starts DynamoDB Local and the SES emulator"));
    let (dynamodb, ses) = (endpoint("AWS_ENDPOINT_URL_DYNAMODB"), endpoint("AWS_ENDPOINT_URL_SESV2"));
    let table = format!("local-{}", contacts_domain::Token::generate().expose()[..8].replace(['-', '_'], "x"));
    let env = |name: &str| match name {
        "TABLE_NAME" => Some(table.clone()),
        "AWS_ENDPOINT_URL_DYNAMODB" => Some(dynamodb.clone()),
        "AWS_ENDPOINT_URL_SESV2" => Some(ses.clone()),
        _ => None,
    };
    let backends = contacts_local::Backends::from_env(env).await.unwrap();
    assert!(backends.description.contains("created now"), "{}", backends.description);
    assert!(backends.description.contains("SES at"), "{}", backends.description);
    assert!(backends.outbox.is_none());
    let app = App::new(backends.store, backends.mailer, Arc::new(SystemClock), local_config());
    Fixtures::demo().load(&app).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve(listener, Local { router: Router::new(app), outbox: None, events: None, sign_in: None }));

    let created = http(&address, "POST", "/v1/services/example.com/contact-changes", Some("ad1000-ovh"), br#"{"billing":"ne4000-ovh"}"#).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(http(&address, "GET", "/_local/outbox", None, b"").await.status, 404, "mail went to SES, not to an outbox");

    // A second start finds the table and what the first one wrote.
    let again = contacts_local::Backends::from_env(env).await.unwrap();
    assert!(again.description.contains("existing"), "{}", again.description);
    let ada = contacts_domain::AccountId::parse("ad1000-ovh").unwrap();
    assert_eq!(again.store.contact_changes_of(&ada, None, 10).await.unwrap().items.len(), 1);
}

#[tokio::test]
async fn a_bounce_injected_through_the_local_route_flags_the_address_and_a_verified_new_one_clears_it() {
    let local = spawn_local().await;
    let status = |reply: Reply| reply.json()["email_status"].as_str().unwrap_or_default().to_owned();
    assert_eq!(status(http(&local, "GET", "/v1/me", Some("ne4000-ovh"), b"").await), "ok");
    let transient = http(&local, "POST", "/_local/bounces", None, br#"{"account":"ne4000-ovh","bounce":"transient"}"#).await;
    assert_eq!((transient.status, transient.json()["marked"].as_bool()), (200, Some(false)), "{}", transient.body);
    let elsewhere = http(&local, "POST", "/_local/bounces", None, br#"{"account":"ne4000-ovh","email":"old@example.org"}"#).await;
    assert_eq!(elsewhere.json()["marked"], false, "not its address");
    let injected = http(&local, "POST", "/_local/bounces", None, br#"{"account":"ne4000-ovh"}"#).await;
    assert_eq!((injected.status, injected.json()["marked"].as_bool()), (200, Some(true)), "{}", injected.body);
    assert_eq!(status(http(&local, "GET", "/v1/me", Some("ne4000-ovh"), b"").await), "bouncing");
    assert_eq!(http(&local, "POST", "/_local/bounces", None, br#"{"email":"ned@example.com"}"#).await.status, 400, "the account is named");
    assert_eq!(http(&local, "POST", "/_local/bounces", None, br#"{"account":"zz9-ovh"}"#).await.status, 404);

    // A new address, verified with the code of the mail in the outbox, clears it.
    let asked = http(&local, "PATCH", "/v1/me", Some("ne4000-ovh"), br#"{"email":"ned@example.org"}"#).await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    let outbox = http(&local, "GET", "/_local/outbox", None, b"").await.json();
    let mail = outbox.as_array().unwrap().iter().rev().find(|m| m["to"] == "ned@example.org").expect("a verification mail");
    let text = mail["text"].as_str().unwrap();
    let token = text.split("#token=").nth(1).and_then(|rest| rest.split_whitespace().next()).expect("a link with the token");
    let verified = http(&local, "POST", "/v1/me/email-verification", Some("ne4000-ovh"), json!({ "token": token }).to_string().as_bytes()).await;
    assert_eq!((verified.status, verified.json()["email_status"].as_str()), (200, Some("bouncing")), "one code of two: {}", verified.body);
    // The current address's own code too (SPEC §5: a change takes both addresses).
    let current = verified.json()["email"].as_str().unwrap().to_owned();
    let mail = outbox.as_array().unwrap().iter().rev().find(|m| m["to"] == current.as_str()).expect("an agreement mail");
    let text = mail["text"].as_str().unwrap();
    let token = text.split("#token=").nth(1).and_then(|rest| rest.split_whitespace().next()).expect("a link with the token");
    let verified = http(&local, "POST", "/v1/me/email-verification", Some("ne4000-ovh"), json!({ "token": token }).to_string().as_bytes()).await;
    assert_eq!((verified.status, verified.json()["email_status"].as_str()), (200, Some("ok")), "{}", verified.body);
}

/// The binary itself prints the functions' EMF lines on its stdout (issue 17): each request as
/// the function its route is deployed in measures it, and each pass of the in-process mailer
/// that sent something as the mailer's. Run as a process (the one `cargo build --workspace`
/// built), because stdout is the point.
#[tokio::test]
async fn the_binary_prints_each_requests_and_each_mailer_pass_emf_line_on_stdout() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::mpsc::channel;
    use std::time::{Duration, Instant};
    let dir = std::env::var("LAMBDA_BIN_DIR")
        .or_else(|_| std::env::var("CARGO_TARGET_DIR").map(|t| format!("{t}/debug")))
        .unwrap_or_else(|_| "../target/debug".to_owned());
    let binary = std::env::var("CONTACTS_LOCAL_BIN").unwrap_or_else(|_| format!("{dir}/contacts-local"));
    assert!(std::path::Path::new(&binary).is_file(), "{binary} is missing: build it first (scripts/test does: cargo build --workspace)");
    let mut command = Command::new(&binary);
    command
        .args(["--port", "0"])
        .env("RUST_LOG", "warn")
        .env("METRICS_NAMESPACE", "Contacts/Local")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for unset in ["TABLE_NAME", "PUBLIC_BASE_URL", "JWT_ISSUER", "JWT_AUDIENCE", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SESV2"] {
        command.env_remove(unset);
    }
    let mut child = Killed(command.spawn().expect("contacts-local starts"));
    // Both pipes read to their end, so that the server never blocks on (or fails writing to) one.
    let (addresses, address) = channel::<String>();
    let stderr = child.0.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let _ = addresses.send(rest.split(':').take(2).collect::<Vec<_>>().join(":"));
            }
        }
    });
    let (lines, received) = channel::<String>();
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || BufReader::new(stdout).lines().map_while(Result::ok).for_each(|line| drop(lines.send(line))));
    let address = address.recv_timeout(Duration::from_secs(30)).expect("the banner names the address");
    // The server listens before its banner says so: one connection, at once, is accepted.
    TcpStream::connect(&address).await.expect("contacts-local listens once its banner names the address");
    let created = http(&address, "POST", "/v1/services/example.com/contact-changes", Some("ad1000-ovh"), br#"{"tech":"ne4000-ovh"}"#).await;
    assert_eq!(created.status, 201, "{}", created.body);

    let mut seen: Vec<integration_tests::Emf> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    // The create's line is printed once its answer is sent, which may be after the mailer's pass.
    let has = |seen: &[integration_tests::Emf], function: &str| seen.iter().any(|l| l.dimension("function") == Some(function));
    while !(has(&seen, "mailer") && has(&seen, "create")) && Instant::now() < deadline {
        let Ok(line) = received.recv_timeout(Duration::from_millis(100)) else { continue };
        match serde_json::from_str::<Value>(&line) {
            Ok(value) if value.get("_aws").is_some() => seen.push(integration_tests::Emf::parse(&value)),
            _ => {}
        }
    }
    let of = |function: &str| seen.iter().find(|l| l.dimension("function") == Some(function)).unwrap_or_else(|| panic!("no {function} line in {seen:?}"));
    let create = of("create");
    assert_eq!((create.namespace.as_str(), create.get(contacts_telemetry::Metric::ChangesRequested)), ("Contacts/Local", Some(1.0)), "{}", create.line);
    assert_eq!(of("mailer").get(contacts_telemetry::Metric::MailsSent), Some(3.0), "{}", of("mailer").line);
    assert_eq!(seen.iter().filter(|l| l.dimension("function") == Some("mailer")).count(), 1, "idle passes print nothing: {seen:?}");
}

/// A child that cannot outlive the test: killed when dropped.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET /_local/events`: what the provider's systems would get from the bus, the committed
/// events published first (as the local server's drain loop does every 200 ms); 404 without a bus.
#[tokio::test]
async fn the_local_server_shows_the_events_published_so_far() {
    let outbox = Arc::new(MemoryMailer::new());
    let events = Arc::new(contacts_app::memory::EventLog::new());
    let app = App::new(Arc::new(MemoryStore::new()), outbox.clone(), Arc::new(SystemClock), local_config()).with_publisher(events.clone());
    Fixtures::demo().load(&app).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve(listener, Local { router: Router::new(app), outbox: Some(outbox), events: Some(events), sign_in: None }));
    assert_eq!(http(&local, "GET", "/_local/events", None, b"").await.json(), json!([]));
    let created = http(&local, "POST", "/v1/services/example.com/contact-changes", Some("ad1000-ovh"), br#"{"tech":"ne4000-ovh"}"#).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["requests"][0]["id"].as_str().unwrap().to_owned();
    let id = id.as_str();
    let cancelled = http(&local, "POST", &format!("/v1/contact-changes/{id}/cancel"), Some("ad1000-ovh"), b"{}").await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let shown = http(&local, "GET", "/_local/events", None, b"").await.json();
    let shown: Vec<(&str, &str, &str)> = shown
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["source"].as_str().unwrap(), e["detail-type"].as_str().unwrap(), e["detail"]["request"].as_str().unwrap()))
        .collect();
    assert_eq!(shown, [("service-contacts", "ContactChangeRequested", id), ("service-contacts", "ContactChangeCancelled", id)]);

    let without = spawn_local().await;
    assert_eq!(http(&without, "GET", "/_local/events", None, b"").await.status, 404);
}
