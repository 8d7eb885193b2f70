//! `contacts-local`: every route of SPEC §5 in one process, for trying the system and for
//! development. It hands each request to the same `Router` the Lambda functions use; only
//! what a development machine needs is added here (SPEC §6):
//! - identity from `Authorization: Bearer <account-id>` (development only, said loudly), or,
//!   with `JWT_ISSUER` set, from a bearer JWT verified as API Gateway's authorizer does ([`jwt`]);
//! - `GET /_local/outbox`: the mails sent so far (the posted ones delivered first);
//! - `GET /_local/events`: the events published so far, as the provider's systems would get
//!   them from the EventBridge bus (the committed ones published first);
//! - `PUT /_local/accounts/{id}`, `PUT /_local/services/{name}`: the provider's systems' upserts,
//!   and `DELETE /_local/accounts/{id}`, their erasure of an account (SPEC §8), served by the
//!   router as the internal API (`PUT`, `DELETE /internal/...`) with this server as the caller:
//!   there is no AWS IAM here to sign `/internal/...` requests, which are refused;
//! - `POST /_local/bounces {"account", "email"?, "bounce"?}`: SES reports that mail to the
//!   account's address (or to `email`) bounced (`bounce`: `permanent`, the default,
//!   `transient` or `complaint`), through the use case the `bounces` function runs.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use contacts_api::ApiError;
use contacts_api::{ApiRequest, ApiResponse, Caller, MAX_BATCH_BODY_BYTES, Router, problem};
use contacts_app::config::{AwsConfig, Config, is_loopback_url};
use contacts_app::memory::{EventLog, MemoryMailer, MemoryStore};
use contacts_app::ports::{Mailer, Store};
use contacts_app::{Bounce, Error};
use contacts_aws::dynamodb::create_table_if_missing;
use contacts_aws::{DynamoStore, SesMailer, sdk};
use contacts_domain::Retention;
use contacts_domain::ids::printable;
use contacts_domain::{AccountId, EmailAddress};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;

pub mod jwt;
pub mod jwt_crypto;

/// What the server serves: the router, and the outbox when mail stays in the process.
#[derive(Clone)]
pub struct Local {
    pub router: Router,
    pub outbox: Option<Arc<MemoryMailer>>,
    /// The event bus in the process (the router's app publishes on it): there is no
    /// EventBridge here. `None`: the app has no bus, and `GET /_local/events` is 404.
    pub events: Option<Arc<EventLog>>,
    /// With `JWT_ISSUER`: the bearer token is a JWT this verifies, and the development identity
    /// is off.
    pub sign_in: Option<Arc<jwt::Verifier>>,
}

/// Where the server keeps its data and sends its mail.
pub struct Backends {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    /// The outbox, when mail stays in the process.
    pub outbox: Option<Arc<MemoryMailer>>,
    /// Said at start: which store and which mailer.
    pub description: String,
}

impl Backends {
    /// [`Backends::new`] with the configuration `var` gives (the environment, or a test's).
    pub async fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let config = Config::from_lookup(var).map_err(|e| e.to_string())?;
        Self::new(&config.aws, config.retention).await
    }

    /// The embedded store and the outbox, unless the configuration names a DynamoDB table and
    /// endpoint (`TABLE_NAME`, `AWS_ENDPOINT_URL_DYNAMODB`; the table is created when missing,
    /// with the deployed schema) and an SES endpoint (`AWS_ENDPOINT_URL_SESV2`). Only those
    /// two endpoint variables: `AWS_ENDPOINT_URL` alone leaves this server on its own store.
    /// Against endpoints all on the loopback, the emulators' configuration (dummy credentials).
    /// Either store keeps closed requests and batches for `retention` (SPEC §8).
    pub async fn new(config: &AwsConfig, retention: Retention) -> Result<Self, String> {
        let (table, dynamodb, ses) = (&config.table_name, &config.endpoint_url_dynamodb, &config.endpoint_url_sesv2);
        let sdk = if dynamodb.is_some() || ses.is_some() {
            let loopback = [dynamodb, ses].into_iter().flatten().all(|url| is_loopback_url(url));
            Some(if loopback { sdk::emulator_sdk_config_in(config.region.as_deref()).await } else { sdk::sdk_config().await })
        } else {
            None
        };
        let (store, store_name): (Arc<dyn Store>, String) = match (&table, &dynamodb, &sdk) {
            (Some(table), Some(endpoint), Some(sdk)) => {
                let client = sdk::dynamodb_client_at(sdk, endpoint);
                let created = create_table_if_missing(&client, table).await.map_err(|e| format!("DynamoDB table {table} at {endpoint}: {e}"))?;
                let note = if created { "created now" } else { "existing" };
                (Arc::new(DynamoStore::new(client, table.clone()).with_retention(retention)), format!("DynamoDB table {table} ({note}) at {endpoint}"))
            }
            (None, Some(_), _) => return Err("AWS_ENDPOINT_URL_DYNAMODB is set but TABLE_NAME is not: name the table to use".to_owned()),
            _ => (Arc::new(MemoryStore::new().with_retention(retention)), "the embedded store (its data lives as long as this process)".to_owned()),
        };
        let (mailer, outbox, mail_name): (Arc<dyn Mailer>, Option<Arc<MemoryMailer>>, String) = match (&ses, &sdk) {
            (Some(endpoint), Some(sdk)) => (Arc::new(SesMailer::new(sdk::ses_client_at(sdk, endpoint), None)), None, format!("SES at {endpoint}")),
            _ => {
                let outbox = Arc::new(MemoryMailer::new());
                (outbox.clone(), Some(outbox), "the outbox (GET /_local/outbox)".to_owned())
            }
        };
        Ok(Self { store, mailer, outbox, description: format!("Data: {store_name}.\nMail: {mail_name}.") })
    }
}

