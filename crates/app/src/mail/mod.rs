//! The emails of SPEC §4: text and HTML, in the recipient's language, every value escaped.

mod batch;
mod texts;

use std::collections::HashMap;

use askama::Template;
use time::OffsetDateTime;

pub use batch::{BatchMailKind, compose_batch};
use contacts_domain::{Account, AccountId, ContactChange, EmailAddress, Language, Token};
use texts::{ChangeTexts, EmailTexts, Words};

/// The name of the SES message tag that names a mail's recipient's account (`Mail::account`).
pub const ACCOUNT_TAG: &str = "account";

/// One email to one recipient.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    pub from: EmailAddress,
    pub to: EmailAddress,
    /// The recipient's account: SES tags the mail with it (`account=...`), so that a bounce's
    /// event names the account whose address bounced.
    pub account: AccountId,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A confirmation mail's body holds a token: Debug shows only the envelope.
impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail").field("to", &self.to).field("account", &self.account).field("subject", &self.subject).finish_non_exhaustive()
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
    /// To a party still awaited, shortly before expiry: its fresh token and the link.
    Reminder {
        link: &'a str,
        token: &'a Token,
    },
    /// To every party and the requester: the request expired unconfirmed.
    Expired,
}

/// Writes `kind` about `change` for `recipient`; `accounts` names the request's accounts.
pub fn compose(kind: MailKind<'_>, change: &ContactChange, recipient: &Account, accounts: &HashMap<AccountId, Account>, from: &EmailAddress) -> Mail {
    let language = recipient.language;
    let words = Words::of(language);
    let texts = ChangeTexts::of(language);
    let said = match kind {
        MailKind::Confirm { .. } => &texts.confirm,
        MailKind::Informed => &texts.informed,
        MailKind::Done => &texts.done,
        MailKind::Refused => &texts.refused,
        MailKind::Cancelled => &texts.cancelled,
        MailKind::Failed => &texts.failed,
        MailKind::Reminder { .. } => &texts.reminder,
        MailKind::Expired => &texts.expired,
    };
    let mut notes = vec![said.note];
    let action = match kind {
        MailKind::Confirm { link, token } => {
            if change.last_resent_at.is_some() {
                notes.push(texts.replaces);
            }
            said.action.as_ref().map(|action| Action::new(action, words, link, token))
        }
        MailKind::Reminder { link, token } => {
            notes.push(texts.replaces);
            said.action.as_ref().map(|action| Action::new(action, words, link, token))
        }
        _ => None,
    };
    let body = Body {
        language: language.as_str(),
        colon: words.colon,
        brand: words.brand,
        subject: format!("{} {}", said.subject, change.service.as_str()),
        hello: words.hello,
        name: recipient.name.as_str(),
        lead: said.lead,
        rows: summary(kind, change, language, accounts),
        action,
        notes: notes.into_iter().filter(|note| !note.is_empty()).collect(),
        table: None,
        footer: said.footer,
    };
    body.into_mail(from.clone(), recipient.email.clone(), recipient.id.clone())
}

/// What a request's mail says of it: the service, the roles, who from, who to, who asked,
/// why it failed, until when it runs or when it closed, and its id.
fn summary(kind: MailKind<'_>, change: &ContactChange, language: Language, accounts: &HashMap<AccountId, Account>) -> Vec<Row> {
    let words = Words::of(language);
    let who = |label, id: &AccountId| match accounts.get(id) {
        Some(account) => Row::detailed(label, account.name.as_str(), id.as_str()),
        None => Row::new(label, id.as_str()),
    };
    let roles = change.roles.iter().map(|role| words.role(role)).collect::<Vec<_>>().join(", ");
    let mut rows = vec![
        Row::new(words.service, change.service.as_str()),
        Row::new(if change.roles.iter().count() > 1 { words.roles } else { words.role }, roles),
        who(words.from, &change.from),
        who(words.to, &change.to),
        who(words.requested_by, &change.requested_by),
    ];
    if let (MailKind::Failed, Some(reason)) = (kind, change.reason) {
        rows.push(Row::new(words.reason, words.reason(reason)));
    }
    match (kind, change.closed_at) {
        (MailKind::Confirm { .. } | MailKind::Reminder { .. } | MailKind::Informed, _) => {
            rows.push(Row::new(words.expires, texts::date(language, change.expires_at)))
        }
        (_, Some(closed)) => rows.push(Row::new(words.closed, texts::date(language, closed))),
        (_, None) => {}
    }
    rows.push(Row::new(words.request, change.id.to_string()));
    rows
}

