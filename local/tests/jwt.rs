//! `contacts-local` with `JWT_ISSUER`: bearer JWTs verified as API Gateway's JWT authorizer
//! does, against an issuer (a discovery document and a key set, served here on the loopback)
//! with the test keys of tests/fixtures/jwt. Every forged, stale or misdirected token is a 401
//! that says why and repeats nothing of the token.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use contacts_api::Router;
use contacts_app::App;
use contacts_app::config::Config;
use contacts_app::memory::{MemoryMailer, MemoryStore};
use contacts_app::ports::SystemClock;
use contacts_app::seed::Fixtures;
use contacts_local::jwt::{JwtSettings, Verifier};
use contacts_local::{Local, serve};
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const AUDIENCE: &str = "contacts-panel";
const ADA: &str = "ad1000-ovh";

fn fixture(name: &str) -> String {
    let path = format!("{}/../tests/fixtures/jwt/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The issuer: its discovery document and its key set (which a test may change: a rotation),
/// counting how often the key set is read.
struct Issuer {
    url: String,
    keys: Arc<Mutex<Value>>,
    key_reads: Arc<AtomicUsize>,
}

async fn issuer() -> Issuer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let keys: Arc<Mutex<Value>> = Arc::new(Mutex::new(serde_json::from_str(&fixture("jwks.json")).unwrap()));
    let key_reads = Arc::new(AtomicUsize::new(0));
    let (served_keys, reads, base) = (keys.clone(), key_reads.clone(), url.clone());
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (keys, reads, base) = (served_keys.clone(), reads.clone(), base.clone());
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let body = match request.uri().path() {
                        "/.well-known/openid-configuration" => json!({ "issuer": base, "jwks_uri": format!("{base}/jwks") }),
                        "/jwks" => {
                            reads.fetch_add(1, Ordering::SeqCst);
                            keys.lock().unwrap().clone()
                        }
                        _ => json!({}),
                    };
                    async move { Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(body.to_string())))) }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Issuer { url, keys, key_reads }
}

/// contacts-local on the demo data, signing in with `issuer`'s tokens; its address.
async fn local(issuer: &Issuer, refresh: Duration) -> String {
    signing::install();
    let settings = JwtSettings { issuer: issuer.url.clone(), audiences: vec![AUDIENCE.to_owned()], account_claim: "sub".to_owned() };
    let verifier = Verifier::new(settings).unwrap().with_refresh_at_most_every(refresh);
    let outbox = Arc::new(MemoryMailer::new());
    let app = App::new(Arc::new(MemoryStore::new()), outbox.clone(), Arc::new(SystemClock), Config::default());
    Fixtures::demo().load(&app).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve(listener, Local { router: Router::new(app), outbox: Some(outbox), events: None, sign_in: Some(Arc::new(verifier)) }));
    address
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Claims as the issuer gives them to Ada's panel.
fn claims(issuer: &Issuer) -> Value {
    json!({ "iss": issuer.url, "sub": ADA, "aud": AUDIENCE, "iat": now(), "exp": now() + 300 })
}

fn signed(claims: &Value, alg: Algorithm, kid: &str, key_file: &str) -> String {
    signing::install();
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    let pem = fixture(key_file);
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
        _ => EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    };
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn rs256(claims: &Value) -> String {
    signed(claims, Algorithm::RS256, "rsa-a", "rsa-a.pem")
}

struct Reply {
    status: u16,
    body: String,
}

async fn get(address: &str, path: &str, bearer: Option<&str>) -> Reply {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let auth = bearer.map(|b| format!("Authorization: Bearer {b}\r\n")).unwrap_or_default();
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Connection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Reply { status: head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0), body: body.to_owned() }
}

/// `GET /v1/me` with `token` is refused: 401 `invalid_token`, its detail containing `why`,
/// and nothing of the token (nor the account it names) in the answer.
async fn refused(address: &str, token: &str, why: &str) {
    let reply = get(address, "/v1/me", Some(token)).await;
    assert_eq!(reply.status, 401, "{why}: {}", reply.body);
    let problem: Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(problem["code"], "invalid_token", "{why}");
    assert!(problem["detail"].as_str().unwrap().contains(why), "{why}: {problem}");
    for part in token.split('.').filter(|p| p.len() > 8) {
        assert!(!reply.body.contains(part), "{why}: the answer repeats the token");
    }
    assert!(!reply.body.contains(ADA), "{why}: the answer names the account the token claims");
}

