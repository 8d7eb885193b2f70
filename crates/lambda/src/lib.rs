//! The Lambda entry points: how the outside world reaches the router on AWS Lambda, behind API
//! Gateway's HTTP API, and SES's events through EventBridge, and the table's stream to the
//! mailer and the publisher. (The local server, `contacts-local`, is the other entry point; it
//! lives in its own crate.)
//!
//! This crate's root is the HTTP functions' entry point: an API Gateway HTTP API (payload 2.0)
//! event in, the router's answer out. Every function of `functions/` is `run(Function::X)`.
//! The others are [`job`] and [`scheduled`] (the sweeper), [`bounces`] (SES's events),
//! [`mailer`] and [`publisher`] (the table's stream). Every one of them runs each invocation
//! the same way (its deadline, its span, its metrics): `invocation.rs`.
//!
//! The caller comes from the request context, and from nowhere else: a customer from the JWT
//! authorizer's verified claims, one of the provider's systems from the AWS principal that IAM
//! authorization verified. A header can be forged by anyone, the request context only by API
//! Gateway.

pub mod bounces;
mod invocation;
pub mod job;
mod log_line;
pub mod mailer;
pub mod publisher;
pub mod scheduled;
pub mod stream;

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use lambda_runtime::{LambdaEvent, service_fn};

use contacts_api::{ApiRequest, ApiResponse, Caller, Function, Router, routes};
use contacts_app::App;
use contacts_app::config::{self, Config};
use contacts_app::ports::{Store, SystemClock};
use contacts_aws::DynamoStore;
pub use contacts_aws::eventbridge::Publishing;
use contacts_aws::sdk;
pub use contacts_aws::ses::Mailing;
use contacts_domain::{AccountId, RequestId};
use invocation::Invocation;

pub use lambda_runtime::Error;

/// Serves `function`'s routes until the Lambda runtime stops the process: every HTTP function
/// but the panel, which has [`run_panel`].
///
/// Everything that can be built once is built here, before the first event: the logger,
/// the configuration, the SDK configuration and clients (one TLS stack, one connection pool
/// shared by DynamoDB and SES; credentials and region as Lambda gives them, see
/// [`sdk::lambda_sdk_config`]; an SES client only with [`Mailing::SES`]), the router. A
/// configuration error stops the start, which Lambda reports as an init error rather than as
/// a 500 on every request.
pub async fn run(function: Function, mailing: Mailing) -> Result<(), Error> {
    serve(function, Router::for_function(http_app(true, mailing).await?, function)).await
}

/// Serves the panel: its page, its configuration and its assets, with the identity provider's
/// discovery document read over HTTPS (its endpoints, its CSP). Its own entry point, not a
/// branch of [`run`], so that only the panel's binary links that HTTPS client (BENCHMARKS.md:
/// the size target), as only the binaries that name [`Mailing::SES`] link SES's.
pub async fn run_panel() -> Result<(), Error> {
    // The panel reads nothing from the table (and its policy allows no read): no warm-up.
    let router =
        Router::for_function(http_app(false, Mailing::NONE).await?, Function::Panel).with_discovery(Arc::new(contacts_aws::https_json::HttpsJson::new()));
    serve(Function::Panel, router).await
}

/// The application of an HTTP function. None puts events: each commits its own with its
/// writes (docs/events.md).
async fn http_app(prewarm: bool, mailing: Mailing) -> Result<App, Error> {
    app(prewarm, mailing, Publishing::NONE).await
}

/// Hands each API Gateway event to `router`, one [`Invocation`] each.
async fn serve(function: Function, router: Router) -> Result<(), Error> {
    let account_claim: Arc<str> = router.app().config().account_claim.clone().into();
    tracing::info!(function = function.name(), "ready");
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayV2httpRequest>| {
        let (router, account_claim) = (router.clone(), account_claim.clone());
        async move { handle(&router, function, &account_claim, event).await }
    }))
    .await
}

