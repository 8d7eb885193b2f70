//! The emails of SPEC §4: text and HTML, in the recipient's language, every value escaped.

mod texts;

use std::collections::HashMap;

use crate::domain::{Account, AccountId, ContactChange, EmailAddress, Token};
use texts::Texts;

/// One email to one recipient.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    pub from: EmailAddress,
    pub to: EmailAddress,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A confirmation mail's body holds a token: Debug shows only the envelope.
impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail").field("to", &self.to).field("subject", &self.subject).finish_non_exhaustive()
    }
}

/// Which of SPEC §4's mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind<'a> {
    /// To a party: its token and the link to the confirmation page.
    Confirm { link: &'a str, token: &'a Token },
    /// To the previous holder when only informed.
    Informed,
    Done,
    Refused,
    Cancelled,
    Failed,
}

/// Writes `kind` about `change` for `recipient`; `accounts` names the request's accounts.
pub fn compose(kind: MailKind<'_>, change: &ContactChange, recipient: &Account, accounts: &HashMap<AccountId, Account>, from: &EmailAddress) -> Mail {
    let texts = Texts::of(recipient.language);
    let who = |id: &AccountId| match accounts.get(id) {
        Some(account) => format!("{} ({})", account.name.as_str(), id),
        None => id.to_string(),
    };
    let roles = change.roles.iter().map(|role| texts.role(role)).collect::<Vec<_>>().join(", ");
    let values: Vec<(&str, String)> = vec![
        ("name", recipient.name.as_str().to_owned()),
        ("service", change.service.to_string()),
        ("roles", roles),
        ("from", who(&change.from)),
        ("to", who(&change.to)),
        ("requester", who(&change.requested_by)),
        ("id", change.id.to_string()),
        ("expires", change.expires_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()),
        ("reason", change.reason.map(|r| texts.reason(r).to_owned()).unwrap_or_default()),
    ];
    let (subject, lead) = match kind {
        MailKind::Confirm { .. } => (texts.subject_confirm, texts.lead_confirm),
        MailKind::Informed => (texts.subject_informed, texts.lead_informed),
        MailKind::Done => (texts.subject_done, texts.lead_done),
        MailKind::Refused => (texts.subject_refused, texts.lead_refused),
        MailKind::Cancelled => (texts.subject_cancelled, texts.lead_cancelled),
        MailKind::Failed => (texts.subject_failed, texts.lead_failed),
    };

    let mut paragraphs = vec![fill(texts.hello, &values), fill(texts.summary, &values), fill(lead, &values)];
    let mut html_paragraphs: Vec<String> = paragraphs.iter().map(|p| format!("<p>{}</p>", escape_html(p))).collect();
    if let MailKind::Confirm { link, token } = kind {
        let code = fill(texts.code, &values);
        paragraphs.push(link.to_owned());
        paragraphs.push(format!("{code} {}", token.expose()));
        html_paragraphs.push(format!(r#"<p><a href="{0}">{0}</a></p>"#, escape_html(link)));
        html_paragraphs.push(format!("<p>{} <code>{}</code></p>", escape_html(&code), escape_html(token.expose())));
        paragraphs.push(fill(texts.personal, &values));
        html_paragraphs.push(format!("<p>{}</p>", escape_html(&fill(texts.personal, &values))));
    }
    let footer = fill(texts.footer, &values);
    paragraphs.push(footer.clone());
    html_paragraphs.push(format!("<p><small>{}</small></p>", escape_html(&footer)));

    Mail {
        from: from.clone(),
        to: recipient.email.clone(),
        subject: fill(subject, &values),
        text: paragraphs.join("\n\n") + "\n",
        html: format!(
            "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title></head><body>\n{}\n</body></html>\n",
            recipient.language.as_str(),
            escape_html(&fill(subject, &values)),
            html_paragraphs.join("\n")
        ),
    }
}

/// Replaces each `{key}` of a trusted template with its value, in one pass: a value that
/// itself contains `{key}` (a display name can) stays as it is.
fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| values.iter().find(|(key, _)| *key == &after[..close]).map(|(_, v)| (v, close)));
        match value {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
