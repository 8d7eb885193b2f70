//! `contacts-local` as a newcomer's script meets it: the binary, a fixtures file as `json.dump`
//! writes one (a single line far over 64 KiB), and a client that waits for the port.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A fixtures document on one line: one account holding every role of `services` services.
fn one_line_document(services: usize) -> String {
    let services: Vec<_> = (0..services)
        .map(|n| serde_json::json!({"name": format!("s{n:05}.example.com"), "admin": "aa1-ovh", "tech": "aa1-ovh", "billing": "aa1-ovh"}))
        .collect();
    serde_json::json!({"accounts": [{"id": "aa1-ovh", "name": "Ada", "email": "ada@example.com"}], "services": services}).to_string()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("a free port").port()
}

fn get(port: u16, path: &str, bearer: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the server answers once it listens");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {bearer}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn a_one_line_fixtures_document_loads_and_the_port_opens_only_once_it_is_loaded() {
    let document = one_line_document(3200);
    assert!(document.len() > 128 * 1024 && !document.contains('\n'));
    let file = std::env::temp_dir().join(format!("contacts-local-ready-{}.json", std::process::id()));
    std::fs::write(&file, &document).unwrap();
    let port = free_port();
    // Its stderr into a file, not a pipe: what it wrote before listening is there the moment a
    // connection succeeds (a pipe's reader could still be behind).
    let said_path = std::env::temp_dir().join(format!("contacts-local-ready-{}.log", std::process::id()));
    let said_file = std::fs::File::create(&said_path).unwrap();
    let said = || std::fs::read_to_string(&said_path).unwrap_or_default();

    let mut server = Command::new(env!("CARGO_BIN_EXE_contacts-local"))
        .args(["--port", &port.to_string(), "--fixtures", file.to_str().unwrap()])
        // The embedded store and the outbox, whatever the environment points at.
        .env_remove("TABLE_NAME")
        .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
        .env_remove("AWS_ENDPOINT_URL_SESV2")
        .env_remove("PUBLIC_BASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::from(said_file))
        .spawn()
        .expect("contacts-local starts");

    // Like a script waiting for the port: the first moment it connects, the server is ready,
    // its data loaded (it listens only once the fixtures are in the store).
    let started = Instant::now();
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        if let Ok(Some(status)) = server.try_wait() {
            panic!("contacts-local exited ({status}) before listening:\n{}", said());
        }
        assert!(started.elapsed() < Duration::from_secs(60), "contacts-local did not listen within 60 s:\n{}", said());
        std::thread::sleep(Duration::from_millis(1));
    }
    let services = get(port, "/v1/me/services", "aa1-ovh");
    // The banner follows the listening socket (whoever reads its address can connect at once).
    let banner = loop {
        let banner = said();
        if banner.contains("services loaded") || started.elapsed() > Duration::from_secs(60) {
            break banner;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    server.kill().ok();
    server.wait().ok();
    std::fs::remove_file(&file).ok();
    std::fs::remove_file(&said_path).ok();

    assert!(banner.contains("listening on") && banner.contains("1 accounts, 3200 services loaded"), "the server said:\n{banner}");
    assert!(services.starts_with("HTTP/1.1 200"), "{services}");
    assert!(services.contains("s00000.example.com") && services.contains("next_cursor"), "{}", &services[..services.len().min(400)]);
}
