//! The mails of a batch (SPEC §7): one per party or informed holder for all its services,
//! which the mail lists as a table below the summary.

use std::collections::{BTreeSet, HashMap};

use contacts_domain::{Account, AccountId, Batch, BatchState, Decision, EmailAddress, Language, Part, Roles, State, Token};

use super::texts::{self, BatchTexts, ChangeTexts, Words};
use super::{Action, Body, Cell, Mail, Row, Table};

/// Which of a batch's mails (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchMailKind<'a> {
    /// To a party: one code for the whole batch, and the link
    /// `PUBLIC_BASE_URL/confirm/batch/{id}#token=...`.
    Confirm { link: &'a str, token: &'a Token },
    /// To a party still awaited, once, shortly before expiry: its fresh code and the link.
    Reminder { link: &'a str, token: &'a Token },
    /// To a previous holder only told: what was asked on its services.
    Informed,
    /// To every party and informed holder once the batch closed: the outcome per service.
    Closed,
}

/// Writes `kind` about `batch` for `recipient`; `accounts` names the batch's accounts. A party
/// sees every service of the batch, a holder only told the services it is told about.
pub fn compose_batch(kind: BatchMailKind<'_>, batch: &Batch, recipient: &Account, accounts: &HashMap<AccountId, Account>, from: &EmailAddress) -> Mail {
    let language = recipient.language;
    let words = Words::of(language);
    let texts = BatchTexts::of(language);
    let parts = listed_parts(batch, &recipient.id);
    let outcome = outcome_of(batch.state, &parts);
    let said = match kind {
        BatchMailKind::Confirm { .. } => &texts.confirm,
        BatchMailKind::Reminder { .. } => &texts.reminder,
        BatchMailKind::Informed => &texts.informed,
        BatchMailKind::Closed => texts.closed(outcome),
    };
    let mut notes = vec![said.note];
    let action = match kind {
        BatchMailKind::Confirm { link, token } | BatchMailKind::Reminder { link, token } => {
            // A reminder's code, like a resent one, replaces the earlier codes.
            if batch.last_resent_at.is_some() || matches!(kind, BatchMailKind::Reminder { .. }) {
                notes.push(ChangeTexts::of(language).replaces);
            }
            said.action.as_ref().map(|action| Action::new(action, words, link, token))
        }
        BatchMailKind::Informed | BatchMailKind::Closed => None,
    };
    let services = parts.iter().map(|part| &part.service).collect::<BTreeSet<_>>().len();
    let body = Body {
        language: language.as_str(),
        colon: words.colon,
        brand: words.brand,
        subject: texts.subject(said, services),
        hello: words.hello,
        name: recipient.name.as_str(),
        lead: said.lead,
        rows: summary(kind, batch, services, outcome, language, accounts),
        action,
        notes: notes.into_iter().filter(|note| !note.is_empty()).collect(),
        table: Some(table(kind, &parts, language, accounts)),
        footer: said.footer,
    };
    body.into_mail(from.clone(), recipient.email.clone(), recipient.id.clone())
}

/// The parts `recipient` may read of: every part for a party (the requester is one), only
/// those it is told about for a holder only told, as the batch's view shows them (SPEC §7).
fn listed_parts<'b>(batch: &'b Batch, recipient: &AccountId) -> Vec<&'b Part> {
    if batch.is_party(recipient) { batch.parts.iter().collect() } else { batch.parts_of_informed(recipient) }
}

/// The outcome a mail reports: the batch's, except that once its parts settled, a holder
/// only told is told the outcome of its own services (a batch partly done may be done for
/// every service it holds), by the batch's rule of `BatchState`.
fn outcome_of(batch: BatchState, parts: &[&Part]) -> BatchState {
    if !matches!(batch, BatchState::Done | BatchState::PartlyDone | BatchState::Failed) || parts.is_empty() {
        return batch;
    }
    BatchState::of_outcomes(&parts.iter().map(|part| part.state).collect::<Vec<_>>())
}

