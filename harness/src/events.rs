//! The files of `events/` (API Gateway HTTP API events, payload 2.0) and what the tests and
//! the bench change in them. The placeholders are events/README.md's: the events cannot
//! know a request's id, made when it is created, nor the token mailed for it.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// In `rawPath`, `requestContext.http.path` and `pathParameters.id`: a well-formed ULID that
/// no request has.
pub const ID_PLACEHOLDER: &str = "01JZZZZZZZZZZZZZZZZZZZZZZZ";
/// In the JSON body of accept and refuse, the email verification's, and the (base64) forms:
/// well-formed (43 characters of base64url), so it is answered as a token that does not match.
pub const TOKEN_PLACEHOLDER: &str = "TOKEN_FROM_THE_CONFIRMATION_EMAIL_GOES_HERE";

/// The workspace's `events/`.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").join("events")
}

/// The event `file` of `dir`.
pub fn load(dir: &Path, file: &str) -> Value {
    let path = dir.join(file);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).expect("a JSON event")
}

/// The names of every event of `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut names: Vec<String> = entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| n.ends_with(".json")).collect();
    names.sort();
    names
}

/// The event with `id` wherever it has the placeholder id (rawPath, http.path, pathParameters).
pub fn with_id(event: &Value, id: &str) -> Value {
    serde_json::from_str(&event.to_string().replace(ID_PLACEHOLDER, id)).expect("still JSON")
}

/// The event with `token` in its body instead of the placeholder token, in a JSON body or in
/// a base64 form (the confirmation page's, the email verification page's).
pub fn with_token(event: &Value, token: &str) -> Value {
    let mut event = event.clone();
    let body = event["body"].as_str().expect("an event with a body").to_owned();
    event["body"] = if event["isBase64Encoded"] == true {
        let form = String::from_utf8(STANDARD.decode(&body).expect("a base64 body")).expect("a UTF-8 form");
        assert!(form.contains(TOKEN_PLACEHOLDER), "the form holds the placeholder token: {form}");
        Value::String(STANDARD.encode(form.replace(TOKEN_PLACEHOLDER, token)))
    } else {
        assert!(body.contains(TOKEN_PLACEHOLDER), "the body holds the placeholder token: {body}");
        Value::String(body.replace(TOKEN_PLACEHOLDER, token))
    };
    event
}

/// The event aimed at another service: `rawPath`, `http.path` and the path parameter that
/// names the service (`service` on the customer routes, `name` on the internal API's).
pub fn for_service(event: &Value, to: &str) -> Value {
    let mut event = event.clone();
    let raw_path = event["rawPath"].as_str().expect("rawPath").to_owned();
    let parameter = if raw_path.starts_with("/internal/") { "name" } else { "service" };
    let from = event["pathParameters"][parameter].as_str().unwrap_or_else(|| panic!("a {parameter} in the event's pathParameters")).to_owned();
    let raw_path = raw_path.replace(&format!("/services/{from}"), &format!("/services/{to}"));
    event["rawPath"] = json!(raw_path);
    event["requestContext"]["http"]["path"] = json!(raw_path);
    event["pathParameters"][parameter] = json!(to);
    event
}

/// The event with another JSON body (and content-length).
pub fn with_json_body(event: &Value, body: &Value) -> Value {
    let mut event = event.clone();
    let text = body.to_string();
    event["headers"]["content-length"] = json!(text.len().to_string());
    event["body"] = json!(text);
    event
}

/// The event from another caller: the JWT authorizer's `sub` claim.
pub fn with_caller(event: &Value, account: &str) -> Value {
    let mut event = event.clone();
    event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = json!(account);
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_of_the_confirmation_form_is_replaced_inside_its_base64_body() {
        let form = load(&dir(), "confirm.post-confirm.json");
        let event = with_token(&with_id(&form, "01JABCDEFGHJKMNPQRSTVWXYZ0"), "a-real-token");
        assert!(!event.to_string().contains(ID_PLACEHOLDER), "{event}");
        assert_eq!(event["pathParameters"]["id"], "01JABCDEFGHJKMNPQRSTVWXYZ0");
        let body = String::from_utf8(STANDARD.decode(event["body"].as_str().unwrap()).unwrap()).unwrap();
        assert!(body.contains("token=a-real-token") && !body.contains(TOKEN_PLACEHOLDER), "{body}");
    }

    #[test]
    fn an_event_aimed_at_another_service_names_it_in_its_paths_and_its_parameter() {
        let create = for_service(&load(&dir(), "create.post-services-contact-changes.json"), "other.example.org");
        assert_eq!(create["rawPath"], "/v1/services/other.example.org/contact-changes");
        assert_eq!((&create["requestContext"]["http"]["path"], &create["pathParameters"]["service"]), (&create["rawPath"], &json!("other.example.org")));
        let internal = for_service(&load(&dir(), "provider.put-internal-services.json"), "other.example.org");
        assert_eq!(
            (internal["rawPath"].as_str(), internal["pathParameters"]["name"].as_str()),
            (Some("/internal/services/other.example.org"), Some("other.example.org"))
        );
    }

    #[test]
    fn a_new_body_and_caller_replace_the_old_ones() {
        let patch = with_caller(&with_json_body(&load(&dir(), "profile.patch-me.json"), &json!({"email": "x@example.org"})), "ad1000-ovh");
        assert_eq!(patch["body"], r#"{"email":"x@example.org"}"#);
        assert_eq!(patch["headers"]["content-length"], "25");
        assert_eq!(patch["requestContext"]["authorizer"]["jwt"]["claims"]["sub"], "ad1000-ovh");
    }
}
