//! Opaque pagination cursors. A cursor only says where in the caller's own listing to go
//! on; whose listing it is always comes from the caller's identity, so editing a cursor
//! cannot reach another account's data.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::ApiError;
use contacts_domain::{BatchId, RequestId, ServiceName};

const SERVICES: &str = "s1:";
const REQUESTS: &str = "r1:";
const BATCHES: &str = "b1:";

pub(super) fn service(after: &ServiceName) -> String {
    URL_SAFE_NO_PAD.encode(format!("{SERVICES}{after}"))
}

pub(super) fn request(before: RequestId) -> String {
    URL_SAFE_NO_PAD.encode(format!("{REQUESTS}{before}"))
}

pub(super) fn batch(before: BatchId) -> String {
    URL_SAFE_NO_PAD.encode(format!("{BATCHES}{before}"))
}

pub(super) fn decode_batch(cursor: Option<&str>) -> Result<Option<BatchId>, ApiError> {
    cursor.map(|c| decode(c, BATCHES).and_then(|key| BatchId::parse(&key).ok()).ok_or_else(invalid)).transpose()
}

pub(super) fn decode_service(cursor: Option<&str>) -> Result<Option<ServiceName>, ApiError> {
    cursor.map(|c| decode(c, SERVICES).and_then(|key| ServiceName::parse(&key).ok()).ok_or_else(invalid)).transpose()
}

pub(super) fn decode_request(cursor: Option<&str>) -> Result<Option<RequestId>, ApiError> {
    cursor.map(|c| decode(c, REQUESTS).and_then(|key| RequestId::parse(&key).ok()).ok_or_else(invalid)).transpose()
}

fn decode(cursor: &str, kind: &str) -> Option<String> {
    if cursor.len() > 512 {
        return None;
    }
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    text.strip_prefix(kind).map(str::to_owned)
}

fn invalid() -> ApiError {
    ApiError::Invalid("the cursor is not one this listing gave out".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_are_not_interchangeable() {
        let name = ServiceName::parse("example.com").unwrap();
        assert_eq!(decode_service(Some(&service(&name))).unwrap(), Some(name.clone()));
        assert!(decode_request(Some(&service(&name))).is_err());
        assert!(decode_service(Some("%%%")).is_err());
        assert!(decode_service(Some(&"A".repeat(600))).is_err());
    }
}