#[tokio::test]
async fn a_token_of_the_issuer_signs_in_by_rs256_or_es256_and_by_aud_or_client_id() {
    let issuer = issuer().await;
    let local = local(&issuer, Duration::from_secs(30)).await;
    assert_eq!(get(&local, "/v1/me", Some(&rs256(&claims(&issuer)))).await.status, 200);
    let es = signed(&claims(&issuer), Algorithm::ES256, "ec-a", "ec-a.pem");
    let me = get(&local, "/v1/me", Some(&es)).await;
    assert_eq!((me.status, serde_json::from_str::<Value>(&me.body).unwrap()["name"].clone()), (200, json!("Ada Admin")), "the account the token names");
    // An access token without `aud` names its client instead, as the authorizer accepts.
    let mut access = claims(&issuer);
    access.as_object_mut().unwrap().remove("aud");
    access["client_id"] = json!(AUDIENCE);
    assert_eq!(get(&local, "/v1/me", Some(&rs256(&access))).await.status, 200);
    let mut several = claims(&issuer);
    several["aud"] = json!(["another-app", AUDIENCE]);
    assert_eq!(get(&local, "/v1/me", Some(&rs256(&several))).await.status, 200);
    // Within the leeway: a minute of clock skew either way.
    let mut skewed = claims(&issuer);
    skewed["exp"] = json!(now() - 30);
    skewed["nbf"] = json!(now() + 30);
    assert_eq!(get(&local, "/v1/me", Some(&rs256(&skewed))).await.status, 200);
    assert_eq!(issuer.key_reads.load(Ordering::SeqCst), 1, "the key set is read once, then cached");
}

#[tokio::test]
async fn every_forged_stale_or_misdirected_token_is_a_401_that_says_why() {
    let issuer = issuer().await;
    let local = local(&issuer, Duration::from_secs(30)).await;
    let with = |change: &dyn Fn(&mut Value)| {
        let mut c = claims(&issuer);
        change(&mut c);
        rs256(&c)
    };
    refused(&local, &with(&|c| c["exp"] = json!(now() - 120)), "expired").await;
    refused(&local, &with(&|c| c["nbf"] = json!(now() + 600)), "not valid yet").await;
    refused(&local, &with(&|c| c["iat"] = json!(now() + 600)), "not valid yet").await;
    refused(&local, &with(&|c| c["aud"] = json!("another-app")), "another audience").await;
    refused(&local, &with(&|c| c.as_object_mut().unwrap().retain(|k, _| k != "aud")), "another audience").await;
    refused(&local, &with(&|c| c["iss"] = json!("https://issuer.example")), "another issuer").await;
    refused(&local, &with(&|c| c.as_object_mut().unwrap().retain(|k, _| k != "exp")), "not a well-formed JWT").await;
    refused(&local, &with(&|c| c.as_object_mut().unwrap().retain(|k, _| k != "sub")), "names no account").await;

    // Signed by a key the issuer does not publish, under the name of one it does.
    refused(&local, &signed(&claims(&issuer), Algorithm::RS256, "rsa-a", "rsa-b.pem"), "does not verify").await;
    refused(&local, &signed(&claims(&issuer), Algorithm::RS256, "rsa-b", "rsa-b.pem"), "a key the issuer does not publish").await;
    // A valid token with its payload swapped for another account's.
    let valid = rs256(&claims(&issuer));
    let parts: Vec<&str> = valid.split('.').collect();
    let mut other = claims(&issuer);
    other["sub"] = json!("ne4000-ovh");
    let tampered = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(other.to_string()), parts[2]);
    refused(&local, &tampered, "does not verify").await;
    // `alg: none`, and HS256 keyed with the public key (the algorithm confusion).
    let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"rsa-a"}"#), URL_SAFE_NO_PAD.encode(claims(&issuer).to_string()));
    refused(&local, &none, "not a well-formed JWT").await;
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("rsa-a".to_owned());
    signing::install();
    let confused = jsonwebtoken::encode(&hs, &claims(&issuer), &EncodingKey::from_secret(fixture("jwks.json").as_bytes())).unwrap();
    refused(&local, &confused, "algorithm is not accepted").await;
    // An ES256 header on the RSA key.
    refused(&local, &signed(&claims(&issuer), Algorithm::ES256, "rsa-a", "ec-a.pem"), "algorithm is not accepted").await;
    // The development identity is off: an account id is no token.
    refused(&local, ADA, "not a well-formed JWT").await;
    assert_eq!(get(&local, "/v1/me", None).await.status, 401, "no token at all: unauthenticated");
    // A public route does not look at the token, as the authorizer guards only its routes.
    assert_ne!(get(&local, "/confirm/01ARZ3NDEKTSV4RRFFQ69G5FAV", Some("forged")).await.status, 401);
}

