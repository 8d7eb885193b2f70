//! The route table: every route of SPEC §5 and the internal API of the provider's systems,
//! the function that serves each on Lambda, who may call it, and the matching of a request's
//! method and path against it. `template.yaml`, `events/` and `openapi.yaml` are tested
//! against this table.

use http::Method;
use percent_encoding::percent_decode_str;

use super::ApiError;

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    GetMe,
    GetMyData,
    PatchMe,
    ListMyServices,
    GetService,
    CreateContactChanges,
    ListMyContactChanges,
    GetContactChange,
    Accept,
    Refuse,
    Resend,
    Cancel,
    CreateBatch,
    ListMyBatches,
    GetBatch,
    AcceptBatch,
    RefuseBatch,
    ResendBatch,
    CancelBatch,
    ConfirmPage,
    ConfirmDecision,
    ConfirmDetails,
    BatchConfirmPage,
    BatchConfirmDecision,
    BatchConfirmDetails,
    PutAccount,
    EraseAccount,
    PutService,
    VerifyEmail,
    VerifyEmailPage,
    VerifyEmailForm,
    PanelPage,
    PanelConfig,
    PanelAsset,
}

/// Who may call a route, as API Gateway checks it before the function runs; the router checks
/// it again from what the entry point found in the request context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Auth {
    /// A signed-in customer: the HTTP API's JWT authorizer (the default authorizer).
    Jwt,
    /// Anyone: the emailed link's page, where the token alone authorises (`Authorizer: NONE`).
    Public,
    /// The provider's own systems: requests signed with AWS credentials (`Authorizer: AWS_IAM`),
    /// never a customer's JWT.
    Iam,
}

/// The Lambda function that serves a route: one per job, each with only the permissions
/// its job needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// Every read: profile, services, requests. Reads only.
    Read,
    /// The caller's own profile: writes its account item, asks for and verifies an address
    /// change (the verification item, the mails, the emailed link's page).
    Profile,
    /// New requests: reads, one transaction, mails.
    Create,
    /// Closing decisions on a request (accept, refuse, cancel) and the emailed link's page.
    Confirm,
    /// Fresh tokens and mails for the pending parties.
    Resend,
    /// The provider's systems' upserts of accounts and services, and erasures of accounts (the
    /// internal API).
    Provider,
    /// The customer control panel: its page, its configuration and its embedded assets.
    Panel,
}

impl Function {
    pub const ALL: [Function; 7] =
        [Function::Read, Function::Profile, Function::Create, Function::Confirm, Function::Resend, Function::Provider, Function::Panel];