/// One invocation ([`invocation`]), whose span names the contact-change request the route
/// acts on, when it names one: the router's answer within the invocation's deadline, which the
/// use cases respect ([`contacts_app::deadline`]), so that the mails after a commit never
/// outlive the function; what it measured goes out as its EMF line before the answer.
///
/// An event that is not what API Gateway sends (a body flagged base64 that is not) is an
/// invocation error, as the runtime reports one it cannot parse.
async fn handle(
    router: &Router,
    function: Function,
    account_claim: &str,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, Error> {
    let invocation = Invocation::new(function.name(), Some(&event.context));
    let request = api_request(event.payload, account_claim)?;
    let invocation = invocation.of_contact_change(contact_change_of(&request, function));
    Ok(lambda_response(invocation.run(&router.app().config().metrics_namespace, router.handle(request)).await))
}

/// The event as the router takes it.
///
/// - method: `requestContext.http.method` (the event's top-level `httpMethod` is not HTTP
///   API's, and reads as GET when absent);
/// - path: API Gateway's `rawPath`, still percent-encoded, without the stage when the API
///   is served on a named stage rather than `$default` (an empty one is `/`);
/// - query: `rawQueryString`, undecoded (the router decodes parameters itself);
/// - headers: as API Gateway gives them (a repeated header's values joined by commas), with
///   the `cookies` it takes apart joined back into one `Cookie` header;
/// - body: the bytes as the client sent them (a base64 body decoded; one that is not base64 is
///   an error);
/// - caller: the `account_claim` claim of the JWT authorizer, or the IAM principal, or nobody;
/// - source: `requestContext.http.sourceIp`, when it is an IP address.
pub fn api_request(event: ApiGatewayV2httpRequest, account_claim: &str) -> Result<ApiRequest, Error> {
    let context = &event.request_context;
    let caller = caller(context, account_claim);
    let source = context.http.source_ip.as_deref().and_then(|ip| ip.parse().ok());
    let method = context.http.method.clone();
    let path = match event.raw_path.as_deref() {
        None | Some("") => "/".to_owned(),
        Some(raw_path) => without_stage(raw_path, context.stage.as_deref()).to_owned(),
    };
    let query = event.raw_query_string.filter(|q| !q.is_empty());
    let mut headers = event.headers;
    if let Some(cookies) = event.cookies
        && let Ok(cookie) = HeaderValue::from_str(&cookies.join("; "))
    {
        headers.insert(COOKIE, cookie);
    }
    let body = match event.body {
        None => Bytes::new(),
        Some(body) if event.is_base64_encoded => Bytes::from(STANDARD.decode(body).map_err(|e| format!("the event's body is flagged base64 but is not: {e}"))?),
        Some(body) => Bytes::from(body),
    };
    Ok(ApiRequest { method, path, query, headers, body, caller, source })
}

/// Who API Gateway says is calling, from `requestContext.authorizer`:
/// - `jwt.claims[claim]`, the customer's account id the JWT authorizer verified;
/// - `iam.userArn` (else `iam.callerId`), the AWS principal whose signature IAM authorization
///   verified: one of the provider's systems;
/// - else nobody, which the router answers with a 401 on any route but the emailed link's
///   page. An empty value counts as none.
fn caller(context: &ApiGatewayV2httpRequestContext, claim: &str) -> Caller {
    let Some(authorizer) = context.authorizer.as_ref() else { return Caller::Anonymous };
    let present = |value: Option<&String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if let Some(account) = present(authorizer.jwt.as_ref().and_then(|jwt| jwt.claims.get(claim))) {
        return Caller::Customer(account);
    }
    let iam = authorizer.iam.as_ref();
    match present(iam.and_then(|iam| iam.user_arn.as_ref())).or_else(|| present(iam.and_then(|iam| iam.caller_id.as_ref()))) {
        Some(principal) => Caller::Provider(principal),
        None => Caller::Anonymous,
    }
}

/// On a named stage, HTTP API's `rawPath` starts with `/{stage}`; the routes do not.
fn without_stage<'a>(raw_path: &'a str, stage: Option<&str>) -> &'a str {
    match stage {
        Some(stage) if stage != "$default" && !stage.is_empty() => match raw_path.strip_prefix('/').and_then(|p| p.strip_prefix(stage)) {
            Some(rest) if rest.starts_with('/') => rest,
            _ => raw_path,
        },
        _ => raw_path,
    }
}

