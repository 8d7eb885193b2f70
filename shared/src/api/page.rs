//! The emailed link's page (SPEC §4): what is asked, and a form to accept or refuse.
//!
//! The token rides in the link's fragment, which browsers never send, so no server log
//! records it; the page's script moves it into the form and wipes it from the address bar.
//! Opening the page changes nothing. The only script is inline with a per-response nonce,
//! and the Content-Security-Policy allows nothing else.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use super::ApiError;
use super::ApiResponse;
use crate::app::{Decision, Error, Profile};
use crate::domain::{Account, AccountId, ContactChange, RequestId, State};
use crate::mail::escape_html;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}\
dt{font-weight:600}dd{margin:0 0 .5rem}input{width:100%;box-sizing:border-box;font-family:monospace;font-size:1rem;line-height:1.5;padding:.4rem}\
button{margin:.8rem .5rem 0 0;padding:.5rem 1.2rem}.error{color:#a00}";

/// Fills the token in from `#token=...`, then removes it from the address bar and history.
const SCRIPT: &str = "(function(){var m=/[#&]token=([A-Za-z0-9_-]+)/.exec(location.hash);\
if(m){var i=document.getElementById('token');if(i){i.value=m[1];}\
history.replaceState(null,'',location.pathname+location.search);}})();";

/// `GET /confirm/{id}`.
pub(super) fn form(change: &ContactChange, accounts: &HashMap<AccountId, Account>) -> ApiResponse {
    let mut body = summary(change, accounts);
    if change.state == State::Pending {
        body.push_str(concat!(
            "<form method=\"post\">",
            "<label for=\"token\">Confirmation code from your email</label>",
            "<input id=\"token\" name=\"token\" autocomplete=\"off\" spellcheck=\"false\" required>",
            "<button type=\"submit\" name=\"decision\" value=\"accept\">Accept</button>",
            "<button type=\"submit\" name=\"decision\" value=\"refuse\">Refuse</button>",
            "</form>"
        ));
    } else {
        body.push_str("<p>This request is closed: there is nothing left to confirm.</p>");
    }
    html(StatusCode::OK, "Contact change request", &body)
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
    let body = format!("<p><strong>{}</strong></p>{}", escape_html(outcome), summary(change, accounts));
    html(StatusCode::OK, "Contact change request", &body)
}

/// The answer to `POST /confirm/{id}` that worked: 303 to the outcome's page
/// (`/confirm/{id}?answered=...`), relative so that it holds behind any stage or domain.
pub(super) fn see_outcome(id: RequestId, decision: Decision) -> ApiResponse {
    let answered = match decision {
        Decision::Accept => "accept",
        Decision::Refuse => "refuse",
    };
    let mut response = html(StatusCode::SEE_OTHER, "Contact change request", "<p>Your answer is recorded.</p>");
    let location = HeaderValue::from_str(&format!("{id}?answered={answered}")).expect("a ULID and a word are a valid header value");
    response.headers_mut().insert(header::LOCATION, location);
    response
}

/// An error, as a page with the error's status.
pub(super) fn problem(error: &ApiError) -> ApiResponse {
    let body = format!("<p class=\"error\">{}</p>", escape_html(&error.to_string()));
    let mut response = html(error.status(), "Contact change request", &body);
    if let Some(seconds) = error.retry_after() {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

const VERIFY_TITLE: &str = "Email address verification";

/// `GET /verify-email`: the form; the script fills the code in from the link's fragment.
/// Opening it changes nothing, so a mail scanner that follows the link verifies nothing.
pub(super) fn verify_email_form() -> ApiResponse {
    let body = format!(
        "<p>You asked to change the email address of your account. Confirm that this address is yours: \
         until you do, mail keeps going to your current address.</p>{VERIFY_FORM}"
    );
    html(StatusCode::OK, VERIFY_TITLE, &body)
}

const VERIFY_FORM: &str = concat!(
    "<form method=\"post\">",
    "<label for=\"token\">Verification code from your email</label>",
    "<input id=\"token\" name=\"token\" autocomplete=\"off\" spellcheck=\"false\" required>",
    "<button type=\"submit\">Verify email address</button>",
    "</form>"
);

/// `POST /verify-email`, verified.
pub(super) fn email_verified(profile: &Profile) -> ApiResponse {
    let body = format!(
        "<p><strong>Thank you: {} is now the email address of the account {}.</strong> Mail goes there from now on.</p>",
        escape_html(profile.account.email.as_str()),
        escape_html(profile.account.id.as_str()),
    );
    html(StatusCode::OK, VERIFY_TITLE, &body)
}

/// An error of the verification page, as a page with the error's status.
pub(super) fn email_problem(error: &ApiError) -> ApiResponse {
    let mut body = format!("<p class=\"error\">{}</p>", escape_html(&error.to_string()));
    if matches!(error, ApiError::App(Error::EmailTokenMismatch) | ApiError::Invalid(_)) {
        body.push_str(VERIFY_FORM); // to paste the code again
    }
    let mut response = html(error.status(), VERIFY_TITLE, &body);
    if let Some(seconds) = error.retry_after() {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn summary(change: &ContactChange, accounts: &HashMap<AccountId, Account>) -> String {
    let who = |id: &AccountId| match accounts.get(id) {
        Some(account) => format!("{} ({})", escape_html(account.name.as_str()), escape_html(id.as_str())),
        None => escape_html(id.as_str()),
    };
    let roles = change.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
    let awaiting = change.awaiting().map(who).collect::<Vec<_>>().join(", ");
    let mut rows = vec![
        ("Request", escape_html(&change.id.to_string())),
        ("Service", escape_html(change.service.as_str())),
        ("Roles", escape_html(&roles)),
        ("Previous contact", who(&change.from)),
        ("New contact", who(&change.to)),
        ("Requested by", who(&change.requested_by)),
        ("State", escape_html(change.state.as_str())),
    ];
    if change.state == State::Pending && !awaiting.is_empty() {
        rows.push(("Awaiting", awaiting));
    }
    let items: String = rows.into_iter().map(|(k, v)| format!("<dt>{k}</dt><dd>{v}</dd>")).collect();
    format!("<dl>{items}</dl>")
}

fn html(status: StatusCode, title: &str, body: &str) -> ApiResponse {
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    let nonce = URL_SAFE_NO_PAD.encode(bytes);
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{title}</title>\
         <style nonce=\"{nonce}\">{STYLE}</style></head>\n<body><h1>{title}</h1>\n{body}\n\
         <script nonce=\"{nonce}\">{SCRIPT}</script></body></html>\n",
        title = escape_html(title),
    );
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
