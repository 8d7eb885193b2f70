//! Any request, on any route, with any identity: the router never panics and never blames
//! itself (5xx) for the client's input.
//!
//! An input is a short sequence of requests on a fresh memory-store app with the demo data,
//! so that every input, and so every crash artifact, replays alone. Within a sequence, `$ID`
//! and `$TOKEN` (in a path segment, the query or the body) stand for the id and the token of
//! the latest confirmation mail sent so far: a request created by an earlier step can be
//! read, accepted, refused, resent, cancelled and confirmed from its page.

#![no_main]

use std::sync::{Arc, OnceLock};

use contacts_api::{ApiRequest, Caller, ROUTES, Router};
use contacts_app::App;
use contacts_app::config::Config;
use contacts_app::memory::{MemoryMailer, MemoryStore};
use contacts_app::ports::SystemClock;
use contacts_app::seed::Fixtures;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Step {
    /// Picks a route's method and path template (or a free path when out of range).
    route: u8,
    /// Fills the template's `{param}` (likely: a demo service, or `$ID`), or is the whole path.
    segment: Text,
    /// The method of a free path.
    method: u8,
    query: Option<Text>,
    identity: Option<String>,
    /// Picks a demo identity (5 times in 8) or the provider's systems (1 in 8) instead of
    /// `identity`, so deep paths and the internal API are reached.
    as_demo: u8,
    body: Body,
}

/// Any bytes, or one of the bodies the routes take with any values in it: random bytes
/// alone would seldom get past the JSON parser to the rules.
#[derive(Debug, Arbitrary)]
enum Body {
    Raw(Vec<u8>),
    /// `{admin?, tech?, billing?}`: a new contact change.
    Change {
        admin: Option<Text>,
        tech: Option<Text>,
        billing: Option<Text>,
    },
    /// `{token}` (accept, refuse).
    Token(Text),
    /// `{email?, language?}` (the profile).
    Profile {
        email: Option<Text>,
        language: Option<Text>,
    },
    /// `token=...&decision=...` (the confirmation page's form).
    Form {
        token: Option<Text>,
        decision: Option<Text>,
    },
}

/// A value in a body: a likely one (a demo account, the latest token, a language, ...) or any text.
#[derive(Debug, Arbitrary)]
enum Text {
    Likely(u8),
    Any(String),
}

impl Text {
    fn get(self, likely: &[&str], link: &(String, String)) -> String {
        match self {
            Text::Likely(i) => fill(likely[i as usize % likely.len()], link),
            Text::Any(text) => fill(&text, link),
        }
    }
}

impl Body {
    fn bytes(self, link: &(String, String)) -> Vec<u8> {
        let mut object = serde_json::Map::new();
        let mut put = |key: &str, value: Option<Text>, likely: &[&str]| {
            if let Some(value) = value {
                object.insert(key.to_owned(), serde_json::Value::String(value.get(likely, link)));
            }
        };
        match self {
            Body::Raw(bytes) => {
                return match std::str::from_utf8(&bytes) {
                    Ok(text) if text.contains('$') => fill(text, link).into_bytes(),
                    _ => bytes,
                };
            }
            Body::Change { admin, tech, billing } => {
                put("admin", admin, &DEMO);
                put("tech", tech, &DEMO);
                put("billing", billing, &DEMO);
            }
            Body::Token(token) => put("token", Some(token), &["$TOKEN"]),
            Body::Profile { email, language } => {
                put("email", email, &["ned@example.com", "a@b.example"]);
                put("language", language, &["it", "en", "fr"]);
            }
            Body::Form { token, decision } => {
                let mut form = form_urlencoded::Serializer::new(String::new());
                if let Some(token) = token {
                    form.append_pair("token", &token.get(&["$TOKEN"], link));
                }
                if let Some(decision) = decision {
                    form.append_pair("decision", &decision.get(&["accept", "refuse"], link));
                }
                return form.finish().into_bytes();
            }
        }
        serde_json::Value::Object(object).to_string().into_bytes()
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    steps: Vec<Step>,
}

/// More steps add little that fewer do not reach, and cost time on every input.
const MAX_STEPS: usize = 6;
const DEMO: [&str; 5] = ["ad1000-ovh", "te2000-ovh", "bi3000-ovh", "ne4000-ovh", "ov5000-ovh"];
const SEGMENTS: [&str; 3] = ["example.com", "vps-42.example.net", "$ID"];
const QUERIES: [&str; 3] = ["state=pending", "state=done", ""];
const METHODS: [&str; 7] = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().unwrap())
}

fn demo() -> &'static Fixtures {
    static DEMO_DATA: OnceLock<Fixtures> = OnceLock::new();
    DEMO_DATA.get_or_init(Fixtures::demo)
}

/// `FUZZ_TRACE=1`: print each request and its status (to see what an input does).
fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

/// The request id and the token of the latest confirmation mail (`.../confirm/{id}#token={token}`).
fn latest_link(outbox: &MemoryMailer) -> (String, String) {
    for mail in outbox.sent().iter().rev() {
        if let Some((before, after)) = mail.text.split_once("#token=") {
            let token: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
            let id = before.rsplit('/').next().unwrap_or_default().to_owned();
            return (id, token);
        }
    }
    (String::new(), String::new())
}

fn fill(text: &str, link: &(String, String)) -> String {
    text.replace("$ID", &link.0).replace("$TOKEN", &link.1)
}

fuzz_target!(|input: Input| {
    let runtime = runtime();
    let outbox = Arc::new(MemoryMailer::new());
    let app = App::new(Arc::new(MemoryStore::new()), outbox.clone(), Arc::new(SystemClock), Config::default());
    runtime.block_on(demo().load(&app)).unwrap();
    let router = Router::new(app);

    for step in input.steps.into_iter().take(MAX_STEPS) {
        let link = latest_link(&outbox);
        let segment = step.segment.get(&SEGMENTS, &link);
        let (method, path) = match ROUTES.get(step.route as usize % (ROUTES.len() + 1)) {
            Some(spec) => (spec.method, spec.path.replace("{service}", &segment).replace("{name}", &segment).replace("{id}", &segment)),
            None => (METHODS[step.method as usize % METHODS.len()], segment),
        };
        // Mostly a demo account (deep paths), sometimes the provider's systems (the internal
        // API), else any text (or none) as the claimed identity.
        let caller = match step.as_demo as usize % 8 {
            i if i < DEMO.len() => Caller::Customer(DEMO[i].to_owned()),
            i if i == DEMO.len() => Caller::Provider("arn:aws:iam::123456789012:role/fuzz".to_owned()),
            _ => Caller::customer(step.identity.as_deref()),
        };
        let body = step.body.bytes(&link);
        let request = ApiRequest {
            method: http::Method::from_bytes(method.as_bytes()).unwrap(),
            path,
            query: step.query.map(|q| q.get(&QUERIES, &link)),
            headers: http::HeaderMap::new(),
            body: bytes::Bytes::from(body),
            caller,
            source: Some(std::net::IpAddr::from([192, 0, 2, step.as_demo])),
        };
        let described = format!("{} {:?} (query {:?}, caller {:?})", request.method, request.path, request.query, request.caller);
        let response = runtime.block_on(router.handle(request));
        if trace() {
            eprintln!("{described} -> {}", response.status());
        }
        assert!(response.status().as_u16() < 500, "{} for client input: {described}", response.status());
    }
});
