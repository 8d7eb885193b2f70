//! Upserts from the provider's own systems (billing, provisioning): one account or one
//! service, in the fixtures' shape. The local server serves them as `/_local/...`; they are
//! never reachable with a customer's identity.

use serde_json::Value;

use super::{ApiRequest, ApiResponse, MAX_BODY_BYTES, json};
use crate::app::{App, Error};
use crate::domain::{Account, AccountId, Service, ServiceName};
use http::StatusCode;

/// `PUT .../accounts/{id}`: the body is an account; its `id`, if given, must be the path's.
pub async fn put_account(app: &App, id: &str, request: &ApiRequest) -> ApiResponse {
    respond(async {
        let id = AccountId::parse(id)?;
        let account: Account = with_key(request, "id", id.as_str())?;
        app.put_account(&account).await?;
        json(StatusCode::OK, &account)
    }
    .await)
}

/// `PUT .../services/{name}`: the body is a service; its `name`, if given, must be the path's.
pub async fn put_service(app: &App, name: &str, request: &ApiRequest) -> ApiResponse {
    respond(async {
        let name = ServiceName::parse(name)?;
        let service: Service = with_key(request, "name", name.as_str())?;
        app.put_service(&service).await?;
        json(StatusCode::OK, &service)
    }
    .await)
}

fn respond(result: Result<ApiResponse, Error>) -> ApiResponse {
    result.unwrap_or_else(|error| super::problem::response(&error))
}

/// The body as a `T`, its `key` filled in from the path (or checked against it).
fn with_key<T: serde::de::DeserializeOwned>(request: &ApiRequest, key: &str, value: &str) -> Result<T, Error> {
    if request.body.len() > MAX_BODY_BYTES {
        return Err(Error::BodyTooLarge { limit: MAX_BODY_BYTES });
    }
    let mut body: Value = serde_json::from_slice(&request.body).map_err(|e| Error::Invalid(format!("invalid body: {e}")))?;
    let object = body.as_object_mut().ok_or_else(|| Error::Invalid("the body must be a JSON object".to_owned()))?;
    match object.get(key).and_then(Value::as_str).map(str::to_ascii_lowercase) {
        Some(given) if given != value => return Err(Error::Invalid(format!("the body's {key} differs from the path's"))),
        _ => {
            object.insert(key.to_owned(), Value::String(value.to_owned()));
        }
    }
    serde_json::from_value(body).map_err(|e| Error::Invalid(format!("invalid body: {e}")))
}