/// Runs `App::sweep` (expiry, reminders) every `interval` until the task is dropped, as the
/// deployment's scheduled sweeper function does (SPEC §3: nothing waits on a reader).
pub async fn sweep_every(app: contacts_app::App, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let (swept, invocation) = contacts_telemetry::measure("sweeper", app.sweep()).await;
        emit(&app, &invocation);
        if let Err(error) = swept {
            tracing::warn!(%error, "sweep failed; the next one tries again");
        }
    }
}

/// How often the local mailer looks at the outbox: a mail goes out within this of the change
/// that posted it, as the stream's mailer takes it within a second or so.
pub const DELIVERY_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

/// Runs `App::deliver_outbox` on everything posted every `interval` until the task is dropped:
/// in process, the deployment's stream-driven mailer function.
pub async fn deliver_every(app: contacts_app::App, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // The app's clock: the system clock here.
        let now = contacts_app::ports::Clock::now(&contacts_app::ports::SystemClock);
        let (delivered, invocation) = contacts_telemetry::measure("mailer", app.deliver_outbox(now)).await;
        emit(&app, &invocation);
        if let Err(error) = delivered {
            tracing::warn!(%error, "the outbox could not be read; the next pass tries again");
        }
        // And the deployment's stream-driven publisher (nothing without a bus).
        let (published, invocation) = contacts_telemetry::measure("publisher", app.publish_outbox(now)).await;
        emit(&app, &invocation);
        if let Err(error) = published {
            tracing::warn!(%error, "the events could not be read; the next pass tries again");
        }
    }
}

/// The EMF lines of a pass of the in-process jobs, as the deployed sweeper and mailer print
/// theirs; a pass that counted nothing (most of them, every 200 ms) prints none.
fn emit(app: &contacts_app::App, invocation: &contacts_telemetry::Invocation) {
    if !invocation.is_empty() {
        invocation.emit(&app.config().metrics_namespace);
    }
}

/// Serves connections from `listener` until the task is dropped: only requests addressed to
/// its own loopback address ([`OwnAddress`]).
pub async fn serve(listener: TcpListener, local: Local) {
    let own = OwnAddress::of(&listener);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                continue;
            }
        };
        let local = local.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let local = local.clone();
                async move {
                    let response = match own.refusal(request.method(), request.headers()) {
                        Some(refusal) => problem::response(&refusal),
                        None => local.handle(request, Some(peer.ip())).await,
                    };
                    Ok::<_, Infallible>(response.map(Full::new))
                }
            });
            if let Err(error) = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
}

/// SPEC §6: the server answers only requests addressed to its own loopback host, so that a web
/// page elsewhere cannot reach it (and the codes in `/_local/outbox`) through DNS rebinding: a
/// rebound name arrives with that name as `Host`. And it takes no write from a page of another
/// origin: a browser says so in `Sec-Fetch-Site` (or, an older one, in `Origin`) on every write
/// it sends; curl and the other non-browser clients send neither.
#[derive(Debug, Clone, Copy)]
pub struct OwnAddress {
    port: u16,
}

