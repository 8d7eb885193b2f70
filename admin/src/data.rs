//! `contacts-admin data ACCOUNT`: everything held about one account (SPEC §8's access), the
//! document `GET /v1/me/data` answers, written whole whatever its size: the provider's support
//! gives it to a customer whose data one answer cannot carry (Lambda answers at most 6 MB:
//! `422 export_too_large`).

use contacts_app::{App, Error};
use contacts_domain::AccountId;

/// Why there is no document.
#[derive(Debug)]
pub enum DataError {
    /// There is no such account (never was, or erased).
    NoSuchAccount,
    /// The store, or the writing of the document, failed.
    Failed(String),
}

/// The document of `account`, as the route answers it but with no bound on its size.
pub async fn document(app: &App, account: &AccountId) -> Result<Vec<u8>, DataError> {
    let failed = |error: Error| match error {
        Error::NotFound(_) => DataError::NoSuchAccount,
        other => DataError::Failed(other.to_string()),
    };
    let data = app.data_of(account, usize::MAX).await.map_err(failed)?;
    let bouncing = app.bouncing_in(&data.contact_changes.iter().collect::<Vec<_>>()).await.map_err(failed)?;
    contacts_api::data_document(&data, &bouncing).map_err(|error| DataError::Failed(format!("the document: {error:?}")))
}