/// The contact-change request a route acts on, for the logs: only a well-formed id from
/// the path of one of this function's routes (never anything from the body, where tokens are).
fn contact_change_of(request: &ApiRequest, function: Function) -> Option<RequestId> {
    let (spec, params) = routes::find(&request.method, &request.path, Some(function)).ok()?;
    if !spec.path.contains("{id}") {
        return None;
    }
    RequestId::parse(params.get("id")?).ok()
}

/// The router's answer as API Gateway's HTTP API (payload 2.0) takes it:
/// - body: a textual one (JSON, problem+json, HTML, CSS, JavaScript) that is UTF-8 as text,
///   anything else base64-encoded (`isBase64Encoded`), none when empty;
/// - headers: one value each, a repeated header's values joined by commas (payload 2.0 has
///   no `multiValueHeaders`), but `Set-Cookie`, whose values go in `cookies`, one each.
pub fn lambda_response(response: ApiResponse) -> ApiGatewayV2httpResponse {
    let (parts, bytes) = response.into_parts();
    let textual = parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(is_textual);
    let body = if bytes.is_empty() {
        None
    } else if textual {
        Some(match String::from_utf8(bytes.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        })
    } else {
        Some(Body::Binary(bytes.to_vec()))
    };
    let mut answer = ApiGatewayV2httpResponse::default();
    answer.status_code = parts.status.as_u16().into();
    answer.cookies = parts.headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect();
    answer.headers = joined(parts.headers);
    answer.is_base64_encoded = matches!(body, Some(Body::Binary(_)));
    answer.body = body;
    answer
}

/// `headers` but `Set-Cookie`, one value each: a repeated header's values joined by `, `.
fn joined(headers: HeaderMap) -> HeaderMap {
    let mut joined = HeaderMap::with_capacity(headers.keys_len());
    for name in headers.keys().filter(|name| **name != SET_COOKIE) {
        let mut values = headers.get_all(name).iter();
        let Some(first) = values.next() else { continue };
        let mut value = first.as_bytes().to_vec();
        for next in values {
            value.extend_from_slice(b", ");
            value.extend_from_slice(next.as_bytes());
        }
        // Joining valid values with ", " keeps them valid.
        if let Ok(value) = HeaderValue::from_bytes(&value) {
            joined.insert(name.clone(), value);
        }
    }
    joined
}

fn is_textual(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence.starts_with("text/") || essence == "application/json" || essence.ends_with("+json") || essence == "application/xml"
}

/// JSON lines on stdout, which Lambda sends to CloudWatch Logs. The level comes from
/// `RUST_LOG`, else `LOG_LEVEL` (the template's `LogLevel`), else `info` ([`config::log_spec`]:
/// not Lambda's own filter, which stays where the EMF lines pass), and is capped whatever is
/// asked ([`log_filter`]): nothing
/// is ever logged at TRACE, and the targets that could log an event or an HTTP exchange as
/// they received it are held below the levels where they would.
///
/// Each line's `span` holds the fields of every span it is in ([`log_line`]).
///
/// The filter is `tracing_subscriber`'s `Targets` (`RUST_LOG`'s `target=level` list), not
/// `EnvFilter`: the functions need no span or field filters, and `EnvFilter` brings the
/// `regex` engines into every bootstrap (BENCHMARKS.md: the size target).
fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let level = config::log_spec(|name| std::env::var(name).ok());
    let json = tracing_subscriber::fmt::layer().fmt_fields(tracing_subscriber::fmt::format::JsonFields::new()).event_format(log_line::LogLine).with_ansi(false);
    let _ = tracing_subscriber::registry().with(json).with(log_filter(&level)).try_init();
}

/// The most verbose level the functions log at: a TRACE asked is DEBUG (TRACE's volume is
/// paid for in CloudWatch Logs, and nothing of ours logs at TRACE).
const MOST_VERBOSE: tracing_subscriber::filter::LevelFilter = tracing_subscriber::filter::LevelFilter::DEBUG;