/// What a batch's mail says of it above its services: the roles, who to, who asked, how many
/// services, until when it runs or how and when it closed, and its id.
fn summary(
    kind: BatchMailKind<'_>,
    batch: &Batch,
    services: usize,
    outcome: BatchState,
    language: Language,
    accounts: &HashMap<AccountId, Account>,
) -> Vec<Row> {
    let words = Words::of(language);
    let texts = BatchTexts::of(language);
    let who = |label, id: &AccountId| match accounts.get(id) {
        Some(account) => Row::detailed(label, account.name.as_str(), id.as_str()),
        None => Row::new(label, id.as_str()),
    };
    let mut rows = vec![
        Row::new(if batch.roles.iter().count() > 1 { words.roles } else { words.role }, roles(&batch.roles, words)),
        who(words.to, &batch.to),
        who(words.requested_by, &batch.requested_by),
        Row::new(texts.services, services.to_string()),
    ];
    match (kind, batch.closed_at) {
        (BatchMailKind::Closed, closed) => {
            rows.push(Row::new(texts.outcome, texts.batch_state(outcome)));
            rows.extend(closed.map(|closed| Row::new(words.closed, texts::date(language, closed))));
        }
        _ => rows.push(Row::new(words.expires, texts::date(language, batch.expires_at))),
    }
    rows.push(Row::new(texts.batch, batch.id.to_string()));
    rows
}

/// The services of the mail, one row each: the service, the roles it moves, its previous
/// holder, and once the batch closed, its outcome (a failure with its reason).
fn table(kind: BatchMailKind<'_>, parts: &[&Part], language: Language, accounts: &HashMap<AccountId, Account>) -> Table {
    let words = Words::of(language);
    let texts = BatchTexts::of(language);
    let closed = matches!(kind, BatchMailKind::Closed);
    let several_roles = parts.iter().any(|part| part.roles.iter().count() > 1);
    let mut header = vec![words.service, if several_roles { words.roles } else { words.role }, words.from];
    if closed {
        header.push(texts.outcome);
    }
    let rows = parts
        .iter()
        .map(|part| {
            let from = match accounts.get(&part.from) {
                Some(account) => Cell::detailed(account.name.as_str(), part.from.as_str()),
                None => Cell::new(part.from.as_str()),
            };
            let mut cells = vec![Cell::new(part.service.as_str()), Cell::new(roles(&part.roles, words)), from];
            if closed {
                cells.push(match part.reason.filter(|_| part.state == State::Failed) {
                    Some(reason) => Cell::detailed(texts.part_state(part.state), words.reason(reason)),
                    None => Cell::new(texts.part_state(part.state)),
                });
            }
            cells
        })
        .collect();
    Table { title: texts.listed, header, rows }
}

