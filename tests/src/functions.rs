//! `Backend::Lambda`: the behaviour suite through the functions as deployed. Each bootstrap
//! runs under the Lambda Runtime Interface Emulator (lambda_harness), started on its first
//! invocation and killed with the app, and signs its AWS calls with its logical id in
//! template.yaml as access key, through the recorder of AWS calls (`AWS_CALL_RECORDER`) when
//! one runs: what each function calls is then judged against that function's policy.
//!
//! - an HTTP call goes to the function that serves its route, as API Gateway (HTTP API,
//!   payload 2.0) hands it over: [`http_event`], and the answer back as a [`TestResponse`];
//! - [`Functions::deliver`] is Lambda's event source mappings of the table's stream: the
//!   records of DynamoDB Local's stream not handed over yet, read as each mapping's function,
//!   filtered by its `FilterCriteria`, in batches of its `BatchSize`, to the mailer and the
//!   publisher, until nothing new comes;
//! - [`Functions::sweep`] is the schedule's invocation of the sweeper, and
//!   [`Functions::deliver_ses_event`] EventBridge's of the bounces function.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use contacts_api::{Caller, ROUTES, RouteSpec};
use contacts_app::config::Config;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use lambda_harness::http::Conn;
use lambda_harness::{Launch, Rie};
use serde_json::{Value, json};

use crate::streams::{self, StreamPoller};
use crate::template::{StreamMapping, Template};
use crate::{Emulators, TestResponse};

/// The address API Gateway reports for a client when the test names none (every real event
/// has one): from the documentation range.
const DEFAULT_SOURCE_IP: &str = "192.0.2.1";

/// Where the functions' AWS calls go: the recorder of AWS calls when `AWS_CALL_RECORDER` is
/// set (it forwards each by its signature's service), else straight to the emulators.
#[derive(Debug, Clone)]
pub struct AwsEndpoints {
    pub dynamodb: String,
    pub sesv2: String,
    /// moto's EventBridge (`MOTO_URL`), if it runs.
    pub eventbridge: Option<String>,
}

impl AwsEndpoints {
    pub fn from_env(emulators: &Emulators) -> Self {
        let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        match var("AWS_CALL_RECORDER") {
            Some(recorder) => {
                assert!(
                    recorder.starts_with("http://") && contacts_app::config::is_loopback_url(&recorder),
                    "AWS_CALL_RECORDER must be http:// on the loopback: {recorder}"
                );
                Self { dynamodb: recorder.clone(), sesv2: recorder.clone(), eventbridge: Some(recorder) }
            }
            None => Self { dynamodb: emulators.dynamodb.clone(), sesv2: emulators.ses.clone(), eventbridge: var("MOTO_URL") },
        }
    }
}

/// `launch` as template.yaml deploys the function whose binary is `binary`, as far as AWS is
/// concerned: it signs with its logical id as access key (and the dummy secret), in the
/// tests' region, and calls `endpoints`. Nothing of this machine's AWS configuration reaches it.
pub fn as_deployed(launch: Launch, binary: &str, endpoints: &AwsEndpoints) -> Launch {
    let launch = launch
        .env("AWS_ACCESS_KEY_ID", Template::deployed().logical_id(binary))
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_REGION", std::env::var("AWS_REGION").unwrap_or_else(|_| "eu-west-1".to_owned()))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_LAMBDA_FUNCTION_NAME", format!("contacts-{binary}"))
        .env("AWS_ENDPOINT_URL_DYNAMODB", &endpoints.dynamodb)
        .env("AWS_ENDPOINT_URL_SESV2", &endpoints.sesv2)
        .env_changes(&[("AWS_SESSION_TOKEN", None), ("AWS_PROFILE", None), ("AWS_ENDPOINT_URL", None)]);
    match &endpoints.eventbridge {
        Some(url) => launch.env("AWS_ENDPOINT_URL_EVENTBRIDGE", url),
        None => launch.env_remove("AWS_ENDPOINT_URL_EVENTBRIDGE"),
    }
}