    /// The function's folder under `functions/`, and its binary's name.
    pub fn name(self) -> &'static str {
        match self {
            Function::Read => "read",
            Function::Profile => "profile",
            Function::Create => "create",
            Function::Confirm => "confirm",
            Function::Resend => "resend",
            Function::Provider => "provider",
            Function::Panel => "panel",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: &'static str,
    /// In API Gateway's notation: `{name}` is one path segment.
    pub path: &'static str,
    pub endpoint: Endpoint,
    pub function: Function,
    pub auth: Auth,
}

impl RouteSpec {
    /// As API Gateway writes it: `GET /v1/me`.
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A customer's route, behind the JWT authorizer.
const fn route(method: &'static str, path: &'static str, endpoint: Endpoint, function: Function) -> RouteSpec {
    RouteSpec { method, path, endpoint, function, auth: Auth::Jwt }
}

/// SPEC §5 in its order, then the internal API.
pub const ROUTES: &[RouteSpec] = &[
    route("GET", "/v1/me", Endpoint::GetMe, Function::Read),
    route("PATCH", "/v1/me", Endpoint::PatchMe, Function::Profile),
    route("POST", "/v1/me/email-verification", Endpoint::VerifyEmail, Function::Profile),
    route("GET", "/v1/me/services", Endpoint::ListMyServices, Function::Read),
    route("GET", "/v1/services/{service}", Endpoint::GetService, Function::Read),
    route("POST", "/v1/services/{service}/contact-changes", Endpoint::CreateContactChanges, Function::Create),
    route("GET", "/v1/me/contact-changes", Endpoint::ListMyContactChanges, Function::Read),
    route("GET", "/v1/contact-changes/{id}", Endpoint::GetContactChange, Function::Read),
    route("POST", "/v1/contact-changes/{id}/accept", Endpoint::Accept, Function::Confirm),
    route("POST", "/v1/contact-changes/{id}/refuse", Endpoint::Refuse, Function::Confirm),
    route("POST", "/v1/contact-changes/{id}/resend", Endpoint::Resend, Function::Resend),
    route("POST", "/v1/contact-changes/{id}/cancel", Endpoint::Cancel, Function::Confirm),
    // SPEC §7: many services, one decision per party.
    route("POST", "/v1/contact-change-batches", Endpoint::CreateBatch, Function::Create),
    route("GET", "/v1/me/contact-change-batches", Endpoint::ListMyBatches, Function::Read),
    route("GET", "/v1/contact-change-batches/{id}", Endpoint::GetBatch, Function::Read),
    route("POST", "/v1/contact-change-batches/{id}/accept", Endpoint::AcceptBatch, Function::Confirm),
    route("POST", "/v1/contact-change-batches/{id}/refuse", Endpoint::RefuseBatch, Function::Confirm),
    route("POST", "/v1/contact-change-batches/{id}/resend", Endpoint::ResendBatch, Function::Resend),
    route("POST", "/v1/contact-change-batches/{id}/cancel", Endpoint::CancelBatch, Function::Confirm),
    // SPEC §8: everything held about the caller, in one document (reads only, as GET /v1/me).
    route("GET", "/v1/me/data", Endpoint::GetMyData, Function::Read),
    // A batch's emailed link's page, as a request's (before `/confirm/{id}/details`, which a
    // batch's path would match only for a batch id `details`, which no ULID is).
    RouteSpec { method: "GET", path: "/confirm/batch/{id}", endpoint: Endpoint::BatchConfirmPage, function: Function::Confirm, auth: Auth::Public },
    RouteSpec { method: "POST", path: "/confirm/batch/{id}", endpoint: Endpoint::BatchConfirmDecision, function: Function::Confirm, auth: Auth::Public },
    RouteSpec { method: "POST", path: "/confirm/batch/{id}/details", endpoint: Endpoint::BatchConfirmDetails, function: Function::Confirm, auth: Auth::Public },
    // The emailed link's page: no login, the token alone authorises.
    RouteSpec { method: "GET", path: "/confirm/{id}", endpoint: Endpoint::ConfirmPage, function: Function::Confirm, auth: Auth::Public },
    RouteSpec { method: "POST", path: "/confirm/{id}", endpoint: Endpoint::ConfirmDecision, function: Function::Confirm, auth: Auth::Public },
    // The page's script reads who is involved with the code (SPEC §4): the id alone names nobody.
    RouteSpec { method: "POST", path: "/confirm/{id}/details", endpoint: Endpoint::ConfirmDetails, function: Function::Confirm, auth: Auth::Public },
    // The email verification link's page: no login, the token alone authorises.
    RouteSpec { method: "GET", path: "/verify-email", endpoint: Endpoint::VerifyEmailPage, function: Function::Profile, auth: Auth::Public },
    RouteSpec { method: "POST", path: "/verify-email", endpoint: Endpoint::VerifyEmailForm, function: Function::Profile, auth: Auth::Public },
    // The control panel (SPEC §5b): no login to load it; it signs in and calls the routes above.
    RouteSpec { method: "GET", path: "/", endpoint: Endpoint::PanelPage, function: Function::Panel, auth: Auth::Public },
    RouteSpec { method: "GET", path: "/panel/config", endpoint: Endpoint::PanelConfig, function: Function::Panel, auth: Auth::Public },
    RouteSpec { method: "GET", path: "/panel/{asset}", endpoint: Endpoint::PanelAsset, function: Function::Panel, auth: Auth::Public },
    // The provider's billing and provisioning systems keep accounts and services current, and
    // erase accounts (SPEC §8) (contacts-local serves the same as /_local/accounts/{id},
    // /_local/services/{name}).
    RouteSpec { method: "PUT", path: "/internal/accounts/{id}", endpoint: Endpoint::PutAccount, function: Function::Provider, auth: Auth::Iam },
    RouteSpec { method: "DELETE", path: "/internal/accounts/{id}", endpoint: Endpoint::EraseAccount, function: Function::Provider, auth: Auth::Iam },
    RouteSpec { method: "PUT", path: "/internal/services/{name}", endpoint: Endpoint::PutService, function: Function::Provider, auth: Auth::Iam },
];

/// A matched route's path parameters, decoded, by the names its path gives them
/// (`/v1/services/{service}` has `service`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathParams(Vec<(&'static str, String)>);

impl PathParams {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| *key == name).map(|(_, value)| value.as_str())
    }
}

