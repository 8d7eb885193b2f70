//! The internal API: upserts from the provider's own systems (billing, provisioning), one
//! account or one service in the fixtures' shape, validated by the same domain types as
//! `contacts-admin import`, and erasures of accounts (SPEC §8). The router serves them as
//! `PUT` and `DELETE /internal/...` to the provider's systems only (AWS IAM on Lambda);
//! `contacts-local` hands its `/_local/...` upserts and erasures here too.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use serde_json::Value;

use super::ApiError;
use super::{ApiRequest, ApiResponse, MAX_BODY_BYTES, json};
use contacts_app::App;
use contacts_app::ports::PendingChange;
use contacts_domain::FailReason;
use contacts_domain::{Account, AccountId, RequestId, Role, Service, ServiceName};

/// `PUT .../accounts/{id}`: the body is an account; its `id`, if given, must be the path's.
/// Answers the account as stored.
pub(super) async fn put_account(app: &App, id: &str, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let id = AccountId::parse(id)?;
    let account: Account = with_key(request, "id", id.as_str())?;
    app.put_account(&account).await?;
    json(StatusCode::OK, &account)
}

/// `DELETE .../accounts/{id}`: erases the account (SPEC §8), with no body; 204 once it is
/// gone, 409 `account_in_use` while it holds a role or a pending request or a batch in
/// progress involves it, 404 for an id that is no account (or one erased already).
pub(super) async fn erase_account(app: &App, id: &str, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let id = AccountId::parse(id)?;
    super::bodies::nothing(request)?;
    app.erase_account(&id).await?;
    let mut response = ApiResponse::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `PUT .../services/{name}`: the body is a service; its `name`, if given, must be the path's.
/// Answers the service as stored, with the pending requests this upsert overtook.
pub(super) async fn put_service(app: &App, name: &str, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let name = ServiceName::parse(name)?;
    let service: Service = with_key(request, "name", name.as_str())?;
    let overtaken = app.put_service(&service).await?;
    json(StatusCode::OK, &UpsertedService { service: &service, pending_changes: overtaken.iter().map(Overtaken::from).collect() })
}

#[derive(Serialize)]
struct UpsertedService<'a> {
    #[serde(flatten)]
    service: &'a Service,
    /// The pending requests this upsert overtook: each will end `failed` with `reason`
    /// (`holders_changed`: it gave one of their roles to another account;
    /// `requester_lost_role`: it took from their requester the role that entitled it).
    pending_changes: Vec<Overtaken<'a>>,
}

#[derive(Serialize)]
struct Overtaken<'a> {
    request: RequestId,
    role: Role,
    from: &'a AccountId,
    to: &'a AccountId,
    reason: FailReason,
}

impl<'a> From<&'a PendingChange> for Overtaken<'a> {
    fn from(change: &'a PendingChange) -> Self {
        Overtaken { request: change.request, role: change.role, from: &change.from, to: &change.to, reason: change.reason }
    }
}

/// The body as a `T`, its `key` filled in from the path (or checked against it).
fn with_key<T: serde::de::DeserializeOwned>(request: &ApiRequest, key: &str, value: &str) -> Result<T, ApiError> {
    if request.body.len() > MAX_BODY_BYTES {
        return Err(ApiError::BodyTooLarge { limit: MAX_BODY_BYTES });
    }
    let mut body: Value = serde_json::from_slice(&request.body).map_err(|e| ApiError::Invalid(format!("invalid body: {e}")))?;
    let object = body.as_object_mut().ok_or_else(|| ApiError::Invalid("the body must be a JSON object".to_owned()))?;
    match object.get(key) {
        None => {}
        Some(Value::String(given)) if given.to_ascii_lowercase() == value => {}
        Some(_) => return Err(ApiError::Invalid(format!("the body's {key} differs from the path's"))),
    }
    object.insert(key.to_owned(), Value::String(value.to_owned()));
    serde_json::from_value(body).map_err(|e| ApiError::Invalid(format!("invalid body: {e}")))
}