/// What the functions need from the environment scripts/test provides.
#[derive(Debug, Clone)]
pub struct Deployment {
    rie: PathBuf,
    bin_dir: PathBuf,
    endpoints: AwsEndpoints,
    /// moto, where the app's event bus is made with the tests' own credentials.
    moto: String,
    /// DynamoDB Local itself, for the stream's ARN (the stack's, not a function's, knowledge).
    dynamodb: String,
}

impl Deployment {
    /// Panics with what to set when something is missing: a test on `Backend::Lambda` fails
    /// rather than passing without having run.
    pub fn from_env() -> Self {
        let emulators = Emulators::from_env();
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let (Some(rie), Some(bin_dir), Some(moto)) = (var("LAMBDA_RIE"), var("LAMBDA_BIN_DIR"), var("MOTO_URL")) else {
            panic!(
                "this test runs through the functions' bootstraps under the Lambda Runtime Interface Emulator, but \
                 LAMBDA_RIE, LAMBDA_BIN_DIR and/or MOTO_URL are not set. Run the project's test command, scripts/test, \
                 which installs the RIE, builds the functions and starts the emulators and moto (or `source scripts/emulators; \
                 start_dynamodb; start_ses; start_moto; export LAMBDA_BIN_DIR=$CARGO_TARGET_DIR/debug LAMBDA_RIE=$(rie_path)` \
                 after `cargo build --bins`)."
            )
        };
        let (rie, bin_dir) = (PathBuf::from(rie), PathBuf::from(bin_dir));
        assert!(rie.is_file(), "LAMBDA_RIE={} is not a file: run scripts/install-tools (or scripts/test)", rie.display());
        Self { rie, bin_dir, endpoints: AwsEndpoints::from_env(&emulators), moto: moto.trim_end_matches('/').to_owned(), dynamodb: emulators.dynamodb }
    }

    fn bootstrap(&self, binary: &str) -> PathBuf {
        let bootstrap = self.bin_dir.join(binary);
        assert!(
            bootstrap.is_file(),
            "{} is missing: build the functions first (cargo build -p fn-{binary}; scripts/test builds them all)",
            bootstrap.display()
        );
        bootstrap
    }
}

/// One bootstrap under the RIE, and the keep-alive connection its invocations go through.
struct Running {
    rie: Rie,
    conn: Conn,
}