/// The mails of a profile address change (SPEC §4, §5), which are about an account, not a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileMailKind<'a> {
    /// To the new address: its code and the link `PUBLIC_BASE_URL/verify-email#token=...`.
    VerifyEmail { link: &'a str, token: &'a Token },
    /// To the current address: that a change to `new` was asked, its own code and exactly one
    /// link, the one to agree; in words, what to do if it was not them.
    AgreeToEmailChange { link: &'a str, token: &'a Token },
    /// To the old address `old`, once the change took effect (`account` has its new address).
    EmailChanged { old: &'a EmailAddress },
}

/// Writes `kind` for `account`, whose holder asked to use `new` (until `expires`, while the
/// change awaits its codes): the verification goes to `new`, the agreement to the account's
/// current address, the notice of the change to the old one.
pub fn compose_profile(kind: ProfileMailKind<'_>, account: &Account, new: &EmailAddress, expires: OffsetDateTime, from: &EmailAddress) -> Mail {
    let language = account.language;
    let words = Words::of(language);
    let texts = EmailTexts::of(language);
    let action = |said: &'static texts::Kind, link, token| said.action.as_ref().map(|action| Action::new(action, words, link, token));
    let (to, said, action) = match kind {
        ProfileMailKind::VerifyEmail { link, token } => (new.clone(), &texts.verify, action(&texts.verify, link, token)),
        ProfileMailKind::AgreeToEmailChange { link, token } => (account.email.clone(), &texts.agree, action(&texts.agree, link, token)),
        ProfileMailKind::EmailChanged { old } => (old.clone(), &texts.changed, None),
    };
    let mut rows = vec![Row::detailed(words.account, account.name.as_str(), account.id.as_str()), Row::new(words.new_address, new.as_str())];
    if !matches!(kind, ProfileMailKind::EmailChanged { .. }) {
        rows.push(Row::new(words.expires, texts::date(language, expires)));
    }
    let body = Body {
        language: language.as_str(),
        colon: words.colon,
        brand: words.brand,
        subject: said.subject.to_owned(),
        hello: words.hello,
        name: account.name.as_str(),
        lead: said.lead,
        rows,
        action,
        notes: vec![said.note],
        table: None,
        footer: said.footer,
    };
    body.into_mail(from.clone(), to, account.id.clone())
}

/// What a mail says, in its recipient's language, before it is rendered as text and as HTML
/// (crates/app/templates/mail.txt and mail.html). Its strings are plain text: the HTML template
/// escapes every one of them.
struct Body<'a> {
    language: &'static str,
    colon: &'static str,
    brand: &'static str,
    subject: String,
    hello: &'static str,
    name: &'a str,
    lead: &'static str,
    /// The summary: what is asked, of whom, by whom, until when.
    rows: Vec<Row>,
    /// The call to action, in the mails that carry a token.
    action: Option<Action<'a>>,
    notes: Vec<&'static str>,
    /// Below the notes, a list too long for the summary: a batch's services. Last, so that the
    /// call to action stays near the top of a mail that lists a thousand services.
    table: Option<Table>,
    footer: &'static str,
}

/// A list of items with a few columns each, under a title; the HTML part makes it a table
/// with header cells, the text part one line per item.
struct Table {
    title: &'static str,
    header: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
}

/// One value of a table's row, and `detail` in parentheses after it, as in a [`Row`].
struct Cell {
    value: String,
    detail: Option<String>,
}

impl Cell {
    fn new(value: impl Into<String>) -> Cell {
        Cell { value: value.into(), detail: None }
    }