impl OwnAddress {
    /// The address `listener` listens on (its port; the host must be a loopback name).
    pub fn of(listener: &TcpListener) -> Self {
        Self { port: listener.local_addr().map(|address| address.port()).unwrap_or_default() }
    }

    /// Why a request with `method` and `headers` is not answered, if it is not.
    pub fn refusal(&self, method: &Method, headers: &http::HeaderMap) -> Option<ApiError> {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
        let own_hosts = ["127.0.0.1", "localhost", "[::1]"].map(|name| format!("{name}:{}", self.port));
        if !own_hosts.contains(&host) {
            return Some(ApiError::Misdirected(format!(
                "contacts-local answers requests to {} only, not to '{}'",
                own_hosts.iter().map(|h| format!("http://{h}")).collect::<Vec<_>>().join(", "),
                printable(&host)
            )));
        }
        let writes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or_default());
        // A browser says where a request comes from in Sec-Fetch-Site; one too old to, in Origin
        // alone. (Origin is `null` on the pages' own form posts: their Referrer-Policy is
        // no-referrer, which blanks it; Sec-Fetch-Site still says same-origin.)
        let foreign = match (header("sec-fetch-site"), header("origin")) {
            (Some(site), _) => !matches!(site, "same-origin" | "none"),
            (None, Some(origin)) => origin != format!("http://{host}"),
            (None, None) => false,
        };
        (writes && foreign).then(|| {
            let from = header("origin").map_or_else(|| "another site".to_owned(), printable);
            ApiError::NotForThisCaller(format!("contacts-local takes no write from a page of another origin ({from})"))
        })
    }
}

impl Local {
    /// One request from `peer`, whose address stands in for API Gateway's `sourceIp`, measured
    /// as an invocation of the function its route is deployed in, with that function's EMF line
    /// printed on stdout ([`contacts_telemetry`]); a development route is `local`'s.
    pub async fn handle(&self, request: Request<Incoming>, peer: Option<std::net::IpAddr>) -> ApiResponse {
        let function = match contacts_api::routes::find(request.method(), request.uri().path(), None) {
            Ok((spec, _)) => spec.function.name(),
            Err(_) if request.uri().path().starts_with("/_local/") => "local",
            Err(_) => "unrouted",
        };
        let (response, invocation) = contacts_telemetry::measure(function, self.serve(request, peer)).await;
        invocation.emit(&self.router.app().config().metrics_namespace);
        response
    }