/// The route for `method` and `path` (percent-encoded), with its decoded path parameters.
/// `function` narrows the table to one function's routes.
pub fn find(method: &Method, path: &str, function: Option<Function>) -> Result<(&'static RouteSpec, PathParams), ApiError> {
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    let mut path_matched = false;
    for spec in ROUTES.iter().filter(|spec| function.is_none_or(|f| spec.function == f)) {
        let Some(params) = match_path(spec.path, &segments)? else { continue };
        path_matched = true;
        if spec.method == method.as_str() {
            return Ok((spec, params));
        }
    }
    if path_matched { Err(ApiError::MethodNotAllowed(method.to_string())) } else { Err(ApiError::NoRoute) }
}

/// The allowed methods of a path, for a 405's `Allow` header.
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    ROUTES.iter().filter(|spec| matches!(match_path(spec.path, &segments), Ok(Some(_)))).map(|spec| spec.method).collect()
}

fn match_path(pattern: &'static str, segments: &[&str]) -> Result<Option<PathParams>, ApiError> {
    let pattern: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    if pattern.len() != segments.len() {
        return Ok(None);
    }
    let mut params = Vec::new();
    for (expected, actual) in pattern.iter().zip(segments) {
        if let Some(name) = expected.strip_prefix('{').and_then(|rest| rest.strip_suffix('}')) {
            if actual.is_empty() {
                return Ok(None);
            }
            let decoded =
                percent_decode_str(actual).decode_utf8().map_err(|_| ApiError::Invalid("a path segment is not valid UTF-8 once decoded".to_owned()))?;
            params.push((name, decoded.into_owned()));
        } else if expected != actual {
            return Ok(None);
        }
    }
    Ok(Some(PathParams(params)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_one_endpoint_and_one_method_and_path() {
        let mut keys: Vec<String> = ROUTES.iter().map(RouteSpec::route_key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), ROUTES.len());
    }

    #[test]
    fn paths_match_with_decoded_parameters() {
        let (spec, params) = find(&Method::GET, "/v1/services/example.com", None).unwrap();
        assert_eq!(spec.endpoint, Endpoint::GetService);
        assert_eq!((params.get("service"), params.get("id")), (Some("example.com"), None));
        let (_, params) = find(&Method::GET, "/v1/services/a%2Fb", None).unwrap();
        assert_eq!(params.get("service"), Some("a/b"), "an encoded slash stays inside its segment");
    }

    #[test]
    fn a_known_path_with_another_method_is_405_and_an_unknown_path_404() {
        assert!(matches!(find(&Method::DELETE, "/v1/me", None), Err(ApiError::MethodNotAllowed(_))));
        assert!(matches!(find(&Method::GET, "/v1/nothing", None), Err(ApiError::NoRoute)));
        assert!(matches!(find(&Method::GET, "/v1/services/", None), Err(ApiError::NoRoute)));
        assert!(matches!(find(&Method::GET, "/v1/services/%FF", None), Err(ApiError::Invalid(_))));
    }

    #[test]
    fn a_function_serves_only_its_own_routes() {
        assert!(find(&Method::GET, "/v1/me", Some(Function::Read)).is_ok());
        assert!(matches!(find(&Method::GET, "/v1/me", Some(Function::Create)), Err(ApiError::NoRoute)));
        for function in Function::ALL {
            assert!(ROUTES.iter().any(|r| r.function == function), "{function:?} serves nothing");
        }
    }

    #[test]
    fn the_internal_api_has_a_function_of_its_own_and_no_customer_route_shares_it() {
        for spec in ROUTES {
            assert_eq!(spec.auth == Auth::Iam, spec.function == Function::Provider, "{}", spec.route_key());
            assert_eq!(spec.auth == Auth::Iam, spec.path.starts_with("/internal/"), "{}", spec.route_key());
        }
    }
}