    fn detailed(value: impl Into<String>, detail: impl Into<String>) -> Cell {
        Cell { value: value.into(), detail: Some(detail.into()) }
    }
}

/// A line of the summary: `value`, and `detail` in parentheses after it (an account's id
/// after its name).
struct Row {
    label: &'static str,
    value: String,
    detail: Option<String>,
}

impl Row {
    fn new(label: &'static str, value: impl Into<String>) -> Row {
        Row { label, value: value.into(), detail: None }
    }

    fn detailed(label: &'static str, value: &str, detail: &str) -> Row {
        Row { label, value: value.to_owned(), detail: Some(detail.to_owned()) }
    }
}

/// The button to the page (its link holds the token in the fragment), and below it the code
/// and where to paste it by hand: the page's address without the token, or (in a mail that
/// carries exactly one link) the words `ActionWords::paste`, with no address.
struct Action<'a> {
    button: &'static str,
    link: &'a str,
    code_label: &'static str,
    code: &'a str,
    paste: &'static str,
    page: Option<&'a str>,
}

impl<'a> Action<'a> {
    fn new(words: &texts::ActionWords, common: &Words, link: &'a str, token: &'a Token) -> Action<'a> {
        let page = link.split_once('#').map_or(link, |(page, _)| page);
        let (paste, page) = match words.paste {
            Some(elsewhere) => (elsewhere, None),
            None => (common.paste, Some(page)),
        };
        Action { button: words.button, link, code_label: words.code, code: token.expose(), paste, page }
    }
}

#[derive(Template)]
#[template(path = "mail.html")]
struct HtmlPart<'a> {
    mail: &'a Body<'a>,
}

#[derive(Template)]
#[template(path = "mail.txt")]
struct TextPart<'a> {
    mail: &'a Body<'a>,
    /// The summary's labels padded to one column.
    width: usize,
}

impl TextPart<'_> {
    /// `label:` padded to the summary's column.
    fn label(&self, row: &Row) -> String {
        format!("{:<width$}", format!("{}{}", row.label, self.mail.colon), width = self.width)
    }
}

