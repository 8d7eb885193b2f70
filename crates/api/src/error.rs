//! How a call fails at the HTTP layer, before or around the use case: no such route or
//! method, no identity, input that is no domain value, a body too large. A use case's own
//! failures travel inside as [`ApiError::App`]. `problem` maps both to HTTP, once.

use contacts_app::{Cause, Error};
use contacts_domain::InvalidValue;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed input: a bad id, body, cursor or parameter.
    #[error("{0}")]
    Invalid(String),
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("no identity: sign in first")]
    Unauthenticated,
    /// A bearer token that did not verify: why (never the token).
    #[error("{0}; sign in again")]
    InvalidToken(String),
    /// An identity this route never takes (a customer on the internal API, an IAM principal
    /// not on `PROVIDER_PRINCIPALS`).
    #[error("{0}")]
    NotForThisCaller(String),
    #[error("there is no such route")]
    NoRoute,
    /// A request addressed to a host this server is not (`contacts-local`: only its own
    /// loopback address, against DNS rebinding).
    #[error("{0}")]
    Misdirected(String),
    #[error("this route does not take the method {0}")]
    MethodNotAllowed(String),
    /// The OpenID provider's discovery document could not be read (or is unusable): why.
    #[error("sign-in is unavailable: the identity provider's discovery document could not be used ({0}); try again shortly")]
    IdentityProvider(String),
    #[error(transparent)]
    App(#[from] Error),
}

impl From<InvalidValue> for ApiError {
    fn from(e: InvalidValue) -> Self {
        ApiError::Invalid(e.0)
    }
}

impl ApiError {
    /// The whole chain of causes, for the log (never for the client), down to an adapter's
    /// [`Cause`]: its summary is the last word, since the SDK's own text beneath it may name
    /// what the summary leaves out (SES's refusal names the address). A cause that its error's
    /// message already ends with is not said twice.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(error) = cause {
            let said = error.to_string();
            if !text.ends_with(&said) {
                text.push_str(": ");
                text.push_str(&said);
            }
            if error.is::<Cause>() {
                break;
            }
            cause = error.source();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use contacts_app::ports::StoreError;

    use super::*;

    #[test]
    fn the_logged_chain_ends_with_the_adapters_summary_said_once() {
        let sdk = std::io::Error::other("MessageRejected: ada@example.com is not verified");
        let error = ApiError::App(Error::StoreUnavailable(StoreError::Unavailable(Cause::of("GetItem: timed out", sdk))));
        assert_eq!(error.chain(), "a service this one depends on is unavailable; try again shortly: the store is unavailable: GetItem: timed out");
    }
}