/// Targets held at a level whatever is asked, as `Targets` matches them: by plain prefix of
/// the event's target (`aws_` is every AWS crate: `aws_config`, `aws_sdk_dynamodb`,
/// `aws_sdk_sesv2`, `aws_smithy_runtime`, `aws_smithy_http_client`, `aws_sigv4`,
/// `aws_runtime`...; `hyper` is `hyper`, `hyper_util`, `hyper_rustls`; `rustls` is `rustls`
/// and `rustls_native_certs`; `lambda_runtime` is also `lambda_runtime_api_client`).
/// - The Lambda runtime logs a raw event at TRACE (and DEBUG) when it cannot parse it, and an
///   event may hold a token: INFO at most.
/// - The SDK, its HTTP client and TLS log whole requests and responses (a SendEmail body
///   holds a token), the signing request and the HTTP/2 frames at TRACE: DEBUG at most, even
///   if [`MOST_VERBOSE`] were ever raised for our own code.
const CAPS: [(&str, tracing_subscriber::filter::LevelFilter); 6] = {
    use tracing_subscriber::filter::LevelFilter;
    [
        ("lambda_runtime", LevelFilter::INFO),
        ("lambda_runtime_api_client", LevelFilter::INFO),
        ("aws_", LevelFilter::DEBUG),
        ("hyper", LevelFilter::DEBUG),
        ("h2", LevelFilter::DEBUG),
        ("rustls", LevelFilter::DEBUG),
    ]
};

/// `RUST_LOG`-style `level,target=level,...` (an unreadable one is `info`), no level above
/// [`MOST_VERBOSE`], and each of [`CAPS`] at its cap at most.
fn log_filter(spec: &str) -> tracing_subscriber::filter::Targets {
    log_filter_up_to(spec, MOST_VERBOSE)
}

/// [`log_filter`] with `most_verbose` as the overall ceiling ([`CAPS`] hold whatever it is).
fn log_filter_up_to(spec: &str, most_verbose: tracing_subscriber::filter::LevelFilter) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let asked: Targets = spec.parse().unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO));
    // As `Targets` decides: the longest directive that is a prefix of the target, else the default.
    let level_of = |target: &str| {
        let mut best: Option<(usize, LevelFilter)> = None;
        for (prefix, level) in asked.iter() {
            if target.starts_with(prefix) && best.is_none_or(|(len, _)| prefix.len() > len) {
                best = Some((prefix.len(), level));
            }
        }
        best.map(|(_, level)| level).or(asked.default_level()).unwrap_or(LevelFilter::OFF)
    };
    // The strictest cap of a target (a directive more specific than a cap is capped too).
    let ceiling = |target: &str| CAPS.iter().filter(|(prefix, _)| target.starts_with(prefix)).map(|(_, cap)| *cap).fold(most_verbose, LevelFilter::min);
    let mut filter = Targets::new();
    if let Some(default) = asked.default_level() {
        filter = filter.with_default(default.min(most_verbose));
    }
    for (target, level) in asked.iter() {
        filter = filter.with_target(target.to_owned(), level.min(ceiling(target)));
    }
    // Each cap as a directive of its own, so that a shorter one asked (`a=trace`, or the
    // default) cannot reach below it.
    for (prefix, cap) in CAPS {
        filter = filter.with_target(prefix, level_of(prefix).min(cap).min(ceiling(prefix)));
    }
    filter
}

