//! The HTTP contract of SPEC §5 and of the internal API, written once: the route table, the
//! router that serves it, the bodies, the views and the errors. The local server and every
//! Lambda function hand their requests to [`Router::handle`], so they cannot drift apart.

mod access;
pub use access::data_document;
mod batch_views;
mod batches;
mod bodies;
mod cursor;
pub mod discovery;
mod error;
mod page;
pub mod panel;
pub mod problem;
mod provider;
pub mod routes;
mod views;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use serde::Serialize;

use contacts_app::config::Config;
use contacts_app::ports::FetchJson;
use contacts_app::{Answerer, App, Decision, Error};
use contacts_domain::{AccountId, BatchId, ContactChange, RequestId, ServiceName};
use contacts_telemetry::{self as telemetry, Metric};
pub use error::ApiError;
pub use routes::{Auth, Endpoint, Function, ROUTES, RouteSpec};

/// The largest body a route takes (SPEC §5): above it, 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The largest body of the one route that takes more (SPEC §7: a batch names a thousand
/// services of up to 253 characters), and so the most an entry point reads of any body.
pub const MAX_BATCH_BODY_BYTES: usize = 320 * 1024;

/// One HTTP request, as every entry point hands it to the router.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    /// The path as received, still percent-encoded.
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub caller: Caller,
    /// The client's address as the entry point saw it (API Gateway's `sourceIp`, the local
    /// server's peer), never a header: it keys the public page's budget of wrong codes.
    pub source: Option<IpAddr>,
}

/// Who is calling, as the entry point found it: on Lambda only in what API Gateway's
/// authorizers put in the request context, never in a header the client wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No verified identity: the emailed link's page, or a request no authorizer vouched for.
    Anonymous,
    /// A customer's account id: the JWT authorizer's claim on Lambda, the development bearer
    /// token locally. Still text: the router parses it (a malformed one is a 401).
    Customer(String),
    /// One of the provider's systems: the AWS principal (its ARN) whose signature API
    /// Gateway's IAM authorization verified; locally, the development server itself.
    Provider(String),
    /// A bearer token the entry point verified and refused (contacts-local with `JWT_ISSUER`):
    /// why, safe to show. A customer's route answers 401 with it; a public route ignores it,
    /// as API Gateway's authorizer only guards the routes it is attached to.
    Rejected(String),
}

impl Caller {
    /// A customer when an identity was found, else nobody.
    pub fn customer(identity: Option<&str>) -> Self {
        identity.map_or(Caller::Anonymous, |id| Caller::Customer(id.to_owned()))
    }
}

pub type ApiResponse = Response<Bytes>;

/// Serves the routes of SPEC §5, or of one function's share of them.
#[derive(Clone)]
pub struct Router {
    app: App,
    function: Option<Function>,
    /// How the control panel signs in (SPEC §5b), read from the environment once.
    sign_in: panel::SignIn,
    /// The OpenID provider's discovery document, cached, with [`panel::SignIn::Oidc`] and a
    /// way to read it ([`Router::with_discovery`]).
    discovery: Option<Arc<discovery::Discovery>>,
}

/// What a matched route hands its handler.
struct Call<'a> {
    request: &'a ApiRequest,
    params: routes::PathParams,
    /// The signed-in customer on a customer's route, resolved before anything else is looked
    /// at (401 comes first).
    caller: Option<AccountId>,
}

impl Router {
    /// Every route: the local server.
    pub fn new(app: App) -> Self {
        Self { app, function: None, sign_in: panel::SignIn::from_env(true), discovery: None }
    }

    /// One function's routes; the others are 404, as API Gateway would never send them.
    pub fn for_function(app: App, function: Function) -> Self {
        Self { app, function: Some(function), sign_in: panel::SignIn::from_env(false), discovery: None }
    }

    /// This router with the panel's sign-in set (a test's, or a server's own choice); call
    /// [`Router::with_discovery`] after it.
    pub fn with_sign_in(mut self, sign_in: panel::SignIn) -> Self {
        self.sign_in = sign_in;
        self.discovery = None;
        self
    }

