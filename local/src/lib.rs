//! `contacts-local`: every route of SPEC §5 in one process, for trying the system and for
//! development. It hands each request to the same `Router` the Lambda functions use; only
//! what a development machine needs is added here (SPEC §6):
//! - identity from `Authorization: Bearer <account-id>` (development only, said loudly);
//! - `GET /_local/outbox`: the mails sent so far;
//! - `PUT /_local/accounts/{id}`, `PUT /_local/services/{name}`: the provider's systems' upserts.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use shared::adapters::Outbox;
use shared::api::{ApiRequest, ApiResponse, MAX_BODY_BYTES, Router, problem, provider};
use shared::app::Error;
use tokio::net::TcpListener;

/// What the server serves: the router, and the outbox when mail stays in the process.
#[derive(Clone)]
pub struct Local {
    pub router: Router,
    pub outbox: Option<Arc<Outbox>>,
}

/// Serves connections from `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, local: Local) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                continue;
            }
        };
        let local = local.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let local = local.clone();
                async move { Ok::<_, Infallible>(local.handle(request).await.map(Full::new)) }
            });
            if let Err(error) = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
}

impl Local {
    pub async fn handle(&self, request: Request<Incoming>) -> ApiResponse {
        let (parts, body) = request.into_parts();
        // Read at most one byte more than any route takes: enough to know it is too much.
        let body = match Limited::new(body, MAX_BODY_BYTES + 1).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
                return problem::response(&Error::BodyTooLarge { limit: MAX_BODY_BYTES });
            }
            Err(_) => return problem::response(&Error::Invalid("the request body could not be read".to_owned())),
        };
        let identity = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|v| v.trim().to_owned());
        let request = ApiRequest {
            method: parts.method,
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts.headers,
            body,
            identity,
        };
        match request.path.strip_prefix("/_local/") {
            Some(rest) => self.development_route(rest, &request).await,
            None => self.router.handle(request).await,
        }
    }

    async fn development_route(&self, rest: &str, request: &ApiRequest) -> ApiResponse {
        let app = self.router.app();
        let segments: Vec<&str> = rest.split('/').collect();
        match (&request.method, segments.as_slice()) {
            (&Method::GET, ["outbox"]) => match &self.outbox {
                Some(outbox) => {
                    let mails: Vec<_> = outbox
                        .sent()
                        .into_iter()
                        .map(|m| json!({"to": m.to.as_str(), "subject": m.subject, "text": m.text, "html": m.html}))
                        .collect();
                    json_response(StatusCode::OK, &serde_json::Value::Array(mails))
                }
                None => problem::response(&Error::NotFound("mail goes to SES here: read it where SES keeps it".to_owned())),
            },
            (&Method::PUT, ["accounts", id]) => provider::put_account(app, &decode(id), request).await,
            (&Method::PUT, ["services", name]) => provider::put_service(app, &decode(name), request).await,
            _ => problem::response(&Error::NoRoute),
        }
    }
}

/// One path segment, percent-decoded; invalid UTF-8 becomes U+FFFD, which no id accepts.
fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> ApiResponse {
    let mut response = Response::new(Bytes::from(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