/// The functions of one app, on its table: each started on its first invocation.
pub struct Functions {
    deployment: Deployment,
    /// What every bootstrap's environment holds besides its identity: the table, the app's
    /// configuration, the bus (the functions that do not read a variable ignore it).
    environment: Vec<(&'static str, String)>,
    account_claim: String,
    tag: String,
    table: String,
    /// By binary; one invocation at a time each, as a Lambda sandbox takes them.
    running: Mutex<HashMap<String, Arc<Mutex<Option<Running>>>>>,
    /// The table's stream as each mapping's poller left it; one delivery at a time.
    pollers: tokio::sync::Mutex<Vec<(&'static StreamMapping, StreamPoller)>>,
}

impl Functions {
    /// The functions on `table`, configured as `config` says, with an event bus of their own.
    pub fn new(table: &str, config: &Config, tag: &str) -> Self {
        let deployment = Deployment::from_env();
        let bus = format!("contacts-test-{tag}");
        create_event_bus(&deployment.moto, &bus);
        let mut environment = environment_of(config);
        environment.extend([("TABLE_NAME", table.to_owned()), ("EVENT_BUS_NAME", bus)]);
        Self {
            deployment,
            environment,
            account_claim: config.account_claim.clone(),
            tag: tag.to_owned(),
            table: table.to_owned(),
            running: Mutex::new(HashMap::new()),
            pollers: tokio::sync::Mutex::new(Vec::new()),
        }
    }

    /// The HTTP call as API Gateway routes it: to the function that serves its route, else
    /// API Gateway's own 404 (no function runs).
    pub async fn call(&self, method: Method, path: &str, query: Option<&str>, caller: &Caller, body: &Bytes, source: Option<std::net::IpAddr>) -> TestResponse {
        let Some(route) = route_of(&method, path) else {
            return TestResponse { status: StatusCode::NOT_FOUND, headers: json_headers(), body: Bytes::from_static(br#"{"message":"Not Found"}"#) };
        };
        let event = http_event(route, path, query, &self.authorizer(caller), body, source);
        let binary = route.function.name();
        let answer = self.invoke(binary, event).await;
        test_response(&answer).unwrap_or_else(|why| panic!("{binary}: {why}: {answer}\n{}", self.log_tail(binary)))
    }

    /// `requestContext.authorizer` for `caller`: the JWT authorizer's claims (strings, as
    /// API Gateway sends them), IAM's verified principal, or none.
    fn authorizer(&self, caller: &Caller) -> Option<Value> {
        match caller {
            Caller::Anonymous => None,
            Caller::Customer(account) => Some(json!({ "jwt": { "claims": { self.account_claim.as_str(): account }, "scopes": null } })),
            Caller::Provider(principal) => Some(json!({ "iam": { "accountId": "123456789012", "userArn": principal, "callerId": null } })),
            Caller::Rejected(why) => panic!("a refused bearer token ({why}) is contacts-local's; API Gateway's authorizer answers it without any function"),
        }
    }

    /// Every record of the table's stream not handed over yet, to the function of each mapping
    /// that lets it through, until a round finds nothing new (the mailer's and the publisher's
    /// writes are records too). Panics if a function answers a record as failed: nothing on
    /// this backend makes a mail or an event fail.
    pub async fn deliver(&self) {
        let mut pollers = self.pollers.lock().await;
        if pollers.is_empty() {
            *pollers = self.pollers_of_every_mapping().await;
        }
        loop {
            let mut handed = 0;
            for (mapping, poller) in pollers.iter_mut() {
                let records: Vec<_> = poller.poll().await.into_iter().filter(|r| mapping.lets_through(&r.record)).collect();
                for batch in records.chunks(mapping.batch_size) {
                    self.hand_over(mapping, batch).await;
                }
                handed += records.len();
            }
            if handed == 0 {
                return;
            }
        }
    }

    /// One poller per mapping, signing as the mapping's function: Lambda reads the stream with
    /// the function's role.
    async fn pollers_of_every_mapping(&self) -> Vec<(&'static StreamMapping, StreamPoller)> {
        let arn = streams::stream_arn(&self.deployment.dynamodb, &self.table).await;
        let template = Template::deployed();
        let endpoint = &self.deployment.endpoints.dynamodb;
        template.stream_mappings().iter().map(|mapping| (mapping, StreamPoller::new(endpoint, &mapping.function, &arn))).collect()
    }

    async fn hand_over(&self, mapping: &StreamMapping, batch: &[streams::StreamRecord]) {
        let binary = Template::deployed().binary_of(&mapping.function);
        let answer = self.invoke(binary, streams::lambda_event(batch)).await;
        let failures =
            answer["batchItemFailures"].as_array().unwrap_or_else(|| panic!("{binary} gave no partial batch response: {answer}\n{}", self.log_tail(binary)));
        assert!(failures.is_empty(), "{binary} answered records of {} as failed: {answer}\n{}", mapping.name, self.log_tail(binary));
    }

    /// The schedule's event (events/sweeper.scheduled.json) to the sweeper: its report.
    pub async fn sweep(&self) -> contacts_app::SweepReport {
        let event: Value = serde_json::from_str(include_str!("../../events/sweeper.scheduled.json")).expect("the sample event is JSON");
        let answer = self.invoke("sweeper", event).await;
        let count =
            |name: &str| answer[name].as_u64().unwrap_or_else(|| panic!("the sweeper's report has no {name}: {answer}\n{}", self.log_tail("sweeper"))) as usize;
        contacts_app::SweepReport {
            expired: count("expired"),
            reminded: count("reminded"),
            redelivered: count("redelivered"),
            republished: count("republished"),
            purged: count("purged"),
            batches: contacts_app::BatchSweep {
                expired: answer["batches"]["expired"].as_u64().unwrap_or(0) as usize,
                reminded: answer["batches"]["reminded"].as_u64().unwrap_or(0) as usize,
                finished: answer["batches"]["finished"].as_u64().unwrap_or(0) as usize,
                discarded: answer["batches"]["discarded"].as_u64().unwrap_or(0) as usize,
            },
        }
    }

    /// SES's `event` through EventBridge to the bounces function: how many addresses it marked.
    pub async fn deliver_ses_event(&self, event: Value) -> usize {
        let answer = self.invoke("bounces", event).await;
        answer["marked"].as_u64().unwrap_or_else(|| panic!("the bounces function marked no count: {answer}\n{}", self.log_tail("bounces"))) as usize
    }

    /// Invokes `binary` with `event`, starting it first if it is not running: its answer.
    async fn invoke(&self, binary: &str, event: Value) -> Value {
        let slot = self.running.lock().unwrap().entry(binary.to_owned()).or_default().clone();
        let launch = self.launch(binary);
        let log = std::env::temp_dir().join(format!("contacts-lambda-{}-{binary}.log", self.tag));
        let body = event.to_string();
        let answer = tokio::task::spawn_blocking(move || {
            let mut running = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            invoke_on(&mut running, &launch, &log, body.as_bytes())
        });
        answer.await.expect("the invocation's thread").unwrap_or_else(|why| panic!("{binary}: {why}"))
    }

    fn launch(&self, binary: &str) -> Launch {
        let launch = Launch::new(binary, &self.deployment.rie, self.deployment.bootstrap(binary))
            .lambda_environment()
            .env("RUST_LOG", "info")
            .log_kept_on_failure_only();
        let launch = self.environment.iter().fold(launch, |launch, (name, value)| launch.env(name, value));
        as_deployed(launch, binary, &self.deployment.endpoints)
    }

    fn log_tail(&self, binary: &str) -> String {
        let slot = self.running.lock().unwrap().get(binary).cloned();
        let running = slot.as_ref().map(|slot| slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        running.as_ref().and_then(|r| r.as_ref()).map_or_else(|| format!("{binary} is not running ({})", self.tag), |r| r.rie.log_tail())
    }
}

/// What the RIE logs when the Runtime API's port, which it binds only on its first invocation,
/// was taken meanwhile (by another RIE of the tests running beside): it dies without having
/// started the bootstrap.
const RUNTIME_API_PORT_TAKEN: &str = "Runtime API Server failed to listen";

/// Invokes the bootstrap in `running` with the event `body`, starting it first if it is not
/// running (again on other ports if the RIE lost its Runtime API's port: nothing ran then, so
/// nothing runs twice). The answer as JSON; why there is none, with the log's last lines.
fn invoke_on(running: &mut Option<Running>, launch: &Launch, log: &std::path::Path, body: &[u8]) -> Result<Value, String> {
    for _ in 0..3 {
        let started = running.get_or_insert_with(|| start(launch, log));
        let answer = match started.conn.send("POST", lambda_harness::INVOKE_PATH, &[("Content-Type", "application/json")], body) {
            Ok(answer) => answer,
            Err(_) if started.rie.log().contains(RUNTIME_API_PORT_TAKEN) => {
                *running = None;
                continue;
            }
            Err(e) => return Err(format!("the invocation got no answer: {e}\n{}", started.rie.log_tail())),
        };
        let text = || String::from_utf8_lossy(&answer.body).into_owned();
        if answer.status != 200 {
            return Err(format!("the invocation failed ({}): {}\n{}", answer.status, text(), started.rie.log_tail()));
        }
        return serde_json::from_slice(&answer.body).map_err(|e| format!("an answer that is not JSON ({e}): {}\n{}", text(), started.rie.log_tail()));
    }
    Err(format!("the RIE lost its Runtime API's port three times; its log: {}", log.display()))
}

fn start(launch: &Launch, log: &std::path::Path) -> Running {
    let rie = Rie::start(launch, log);
    let conn = rie.connect();
    Running { rie, conn }
}

/// The app's configuration as the template's `Globals` environment carries it.
fn environment_of(config: &Config) -> Vec<(&'static str, String)> {
    let seconds = |d: time::Duration| d.whole_seconds().to_string();
    vec![
        ("MAIL_FROM", config.mail_from.as_str().to_owned()),
        ("PUBLIC_BASE_URL", config.public_base_url.clone()),
        ("TOKEN_TTL_SECONDS", seconds(config.token_ttl)),
        ("RESEND_COOLDOWN_SECONDS", seconds(config.resend_cooldown)),
        ("RESEND_LIMIT", config.resend_limit.to_string()),
        ("REMINDER_BEFORE_SECONDS", seconds(config.reminder_before)),
        ("RETENTION_SECONDS", seconds(config.retention.duration())),
        ("UNACCEPTED_REQUEST_LIMIT", config.unaccepted_request_limit.to_string()),
        ("ACCOUNT_CLAIM", config.account_claim.clone()),
        ("METRICS_NAMESPACE", config.metrics_namespace.clone()),
        ("PROVIDER_PRINCIPALS", config.provider_principals.join(",")),
    ]
}

/// The route API Gateway matches: the method, and the path segment by segment, a `{name}`
/// taking any non-empty segment as it is (undecoded); a literal segment wins over a parameter.
fn route_of(method: &Method, path: &str) -> Option<&'static RouteSpec> {
    let segments: Vec<&str> = path.split('/').collect();
    let literal_segments = |spec: &RouteSpec| spec.path.split('/').filter(|s| !s.starts_with('{')).count();
    ROUTES.iter().filter(|spec| spec.method == method.as_str() && matches_path(spec.path, &segments)).max_by_key(|spec| literal_segments(spec))
}

fn matches_path(pattern: &str, segments: &[&str]) -> bool {
    let pattern: Vec<&str> = pattern.split('/').collect();
    pattern.len() == segments.len()
        && pattern.iter().zip(segments).all(|(expected, actual)| if expected.starts_with('{') { !actual.is_empty() } else { expected == actual })
}

/// An HTTP API payload 2.0 event of the call, as API Gateway builds it for `route`.
fn http_event(route: &RouteSpec, path: &str, query: Option<&str>, authorizer: &Option<Value>, body: &Bytes, source: Option<std::net::IpAddr>) -> Value {
    let source = source.map_or_else(|| DEFAULT_SOURCE_IP.to_owned(), |ip| ip.to_string());
    let now = time::OffsetDateTime::now_utc();
    let mut context = json!({
        "accountId": "123456789012",
        "apiId": "contacts",
        "domainName": "contacts.execute-api.eu-west-1.amazonaws.com",
        "domainPrefix": "contacts",
        "http": { "method": route.method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source, "userAgent": "integration-tests" },
        "requestId": crate::unique_tag(),
        "routeKey": route.route_key(),
        "stage": "$default",
        "time": now.format(&time::format_description::well_known::Rfc2822).unwrap_or_default(),
        "timeEpoch": (now.unix_timestamp_nanos() / 1_000_000) as i64,
    });
    if let Some(authorizer) = authorizer {
        context["authorizer"] = authorizer.clone();
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.route_key(),
        "rawPath": path,
        "rawQueryString": query.unwrap_or_default(),
        "headers": { "host": "contacts.execute-api.eu-west-1.amazonaws.com", "x-forwarded-for": source, "x-forwarded-proto": "https" },
        "requestContext": context,
        "pathParameters": path_parameters(route, path),
        "isBase64Encoded": false,
    });
    if !body.is_empty() {
        event["headers"]["content-length"] = json!(body.len().to_string());
        // Text as text; anything else as API Gateway passes binary, base64-encoded.
        match std::str::from_utf8(body) {
            Ok(text) => event["body"] = json!(text),
            Err(_) => {
                event["body"] = json!(STANDARD.encode(body));
                event["isBase64Encoded"] = json!(true);
            }
        }
    }
    event
}

/// `{name}` -> the path's segment there, as the client sent it.
fn path_parameters(route: &RouteSpec, path: &str) -> Value {
    let parameters = route.path.split('/').zip(path.split('/')).filter_map(|(pattern, segment)| {
        let name = pattern.strip_prefix('{')?.strip_suffix('}')?;
        Some((name.to_owned(), json!(segment)))
    });
    Value::Object(parameters.collect())
}

/// The API Gateway (payload 2.0) response a function gave, as the client gets it.
fn test_response(answer: &Value) -> Result<TestResponse, String> {
    let status = answer["statusCode"].as_u64().and_then(|s| StatusCode::from_u16(s as u16).ok()).ok_or("not an HTTP API response")?;
    let mut headers = HeaderMap::new();
    for (name, value) in answer["headers"].as_object().into_iter().flatten() {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("a header name: {e}"))?;
        let value = HeaderValue::from_str(value.as_str().unwrap_or_default()).map_err(|e| format!("a header value: {e}"))?;
        headers.append(name, value);
    }
    for cookie in answer["cookies"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        headers.append(http::header::SET_COOKIE, HeaderValue::from_str(cookie).map_err(|e| format!("a cookie: {e}"))?);
    }
    let body = answer["body"].as_str().unwrap_or_default();
    let body = if answer["isBase64Encoded"] == true {
        STANDARD.decode(body).map_err(|e| format!("a body that is not base64: {e}"))?
    } else {
        body.as_bytes().to_vec()
    };
    Ok(TestResponse { status, headers, body: Bytes::from(body) })
}

fn json_headers() -> HeaderMap {
    HeaderMap::from_iter([(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))])
}

/// The bus `name` on moto, made with the tests' own credentials (the stack makes it).
fn create_event_bus(moto: &str, name: &str) {
    let authority = moto.strip_prefix("http://").unwrap_or(moto);
    let authorization = "AWS4-HMAC-SHA256 Credential=local/20260101/eu-west-1/events/aws4_request, SignedHeaders=host, Signature=0";
    let headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", "AWSEvents.CreateEventBus"),
        ("Authorization", authorization),
        ("Connection", "close"),
    ];
    let mut conn = Conn::connect(authority).unwrap_or_else(|e| panic!("moto at {moto}: {e}"));
    let answer = conn.send("POST", "/", &headers, json!({ "Name": name }).to_string().as_bytes()).unwrap_or_else(|e| panic!("moto at {moto}: {e}"));
    assert_eq!(answer.status, 200, "CreateEventBus {name} on moto: {}", String::from_utf8_lossy(&answer.body));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_goes_to_the_route_api_gateway_matches_with_its_raw_segments() {
        let route = |method: Method, path: &str| route_of(&method, path).map(|r| (r.function.name(), r.path));
        assert_eq!(route(Method::GET, "/v1/services/a%2Fb"), Some(("read", "/v1/services/{service}")));
        assert_eq!(route(Method::GET, "/panel/config"), Some(("panel", "/panel/config")), "the literal route wins");
        assert_eq!(route(Method::PUT, "/internal/accounts/aa1-ovh"), Some(("provider", "/internal/accounts/{id}")));
        assert_eq!(route(Method::DELETE, "/v1/me"), None, "a wrong method is API Gateway's 404, no function's 405");
        assert_eq!(route(Method::GET, "/v1/services/"), None);
    }