/// `roles` in words, in their order: "Administrator contact, Technical contact".
fn roles(roles: &Roles, words: &Words) -> String {
    roles.iter().map(|role| words.role(role)).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use contacts_domain::{BatchStep, Contacts, DisplayName, FailReason, PaymentStatus, Role, ServiceName, Zone, rules};
    use time::{Duration, OffsetDateTime};

    const HOSTILE: &str = "<script>alert(1)</script> & {service} {token} \"q\" 'a'";

    fn id(s: &str) -> AccountId {
        AccountId::parse(s).unwrap()
    }

    fn t0() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    fn account(id: &str, name: &str, language: Language) -> Account {
        Account {
            id: AccountId::parse(id).unwrap(),
            name: DisplayName::parse(name).unwrap(),
            email: EmailAddress::parse(&format!("{}@example.com", &id[..3])).unwrap(),
            language,
            payment_status: PaymentStatus::Ok,
            zone: Zone::Eu,
            email_status: Default::default(),
        }
    }

    /// Ada (requester, admin), Ned (the new contact), Teo and Tina (previous tech holders,
    /// only told).
    fn named() -> HashMap<AccountId, Account> {
        [
            account("aa1-ovh", "Ada", Language::En),
            account("nn1-ovh", "Ned", Language::Fr),
            account("tt1-ovh", "Teo", Language::It),
            account("tt2-ovh", "Tina", Language::En),
        ]
        .into_iter()
        .map(|a| (a.id.clone(), a))
        .collect()
    }

    fn from() -> EmailAddress {
        EmailAddress::parse("no-reply@example.com").unwrap()
    }

    /// Admin Ada moves tech to Ned on each `(service, its tech holder)`.
    fn opened_on(services: &[(String, &str)]) -> Batch {
        let plans = services
            .iter()
            .map(|(name, tech)| {
                let contacts = Contacts { admin: id("aa1-ovh"), tech: id(tech), billing: id("bb1-ovh") };
                (ServiceName::parse(name).unwrap(), rules::plan(&contacts, &id("aa1-ovh"), &[(Role::Tech, id("nn1-ovh"))]).unwrap().remove(0))
            })
            .collect();
        let tech = Roles::new(vec![Role::Tech]).unwrap();
        Batch::open(plans, id("aa1-ovh"), tech, id("nn1-ovh"), Zone::Eu, t0(), Duration::days(7)).unwrap().0
    }

    /// Teo holds tech on a.com and b.com, Tina on c.com.
    fn opened() -> Batch {
        opened_on(&[("a.com".to_owned(), "tt1-ovh"), ("b.com".to_owned(), "tt1-ovh"), ("c.com".to_owned(), "tt2-ovh")])
    }

    /// `batch` accepted by both parties, then each part settled with `outcomes`, in order.
    fn settled(mut batch: Batch, outcomes: &[(State, Option<FailReason>)]) -> Batch {
        for party in ["aa1-ovh", "nn1-ovh"] {
            batch.step(BatchStep::Accept { party: id(party) }, t0()).unwrap();
        }
        let outcomes = batch.parts.iter().zip(outcomes).map(|(part, (state, reason))| (part.request, *state, *reason)).collect();
        batch.step(BatchStep::Settle { outcomes }, t0() + Duration::hours(1)).unwrap();
        batch
    }

    /// a.com and c.com done, b.com failed: the service's contacts changed meanwhile.
    fn partly_done() -> Batch {
        settled(opened(), &[(State::Done, None), (State::Failed, Some(FailReason::HoldersChanged)), (State::Done, None)])
    }

    fn token_and_link(batch: &Batch) -> (Token, String) {
        let token = Token::generate();
        let link = format!("https://x.example/confirm/batch/{}#token={}", batch.id, token.expose());
        (token, link)
    }

    /// Every kind of batch mail for `recipient`, the closing one of `closed`, with `each` given
    /// its kind's name, the mail and the code and link if it has them.
    fn every_batch_mail(
        open: &Batch,
        closed: &Batch,
        recipient: &Account,
        accounts: &HashMap<AccountId, Account>,
        mut each: impl FnMut(&str, Mail, Option<(&Token, &str)>),
    ) {
        let (token, link) = token_and_link(open);
        let confirm = BatchMailKind::Confirm { link: &link, token: &token };
        each("confirm", compose_batch(confirm, open, recipient, accounts, &from()), Some((&token, &link)));
        let reminder = BatchMailKind::Reminder { link: &link, token: &token };
        each("reminder", compose_batch(reminder, open, recipient, accounts, &from()), Some((&token, &link)));
        each("informed", compose_batch(BatchMailKind::Informed, open, recipient, accounts, &from()), None);
        each("closed", compose_batch(BatchMailKind::Closed, closed, recipient, accounts, &from()), None);
    }

    fn languages() -> [Language; 3] {
        [Language::En, Language::It, Language::Fr]
    }

    /// `text` as askama's HTML escaper writes it.
    fn escaped(text: &str) -> String {
        text.replace('&', "&#38;").replace('<', "&#60;").replace('>', "&#62;").replace('"', "&#34;").replace('\'', "&#39;")
    }

    /// The text part's line of `service`'s row.
    fn line_of<'m>(text: &'m str, service: &str) -> &'m str {
        text.lines().find(|line| line.trim_start().starts_with(&format!("{service} | "))).unwrap_or_else(|| panic!("no line of {service}: {text}"))
    }

    /// The HTML part's row of `service`.
    fn html_row_of<'m>(html: &'m str, service: &str) -> &'m str {
        let cell = html.find(&format!(">{service}</td>")).unwrap_or_else(|| panic!("no row of {service}: {html}"));
        let start = html[..cell].rfind("<tr").unwrap();
        &html[start..cell + html[cell..].find("</tr>").unwrap()]
    }

    #[test]
    fn every_kind_in_every_language_lists_every_service_to_a_party_with_the_summary_above() {
        let (open, closed) = (opened(), partly_done());
        let accounts = named();
        for language in languages() {
            let words = Words::of(language);
            let texts = BatchTexts::of(language);
            for party in ["aa1-ovh", "nn1-ovh"] {
                let recipient = Account { language, ..accounts[&id(party)].clone() };
                let mut subjects = Vec::new();
                every_batch_mail(&open, &closed, &recipient, &accounts, |kind, mail, _| {
                    assert_eq!(mail.to, recipient.email);
                    assert!(mail.html.contains(&format!("<html lang=\"{}\">", language.as_str())), "{kind} {language:?}");
                    for part in [&mail.text, &mail.html] {
                        for shown in
                            [words.role, words.role(Role::Tech), words.to, "Ned", "nn1-ovh", words.requested_by, "Ada", "aa1-ovh", texts.services, texts.batch]
                        {
                            assert!(part.contains(shown), "{kind} {language:?} lacks {shown}: {part}");
                        }
                        let batch = if kind == "closed" { &closed } else { &open };
                        assert!(part.contains(&batch.id.to_string()), "{kind} {language:?} names the batch");
                        assert!(!part.contains("T00:") && !part.contains("+00:00"), "{kind} {language:?}: no RFC 3339 for a person");
                    }
                    for (service, holder) in [("a.com", "Teo"), ("b.com", "Teo (tt1-ovh)"), ("c.com", "Tina (tt2-ovh)")] {
                        assert!(line_of(&mail.text, service).contains(holder), "{kind}: {}", mail.text);
                        assert!(html_row_of(&mail.html, service).contains(holder.split(' ').next().unwrap()), "{kind}");
                    }
                    let header = mail.html.find("<th ").expect("a real table with header cells");
                    assert!(mail.html[header..].contains(&format!(">{}</th>", words.from)), "{kind}: {}", mail.html);
                    assert!(mail.text.contains(&format!("\n  {} | {} | {}", words.service, words.role, words.from)), "{kind}: {}", mail.text);
                    assert!(mail.subject.contains(" 3 "), "{kind}: three services: {}", mail.subject);
                    subjects.push(mail.subject);
                });
                subjects.dedup();
                assert_eq!(subjects.len(), 4, "one subject per kind: {subjects:?}");
            }
        }
    }

    #[test]
    fn a_holder_only_told_sees_only_the_services_it_is_told_about() {
        let (open, closed) = (opened(), partly_done());
        let accounts = named();
        for language in languages() {
            for (holder, sees, not) in [("tt1-ovh", ["a.com", "b.com"].as_slice(), ["c.com"].as_slice()), ("tt2-ovh", &["c.com"], &["a.com", "b.com"])] {
                let recipient = Account { language, ..accounts[&id(holder)].clone() };
                every_batch_mail(&open, &closed, &recipient, &accounts, |kind, mail, _| {
                    for service in sees {
                        assert!(mail.text.contains(service) && mail.html.contains(service), "{kind} {holder} lacks {service}");
                    }
                    for service in not {
                        assert!(!mail.text.contains(service) && !mail.html.contains(service), "{kind}: {holder} is not told of {service}: {}", mail.text);
                    }
                    assert!(mail.subject.contains(&format!(" {} ", sees.len())), "{kind}: {}", mail.subject);
                    let count = Row::new(BatchTexts::of(language).services, sees.len().to_string());
                    assert!(mail.text.contains(&format!("{}{} ", count.label, Words::of(language).colon)), "{kind}");
                });
            }
        }
        let tina = &accounts[&id("tt2-ovh")];
        let informed = compose_batch(BatchMailKind::Informed, &open, tina, &accounts, &from());
        assert_eq!(informed.subject, "A change of contacts was requested for 1 service");
        let closed = compose_batch(BatchMailKind::Closed, &closed, tina, &accounts, &from());
        assert_eq!(closed.subject, "Contacts of 1 service: change done", "Tina's only service was done, whatever befell the others");
    }

    #[test]
    fn only_a_confirmation_and_a_reminder_carry_the_code_and_the_link() {
        let (open, closed) = (opened(), partly_done());
        let accounts = named();
        for language in languages() {
            let ned = Account { language, ..accounts[&id("nn1-ovh")].clone() };
            every_batch_mail(&open, &closed, &ned, &accounts, |kind, mail, token| {
                assert!(!format!("{mail:?}").contains("#token="), "{kind}: Debug shows no token");
                let Some((token, link)) = token else {
                    assert!(!mail.html.contains("href") && !mail.text.contains("://"), "{kind}: no link without a code");
                    assert!(!mail.html.contains("#token=") && !mail.text.contains("#token="), "{kind}");
                    return;
                };
                let code = token.expose();
                assert!(link.contains(&format!("/confirm/batch/{}#token=", open.id)));
                let button = mail.html.find(&format!("<a href=\"{link}\"")).unwrap_or_else(|| panic!("{kind}: no button: {}", mail.html));
                let shown = mail.html.find(&format!(">{code}</p>")).unwrap_or_else(|| panic!("{kind}: no code: {}", mail.html));
                let page = link.split_once('#').unwrap().0;
                assert!(button < shown && mail.html.contains(&format!("<a href=\"{page}\"")), "{kind}: the button, the code, the page to paste it");
                assert!(shown < mail.html.find("<th ").unwrap(), "{kind}: the code comes before the list of services");
                assert_eq!(mail.html.matches(code).count(), 2, "{kind}: the code in the button's link and shown once");
                assert!(mail.text.contains(&format!("\n{link}\n")) && mail.text.contains(&format!(" {code}\n")) && mail.text.contains(&format!("\n{page}\n")));
            });
        }
    }

    #[test]
    fn a_closed_mail_shows_each_services_outcome_and_a_failed_ones_reason() {
        let closed = partly_done();
        let accounts = named();
        for language in languages() {
            let (words, texts) = (Words::of(language), BatchTexts::of(language));
            let ada = Account { language, ..accounts[&id("aa1-ovh")].clone() };
            let mail = compose_batch(BatchMailKind::Closed, &closed, &ada, &accounts, &from());
            let failed = format!("{} ({})", texts.part_state(State::Failed), words.reason(FailReason::HoldersChanged));
            assert!(line_of(&mail.text, "b.com").ends_with(&failed), "{}", mail.text);
            assert!(html_row_of(&mail.html, "b.com").contains(&escaped(words.reason(FailReason::HoldersChanged))), "{}", mail.html);
            for service in ["a.com", "c.com"] {
                assert!(line_of(&mail.text, service).ends_with(texts.part_state(State::Done)), "{}", mail.text);
                assert!(!line_of(&mail.text, service).contains(words.reason(FailReason::HoldersChanged)));
            }
            assert!(mail.text.contains(&format!(" | {}\n", texts.outcome)), "the outcome column: {}", mail.text);
            assert!(mail.text.contains(texts.batch_state(BatchState::PartlyDone)) && mail.text.contains(words.closed), "{}", mail.text);
        }
        let ada = &accounts[&id("aa1-ovh")];
        assert_eq!(compose_batch(BatchMailKind::Closed, &closed, ada, &accounts, &from()).subject, "Contacts of 3 services: change partly done");
        let teo = &accounts[&id("tt1-ovh")];
        assert_eq!(compose_batch(BatchMailKind::Closed, &closed, teo, &accounts, &from()).subject, "Contatti di 2 servizi: modifica effettuata in parte");
    }

    #[test]
    fn a_closed_mail_says_how_the_batch_ended_in_its_subject_and_for_every_service() {
        let accounts = named();
        let mut refused = opened();
        refused.step(BatchStep::Refuse { party: id("nn1-ovh") }, t0()).unwrap();
        let mut cancelled = opened();
        cancelled.step(BatchStep::Cancel { by: id("aa1-ovh") }, t0()).unwrap();
        let mut expired = opened();
        assert!(expired.observe(t0() + Duration::days(7)));
        let done = settled(opened(), &[(State::Done, None); 3]);
        let failed = settled(opened(), &[(State::Failed, Some(FailReason::PaymentOverdue)); 3]);
        let cases = [
            (refused, State::Refused, "refused"),
            (cancelled, State::Cancelled, "cancelled"),
            (expired, State::Expired, "expired"),
            (done, State::Done, "done"),
            (failed, State::Failed, "failed"),
        ];
        for (batch, part_state, said) in cases {
            for language in languages() {
                let ned = Account { language, ..accounts[&id("nn1-ovh")].clone() };
                let mail = compose_batch(BatchMailKind::Closed, &batch, &ned, &accounts, &from());
                let texts = BatchTexts::of(language);
                assert_eq!(mail.subject, texts.subject(texts.closed(batch.state), 3));
                for service in ["a.com", "b.com", "c.com"] {
                    assert!(line_of(&mail.text, service).contains(texts.part_state(part_state)), "{said}: {}", mail.text);
                }
                assert!(mail.text.contains(&texts::date(language, batch.closed_at.unwrap())), "{said}: when it closed");
            }
            let ada = compose_batch(BatchMailKind::Closed, &batch, &accounts[&id("aa1-ovh")], &accounts, &from());
            assert_eq!(ada.subject, format!("Contacts of 3 services: change {said}"));
        }
    }

    #[test]
    fn a_resent_or_reminded_code_says_that_the_earlier_codes_are_dead() {
        let mut batch = opened();
        let accounts = named();
        let (token, link) = token_and_link(&batch);
        let ada = &accounts[&id("aa1-ovh")];
        let replaces = ChangeTexts::of(Language::En).replaces;
        let confirm = BatchMailKind::Confirm { link: &link, token: &token };
        assert!(!compose_batch(confirm, &batch, ada, &accounts, &from()).text.contains(replaces));
        let reminder = compose_batch(BatchMailKind::Reminder { link: &link, token: &token }, &batch, ada, &accounts, &from());
        assert!(reminder.text.contains(replaces) && reminder.text.contains(&texts::date(Language::En, batch.expires_at)));
        batch.last_resent_at = Some(t0() + Duration::minutes(5));
        assert!(compose_batch(confirm, &batch, ada, &accounts, &from()).text.contains(replaces));
    }

    #[test]
    fn hostile_names_are_escaped_in_html_and_never_expanded_and_a_service_name_cannot_be_one() {
        assert!(ServiceName::parse(HOSTILE).is_err() && ServiceName::parse("<b>.com").is_err(), "a service name holds no markup");
        let (open, closed) = (opened(), partly_done());
        let mut accounts = named();
        for account in accounts.values_mut() {
            account.name = DisplayName::parse(HOSTILE).unwrap();
        }
        let escaped = "&#60;script&#62;alert(1)&#60;/script&#62; &#38; {service} {token} &#34;q&#34; &#39;a&#39;";
        for language in languages() {
            for who in ["aa1-ovh", "tt1-ovh"] {
                let recipient = Account { language, ..accounts[&id(who)].clone() };
                every_batch_mail(&open, &closed, &recipient, &accounts, |kind, mail, _| {
                    assert!(!mail.html.contains("<script") && !mail.html.contains("alert(1)</"), "{kind}: {}", mail.html);
                    assert!(html_row_of(&mail.html, "a.com").contains(escaped), "{kind}: the previous holder's name in the table: {}", mail.html);
                    assert!(mail.html.matches(escaped).count() >= 3, "{kind}: hello, the summary and the table");
                    assert!(line_of(&mail.text, "a.com").contains(HOSTILE), "{kind}: the text part keeps the name as it is");
                    assert!(!mail.subject.contains("<script"), "{kind}: no name in a subject");
                });
            }
        }
    }

    #[test]
    fn html_parts_are_for_mail_clients_with_a_real_table_of_services() {
        let (open, closed) = (opened(), partly_done());
        let accounts = named();
        let ada = &accounts[&id("aa1-ovh")];
        every_batch_mail(&open, &closed, ada, &accounts, |kind, mail, _| {
            let html = &mail.html;
            assert!(html.starts_with("<!DOCTYPE html>\n<html lang="), "{kind}");
            for absent in ["<script", "<style", "<link", "class=", "<img", "javascript:", "<form", "{{", "{%"] {
                assert!(!html.contains(absent), "{kind}: {absent} in {html}");
            }
            assert_eq!(html.matches("<table").count(), html.matches("</table>").count(), "{kind}");
            assert_eq!(html.matches("<th ").count(), if kind == "closed" { 4 } else { 3 }, "{kind}: a header cell per column");
            for tag in ["<p ", "<td ", "<th ", "<h1 ", "<a "] {
                for at in html.match_indices(tag).map(|(at, _)| at) {
                    let end = at + html[at..].find('>').unwrap();
                    assert!(html[at..end].contains("style=\""), "{kind}: {} has no inline style", &html[at..=end]);
                }
            }
            assert!(mail.text.ends_with('\n') && !mail.text.contains("\n\n\n"), "{kind}: {:?}", mail.text);
        });
    }

    #[test]
    fn a_batch_of_a_thousand_services_renders_every_one() {
        let services: Vec<(String, &str)> = (0..contacts_domain::batch::MAX_SERVICES).map(|n| (format!("service-{n:04}.example.com"), "tt1-ovh")).collect();
        let open = opened_on(&services);
        let closed = settled(open.clone(), &vec![(State::Done, None); services.len()]);
        let accounts = named();
        every_batch_mail(&open, &closed, &accounts[&id("nn1-ovh")], &accounts, |kind, mail, _| {
            assert_eq!(mail.html.matches("<tr valign=\"top\">").count(), 1000, "{kind}");
            assert_eq!(mail.text.lines().filter(|line| line.contains(".example.com | ")).count(), 1000, "{kind}");
            assert!(mail.subject.contains(" 1000 "), "{kind}");
            let size = mail.text.len() + mail.html.len();
            assert!(size < 1_000_000, "{kind}: {size} bytes");
            println!("{kind}: {} bytes of text, {} of HTML", mail.text.len(), mail.html.len());
        });
    }
}