#[tokio::test]
async fn a_new_key_is_fetched_when_a_token_names_it_and_unknown_keys_are_not_refetched_in_a_loop() {
    let issuer = issuer().await;
    let local = local(&issuer, Duration::from_millis(200)).await;
    assert_eq!(get(&local, "/v1/me", Some(&rs256(&claims(&issuer)))).await.status, 200);
    // The issuer rotates in rsa-b.
    let added: Value = serde_json::from_str(&fixture("jwks-b.json")).unwrap();
    issuer.keys.lock().unwrap()["keys"].as_array_mut().unwrap().push(added["keys"][0].clone());
    let rotated = signed(&claims(&issuer), Algorithm::RS256, "rsa-b", "rsa-b.pem");
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(get(&local, "/v1/me", Some(&rotated)).await.status, 200, "the new key is read on first sight");
    assert_eq!(issuer.key_reads.load(Ordering::SeqCst), 2);
    // Tokens naming keys nobody publishes: one refetch per interval at most.
    for n in 0..5 {
        refused(&local, &signed(&claims(&issuer), Algorithm::RS256, &format!("made-up-{n}"), "rsa-b.pem"), "a key the issuer does not publish").await;
    }
    assert!(issuer.key_reads.load(Ordering::SeqCst) <= 3, "{} reads", issuer.key_reads.load(Ordering::SeqCst));
}

#[test]
fn an_issuer_needs_an_audience_and_https_off_the_loopback() {
    let env = |pairs: &'static [(&'static str, &'static str)]| move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned());
    assert_eq!(JwtSettings::from_env(env(&[]), "sub"), Ok(None), "no issuer: the development identity");
    assert!(JwtSettings::from_env(env(&[("JWT_ISSUER", "http://127.0.0.1:9")]), "sub").unwrap_err().contains("JWT_AUDIENCE"));
    assert!(JwtSettings::from_env(env(&[("JWT_ISSUER", "http://issuer.example"), ("JWT_AUDIENCE", "a")]), "sub").unwrap_err().contains("https"));
    let settings = JwtSettings::from_env(env(&[("JWT_ISSUER", "https://issuer.example/pool"), ("JWT_AUDIENCE", "a, b")]), "custom:account").unwrap().unwrap();
    assert_eq!((settings.audiences, settings.account_claim.as_str()), (vec!["a".to_owned(), "b".to_owned()], "custom:account"));
}

/// The issuer's side: jsonwebtoken signs through a process-wide provider, and contacts-local's
/// only verifies; this one signs as an issuer would (RS256, ES256, and the HS256 of a forger),
/// and verifies with contacts-local's own verifier. Installed before anything verifies, in
/// whatever order the tests run.
mod signing {
    use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner};
    use jsonwebtoken::errors::{Error, ErrorKind};
    use jsonwebtoken::signature::{self, Signer};
    use jsonwebtoken::{Algorithm, EncodingKey};
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256, RsaKeyPair};

    static ISSUER: CryptoProvider =
        CryptoProvider { signer_factory: signer_for, verifier_factory: contacts_local::jwt_crypto::verifier_for, jwk_utils: JwkUtils::new_unimplemented() };

    pub fn install() {
        let _ = ISSUER.install_default();
    }

    fn signer_for(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
        match algorithm {
            Algorithm::RS256 | Algorithm::ES256 | Algorithm::HS256 => Ok(Box::new(RingSigner { algorithm: *algorithm, key: key.clone() })),
            _ => Err(ErrorKind::InvalidAlgorithm.into()),
        }
    }

    struct RingSigner {
        algorithm: Algorithm,
        key: EncodingKey,
    }

    impl Signer<Vec<u8>> for RingSigner {
        fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
            let rng = SystemRandom::new();
            match self.algorithm {
                // jsonwebtoken hands an RSA key over as PKCS#1 DER, and an EC key as PKCS#8.
                Algorithm::RS256 => {
                    let pair = RsaKeyPair::from_der(self.key.inner()).map_err(|_| signature::Error::new())?;
                    let mut out = vec![0; pair.public().modulus_len()];
                    pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut out).map_err(|_| signature::Error::new())?;
                    Ok(out)
                }
                Algorithm::ES256 => {
                    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, self.key.inner(), &rng).map_err(|_| signature::Error::new())?;
                    Ok(pair.sign(&rng, message).map_err(|_| signature::Error::new())?.as_ref().to_vec())
                }
                _ => {
                    let secret = self.key.try_get_hmac_secret().map_err(|_| signature::Error::new())?;
                    Ok(ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret), message).as_ref().to_vec())
                }
            }
        }
    }

    impl JwtSigner for RingSigner {
        fn algorithm(&self) -> Algorithm {
            self.algorithm
        }
    }
}