/// The application as every function builds it before its first event: the logger, the
/// configuration, the SDK configuration, the DynamoDB client, the mailer `mailing` makes and
/// the bus `publishing` does, the DynamoDB connection opened (`prewarm`: with a read the
/// function's policy allows).
/// Shared by [`run`] and the jobs that no HTTP request starts ([`job`]).
pub(crate) async fn app(prewarm: bool, mailing: Mailing, publishing: Publishing) -> Result<App, Error> {
    init_logging();
    let config = Config::from_env()?;
    let table = config.aws.table()?.to_owned();

    // Against the emulators (the tests under the Runtime Interface Emulator), their
    // configuration; never the case on AWS.
    let calls_to = if config.aws.points_at_emulators() {
        tracing::warn!("AWS endpoints on the loopback interface: using the emulators' dummy credentials and timeouts");
        sdk::CallsTo::Emulators { access_key: config.aws.emulator_access_key() }
    } else {
        sdk::CallsTo::Aws
    };
    let trust = sdk::trust_of(config.aws.ca_bundle.as_deref())?;
    let sdk = sdk::lambda_sdk_config(config.aws.region.as_deref(), calls_to, trust)?;
    let dynamodb = match config.aws.dynamodb_endpoint() {
        Some(url) => sdk::dynamodb_client_at(&sdk, url),
        None => sdk::dynamodb_client(&sdk),
    };
    let store = Arc::new(DynamoStore::new(dynamodb, table).with_retention(config.retention));
    let mailer = mailing.mailer(&sdk, &config.aws);
    if prewarm {
        self::prewarm(store.as_ref()).await;
    }
    let publisher = publishing.publisher(&sdk, &config.aws);
    let app = App::new(store, mailer, Arc::new(SystemClock), config);
    Ok(match publisher {
        Some(publisher) => app.with_publisher(publisher),
        None => app,
    })
}