impl Body<'_> {
    fn into_mail(self, from: EmailAddress, to: EmailAddress, account: AccountId) -> Mail {
        let width = self.rows.iter().map(|row| row.label.chars().count() + self.colon.chars().count()).max().unwrap_or(0);
        // askama drops the template's last newline; a text part ends with one.
        let text = TextPart { mail: &self, width }.render().expect("the text template renders any value") + "\n";
        let html = HtmlPart { mail: &self }.render().expect("the HTML template renders any value");
        Mail { from, to, account, subject: self.subject, text, html }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contacts_domain::FailReason;
    use contacts_domain::{AccountId, Contacts, DisplayName, Language, PaymentStatus, Role, ServiceName, rules};
    use time::macros::datetime;

    const HOSTILE: &str = "<script>alert(1)</script> & {service} {token} \"q\" 'a'";

    fn account(id: &str, name: &str, language: Language) -> Account {
        Account {
            id: AccountId::parse(id).unwrap(),
            name: DisplayName::parse(name).unwrap(),
            email: EmailAddress::parse(&format!("{}@example.com", &id[..3])).unwrap(),
            language,
            payment_status: PaymentStatus::Ok,
            zone: contacts_domain::Zone::Eu,
            email_status: Default::default(),
        }
    }

    fn id(s: &str) -> AccountId {
        AccountId::parse(s).unwrap()
    }

    /// Ada (admin) asks for Ned as the technical contact in Teo's place; it expires at the
    /// issue's example time.
    fn change() -> ContactChange {
        let contacts = Contacts { admin: id("aa1-ovh"), tech: id("tt1-ovh"), billing: id("bb1-ovh") };
        let plan = rules::plan(&contacts, &id("aa1-ovh"), &[(Role::Tech, id("nn1-ovh"))]).unwrap().remove(0);
        let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let mut change =
            ContactChange::open(ServiceName::parse("example.com").unwrap(), plan, id("aa1-ovh"), contacts_domain::Zone::Eu, now, time::Duration::days(7));
        change.expires_at = datetime!(2026-12-08 21:03:51.54 UTC);
        change
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

    fn token_and_link(change: &ContactChange) -> (Token, String) {
        let token = Token::generate();
        let link = format!("https://x.example/confirm/{}#token={}", change.id, token.expose());
        (token, link)
    }

    /// Every mail of a request, with `each` given its kind's name, the mail, and the token if it has one.
    fn every_change_mail(
        change: &ContactChange,
        recipient: &Account,
        accounts: &HashMap<AccountId, Account>,
        mut each: impl FnMut(&str, Mail, Option<(&Token, &str)>),
    ) {
        let (token, link) = token_and_link(change);
        each("confirm", compose(MailKind::Confirm { link: &link, token: &token }, change, recipient, accounts, &from()), Some((&token, &link)));
        each("reminder", compose(MailKind::Reminder { link: &link, token: &token }, change, recipient, accounts, &from()), Some((&token, &link)));
        for (name, kind) in [
            ("informed", MailKind::Informed),
            ("done", MailKind::Done),
            ("refused", MailKind::Refused),
            ("cancelled", MailKind::Cancelled),
            ("failed", MailKind::Failed),
            ("expired", MailKind::Expired),
        ] {
            each(name, compose(kind, change, recipient, accounts, &from()), None);
        }
    }

    fn every_profile_mail(account: &Account, new: &EmailAddress, mut each: impl FnMut(&str, Mail, Option<(&Token, &str)>)) {
        let token = Token::generate();
        let link = format!("https://x.example/verify-email#token={}", token.expose());
        let expires = datetime!(2026-12-08 21:03:51.54 UTC);
        each("verify", compose_profile(ProfileMailKind::VerifyEmail { link: &link, token: &token }, account, new, expires, &from()), Some((&token, &link)));
        let agree = Token::generate();
        let agree_link = format!("https://x.example/verify-email#token={}", agree.expose());
        let kind = ProfileMailKind::AgreeToEmailChange { link: &agree_link, token: &agree };
        each("agree", compose_profile(kind, account, new, expires, &from()), Some((&agree, &agree_link)));
        let old = EmailAddress::parse("old@example.net").unwrap();
        each("changed", compose_profile(ProfileMailKind::EmailChanged { old: &old }, account, new, expires, &from()), None);
    }

    /// `text` as askama's HTML escaper writes it.
    fn escaped(text: &str) -> String {
        text.replace('&', "&#38;").replace('<', "&#60;").replace('>', "&#62;").replace('"', "&#34;").replace('\'', "&#39;")
    }

    fn languages() -> [(Language, &'static str); 3] {
        [(Language::En, "8 December 2026, 21:03 UTC"), (Language::It, "8 dicembre 2026, 21:03 UTC"), (Language::Fr, "8 décembre 2026 à 21:03 UTC")]
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
    fn every_mail_in_every_language_summarises_the_request_with_dates_for_its_reader() {
        let change = change();
        let accounts = named();
        for (language, expires) in languages() {
            let ada = Account { language, ..accounts[&id("aa1-ovh")].clone() };
            let words = Words::of(language);
            let mut subjects = Vec::new();
            every_change_mail(&change, &ada, &accounts, |kind, mail, _| {
                assert!(mail.html.contains(&format!("<html lang=\"{}\">", language.as_str())), "{kind} {language:?}");
                for part in [&mail.text, &mail.html] {
                    for shown in [
                        words.service,
                        "example.com",
                        words.role,
                        words.role(Role::Tech),
                        words.from,
                        "Teo",
                        "tt1-ovh",
                        words.to,
                        "nn1-ovh",
                        words.requested_by,
                        "Ada",
                        "aa1-ovh",
                    ] {
                        assert!(part.contains(shown), "{kind} {language:?} lacks {shown}: {part}");
                    }
                    assert!(part.contains(&change.id.to_string()), "{kind} {language:?} names the request");
                    assert!(!part.contains("2026-12-08T"), "{kind} {language:?}: no RFC 3339 for a person");
                    if matches!(kind, "confirm" | "reminder" | "informed") {
                        assert!(part.contains(expires), "{kind} {language:?} lacks the expiry {expires}: {part}");
                    }
                }
                assert!(mail.subject.ends_with(" example.com"), "{kind}: {}", mail.subject);
                subjects.push(mail.subject);
            });
            subjects.dedup();
            assert_eq!(subjects.len(), 8, "one subject per kind: {subjects:?}");
        }
    }

    #[test]
    fn a_failed_mail_says_why_and_an_outcome_mail_when_it_closed() {
        let mut change = change();
        change.reason = Some(FailReason::PaymentOverdue);
        change.closed_at = Some(datetime!(2026-12-01 09:05 UTC));
        let accounts = named();
        let teo = &accounts[&id("tt1-ovh")];
        let failed = compose(MailKind::Failed, &change, teo, &accounts, &from());
        for part in [&failed.text, &failed.html] {
            assert!(part.contains("Un contatto di fatturazione non è in regola con i pagamenti"), "{part}");
            assert!(part.contains("1 dicembre 2026, 09:05 UTC"), "{part}");
        }
        let ned = &accounts[&id("nn1-ovh")];
        let done = compose(MailKind::Done, &change, ned, &accounts, &from());
        assert!(done.text.contains("1er décembre 2026 à 09:05 UTC"), "{}", done.text);
        assert!(!done.text.contains("Motif"), "only a failure has a reason");
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
        for kind in [MailKind::Informed, MailKind::Done, MailKind::Refused, MailKind::Cancelled, MailKind::Failed, MailKind::Expired] {
            let other = compose(kind, &change, ada, &accounts, &from());
            assert!(!other.text.contains("#token="), "{kind:?}");
        }
    }

    #[test]
    fn the_call_to_action_is_a_button_to_the_link_with_the_code_below_it() {
        let change = change();
        let accounts = named();
        let check = |kind: &str, mail: &Mail, token: Option<(&Token, &str)>, language: Language| {
            let Some((token, link)) = token else {
                assert!(!mail.html.contains("href") && !mail.text.contains("://"), "{kind}: no link without a token");
                assert!(!mail.html.contains("#token=") && !mail.text.contains("#token="), "{kind}");
                return;
            };
            let code = token.expose();
            let button = mail.html.find(&format!("<a href=\"{link}\"")).unwrap_or_else(|| panic!("{kind}: no button to {link}: {}", mail.html));
            let shown = mail.html.find(&format!(">{code}</p>")).unwrap_or_else(|| panic!("{kind}: the code is not shown: {}", mail.html));
            assert!(button < shown, "{kind}: the code comes below the button");
            let page = link.split_once('#').unwrap().0;
            if kind == "agree" {
                // SPEC §5: the mail to the current address carries exactly one link, the one to agree.
                assert_eq!(mail.html.matches("href").count(), 1, "{kind}: one link: {}", mail.html);
                assert_eq!(mail.text.matches("://").count(), 1, "{kind}: one link: {}", mail.text);
            } else {
                assert!(mail.html.contains(&format!("<a href=\"{page}\"")), "{kind}: the page without the token, to paste the code");
                assert!(mail.text.find(link) < mail.text.rfind(&format!("\n{page}\n")), "{kind}: {}", mail.text);
            }
            assert_eq!(mail.html.matches(code).count(), 2, "{kind}: the code in the button's link and shown once");
            assert!(mail.text.contains(&format!("\n{link}\n")), "{kind}: the link on a line of its own: {}", mail.text);
            assert!(mail.text.contains(&format!(" {code}\n")), "{kind}: the code in the text part");
            assert!(!format!("{mail:?}").contains(code), "{kind}: Debug shows no token");
            let words = match kind {
                "verify" => &EmailTexts::of(language).verify,
                "agree" => &EmailTexts::of(language).agree,
                _ => &ChangeTexts::of(language).confirm,
            };
            assert!(mail.html.contains(&escaped(words.action.as_ref().unwrap().button)), "{kind}: the button says what it does");
        };
        for (language, _) in languages() {
            let ada = Account { language, ..accounts[&id("aa1-ovh")].clone() };
            every_change_mail(&change, &ada, &accounts, |kind, mail, token| check(kind, &mail, token, language));
            every_profile_mail(&ada, &EmailAddress::parse("ada@new.example").unwrap(), |kind, mail, token| check(kind, &mail, token, language));
        }
    }

    #[test]
    fn a_resent_confirmation_says_that_the_earlier_codes_are_dead() {
        let mut change = change();
        let accounts = named();
        let (token, link) = token_and_link(&change);
        let ada = &accounts[&id("aa1-ovh")];
        let first = compose(MailKind::Confirm { link: &link, token: &token }, &change, ada, &accounts, &from());
        change.last_resent_at = Some(change.created_at + time::Duration::minutes(5));
        let again = compose(MailKind::Confirm { link: &link, token: &token }, &change, ada, &accounts, &from());
        let replaces = ChangeTexts::of(Language::En).replaces;
        assert!(!first.text.contains(replaces) && again.text.contains(replaces) && again.html.contains(&escaped(replaces)));
    }

    #[test]
    fn values_are_escaped_in_html_and_never_expanded_as_placeholders() {
        let change = change();
        let accounts = named();
        let ned = &accounts[&AccountId::parse("nn1-ovh").unwrap()];
        let mail = compose(MailKind::Informed, &change, ned, &accounts, &from());
        assert!(mail.html.contains("&#60;b&#62;Ned&#60;/b&#62; &#38; co {service}"), "{}", mail.html);
        assert!(!mail.html.contains("<b>Ned"));
        assert!(mail.text.contains("<b>Ned</b> & co {service}"), "plain text keeps the name as it is");
    }

    #[test]
    fn a_hostile_display_name_is_escaped_in_html_and_never_expanded_in_any_mail() {
        let change = change();
        let mut accounts = named();
        for account in accounts.values_mut() {
            account.name = DisplayName::parse(HOSTILE).unwrap();
        }
        let escaped = "&#60;script&#62;alert(1)&#60;/script&#62; &#38; {service} {token} &#34;q&#34; &#39;a&#39;";
        for (language, _) in languages() {
            let recipient = Account { language, ..accounts[&id("nn1-ovh")].clone() };
            let check = |kind: &str, mail: Mail, _: Option<(&Token, &str)>| {
                assert!(!mail.html.contains("<script") && !mail.html.contains("alert(1)</"), "{kind}: {}", mail.html);
                assert!(mail.html.contains(escaped), "{kind}: {}", mail.html);
                assert!(mail.text.contains(HOSTILE), "{kind}: the text part keeps the name as it is: {}", mail.text);
                assert!(!mail.subject.contains("<script"), "{kind}: no name in a subject");
            };
            every_change_mail(&change, &recipient, &accounts, check);
            every_profile_mail(&recipient, &EmailAddress::parse("ned@new.example").unwrap(), check);
        }
    }

    #[test]
    fn html_parts_are_for_mail_clients_inline_styles_tables_no_script() {
        let change = change();
        let accounts = named();
        let check = |kind: &str, mail: Mail, _: Option<(&Token, &str)>| {
            let html = &mail.html;
            assert!(html.starts_with("<!DOCTYPE html>\n<html lang="), "{kind}");
            for absent in ["<script", "<style", "<link", "class=", "<img", "javascript:", "<form", "{{", "{%"] {
                assert!(!html.contains(absent), "{kind}: {absent} in {html}");
            }
            assert!(html.contains("<meta charset=\"utf-8\">") && html.contains("max-width:600px") && html.contains("role=\"presentation\""), "{kind}");
            assert_eq!(html.matches("<table").count(), html.matches("</table>").count(), "{kind}");
            for tag in ["<p ", "<td ", "<h1 ", "<a "] {
                for at in html.match_indices(tag).map(|(at, _)| at) {
                    let end = at + html[at..].find('>').unwrap();
                    assert!(html[at..end].contains("style=\""), "{kind}: {} has no inline style", &html[at..=end]);
                }
            }
            assert!(!html.contains("<p>") && !html.contains("<td>"), "{kind}: every paragraph and cell styled");
            assert!(mail.text.ends_with('\n') && !mail.text.contains("\n\n\n"), "{kind}: {:?}", mail.text);
        };
        for (language, _) in languages() {
            let ada = Account { language, ..accounts[&id("aa1-ovh")].clone() };
            every_change_mail(&change, &ada, &accounts, check);
            every_profile_mail(&ada, &EmailAddress::parse("ada@new.example").unwrap(), check);
        }
    }

    #[test]
    fn dates_are_written_in_utc_for_the_readers_language() {
        let at = datetime!(2027-03-01 07:04:59 +02:00);
        assert_eq!(texts::date(Language::En, at), "1 March 2027, 05:04 UTC");
        assert_eq!(texts::date(Language::It, at), "1 marzo 2027, 05:04 UTC");
        assert_eq!(texts::date(Language::Fr, at), "1er mars 2027 à 05:04 UTC");
        assert_eq!(texts::date(Language::Fr, datetime!(2026-08-15 23:59 UTC)), "15 août 2026 à 23:59 UTC");
    }

    #[test]
    fn an_email_change_mails_a_code_to_each_address_and_tells_the_old_one_when_done() {
        let accounts = named();
        let ned = &accounts[&AccountId::parse("nn1-ovh").unwrap()];
        let new = EmailAddress::parse("ned.new@example.org").unwrap();
        let (token, agree) = (Token::generate(), Token::generate());
        let link = format!("https://x.example/verify-email#token={}", token.expose());
        let agree_link = format!("https://x.example/verify-email#token={}", agree.expose());
        let expires = datetime!(2030-01-01 0:00 UTC);
        let verify = compose_profile(ProfileMailKind::VerifyEmail { link: &link, token: &token }, ned, &new, expires, &from());
        assert_eq!(verify.to, new);
        assert!(verify.text.contains(&link) && verify.html.contains(&link) && verify.text.contains("nn1-ovh"));
        assert!(verify.text.contains("1er janvier 2030 à 00:00 UTC"), "{}", verify.text);
        assert!(!format!("{verify:?}").contains(token.expose()));
        let asked = compose_profile(ProfileMailKind::AgreeToEmailChange { link: &agree_link, token: &agree }, ned, &new, expires, &from());
        assert_eq!(asked.to, ned.email, "the agreement goes to the current address");
        assert!(asked.text.contains("ned.new@example.org") && asked.html.contains("ned.new@example.org"), "it names the address asked for");
        assert!(asked.text.contains(agree.expose()) && !asked.text.contains(token.expose()), "its own code, not the new address's");
        assert!(asked.html.contains("&#60;b&#62;Ned&#60;/b&#62;"), "escaped: {}", asked.html);
        let old = EmailAddress::parse("ned.old@example.org").unwrap();
        let changed = compose_profile(ProfileMailKind::EmailChanged { old: &old }, &Account { email: new.clone(), ..ned.clone() }, &new, expires, &from());
        assert_eq!(changed.to, old, "the notice of the change goes to the old address");
        assert!(changed.text.contains("ned.new@example.org") && !changed.html.contains("href"), "it names the new address, and links nowhere");
        for language in [Language::En, Language::It, Language::Fr] {
            let account = Account { language, ..ned.clone() };
            let kinds = [
                ProfileMailKind::VerifyEmail { link: &link, token: &token },
                ProfileMailKind::AgreeToEmailChange { link: &agree_link, token: &agree },
                ProfileMailKind::EmailChanged { old: &old },
            ];
            let mut subjects = kinds.map(|kind| compose_profile(kind, &account, &new, expires, &from()).subject).to_vec();
            subjects.dedup();
            assert_eq!(subjects.len(), 3, "{language:?}: each says what it is in its subject");
        }
    }
}
