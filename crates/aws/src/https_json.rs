//! [`FetchJson`] over HTTPS: hyper with rustls on *ring*, trusting the system's store (the
//! identity provider is anyone's, not AWS's: Amazon Trust Services' roots alone would not do,
//! see [`crate::sdk::Trust`]). Plain http only to the loopback, which the caller checks
//! (`contacts_api::discovery`, a crate above this one). The store is read at the first request, not at start: only the
//! panel's server asks, and only when the page is loaded.

use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use contacts_app::ports::FetchJson;

/// The largest document read.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// A provider that does not answer within this is taken as down (the page load waits for it).
const TIMEOUT: Duration = Duration::from_secs(5);

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

#[derive(Default)]
pub struct HttpsJson {
    client: OnceLock<Result<HttpsClient, String>>,
}

impl HttpsJson {
    pub fn new() -> Self {
        Self::default()
    }

    fn client(&self) -> Result<&HttpsClient, String> {
        self.client.get_or_init(build_client).as_ref().map_err(Clone::clone)
    }
}

fn build_client() -> Result<HttpsClient, String> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| format!("no trust store for https: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

#[async_trait]
impl FetchJson for HttpsJson {
    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        let client = self.client()?;
        let fetch = async {
            let response = client.get(uri).await.map_err(|e| format!("{url}: {e}"))?;
            if !response.status().is_success() {
                return Err(format!("{url}: HTTP {}", response.status()));
            }
            let body = Limited::new(response.into_body(), MAX_DOCUMENT_BYTES).collect().await.map_err(|e| format!("{url}: {e}"))?;
            serde_json::from_slice(&body.to_bytes()).map_err(|e| format!("{url}: not JSON: {e}"))
        };
        tokio::time::timeout(TIMEOUT, fetch).await.map_err(|_| format!("{url}: no answer within {} s", TIMEOUT.as_secs()))?
    }
}