/// Opens the connection to DynamoDB (DNS, TCP, TLS) during init, which is not on any
/// caller's clock, with one read of an account that cannot exist (its id is well-formed
/// but no customer id is `zz0-ovh`). Bounded, and its failure only logged: the first
/// request will tell the caller properly if DynamoDB is really unreachable.
async fn prewarm(store: &dyn Store) {
    let Ok(nobody) = AccountId::parse("zz0-ovh") else { return };
    match tokio::time::timeout(Duration::from_secs(2), store.account(&nobody)).await {
        Ok(Ok(_)) => tracing::debug!("DynamoDB connection warmed"),
        Ok(Err(e)) => tracing::warn!(error = %e, "warming the DynamoDB connection failed"),
        Err(_) => tracing::warn!("warming the DynamoDB connection timed out"),
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderValue, Method, StatusCode};

    use super::*;

    fn event(json: &str) -> ApiGatewayV2httpRequest {
        serde_json::from_str(json).expect("a valid HTTP API event")
    }

    /// `event` as the router takes it.
    fn routed(event: ApiGatewayV2httpRequest, account_claim: &str) -> ApiRequest {
        api_request(event, account_claim).expect("an event API Gateway would send")
    }

    #[test]
    fn the_identity_is_the_configured_claim_of_the_jwt_authorizer() {
        let request = routed(event(include_str!("../../../events/read.get-me.json")), "sub");
        assert_eq!(request.caller, Caller::Customer("ad1000-ovh".to_owned()));
        assert_eq!(request.method, Method::GET);
        assert_eq!(request.path, "/v1/me");

        let request = routed(event(include_str!("../../../events/read.get-me.json")), "custom:account");
        assert_eq!(request.caller, Caller::Anonymous, "a claim that is not there is no identity");
    }

    #[test]
    fn the_provider_is_the_aws_principal_that_iam_authorization_verified() {
        let json = include_str!("../../../events/provider.put-internal-accounts.json");
        let request = routed(event(json), "sub");
        assert_eq!(request.caller, Caller::Provider("arn:aws:iam::123456789012:role/billing-sync".to_owned()));
        assert_eq!((request.method.clone(), request.path.as_str()), (Method::PUT, "/internal/accounts/gi6000-ovh"));

        let mut without_arn: serde_json::Value = serde_json::from_str(json).unwrap();
        without_arn["requestContext"]["authorizer"]["iam"]["userArn"] = serde_json::Value::Null;
        let request = routed(event(&without_arn.to_string()), "sub");
        assert_eq!(request.caller, Caller::Provider("AROAEXAMPLEID:billing-sync".to_owned()), "else the caller id");

        let mut unsigned: serde_json::Value = serde_json::from_str(json).unwrap();
        unsigned["requestContext"].as_object_mut().unwrap().remove("authorizer");
        let mut unsigned = event(&unsigned.to_string());
        unsigned.headers.insert("authorization", HeaderValue::from_static("Bearer ad1000-ovh"));
        assert_eq!(routed(unsigned, "sub").caller, Caller::Anonymous, "no IAM context, nobody");
    }

    #[test]
    fn a_header_never_makes_an_identity() {
        let json = include_str!("../../../events/confirm.get-confirm.json");
        let mut forged = event(json);
        forged.headers.insert("authorization", HeaderValue::from_static("Bearer ad1000-ovh"));
        forged.headers.insert("x-account", HeaderValue::from_static("ad1000-ovh"));
        assert_eq!(routed(forged, "sub").caller, Caller::Anonymous);
    }

    #[test]
    fn query_path_and_json_body_are_passed_raw() {
        let request = routed(event(include_str!("../../../events/read.get-me-contact-changes.json")), "sub");
        assert_eq!(request.path, "/v1/me/contact-changes");
        assert_eq!(request.query.as_deref(), Some("state=pending"));

        let request = routed(event(include_str!("../../../events/create.post-services-contact-changes.json")), "sub");
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.path, "/v1/services/example.com/contact-changes");
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["tech"], "ne4000-ovh");
    }

    #[test]
    fn a_base64_form_body_arrives_decoded() {
        let request = routed(event(include_str!("../../../events/confirm.post-confirm.json")), "sub");
        assert_eq!(request.method, Method::POST);
        let form = String::from_utf8(request.body.to_vec()).unwrap();
        assert!(form.starts_with("token=") && form.contains("decision=accept"), "{form}");
        assert_eq!(request.caller, Caller::Anonymous, "the confirmation page is not behind the authorizer");
    }

    #[test]
    fn the_log_filter_takes_rust_log_and_caps_what_may_log_a_raw_event() {
        use tracing::Level;
        use tracing_subscriber::filter::LevelFilter;
        let filter = log_filter("debug,aws_smithy_runtime=warn,lambda_runtime=trace");
        assert!(filter.would_enable("contacts_api", &Level::DEBUG));
        assert!(!filter.would_enable("aws_smithy_runtime::client", &Level::INFO));
        assert!(filter.would_enable("aws_smithy_runtime::client", &Level::WARN));
        assert!(!filter.would_enable("lambda_runtime::layers", &Level::DEBUG), "capped at INFO");
        assert!(filter.would_enable("lambda_runtime", &Level::INFO));
        assert!(!filter.would_enable("lambda_runtime_api_client::body", &Level::DEBUG));

        let filter = log_filter("error");
        assert!(!filter.would_enable("lambda_runtime", &Level::INFO), "a cap never raises a level");
        assert!(!filter.would_enable("aws_smithy_runtime", &Level::WARN), "a cap never raises a level");
        assert!(filter.would_enable("contacts_app", &Level::ERROR));
        assert_eq!(log_filter("contacts_app=notalevel").default_level(), Some(LevelFilter::INFO));
    }

    /// The targets of the crates in the functions' tree (`cargo tree -p contacts-lambda
    /// -e normal`) that log requests, responses or frames at TRACE, and a module of each.
    const DEPENDENCY_TARGETS: [&str; 14] = [
        "aws_config::imds",
        "aws_sdk_dynamodb::client",
        "aws_sdk_sesv2::operation::send_email",
        "aws_smithy_runtime::client::orchestrator",
        "aws_smithy_runtime_api::client",
        "aws_smithy_http_client::hyper_1",
        "aws_smithy_types::body",
        "aws_sigv4::http_request::sign",
        "aws_runtime::user_agent",
        "hyper::proto::h1::io",
        "hyper_util::client::legacy::pool",
        "h2::codec::framed_write",
        "rustls::client::hs",
        "rustls_native_certs",
    ];

    #[test]
    fn the_sdk_its_http_client_and_tls_never_log_above_debug_whatever_is_asked() {
        use tracing::Level;
        use tracing_subscriber::filter::LevelFilter;
        let specs = [
            "trace",
            "debug",
            "trace,aws_smithy_runtime=trace,aws_smithy_runtime::client::orchestrator=trace,hyper_util=trace,h2=trace,rustls=trace",
            "off,aws_sdk_sesv2::operation=trace,aws_sigv4=trace,hyper::proto=trace,rustls::client::hs=trace",
            "info,a=trace,h=trace,r=trace",
        ];
        for spec in specs {
            for most_verbose in [MOST_VERBOSE, LevelFilter::TRACE] {
                let filter = log_filter_up_to(spec, most_verbose);
                for target in DEPENDENCY_TARGETS {
                    assert!(!filter.would_enable(target, &Level::TRACE), "{target} logs at TRACE with {spec:?} up to {most_verbose}");
                }
            }
        }
        // Capped, not silenced: DEBUG stays when asked.
        let filter = log_filter("debug");
        for target in DEPENDENCY_TARGETS {
            assert!(filter.would_enable(target, &Level::DEBUG), "{target} at DEBUG");
        }
        assert!(!log_filter("info").would_enable("aws_smithy_runtime::client::orchestrator", &Level::DEBUG), "a cap never raises a level");
        // Our own code may go to TRACE only if the ceiling is raised; the dependencies never.
        let raised = log_filter_up_to("trace", LevelFilter::TRACE);
        assert!(raised.would_enable("contacts_app", &Level::TRACE));
        assert!(!raised.would_enable("hyper_util::client", &Level::TRACE));
    }

    #[test]
    fn a_trace_asked_is_debug() {
        use tracing::Level;
        use tracing_subscriber::filter::LevelFilter;
        for spec in ["trace", "TRACE", "debug,contacts_app=trace", "contacts_app=trace,tower=trace"] {
            let filter = log_filter(spec);
            for target in ["contacts_app::observed", "contacts_app", "tower::buffer", "contacts"] {
                assert!(!filter.would_enable(target, &Level::TRACE), "{target} at TRACE with {spec:?}");
            }
            assert!(filter.would_enable("contacts_app::observed", &Level::DEBUG), "{spec:?} is DEBUG for our code");
        }
        assert_eq!(log_filter("trace").default_level(), Some(LevelFilter::DEBUG));
        assert_eq!(log_filter("warn").default_level(), Some(LevelFilter::WARN));
    }

    #[test]
    fn a_named_stage_is_not_part_of_the_route() {
        assert_eq!(without_stage("/prod/v1/me", Some("prod")), "/v1/me");
        assert_eq!(without_stage("/v1/me", Some("$default")), "/v1/me");
        assert_eq!(without_stage("/production/v1/me", Some("prod")), "/production/v1/me");
        assert_eq!(without_stage("/v1/me", None), "/v1/me");
    }

    #[test]
    fn the_contact_change_id_is_taken_from_the_path_only() {
        let mut request = routed(event(include_str!("../../../events/confirm.get-confirm.json")), "sub");
        assert!(contact_change_of(&request, Function::Confirm).is_some());
        assert!(contact_change_of(&request, Function::Read).is_none(), "not one of Read's routes");
        request.path = "/v1/me".to_owned();
        assert!(contact_change_of(&request, Function::Read).is_none());
    }

    #[test]
    fn json_and_html_go_back_as_text_and_the_status_is_kept() {
        let mut response = ApiResponse::new(Bytes::from_static(b"{\"a\":1}"));
        *response.status_mut() = StatusCode::CREATED;
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        let response = lambda_response(response);
        assert_eq!(response.status_code, 201);
        assert!(matches!(&response.body, Some(Body::Text(t)) if t == "{\"a\":1}"));
        assert!(!response.is_base64_encoded);

        let mut response = ApiResponse::new(Bytes::from_static(b"<p>\xc3\xa9</p>"));
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        assert!(matches!(lambda_response(response).body, Some(Body::Text(t)) if t == "<p>\u{e9}</p>"));

        let mut response = ApiResponse::new(Bytes::from_static(&[0xff, 0x00]));
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
        let response = lambda_response(response);
        assert!(matches!(&response.body, Some(Body::Binary(b)) if b == &[0xff, 0x00]));
        assert!(response.is_base64_encoded);
        let empty = lambda_response(ApiResponse::new(Bytes::new()));
        assert!(empty.body.is_none() && !empty.is_base64_encoded);
    }

    #[test]
    fn the_answer_is_the_json_api_gateway_takes() {
        let mut response = ApiResponse::new(Bytes::from_static(&[0xff, 0x00]));
        *response.status_mut() = StatusCode::OK;
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("image/png"));
        let answer = serde_json::to_value(lambda_response(response)).unwrap();
        assert_eq!(answer["statusCode"], 200);
        assert_eq!((answer["body"].as_str(), answer["isBase64Encoded"].as_bool()), (Some("/wA="), Some(true)));
        assert_eq!(answer["headers"]["content-type"], "image/png");

        let mut response = ApiResponse::new(Bytes::from_static(b"{}"));
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let answer = serde_json::to_value(lambda_response(response)).unwrap();
        assert_eq!((answer["body"].as_str(), answer["isBase64Encoded"].as_bool()), (Some("{}"), Some(false)));
        assert_eq!(answer["cookies"], serde_json::json!([]));
    }

    #[test]
    fn repeated_headers_are_joined_and_set_cookie_goes_in_cookies() {
        use http::header::VARY;
        let mut response = ApiResponse::new(Bytes::new());
        response.headers_mut().append(VARY, HeaderValue::from_static("accept"));
        response.headers_mut().append(VARY, HeaderValue::from_static("accept-language"));
        response.headers_mut().append(SET_COOKIE, HeaderValue::from_static("a=1; Secure"));
        response.headers_mut().append(SET_COOKIE, HeaderValue::from_static("b=2"));
        let response = lambda_response(response);
        assert_eq!(response.headers.get_all(VARY).iter().collect::<Vec<_>>(), ["accept, accept-language"]);
        assert!(!response.headers.contains_key(SET_COOKIE));
        assert_eq!(response.cookies, ["a=1; Secure", "b=2"]);
    }

    #[test]
    fn the_method_is_the_request_contexts() {
        let json = include_str!("../../../events/profile.patch-me.json");
        assert_eq!(routed(event(json), "sub").method, Method::PATCH);
        let mut other: serde_json::Value = serde_json::from_str(json).unwrap();
        other["requestContext"]["http"]["method"] = serde_json::json!("DELETE");
        other["httpMethod"] = serde_json::json!("GET");
        assert_eq!(routed(event(&other.to_string()), "sub").method, Method::DELETE, "not the top-level httpMethod");
    }

    #[test]
    fn the_cookies_api_gateway_took_apart_are_one_cookie_header_again() {
        let mut json: serde_json::Value = serde_json::from_str(include_str!("../../../events/read.get-me.json")).unwrap();
        json["cookies"] = serde_json::json!(["a=1", "b=2"]);
        let request = routed(event(&json.to_string()), "sub");
        assert_eq!(request.headers.get_all(COOKIE).iter().collect::<Vec<_>>(), ["a=1; b=2"]);
    }

    #[test]
    fn the_stage_source_and_query_come_from_the_event() {
        let mut json: serde_json::Value = serde_json::from_str(include_str!("../../../events/read.get-me.json")).unwrap();
        json["requestContext"]["stage"] = serde_json::json!("prod");
        json["rawPath"] = serde_json::json!("/prod/v1/me");
        json["rawQueryString"] = serde_json::json!("");
        json["requestContext"]["http"]["sourceIp"] = serde_json::json!("2001:db8::1");
        let request = routed(event(&json.to_string()), "sub");
        assert_eq!((request.path.as_str(), request.query.as_deref()), ("/v1/me", None));
        assert_eq!(request.source, Some("2001:db8::1".parse().unwrap()));

        json["rawPath"] = serde_json::json!("");
        json["requestContext"]["http"]["sourceIp"] = serde_json::json!("not an address");
        let request = routed(event(&json.to_string()), "sub");
        assert_eq!((request.path.as_str(), request.source), ("/", None));
    }

    #[test]
    fn a_body_flagged_base64_that_is_not_is_an_error() {
        let mut json: serde_json::Value = serde_json::from_str(include_str!("../../../events/confirm.post-confirm.json")).unwrap();
        json["body"] = serde_json::json!("not base64!");
        assert!(api_request(event(&json.to_string()), "sub").is_err());
        json["isBase64Encoded"] = serde_json::json!(false);
        assert_eq!(routed(event(&json.to_string()), "sub").body, Bytes::from_static(b"not base64!"));
    }
}
