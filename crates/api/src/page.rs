//! The emailed link's page (SPEC §4): what is asked, and a form to accept or refuse.
//!
//! The token rides in the link's fragment, which browsers never send, so no server log
//! records it; the page's script moves it into the form and wipes it from the address bar.
//! Opening the page changes nothing. The only script is inline with a per-response nonce,
//! and the Content-Security-Policy allows nothing else.
//!
//! The id alone reaches every contact of the service, the event bus and mail gateways, so the
//! page names nobody: who is involved comes from `POST /confirm/{id}/details`, which the script
//! calls with the code (the page then allows itself that one connection, `connect-src 'self'`).
//! What the page says happened is said from the request's state, never from the link.

use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

use super::ApiError;
use super::ApiResponse;
use contacts_app::{Decision, Error, Profile};
use contacts_domain::Decision as _;
use contacts_domain::{AccountId, Batch, BatchState, ContactChange, State};

/// Every page (crates/api/templates/page.html): its title and nonce, and what it shows.
#[derive(Template)]
#[template(path = "page.html")]
struct Page<'a> {
    title: &'a str,
    nonce: &'a str,
    content: Content<'a>,
    /// The control panel (`/`), relative to this page's path, on the tab that fits it.
    panel: &'static str,
}

enum Content<'a> {
    /// A request: what its state says happened, if anything; the summary (label, plain value),
    /// which names nobody; what to do.
    Change {
        outcome: Option<String>,
        rows: Vec<(&'static str, String)>,
        form: Form,
    },
    /// The 303 to the outcome's page, for a client that shows it.
    Recorded,
    /// An error; `verify` adds the verification form, to paste the code again.
    Problem {
        message: String,
        verify: bool,
    },
    VerifyForm,
    Verified {
        email: &'a str,
        account: &'a str,
    },
    /// One of an address change's two codes came back; the other is awaited.
    OneOfTwo {
        email: &'a str,
    },
}

/// Below a request's summary.
enum Form {
    /// Pending: who is involved once a code is entered, the code, and the Accept and Refuse
    /// buttons (on the outcome's page too: the link cannot tell who reads it, and a party still
    /// awaited must be able to answer).
    Answer,
    /// Closed: nothing left to confirm.
    Closed,
}

const CHANGE_TITLE: &str = "Contact change request";

/// `GET /confirm/{id}`, and the outcome's page an answer leads to (`?answered=...`): what the
/// request's state says, and nobody's name. `answered` only picks the wording of what the state
/// already says, so a crafted link claims nothing.
pub(super) fn change(change: &ContactChange, answered: Option<Decision>) -> ApiResponse {
    let form = if change.state == State::Pending { Form::Answer } else { Form::Closed };
    html(StatusCode::OK, CHANGE_TITLE, Content::Change { outcome: outcome(change, answered), rows: summary(change), form })
}

/// What happened, from the state alone; on a pending request only for the outcome's page.
fn outcome(change: &ContactChange, answered: Option<Decision>) -> Option<String> {
    let said = match (change.state, answered) {
        (State::Pending, None) => return None,
        (State::Pending, Some(_)) => return Some(format!("This request is still pending: it awaits {}.", awaited(change))),
        (State::Done, Some(Decision::Accept)) => "Thank you: every party accepted and the change has taken effect.",
        (State::Done, _) => "Every party accepted and the change has taken effect.",
        (State::Failed, _) => "Every party accepted, but the change could not take effect. Nothing changed.",
        (State::Refused, _) => "The request was refused: it is closed and nothing changed.",
        (State::Cancelled, _) => "The request was cancelled: nothing changed.",
        (State::Expired, _) => "The request expired: nothing changed.",
    };
    Some(said.to_owned())
}

/// The answer to `POST /confirm/{id}` that worked: 303 to the outcome's page
/// (`/confirm/{id}?answered=...`), relative so that it holds behind any stage or domain.
pub(super) fn see_outcome(id: &str, decision: Decision) -> ApiResponse {
    let answered = match decision {
        Decision::Accept => "accept",
        Decision::Refuse => "refuse",
    };
    let mut response = html(StatusCode::SEE_OTHER, CHANGE_TITLE, Content::Recorded);
    let location = HeaderValue::from_str(&format!("{id}?answered={answered}")).expect("a ULID and a word are a valid header value");
    response.headers_mut().insert(header::LOCATION, location);
    response
}

/// An error, as a page with the error's status.
pub(super) fn problem(error: &ApiError) -> ApiResponse {
    with_retry_after(html(error.status(), CHANGE_TITLE, Content::Problem { message: error.to_string(), verify: false }), error)
}

const BATCH_TITLE: &str = "Contact change batch";

/// `GET /confirm/batch/{id}`, and the outcome's page an answer leads to: a batch's page, as a
/// request's (its services and state; nobody's name until a live code is entered).
pub(super) fn batch(batch: &Batch, answered: Option<Decision>) -> ApiResponse {
    let form = if batch.state == BatchState::Pending && !batch.settling() { Form::Answer } else { Form::Closed };
    html(StatusCode::OK, BATCH_TITLE, Content::Change { outcome: batch_outcome(batch, answered), rows: batch_summary(batch), form })
}

/// An error of a batch's page.
pub(super) fn batch_problem(error: &ApiError) -> ApiResponse {
    with_retry_after(html(error.status(), BATCH_TITLE, Content::Problem { message: error.to_string(), verify: false }), error)
}