    async fn serve(&self, request: Request<Incoming>, peer: Option<std::net::IpAddr>) -> ApiResponse {
        let (parts, body) = request.into_parts();
        // Read at most one byte more than any route takes: enough to know it is too much (each
        // route checks its own limit, most of them a smaller one).
        let body = match Limited::new(body, MAX_BATCH_BODY_BYTES + 1).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
                return problem::response(&ApiError::BodyTooLarge { limit: MAX_BATCH_BODY_BYTES });
            }
            Err(_) => return problem::response(&ApiError::Invalid("the request body could not be read".to_owned())),
        };
        let bearer = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
        let caller = match (&self.sign_in, bearer) {
            (None, identity) => Caller::customer(identity),
            (Some(_), None) => Caller::Anonymous,
            (Some(verifier), Some(token)) => match verifier.verify(token).await {
                Ok(account) => Caller::Customer(account),
                Err(rejection) => Caller::Rejected(rejection.to_string()),
            },
        };
        let request = ApiRequest {
            caller,
            method: parts.method,
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts.headers,
            body,
            source: peer,
        };
        match request.path.strip_prefix("/_local/").map(str::to_owned) {
            Some(rest) => self.development_route(&rest, request).await,
            None => self.router.handle(request).await,
        }
    }

    async fn development_route(&self, rest: &str, request: ApiRequest) -> ApiResponse {
        let segments: Vec<&str> = rest.split('/').collect();
        match (&request.method, segments.as_slice()) {
            (&Method::GET, ["outbox"]) => match &self.outbox {
                Some(outbox) => {
                    // What is posted goes first, so that a reader never races the drain loop.
                    let now = contacts_app::ports::Clock::now(&contacts_app::ports::SystemClock);
                    if let Err(error) = self.router.app().deliver_outbox(now).await {
                        tracing::warn!(%error, "the outbox could not be delivered");
                    }
                    let mails: Vec<_> =
                        outbox.sent().into_iter().map(|m| json!({"to": m.to.as_str(), "subject": m.subject, "text": m.text, "html": m.html})).collect();
                    json_response(StatusCode::OK, &serde_json::Value::Array(mails))
                }
                None => problem::response(&ApiError::App(Error::NotFound("mail goes to SES here: read it where SES keeps it".to_owned()))),
            },
            (&Method::GET, ["events"]) => match &self.events {
                Some(events) => {
                    // What is committed goes first, as with the outbox.
                    let now = contacts_app::ports::Clock::now(&contacts_app::ports::SystemClock);
                    if let Err(error) = self.router.app().publish_outbox(now).await {
                        tracing::warn!(%error, "the events could not be published");
                    }
                    let published: Vec<_> = events
                        .published()
                        .into_iter()
                        .map(|event| {
                            let detail: serde_json::Value = serde_json::from_str(&event.detail()).unwrap_or_default();
                            json!({"source": contacts_domain::events::EVENT_SOURCE, "detail-type": event.fact.detail_type(), "detail": detail})
                        })
                        .collect();
                    json_response(StatusCode::OK, &serde_json::Value::Array(published))
                }
                None => problem::response(&ApiError::App(Error::NotFound("no event bus in this process".to_owned()))),
            },
            // The internal API, with this server standing in for the provider's systems.
            (&Method::PUT, ["accounts" | "services", _]) | (&Method::DELETE, ["accounts", _]) => {
                let path = format!("/internal/{rest}");
                self.router.handle(ApiRequest { path, caller: Caller::Provider(LOCAL_PROVIDER.to_owned()), ..request }).await
            }
            (&Method::POST, ["bounces"]) => match self.bounce(&request).await {
                Ok(marked) => json_response(StatusCode::OK, &json!({ "marked": marked })),
                Err(error) => problem::response(&error),
            },
            _ => problem::response(&ApiError::NoRoute),
        }
    }

    /// `POST /_local/bounces`: as if SES had reported a bounce of a mail to `account`.
    async fn bounce(&self, request: &ApiRequest) -> Result<bool, ApiError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Injected {
            account: AccountId,
            email: Option<EmailAddress>,
            #[serde(default)]
            bounce: Injectable,
        }
        #[derive(Default, serde::Deserialize)]
        #[serde(rename_all = "lowercase")]
        enum Injectable {
            #[default]
            Permanent,
            Transient,
            Complaint,
        }
        let body: Injected =
            serde_json::from_slice(&request.body).map_err(|e| ApiError::Invalid(format!("a bounce is {{\"account\", \"email\"?, \"bounce\"?}}: {e}")))?;
        let app = self.router.app();
        let email = match body.email {
            Some(email) => email,
            None => app.my_profile(&body.account).await?.account.email,
        };
        let bounce = match body.bounce {
            Injectable::Permanent => Bounce::Permanent,
            Injectable::Transient => Bounce::Transient,
            Injectable::Complaint => Bounce::Complaint,
        };
        Ok(app.bounced(&body.account, &email, bounce).await?)
    }
}

/// Who the internal API's log says made an upsert through `/_local/...`: the one provider
/// principal a local server's configuration admits (it has no IAM).
pub const LOCAL_PROVIDER: &str = "contacts-local (PUT /_local/...)";

fn json_response(status: StatusCode, value: &serde_json::Value) -> ApiResponse {
    let mut response = Response::new(Bytes::from(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::Backends;

    fn one(name: &'static str, value: &'static str) -> impl Fn(&str) -> Option<String> {
        move |n| (n == name).then(|| value.to_owned())
    }

    #[tokio::test]
    async fn only_its_own_endpoint_variables_move_it_off_the_embedded_store_and_the_outbox() {
        let backends = Backends::from_env(|_| None).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(backends.outbox.is_some() && backends.description.contains("the embedded store"), "{}", backends.description);
        let shared_endpoint = Backends::from_env(one("AWS_ENDPOINT_URL", "http://127.0.0.1:9")).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(shared_endpoint.outbox.is_some() && shared_endpoint.description.contains("the embedded store"), "{}", shared_endpoint.description);

        let Err(no_table) = Backends::from_env(one("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")).await else { panic!("started without a table") };
        assert!(no_table.contains("TABLE_NAME is not"), "{no_table}");
        let Err(not_a_url) = Backends::from_env(one("AWS_ENDPOINT_URL_SESV2", "localhost:9")).await else { panic!("started on no URL") };
        assert!(not_a_url.contains("AWS_ENDPOINT_URL_SESV2 must be an http:// or https:// URL"), "{not_a_url}");
    }
}