    /// This router reading the OpenID provider's discovery document through `fetch`, when the
    /// panel signs in with OpenID Connect: the servers that serve the panel.
    pub fn with_discovery(mut self, fetch: Arc<dyn FetchJson>) -> Self {
        if let panel::SignIn::Oidc { issuer, .. } = &self.sign_in {
            self.discovery = Some(Arc::new(discovery::Discovery::new(issuer, fetch)));
        }
        self
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    pub async fn handle(&self, request: ApiRequest) -> ApiResponse {
        let started = Instant::now();
        let (route_key, response) = match routes::find(&request.method, &request.path, self.function) {
            Ok((spec, params)) => {
                let dispatched = match authorised(spec, &request, self.app.config()) {
                    Ok(caller) => self.dispatch(spec.endpoint, &Call { request: &request, params, caller }).await,
                    Err(error) => Err(error),
                };
                let response = match dispatched {
                    Ok(response) => response,
                    Err(error) => self.failure(spec.endpoint, error),
                };
                (spec.route_key(), response)
            }
            Err(error) => {
                let mut response = problem::response(&error);
                if let ApiError::MethodNotAllowed(_) = error {
                    let allow = routes::allowed_methods(&request.path).join(", ");
                    if let Ok(allow) = HeaderValue::from_str(&allow) {
                        response.headers_mut().insert(header::ALLOW, allow);
                    }
                }
                ("-".to_owned(), response)
            }
        };
        let status = response.status().as_u16();
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        // Never the body or the headers: a token may ride in either.
        if status >= 500 {
            tracing::error!(route = %route_key, status, elapsed_ms, "request failed");
        } else {
            tracing::info!(route = %route_key, status, elapsed_ms, "request served");
        }
        response
    }

    /// Hands the call to its group's handler; each handler only parses, calls the use case and
    /// shapes the answer.
    async fn dispatch(&self, endpoint: Endpoint, call: &Call<'_>) -> Result<ApiResponse, ApiError> {
        match endpoint {
            Endpoint::GetMe | Endpoint::GetMyData | Endpoint::PatchMe | Endpoint::VerifyEmail => self.profile(endpoint, call).await,
            Endpoint::ListMyServices | Endpoint::GetService => self.services(endpoint, call).await,
            Endpoint::CreateContactChanges
            | Endpoint::ListMyContactChanges
            | Endpoint::GetContactChange
            | Endpoint::Accept
            | Endpoint::Refuse
            | Endpoint::Resend
            | Endpoint::Cancel => self.contact_changes(endpoint, call).await,
            Endpoint::CreateBatch
            | Endpoint::ListMyBatches
            | Endpoint::GetBatch
            | Endpoint::AcceptBatch
            | Endpoint::RefuseBatch
            | Endpoint::ResendBatch
            | Endpoint::CancelBatch
            | Endpoint::BatchConfirmPage
            | Endpoint::BatchConfirmDecision
            | Endpoint::BatchConfirmDetails => self.batches(endpoint, call).await,
            Endpoint::VerifyEmailPage | Endpoint::VerifyEmailForm | Endpoint::ConfirmPage | Endpoint::ConfirmDecision | Endpoint::ConfirmDetails => {
                self.pages(endpoint, call).await
            }
            Endpoint::PutAccount | Endpoint::EraseAccount | Endpoint::PutService => self.provider(endpoint, call).await,
            Endpoint::PanelPage | Endpoint::PanelConfig | Endpoint::PanelAsset => self.panel(endpoint, call).await,
        }
    }

    /// `/v1/me` and the verification of an address change.
    async fn profile(&self, endpoint: Endpoint, call: &Call<'_>) -> Result<ApiResponse, ApiError> {
        let app = &self.app;
        match endpoint {
            Endpoint::GetMe => ok(&views::my_profile(&app.my_profile(&call.caller()?).await?)),
            Endpoint::GetMyData => {
                let data = app.my_data(&call.caller()?).await?;
                let bouncing = app.bouncing_in(&data.contact_changes.iter().collect::<Vec<_>>()).await?;
                access::response(&data, &bouncing)
            }
            Endpoint::PatchMe => {
                let patch = bodies::profile_patch(call.request)?;
                ok(&views::my_profile(&app.change_profile(&call.caller()?, patch).await?))
            }
            Endpoint::VerifyEmail => {
                let token = bodies::token(call.request)?;
                let caller = call.caller()?;
                ok(&views::my_profile(&app.verify_email(&token, Some(&caller)).await?))
            }
            _ => unreachable!("{endpoint:?} is not a route of this group"),
        }
    }

    /// The services the caller holds a role of.
    async fn services(&self, endpoint: Endpoint, call: &Call<'_>) -> Result<ApiResponse, ApiError> {
        let app = &self.app;
        match endpoint {
            Endpoint::ListMyServices => {
                let after = cursor::decode_service(call.query("cursor")?.as_deref())?;
                let filter = bodies::service_filter(call.query("type")?.as_deref(), call.query("q")?.as_deref())?;
                let page = app.my_services(&call.caller()?, &filter, after).await?;
                ok(&views::services(page))
            }
            Endpoint::GetService => {
                let name = ServiceName::parse(call.param("service"))?;
                ok(&views::service(&app.service(&call.caller()?, &name).await?))
            }
            _ => unreachable!("{endpoint:?} is not a route of this group"),
        }
    }

    /// `/v1/.../contact-changes`: asking, reading and answering requests.
    async fn contact_changes(&self, endpoint: Endpoint, call: &Call<'_>) -> Result<ApiResponse, ApiError> {
        let app = &self.app;
        match endpoint {
            Endpoint::CreateContactChanges => {
                let name = ServiceName::parse(call.param("service"))?;
                let asks = bodies::contact_changes(call.request)?;
                let caller = call.caller()?;
                let changes = app.create(&caller, &name, asks).await?;
                json(StatusCode::CREATED, &views::created(&changes))
            }
            Endpoint::ListMyContactChanges => {
                let state = bodies::state_filter(call.query("state")?.as_deref())?;
                let before = cursor::decode_request(call.query("cursor")?.as_deref())?;
                let (changes, next) = app.my_contact_changes(&call.caller()?, state, before).await?;
                let bouncing = app.bouncing_in(&changes.iter().collect::<Vec<_>>()).await?;
                ok(&views::contact_changes(&changes, next, &bouncing))
            }
            Endpoint::GetContactChange => {
                let change = app.contact_change(&call.caller()?, call.request_id()?).await?;
                ok(&views::contact_change_read(&change, &app.bouncing_in(&[&change]).await?))
            }
            Endpoint::Accept | Endpoint::Refuse => {
                let decision = if endpoint == Endpoint::Accept { Decision::Accept } else { Decision::Refuse };
                let (id, token) = (call.request_id()?, bodies::token(call.request)?);
                let caller = call.caller()?;
                ok(&views::contact_change(&self.answer(id, &token, decision, Answerer::Caller(&caller)).await?))
            }
            Endpoint::Resend => {
                bodies::nothing(call.request)?;
                let (caller, id) = (call.caller()?, call.request_id()?);
                json(StatusCode::ACCEPTED, &views::contact_change(&app.resend(&caller, id).await?))
            }
            Endpoint::Cancel => {
                bodies::nothing(call.request)?;
                let (caller, id) = (call.caller()?, call.request_id()?);
                ok(&views::contact_change(&app.cancel(&caller, id).await?))
            }
            _ => unreachable!("{endpoint:?} is not a route of this group"),
        }
    }

    /// The pages the emailed links open (no login: the token alone authorises).
    async fn pages(&self, endpoint: Endpoint, call: &Call<'_>) -> Result<ApiResponse, ApiError> {
        let app = &self.app;
        match endpoint {
            Endpoint::VerifyEmailPage => Ok(page::verify_email_form()),
            Endpoint::VerifyEmailForm => {
                let token = bodies::verify_email_form(call.request)?;
                Ok(page::email_verified(&app.verify_email(&token, None).await?))
            }
            Endpoint::ConfirmPage => {
                let answered = bodies::decision(call.query("answered")?.as_deref())?;
                Ok(page::change(&app.confirmation(call.request_id()?).await?, answered))
            }
            Endpoint::ConfirmDecision => {
                let id = call.request_id()?;
                let (token, decision) = bodies::confirm_form(call.request)?;
                self.answer(id, &token, decision, Answerer::LinkHolder { from: call.request.source }).await?;
                // Post/Redirect/Get: the outcome is a page of its own, so a reload posts nothing again.
                Ok(page::see_outcome(&id.to_string(), decision))
            }
            // JSON for the page's script (its errors too, as problem+json): it shows the names.
            Endpoint::ConfirmDetails => {
                let (id, token) = (call.request_id()?, bodies::confirm_details_form(call.request)?);
                let (change, accounts) = app.confirmation_details(id, &token, call.request.source).await?;
                ok(&views::confirmation_details(&change, &accounts))
            }
            _ => unreachable!("{endpoint:?} is not a route of this group"),
        }
    }

    /// The internal API of the provider's systems.
    async fn provider(&self, endpoint: Endpoint, call: &Call<'_>) -> Result<ApiResponse, ApiError> {
        let app = &self.app;
        match endpoint {
            Endpoint::PutAccount => provider::put_account(app, call.param("id"), call.request).await,
            Endpoint::EraseAccount => provider::erase_account(app, call.param("id"), call.request).await,
            Endpoint::PutService => provider::put_service(app, call.param("name"), call.request).await,
            _ => unreachable!("{endpoint:?} is not a route of this group"),
        }
    }

    /// The control panel's page, configuration and assets: nothing of the store is read.
    async fn panel(&self, endpoint: Endpoint, call: &Call<'_>) -> Result<ApiResponse, ApiError> {
        match endpoint {
            // Without the provider's endpoints the page still loads (its policy then allows no
            // provider), and its configuration says why sign-in is unavailable.
            Endpoint::PanelPage => Ok(panel::index(self.provider_endpoints().await.ok().flatten().as_deref())),
            Endpoint::PanelConfig => {
                let endpoints = self.provider_endpoints().await?;
                let cooldown = u64::try_from(self.app.config().resend_cooldown.whole_seconds()).unwrap_or(0);
                Ok(panel::config(&self.sign_in, endpoints.as_deref(), cooldown))
            }
            Endpoint::PanelAsset => panel::asset(call.param("asset")).ok_or(ApiError::NoRoute),
            _ => unreachable!("{endpoint:?} is not a route of this group"),
        }
    }

    /// The OpenID provider's endpoints when the panel signs in with OpenID Connect (else
    /// none), or why they are unknown.
    async fn provider_endpoints(&self) -> Result<Option<Arc<discovery::Endpoints>>, ApiError> {
        match (&self.sign_in, &self.discovery) {
            (panel::SignIn::Oidc { .. }, Some(discovery)) => discovery.endpoints().await.map(Some).map_err(ApiError::IdentityProvider),
            (panel::SignIn::Oidc { .. }, None) => Err(ApiError::IdentityProvider("this server reads no discovery document".to_owned())),
            _ => Ok(None),
        }
    }

    /// `App::answer`, an acceptance that took counted (telemetry: a save cannot tell one that
    /// leaves the request pending from the other saves of a pending request).
    async fn answer(&self, id: RequestId, token: &str, decision: Decision, answerer: Answerer<'_>) -> Result<ContactChange, Error> {
        let change = self.app.answer(id, token, decision, answerer).await?;
        if decision == Decision::Accept {
            telemetry::count(Metric::ChangesAccepted);
        }
        Ok(change)
    }

    /// The error as problem+json, or as a page for the routes a browser opens.
    fn failure(&self, endpoint: Endpoint, error: ApiError) -> ApiResponse {
        if let ApiError::App(error) = &error
            && let Some(refusal) = error.refusal()
        {
            telemetry::refused(refusal);
        }
        if error.status().is_server_error() {
            // The whole chain of causes, for whoever reads the log; the client gets the outline.
            tracing::error!(cause = %error.chain(), "request failed");
        }
        match endpoint {
            Endpoint::ConfirmPage | Endpoint::ConfirmDecision => page::problem(&error),
            Endpoint::BatchConfirmPage | Endpoint::BatchConfirmDecision => page::batch_problem(&error),
            Endpoint::VerifyEmailPage | Endpoint::VerifyEmailForm => page::email_problem(&error),
            _ => problem::response(&error),
        }
    }
}

impl Call<'_> {
    fn caller(&self) -> Result<AccountId, ApiError> {
        self.caller.clone().ok_or(ApiError::Unauthenticated)
    }

