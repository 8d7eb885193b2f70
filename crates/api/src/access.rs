//! `GET /v1/me/data` (SPEC §8): everything held about the caller as one JSON document, made of
//! the views the other routes answer (the profile as `GET /v1/me`, each service as
//! `GET /v1/me/services` lists it, each request as `GET /v1/contact-changes/{id}` and each
//! batch as `GET /v1/contact-change-batches/{id}` show it), and offered as a file to save.

use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use time::OffsetDateTime;

use super::batch_views::{self, BatchBody};
use super::views::{self, ContactChangeBody, MyProfile, ServiceBody};
use super::{ApiError, ApiResponse, json_bytes, to_json};
use contacts_app::{Error, MyData};
use contacts_domain::AccountId;

/// The largest document the route answers, counted as it travels inside the Lambda function's
/// answer (a JSON string, where every `"` and `\` takes one byte more): Lambda answers at most
/// 6 MB (6,291,456 bytes) in all, and the envelope's status and headers take far less than the
/// rest. Past it, 422 `export_too_large` rather than a function that fails to answer.
pub const MAX_EXPORT_BYTES: usize = 6_000_000;

#[derive(Serialize)]
struct MyDataBody<'a> {
    #[serde(with = "time::serde::rfc3339")]
    generated_at: OffsetDateTime,
    profile: MyProfile<'a>,
    services: Vec<ServiceBody<'a>>,
    requests: Vec<ContactChangeBody<'a>>,
    batches: Vec<BatchBody<'a>>,
}

fn document<'a>(data: &'a MyData, bouncing: &[AccountId]) -> MyDataBody<'a> {
    MyDataBody {
        generated_at: data.generated_at,
        profile: views::my_profile(&data.profile),
        services: data.services.iter().map(views::listed_service).collect(),
        requests: data.contact_changes.iter().map(|change| views::contact_change_read(change, bouncing)).collect(),
        batches: data.batches.iter().map(batch_views::batch).collect(),
    }
}

/// The document (`bouncing`: the accounts its pending requests name whose address bounces, as
/// on the requests' own views), `no-store`, as an attachment named after the account and the day.
pub(super) fn response(data: &MyData, bouncing: &[AccountId]) -> Result<ApiResponse, ApiError> {
    let bytes = fitting(data_document(data, bouncing)?, MAX_EXPORT_BYTES)?;
    let mut response = json_bytes(StatusCode::OK, bytes);
    let file = format!("attachment; filename=\"contacts-data-{}-{}.json\"", data.profile.account.id, data.generated_at.date());
    let disposition = HeaderValue::from_str(&file).map_err(|e| Error::Internal(Box::new(e)))?;
    response.headers_mut().insert(header::CONTENT_DISPOSITION, disposition);
    Ok(response)
}

/// The document `GET /v1/me/data` answers, whatever its size (`contacts-admin data` writes it
/// to a file for an account whose data one answer cannot carry).
pub fn data_document(data: &MyData, bouncing: &[AccountId]) -> Result<Vec<u8>, ApiError> {
    to_json(&document(data, bouncing))
}

/// `bytes` if, escaped into the function's answer, they take at most `limit` bytes.
fn fitting(bytes: Vec<u8>, limit: usize) -> Result<Vec<u8>, ApiError> {
    let escaped = bytes.len() + bytes.iter().filter(|&&b| b == b'"' || b == b'\\').count();
    if escaped > limit {
        tracing::warn!(bytes = escaped, limit, "the account's data is more than one export carries");
        return Err(Error::ExportTooLarge.into());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_fits_counted_as_escaped_into_the_functions_answer() {
        let doc = br#"{"a":"b\"c"}"#.to_vec();
        // 12 bytes, 5 quotes and 1 backslash: 18 once escaped.
        assert_eq!(fitting(doc.clone(), 18).unwrap(), doc);
        let refused = fitting(doc, 17).unwrap_err();
        assert_eq!((refused.status(), refused.code()), (StatusCode::UNPROCESSABLE_ENTITY, "export_too_large"));
    }
}