    #[test]
    fn the_event_carries_the_call_as_api_gateway_does() {
        let spec = route_of(&Method::POST, "/confirm/01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap();
        let event = http_event(spec, "/confirm/01ARZ3NDEKTSV4RRFFQ69G5FAV", Some("a=1"), &None, &Bytes::from_static(b"\xff"), None);
        assert_eq!((event["routeKey"].as_str(), event["rawQueryString"].as_str()), (Some("POST /confirm/{id}"), Some("a=1")));
        assert_eq!(event["pathParameters"], json!({"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}));
        assert_eq!((event["body"].as_str(), event["isBase64Encoded"].as_bool()), (Some("/w=="), Some(true)));
        assert_eq!(event["requestContext"]["http"]["sourceIp"], DEFAULT_SOURCE_IP);
        assert!(event["requestContext"].get("authorizer").is_none(), "nobody: no authorizer");
    }

    #[test]
    fn a_function_answer_becomes_the_clients_response() {
        let answer = json!({"statusCode": 303, "headers": {"location": "x?answered=accept"}, "cookies": ["a=b"], "body": "PHA+", "isBase64Encoded": true});
        let response = test_response(&answer).unwrap();
        assert_eq!(
            (response.status, response.header("location"), response.header("set-cookie")),
            (StatusCode::SEE_OTHER, Some("x?answered=accept"), Some("a=b"))
        );
        assert_eq!(response.body, Bytes::from_static(b"<p>"));
        assert!(test_response(&json!({"errorType": "Runtime.ExitError"})).is_err());
    }
}
