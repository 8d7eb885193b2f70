//! Request bodies and query values, parsed at the edge into domain values: JSON objects
//! with no unknown fields, and at least one expected field where all are optional.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ApiError;
use super::{ApiRequest, MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES};
use contacts_app::Decision;
use contacts_app::ports::ProfilePatch;
use contacts_domain::batch::MAX_SERVICES;
use contacts_domain::{BatchState, ContactRef, EmailAddress, Language, Role, ServiceName, State, ids::printable};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileBody {
    email: Option<EmailAddress>,
    language: Option<Language>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactChangesBody {
    admin: Option<ContactRef>,
    tech: Option<ContactRef>,
    billing: Option<ContactRef>,
}

/// SPEC §7: the services, and the roles' one new account.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    services: Vec<String>,
    admin: Option<ContactRef>,
    tech: Option<ContactRef>,
    billing: Option<ContactRef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

pub(super) fn profile_patch(request: &ApiRequest) -> Result<ProfilePatch, ApiError> {
    let body: ProfileBody = json_object(request)?;
    if body.email.is_none() && body.language.is_none() {
        return Err(ApiError::Invalid("give email and/or language".to_owned()));
    }
    Ok(ProfilePatch { email: body.email, language: body.language })
}

pub(super) fn contact_changes(request: &ApiRequest) -> Result<Vec<(Role, ContactRef)>, ApiError> {
    let body: ContactChangesBody = json_object(request)?;
    let asks: Vec<(Role, ContactRef)> = [(Role::Admin, body.admin), (Role::Tech, body.tech), (Role::Billing, body.billing)]
        .into_iter()
        .filter_map(|(role, account)| account.map(|a| (role, a)))
        .collect();
    if asks.is_empty() {
        return Err(ApiError::Invalid("give the new account for at least one of admin, tech, billing".to_owned()));
    }
    Ok(asks)
}

/// What a batch asks: its services, and each role with its (one) new account.
pub(super) type BatchAsks = (Vec<ServiceName>, Vec<(Role, ContactRef)>);

/// `POST /v1/contact-change-batches`: 1 to 1,000 distinct services, and one new account for
/// every role named (up to [`MAX_BATCH_BODY_BYTES`]).
pub(super) fn contact_change_batch(request: &ApiRequest) -> Result<BatchAsks, ApiError> {
    let body: BatchBody = json_object_within(request, MAX_BATCH_BODY_BYTES)?;
    if body.services.is_empty() || body.services.len() > MAX_SERVICES {
        return Err(ApiError::Invalid(format!("a batch names 1 to {MAX_SERVICES} services, not {}", body.services.len())));
    }
    let mut services = Vec::with_capacity(body.services.len());
    let mut seen = std::collections::HashSet::new();
    for (index, name) in body.services.iter().enumerate() {
        let service = ServiceName::parse(name).map_err(|e| ApiError::Invalid(format!("services[{index}]: {e}")))?;
        if !seen.insert(service.clone()) {
            return Err(ApiError::Invalid(format!("services[{index}]: {service} is named twice")));
        }
        services.push(service);
    }
    let asks: Vec<(Role, ContactRef)> = [(Role::Admin, body.admin), (Role::Tech, body.tech), (Role::Billing, body.billing)]
        .into_iter()
        .filter_map(|(role, account)| account.map(|a| (role, a)))
        .collect();
    match asks.first() {
        None => Err(ApiError::Invalid("give the new account for at least one of admin, tech, billing".to_owned())),
        Some((_, first)) if asks.iter().any(|(_, other)| other != first) => {
            Err(ApiError::Invalid("a batch moves its roles to one new account: give the same one for each role".to_owned()))
        }
        Some(_) => Ok((services, asks)),
    }
}

pub(super) fn batch_state_filter(value: Option<&str>) -> Result<Option<BatchState>, ApiError> {
    value
        .map(|v| {
            BatchState::parse(v).ok_or_else(|| {
                ApiError::Invalid(format!("state is one of pending, done, partly_done, failed, refused, expired, cancelled, not '{}'", printable(v)))
            })
        })
        .transpose()
}

pub(super) fn token(request: &ApiRequest) -> Result<String, ApiError> {
    Ok(json_object::<TokenBody>(request)?.token)
}

/// Routes that take no input accept no body, `{}`, or nothing else; over 16 KiB, even of
/// whitespace, is a 413 as on every route.
pub(super) fn nothing(request: &ApiRequest) -> Result<(), ApiError> {
    check_size(request)?;
    if request.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    json_object::<NoFields>(request).map(|_| ())
}

/// The confirmation page's form: `token` and `decision`.
pub(super) fn confirm_form(request: &ApiRequest) -> Result<(String, Decision), ApiError> {
    check_size(request)?;
    let (mut token, mut decision) = (None, None);
    for (key, value) in form_urlencoded::parse(&request.body) {
        match key.as_ref() {
            "token" => token = Some(value.into_owned()),
            "decision" => decision = self::decision(Some(value.as_ref()))?,
            _ => {}
        }
    }
    let token = token.filter(|t| !t.trim().is_empty()).ok_or_else(|| ApiError::Invalid("enter the code from the confirmation email".to_owned()))?;
    let decision = decision.ok_or_else(|| ApiError::Invalid("choose accept or refuse".to_owned()))?;
    Ok((token, decision))
}

/// What the confirmation page's script posts to read who is involved: `token`, as its form does.
pub(super) fn confirm_details_form(request: &ApiRequest) -> Result<String, ApiError> {
    check_size(request)?;
    let token = form_urlencoded::parse(&request.body).find(|(key, _)| key == "token").map(|(_, value)| value.into_owned());
    token.filter(|t| !t.trim().is_empty()).ok_or_else(|| ApiError::Invalid("enter the code from the confirmation email".to_owned()))
}

/// `accept` or `refuse`: the confirmation form's `decision`, the outcome page's `answered`.
pub(super) fn decision(value: Option<&str>) -> Result<Option<Decision>, ApiError> {
    match value {
        None => Ok(None),
        Some("accept") => Ok(Some(Decision::Accept)),
        Some("refuse") => Ok(Some(Decision::Refuse)),
        Some(other) => Err(ApiError::Invalid(format!("the decision is accept or refuse, not '{}'", printable(other)))),
    }
}

/// The email verification page's form: `token`.
pub(super) fn verify_email_form(request: &ApiRequest) -> Result<String, ApiError> {
    check_size(request)?;
    let token = form_urlencoded::parse(&request.body).find(|(key, _)| key == "token").map(|(_, value)| value.into_owned());
    token.filter(|t| !t.trim().is_empty()).ok_or_else(|| ApiError::Invalid("enter the code from the verification email".to_owned()))
}

pub(super) fn state_filter(value: Option<&str>) -> Result<Option<State>, ApiError> {
    value
        .map(|v| {
            State::parse(v)
                .ok_or_else(|| ApiError::Invalid(format!("state is one of pending, done, refused, expired, cancelled, failed, not '{}'", printable(v))))
        })
        .transpose()
}

fn check_size(request: &ApiRequest) -> Result<(), ApiError> {
    check_size_within(request, MAX_BODY_BYTES)
}

fn check_size_within(request: &ApiRequest, limit: usize) -> Result<(), ApiError> {
    if request.body.len() > limit {
        return Err(ApiError::BodyTooLarge { limit });
    }
    Ok(())
}

fn json_object<T: DeserializeOwned>(request: &ApiRequest) -> Result<T, ApiError> {
    json_object_within(request, MAX_BODY_BYTES)
}

fn json_object_within<T: DeserializeOwned>(request: &ApiRequest, limit: usize) -> Result<T, ApiError> {
    check_size_within(request, limit)?;
    if request.body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::Invalid("this route takes a JSON object body".to_owned()));
    }
    let text = std::str::from_utf8(&request.body).map_err(|_| ApiError::Invalid("the body is not valid UTF-8".to_owned()))?;
    if !text.trim_start().starts_with('{') {
        return Err(ApiError::Invalid("the body must be a JSON object".to_owned()));
    }
    serde_json::from_str(text).map_err(|e| {
        // serde's messages name the field and what was wrong; keep them short and plain.
        ApiError::Invalid(format!("invalid body: {}", printable(&e.to_string()).chars().take(300).collect::<String>()))
    })
}

/// `GET /v1/me/services?type=&q=`: a service type, and the start of a service name (matched
/// without regard to case, as names are lower-case): letters, digits, dots and hyphens.
pub(super) fn service_filter(kind: Option<&str>, q: Option<&str>) -> Result<contacts_app::ports::ServiceFilter, ApiError> {
    let kind = kind.map(contacts_domain::ServiceType::parse).transpose()?;
    let name_prefix = match q.map(str::trim).filter(|q| !q.is_empty()) {
        None => None,
        Some(q) if q.len() <= 253 && q.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') => Some(q.to_ascii_lowercase()),
        Some(_) => return Err(ApiError::Invalid("q is the start of a service name: letters, digits, dots and hyphens, at most 253".to_owned())),
    };
    Ok(contacts_app::ports::ServiceFilter { kind, name_prefix })
}