/// What happened to the batch, from its state alone, as [`outcome`] says of a request.
fn batch_outcome(batch: &Batch, answered: Option<Decision>) -> Option<String> {
    let said = match (batch.state, answered) {
        (BatchState::Pending, _) if batch.settling() => "Every party accepted: the services are being changed, each on its own.",
        (BatchState::Pending, None) => return None,
        (BatchState::Pending, Some(_)) => return Some(format!("This batch is still pending: it awaits {}.", awaited_of(batch))),
        (BatchState::Done, _) => "Every party accepted and every service was changed.",
        (BatchState::PartlyDone, _) => "Every party accepted: some services were changed, others could not be (see each service below).",
        (BatchState::Failed, _) => "Every party accepted, but no service could be changed. Nothing changed.",
        (BatchState::Refused, _) => "The batch was refused: it is closed and nothing changed.",
        (BatchState::Cancelled, _) => "The batch was cancelled: nothing changed.",
        (BatchState::Expired, _) => "The batch expired: nothing changed.",
    };
    Some(said.to_owned())
}

/// A batch's summary, as plain text: its services and their outcome, no account.
fn batch_summary(batch: &Batch) -> Vec<(&'static str, String)> {
    let roles = batch.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
    let mut rows = vec![("Batch", batch.id.to_string()), ("Roles", roles), ("State", batch.state.as_str().to_owned())];
    if batch.state == BatchState::Pending && batch.awaiting().next().is_some() {
        rows.push(("Awaiting", awaited_of(batch)));
    }
    let services = batch.parts.iter().map(|part| match part.reason {
        Some(reason) => format!("{}: {} ({})", part.service, part.state.as_str(), reason.as_str()),
        None if batch.state == BatchState::Pending => part.service.to_string(),
        None => format!("{}: {}", part.service, part.state.as_str()),
    });
    rows.push(("Services", format!("{}: {}", batch.parts.len(), services.collect::<Vec<_>>().join("; "))));
    rows
}

fn awaited_of(batch: &Batch) -> String {
    let part = |party: &AccountId| if *party == batch.requested_by { "the requester" } else { "the new contact" };
    let mut parts: Vec<&str> = batch.awaiting().map(part).collect();
    parts.dedup();
    parts.join(" and ")
}

const VERIFY_TITLE: &str = "Email address verification";

/// `GET /verify-email`: the form; the script fills the code in from the link's fragment.
/// Opening it changes nothing, so a mail scanner that follows the link verifies nothing.
pub(super) fn verify_email_form() -> ApiResponse {
    html(StatusCode::OK, VERIFY_TITLE, Content::VerifyForm)
}

/// `POST /verify-email`: one code of two came back, or the last one.
pub(super) fn email_verified(profile: &Profile) -> ApiResponse {
    let content = match &profile.pending_email {
        Some(pending) => Content::OneOfTwo { email: pending.as_str() },
        None => Content::Verified { email: profile.account.email.as_str(), account: profile.account.id.as_str() },
    };
    html(StatusCode::OK, VERIFY_TITLE, content)
}

/// An error of the verification page, as a page with the error's status; a wrong or malformed
/// code brings the form back, to paste the code again.
pub(super) fn email_problem(error: &ApiError) -> ApiResponse {
    let verify = matches!(error, ApiError::App(Error::EmailTokenMismatch) | ApiError::Invalid(_));
    with_retry_after(html(error.status(), VERIFY_TITLE, Content::Problem { message: error.to_string(), verify }), error)
}

fn with_retry_after(mut response: ApiResponse, error: &ApiError) -> ApiResponse {
    if let Some(seconds) = error.retry_after() {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A request's summary, as plain text (the template escapes it): what anyone holding the id
/// may read, so no account's name or id.
fn summary(change: &ContactChange) -> Vec<(&'static str, String)> {
    let roles = change.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
    let mut rows =
        vec![("Request", change.id.to_string()), ("Service", change.service.to_string()), ("Roles", roles), ("State", change.state.as_str().to_owned())];
    if change.state == State::Pending && change.awaiting().next().is_some() {
        rows.push(("Awaiting", awaited(change)));
    }
    rows
}

/// The parties still awaited, by their part in the request rather than by name.
fn awaited(change: &ContactChange) -> String {
    let part = |party: &AccountId| if *party == change.requested_by { "the requester" } else { "the new contact" };
    let mut parts: Vec<&str> = change.awaiting().map(part).collect();
    parts.dedup();
    parts.join(" and ")
}

fn html(status: StatusCode, title: &str, content: Content<'_>) -> ApiResponse {
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    let nonce = URL_SAFE_NO_PAD.encode(bytes);
    // `/confirm/{id}` is one segment deeper than `/verify-email`, `/confirm/batch/{id}` two.
    let panel = match title {
        VERIFY_TITLE => "./#profile",
        BATCH_TITLE => "../../#requests",
        _ => "../#requests",
    };
    // Only a request's answer form reads its details (`POST /confirm/{id}/details`).
    let connect = if matches!(content, Content::Change { form: Form::Answer, .. }) { " connect-src 'self';" } else { "" };
    let page = Page { title, nonce: &nonce, content, panel }.render().expect("the page template renders any value");
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}';{connect} form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let mut response = Response::new(Bytes::from(page));
    *response.status_mut() = status;
    html_headers(response.headers_mut(), HeaderValue::from_str(&csp).expect("base64url is a valid header value"));
    response
}

/// The headers of every HTML page this service serves (these pages and the control panel's):
/// HTML, never cached, no referrer, no sniffing, never framed, and the page's own `csp`.
pub(super) fn html_headers(headers: &mut HeaderMap, csp: HeaderValue) {
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
}
