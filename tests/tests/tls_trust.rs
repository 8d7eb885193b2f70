//! Whom the functions' HTTPS client trusts (issue #15, `contacts_aws::sdk::Trust`): the
//! public roots compiled in by default, and exactly the certificates of the PEM file that
//! `AWS_CA_BUNDLE` names when it is set, for a private endpoint whose CA is not a public one.
//!
//! The endpoint is a TLS server on the loopback with a certificate for `localhost` signed by a
//! CA of its own (tests/fixtures/tls/: made once with openssl, valid for a hundred years; the
//! key is a test key that protects nothing). It answers any request as DynamoDB answers a
//! `GetItem` that finds nothing, and counts the requests that reached it, which a client
//! sends only after a handshake it trusted.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use contacts_app::config::AwsConfig;
use contacts_app::ports::Accounts;
use contacts_aws::DynamoStore;
use contacts_aws::sdk::{self, Trust};
use contacts_domain::AccountId;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tls").join(name)
}

/// A TLS endpoint on 127.0.0.1 with the fixture's certificate: its URL (by the name its
/// certificate carries), and how many HTTP requests it has answered.
fn private_endpoint() -> (String, Arc<AtomicUsize>) {
    let chain = CertificateDer::pem_file_iter(fixture("server.pem")).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_file(fixture("server.key")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let answered = Arc::new(AtomicUsize::new(0));
    let count = answered.clone();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let (config, count) = (config.clone(), count.clone());
            std::thread::spawn(move || serve(config, tcp, &count));
        }
    });
    (format!("https://localhost:{port}"), answered)
}

/// One connection: every request on it answered with an empty `GetItem` result, until the
/// client goes (or the handshake fails, which ends it at the first read).
fn serve(config: Arc<rustls::ServerConfig>, tcp: std::net::TcpStream, answered: &AtomicUsize) {
    let Ok(connection) = rustls::ServerConnection::new(config) else { return };
    let mut reader = BufReader::new(rustls::StreamOwned::new(connection, tcp));
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => {
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        answered.fetch_add(1, Ordering::SeqCst);
        let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 2\r\n\r\n{}";
        let stream = reader.get_mut();
        if stream.write_all(answer.as_bytes()).and_then(|()| stream.flush()).is_err() {
            return;
        }
    }
}

/// A read of an account through the functions' configuration (`lambda_sdk_config` with the
/// emulators' dummy credentials), at `endpoint`, trusting `trust`.
async fn read_an_account(endpoint: &str, trust: Trust) -> Result<(), String> {
    let sdk = sdk::lambda_sdk_config(Some("eu-west-1"), sdk::CallsTo::Emulators { access_key: "local" }, trust)?;
    let store = DynamoStore::new(sdk::dynamodb_client_at(&sdk, endpoint), "contacts".to_owned());
    match store.account(&AccountId::parse("zz0-ovh").unwrap()).await {
        Ok(None) => Ok(()),
        Ok(Some(_)) => Err("an account out of nothing".to_owned()),
        Err(error) => Err(error.to_string()),
    }
}

#[tokio::test]
async fn a_private_endpoint_is_trusted_when_aws_ca_bundle_names_its_ca_and_only_then() {
    let (endpoint, answered) = private_endpoint();
    let config = AwsConfig::from_lookup(|name| (name == "AWS_CA_BUNDLE").then(|| fixture("ca.pem").display().to_string())).unwrap();
    let named = sdk::trust_of(config.ca_bundle.as_deref()).expect("the fixture's CA is a usable bundle");
    assert!(matches!(named, Trust::Bundle(_)));
    read_an_account(&endpoint, named).await.expect("a handshake with the CA named, then the GetItem");
    assert_eq!(answered.load(Ordering::SeqCst), 1, "the GetItem reached the endpoint");

    // Unset, the compiled-in public roots: the private CA is not one of them.
    let unset = sdk::trust_of(AwsConfig::from_lookup(|_| None).unwrap().ca_bundle.as_deref()).unwrap();
    assert_eq!(unset, Trust::Compiled);
    let refused = read_an_account(&endpoint, unset).await.expect_err("a CA nobody named is not trusted");
    assert!(refused.contains("could not reach DynamoDB"), "{refused}");
    // A bundle that names another CA does not make it trusted either: it replaces the roots.
    let other = sdk::trust_of(Some(&fixture("server.pem"))).expect("a certificate is a usable anchor");
    let refused = read_an_account(&endpoint, other).await.expect_err("only the bundle's own CAs");
    assert!(refused.contains("could not reach DynamoDB"), "{refused}");
    assert_eq!(answered.load(Ordering::SeqCst), 1, "no request went out over an untrusted connection");
}

#[test]
fn a_bundle_that_cannot_work_stops_the_start_with_its_name() {
    let dir = std::env::temp_dir().join(format!("tls-trust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.pem");
    let message = sdk::trust_of(Some(&missing)).unwrap_err();
    assert!(message.starts_with("AWS_CA_BUNDLE ") && message.contains("missing.pem") && message.contains("cannot be read"), "{message}");

    let key_only = fixture("server.key");
    let message = sdk::trust_of(Some(&key_only)).unwrap_err();
    assert!(message.contains("holds no PEM certificate"), "{message}");

    let garbled = dir.join("garbled.pem");
    std::fs::write(&garbled, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n").unwrap();
    let message = sdk::trust_of(Some(&garbled)).unwrap_err();
    assert!(message.contains("1 of its certificates cannot be a trust anchor"), "{message}");

    let truncated = dir.join("truncated.pem");
    std::fs::write(&truncated, "-----BEGIN CERTIFICATE-----\nMIIB\n").unwrap();
    assert!(sdk::trust_of(Some(&truncated)).unwrap_err().contains("is not PEM"));
    std::fs::remove_dir_all(&dir).unwrap();
}
