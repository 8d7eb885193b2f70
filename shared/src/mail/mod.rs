//! The emails of SPEC §4: text and HTML, in the recipient's language, every value escaped.

mod texts;

use std::collections::HashMap;

use crate::domain::{Account, AccountId, ContactChange, EmailAddress, Token};
use texts::{EmailTexts, Texts};

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
    Confirm {
        link: &'a str,
        token: &'a Token,
    },
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

/// The mails of a profile address change (SPEC §4), which are about an account, not a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileMailKind<'a> {
    /// To the new address: the token and the link `PUBLIC_BASE_URL/verify-email#token=...`.
    VerifyEmail { link: &'a str, token: &'a Token },
    /// To the current (old) address: that a change to `new` was asked. No token, no link.
    EmailChangeAsked,
}

/// Writes `kind` for `account`, whose holder asked to use `new` until `expires` (RFC 3339); the
/// verification goes to `new`, the notice to the account's current address.
pub fn compose_profile(kind: ProfileMailKind<'_>, account: &Account, new: &EmailAddress, expires: &str, from: &EmailAddress) -> Mail {
    let texts = EmailTexts::of(account.language);
    let values: Vec<(&str, String)> = vec![
        ("name", account.name.as_str().to_owned()),
        ("account", account.id.to_string()),
        ("new", new.as_str().to_owned()),
        ("expires", expires.to_owned()),
    ];
    let (to, subject, lead) = match kind {
        ProfileMailKind::VerifyEmail { .. } => (new.clone(), texts.subject_verify, texts.lead_verify),
        ProfileMailKind::EmailChangeAsked => (account.email.clone(), texts.subject_asked, texts.lead_asked),
    };
    let mut paragraphs = vec![fill(texts.hello, &values), fill(lead, &values)];
    let mut html_paragraphs: Vec<String> = paragraphs.iter().map(|p| format!("<p>{}</p>", escape_html(p))).collect();
    if let ProfileMailKind::VerifyEmail { link, token } = kind {
        let code = fill(texts.code, &values);
        paragraphs.push(link.to_owned());
        paragraphs.push(format!("{code} {}", token.expose()));
        html_paragraphs.push(format!(r#"<p><a href="{0}">{0}</a></p>"#, escape_html(link)));
        html_paragraphs.push(format!("<p>{} <code>{}</code></p>", escape_html(&code), escape_html(token.expose())));
    }
    let closing = fill(if matches!(kind, ProfileMailKind::VerifyEmail { .. }) { texts.personal_verify } else { texts.what_to_do }, &values);
    paragraphs.push(closing.clone());
    html_paragraphs.push(format!("<p>{}</p>", escape_html(&closing)));
    let footer = fill(texts.footer, &values);
    paragraphs.push(footer.clone());
    html_paragraphs.push(format!("<p><small>{}</small></p>", escape_html(&footer)));
    let subject = fill(subject, &values);
    Mail {
        from: from.clone(),
        to,
        text: paragraphs.join("\n\n") + "\n",
        html: format!(
            "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title></head><body>\n{}\n</body></html>\n",
            account.language.as_str(),
            escape_html(&subject),
            html_paragraphs.join("\n")
        ),
        subject,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, Contacts, DisplayName, Language, PaymentStatus, Role, ServiceName, rules};

    fn account(id: &str, name: &str, language: Language) -> Account {
        Account {
            id: AccountId::parse(id).unwrap(),
            name: DisplayName::parse(name).unwrap(),
            email: EmailAddress::parse(&format!("{}@example.com", &id[..3])).unwrap(),
            language,
            payment_status: PaymentStatus::Ok,
        }
    }

    fn change() -> ContactChange {
        let id = |s: &str| AccountId::parse(s).unwrap();
        let contacts = Contacts { admin: id("aa1-ovh"), tech: id("tt1-ovh"), billing: id("bb1-ovh") };
        let plan = rules::plan(&contacts, &id("aa1-ovh"), &[(Role::Tech, id("nn1-ovh"))]).unwrap().remove(0);
        let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        ContactChange::open(ServiceName::parse("example.com").unwrap(), plan, id("aa1-ovh"), now, time::Duration::days(7)).0
    }

    fn named() -> HashMap<AccountId, Account> {
        [account("aa1-ovh", "Ada", Language::En), account("tt1-ovh", "Teo", Language::It), account("nn1-ovh", "<b>Ned</b> & co {service}", Language::Fr)]
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect()
    }

    fn from() -> EmailAddress {
        EmailAddress::parse("no-reply@example.com").unwrap()
    }

    #[test]
    fn each_mail_is_in_its_recipients_language_and_names_the_request() {
        let change = change();
        let accounts = named();
        for (id, subject) in [
            ("aa1-ovh", "Contact change done for example.com"),
            ("tt1-ovh", "Modifica dei contatti effettuata per example.com"),
            ("nn1-ovh", "Changement de contacts effectué pour example.com"),
        ] {
            let recipient = &accounts[&AccountId::parse(id).unwrap()];
            let mail = compose(MailKind::Done, &change, recipient, &accounts, &from());
            assert_eq!(mail.subject, subject);
            assert_eq!(mail.to, recipient.email);
            for named in [change.id.to_string().as_str(), "example.com", "aa1-ovh", "tt1-ovh", "nn1-ovh"] {
                assert!(mail.text.contains(named) && mail.html.contains(named), "{id}'s mail lacks {named}");
            }
        }
    }

    #[test]
    fn a_confirmation_mail_carries_the_token_and_the_link_and_others_carry_neither() {
        let change = change();
        let accounts = named();
        let token = Token::generate();
        let link = format!("https://x.example/confirm/{}#token={}", change.id, token.expose());
        let ada = &accounts[&AccountId::parse("aa1-ovh").unwrap()];
        let mail = compose(MailKind::Confirm { link: &link, token: &token }, &change, ada, &accounts, &from());
        assert!(mail.text.contains(&link) && mail.html.contains(&link));
        assert!(!format!("{mail:?}").contains(token.expose()), "Debug must not show the token");
        for kind in [MailKind::Informed, MailKind::Done, MailKind::Refused, MailKind::Cancelled, MailKind::Failed] {
            let other = compose(kind, &change, ada, &accounts, &from());
            assert!(!other.text.contains("#token="), "{kind:?}");
        }
    }

    #[test]
    fn values_are_escaped_in_html_and_never_expanded_as_placeholders() {
        let change = change();
        let accounts = named();
        let ned = &accounts[&AccountId::parse("nn1-ovh").unwrap()];
        let mail = compose(MailKind::Informed, &change, ned, &accounts, &from());
        assert!(mail.html.contains("&lt;b&gt;Ned&lt;/b&gt; &amp; co {service}"), "{}", mail.html);
        assert!(!mail.html.contains("<b>Ned"));
        assert!(mail.text.contains("<b>Ned</b> & co {service}"), "plain text keeps the name as it is");
    }

    #[test]
    fn an_email_change_mails_the_token_to_the_new_address_only_and_tells_the_old_one() {
        let accounts = named();
        let ned = &accounts[&AccountId::parse("nn1-ovh").unwrap()];
        let new = EmailAddress::parse("ned.new@example.org").unwrap();
        let token = Token::generate();
        let link = format!("https://x.example/verify-email#token={}", token.expose());
        let verify = compose_profile(ProfileMailKind::VerifyEmail { link: &link, token: &token }, ned, &new, "2030-01-01T00:00:00Z", &from());
        assert_eq!(verify.to, new);
        assert!(verify.text.contains(&link) && verify.html.contains(&link) && verify.text.contains("nn1-ovh"));
        assert!(!format!("{verify:?}").contains(token.expose()));
        let notice = compose_profile(ProfileMailKind::EmailChangeAsked, ned, &new, "2030-01-01T00:00:00Z", &from());
        assert_eq!(notice.to, ned.email, "the notice goes to the current address");
        assert!(notice.text.contains("ned.new@example.org"), "it names the address asked for");
        assert!(!notice.text.contains(token.expose()) && !notice.text.contains("verify-email") && !notice.html.contains("href"), "no token, no link");
        assert!(notice.html.contains("&lt;b&gt;Ned&lt;/b&gt;"), "escaped: {}", notice.html);
        for language in [Language::En, Language::It, Language::Fr] {
            let account = Account { language, ..ned.clone() };
            let subjects = [ProfileMailKind::VerifyEmail { link: &link, token: &token }, ProfileMailKind::EmailChangeAsked]
                .map(|kind| compose_profile(kind, &account, &new, "x", &from()).subject);
            assert_ne!(subjects[0], subjects[1]);
        }
    }
}