    /// A path parameter of the matched route, by the name its path gives it. The route table
    /// is fixed and tested, so a name it lacks is a bug of this file.
    fn param(&self, name: &str) -> &str {
        self.params.get(name).unwrap_or_else(|| panic!("the matched route has no {{{name}}}"))
    }

    /// `{id}`: the contact-change request the route acts on.
    fn request_id(&self) -> Result<RequestId, ApiError> {
        Ok(RequestId::parse(self.param("id"))?)
    }

    fn batch_id(&self) -> Result<BatchId, ApiError> {
        Ok(BatchId::parse(self.param("id"))?)
    }

    /// One query parameter, decoded; a parameter given twice is ambiguous, so refused.
    fn query(&self, name: &str) -> Result<Option<String>, ApiError> {
        let query = self.request.query.as_deref().unwrap_or("");
        let mut values = form_urlencoded::parse(query.as_bytes()).filter(|(key, _)| key == name).map(|(_, v)| v.into_owned());
        let first = values.next();
        if values.next().is_some() {
            return Err(ApiError::Invalid(format!("the query parameter {name} is given more than once")));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }
}

/// Whether `request` may call the route `spec`, and the signed-in customer if the route has
/// one. A customer's route takes a customer and nobody else (401); the internal API takes the
/// provider's systems and nobody else: 401 without any identity, 403 with a customer's (which
/// is never enough), 403 for a principal that `PROVIDER_PRINCIPALS` does not list when it
/// lists any ([`Config::admits_provider`]).
fn authorised(spec: &RouteSpec, request: &ApiRequest, config: &Config) -> Result<Option<AccountId>, ApiError> {
    match (spec.auth, &request.caller) {
        (Auth::Public, _) => Ok(None),
        (Auth::Jwt, Caller::Customer(claimed)) => AccountId::parse(claimed).map(Some).map_err(|_| ApiError::Unauthenticated),
        (Auth::Jwt | Auth::Iam, Caller::Rejected(why)) => Err(ApiError::InvalidToken(why.clone())),
        (Auth::Jwt, _) => Err(ApiError::Unauthenticated),
        (Auth::Iam, Caller::Provider(principal)) if !config.admits_provider(principal) => {
            tracing::warn!(route = %spec.route_key(), %principal, "internal API call refused: the principal is not in PROVIDER_PRINCIPALS");
            Err(ApiError::NotForThisCaller(
                "this AWS principal is not one of the provider's systems allowed to call the internal API (PROVIDER_PRINCIPALS)".to_owned(),
            ))
        }
        (Auth::Iam, Caller::Provider(principal)) => {
            // Who changed the provider's records: the audit trail of the internal API.
            tracing::info!(route = %spec.route_key(), %principal, "internal API call");
            Ok(None)
        }
        (Auth::Iam, Caller::Anonymous) => Err(ApiError::Unauthenticated),
        (Auth::Iam, Caller::Customer(_)) => Err(ApiError::NotForThisCaller(
            "this route is for the provider's own systems, authorised by AWS IAM (a request signed with AWS credentials)".to_owned(),
        )),
    }
}

fn ok<T: Serialize>(body: &T) -> Result<ApiResponse, ApiError> {
    json(StatusCode::OK, body)
}

fn json<T: Serialize>(status: StatusCode, body: &T) -> Result<ApiResponse, ApiError> {
    Ok(json_bytes(status, to_json(body)?))
}

fn to_json<T: Serialize>(body: &T) -> Result<Vec<u8>, ApiError> {
    Ok(serde_json::to_vec(body).map_err(|e| Error::Internal(Box::new(e)))?)
}

/// `bytes`, a JSON document, as the answer: never kept by a cache on the way.
fn json_bytes(status: StatusCode, bytes: Vec<u8>) -> ApiResponse {
    let mut response = Response::new(Bytes::from(bytes));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
