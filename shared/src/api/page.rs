//! The emailed link's page (SPEC §4): what is asked, and a form to accept or refuse.
//!
//! The token rides in the link's fragment, which browsers never send, so no server log
//! records it; the page's script moves it into the form and wipes it from the address bar.
//! Opening the page changes nothing. The only script is inline with a per-response nonce,
//! and the Content-Security-Policy allows nothing else.

use std::collections::HashMap;

use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use super::ApiError;
use super::ApiResponse;
use crate::app::{Decision, Error, Profile};
use crate::domain::{Account, AccountId, ContactChange, RequestId, State};

/// Every page (shared/templates/page.html): its title and nonce, and what it shows.
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
    /// A request: the outcome of an answer, if any; the summary (label, plain value); what to do.
    Change {
        outcome: Option<&'static str>,
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
    /// Pending: the code and the Accept and Refuse buttons.
    Answer,
    /// Closed: nothing left to confirm.
    Closed,
    /// An answer's outcome: nothing.
    None,
}

const CHANGE_TITLE: &str = "Contact change request";

/// `GET /confirm/{id}`.
pub(super) fn form(change: &ContactChange, accounts: &HashMap<AccountId, Account>) -> ApiResponse {
    let form = if change.state == State::Pending { Form::Answer } else { Form::Closed };
    html(StatusCode::OK, CHANGE_TITLE, Content::Change { outcome: None, rows: summary(change, accounts), form })
}

/// The outcome of an answer (`GET /confirm/{id}?answered=...`, where the form's post leads):
/// said from the request's state as it is now, so a crafted link claims nothing.
pub(super) fn answered(change: &ContactChange, accounts: &HashMap<AccountId, Account>, decision: Decision) -> ApiResponse {
    let outcome = match (decision, change.state) {
        (_, State::Done) => "Thank you: every party accepted and the change has taken effect.",
        (_, State::Failed) => "Every party accepted, but the change could not take effect. Nothing changed.",
        (_, State::Refused) => "The request was refused: it is closed and nothing changed.",
        (_, State::Cancelled) => "The request was cancelled: nothing changed.",
        (_, State::Expired) => "The request expired: nothing changed.",
        (Decision::Accept, State::Pending) => "Thank you: your acceptance is recorded. The request now awaits the other parties.",
        (Decision::Refuse, State::Pending) => "This request is still pending.",
    };
    html(StatusCode::OK, CHANGE_TITLE, Content::Change { outcome: Some(outcome), rows: summary(change, accounts), form: Form::None })
}

/// The answer to `POST /confirm/{id}` that worked: 303 to the outcome's page
/// (`/confirm/{id}?answered=...`), relative so that it holds behind any stage or domain.
pub(super) fn see_outcome(id: RequestId, decision: Decision) -> ApiResponse {
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

/// A request's summary, as plain text: the template escapes it.
fn summary(change: &ContactChange, accounts: &HashMap<AccountId, Account>) -> Vec<(&'static str, String)> {
    let who = |id: &AccountId| match accounts.get(id) {
        Some(account) => format!("{} ({})", account.name.as_str(), id.as_str()),
        None => id.to_string(),
    };
    let roles = change.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
    let awaiting = change.awaiting().map(who).collect::<Vec<_>>().join(", ");
    let mut rows = vec![
        ("Request", change.id.to_string()),
        ("Service", change.service.to_string()),
        ("Roles", roles),
        ("Previous contact", who(&change.from)),
        ("New contact", who(&change.to)),
        ("Requested by", who(&change.requested_by)),
        ("State", change.state.as_str().to_owned()),
    ];
    if change.state == State::Pending && !awaiting.is_empty() {
        rows.push(("Awaiting", awaiting));
    }
    rows
}

fn html(status: StatusCode, title: &str, content: Content<'_>) -> ApiResponse {
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    let nonce = URL_SAFE_NO_PAD.encode(bytes);
    // `/confirm/{id}` is one segment deeper than `/verify-email`.
    let panel = if title == VERIFY_TITLE { "./#profile" } else { "../#requests" };
    let page = Page { title, nonce: &nonce, content, panel }.render().expect("the page template renders any value");
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let mut response = Response::new(Bytes::from(page));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_str(&csp).expect("base64url is a valid header value"));
    response
}
