//! What the API returns (SPEC §5), built from domain values. Token hashes, versions and
//! other storage details never appear here.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use time::OffsetDateTime;

use super::cursor;
use contacts_app::ports::Page;
use contacts_app::{self as app, ServiceView};
use contacts_domain::Decision;
use contacts_domain::FailReason;
use contacts_domain::{
    Account, AccountId, BatchId, ContactChange, Contacts, DisplayName, HistoryEntry, PartyStatus, RequestId, Role, Roles, ServiceName, State,
};

#[derive(Serialize)]
pub(super) struct Profile<'a> {
    account: &'a AccountId,
    name: &'a str,
    email: &'a str,
    language: &'static str,
    payment_status: &'static str,
    zone: &'static str,
    email_status: &'static str,
}

pub(super) fn profile(account: &Account) -> Profile<'_> {
    Profile {
        account: &account.id,
        name: account.name.as_str(),
        email: account.email.as_str(),
        language: account.language.as_str(),
        payment_status: account.payment_status.as_str(),
        zone: account.zone.as_str(),
        email_status: account.email_status.as_str(),
    }
}

/// The profile of SPEC §5 with its pending address (`null` when none).
#[derive(Serialize)]
pub(super) struct MyProfile<'a> {
    #[serde(flatten)]
    profile: Profile<'a>,
    pending_email: Option<&'a str>,
}

pub(super) fn my_profile(me: &app::Profile) -> MyProfile<'_> {
    MyProfile { profile: profile(&me.account), pending_email: me.pending_email.as_ref().map(|e| e.as_str()) }
}

#[derive(Serialize)]
pub(super) struct ServiceBody<'a> {
    service: &'a ServiceName,
    #[serde(rename = "type")]
    kind: &'a str,
    contacts: &'a Contacts,
    /// The display name of each contact's account, by id.
    names: &'a BTreeMap<AccountId, DisplayName>,
    my_roles: &'a [Role],
    #[serde(skip_serializing_if = "Option::is_none")]
    pending: Option<&'a [RequestId]>,
}

#[derive(Serialize)]
pub(super) struct Services<'a> {
    services: Vec<ServiceBody<'a>>,
    next_cursor: Option<String>,
}

pub(super) fn services(page: Page<ServiceView>) -> serde_json::Value {
    let next_cursor = if page.more { page.items.last().map(|v| cursor::service(&v.service.name)) } else { None };
    let body = Services { services: page.items.iter().map(listed_service).collect(), next_cursor };
    serde_json::to_value(body).unwrap_or_default()
}

/// A service as a listing of the caller's services shows it (without its pending requests).
pub(super) fn listed_service(view: &ServiceView) -> ServiceBody<'_> {
    ServiceBody {
        service: &view.service.name,
        kind: view.service.kind.as_str(),
        contacts: &view.service.contacts,
        names: &view.names,
        my_roles: &view.my_roles,
        pending: None,
    }
}

/// A service as its own GET shows it: with its pending requests.
pub(super) fn service(view: &ServiceView) -> ServiceBody<'_> {
    ServiceBody { pending: Some(&view.pending), ..listed_service(view) }
}

#[derive(Serialize)]
struct PartyBody<'a> {
    account: &'a AccountId,
    status: PartyStatus,
}

#[derive(Serialize)]
/// A contact-change request as the API shows it (SPEC §5).
pub(super) struct ContactChangeBody<'a> {
    id: RequestId,
    service: &'a ServiceName,
    roles: &'a Roles,
    from: &'a AccountId,
    to: &'a AccountId,
    requested_by: &'a AccountId,
    state: State,
    parties: Vec<PartyBody<'a>>,
    /// The parties still awaited while the request is pending.
    awaiting: Vec<&'a AccountId>,
    informed: &'a [AccountId],
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    closed_at: Option<OffsetDateTime>,
    reason: Option<FailReason>,
    history: &'a [HistoryEntry],
    /// The batch it is a part of (SPEC §7).
    #[serde(skip_serializing_if = "Option::is_none")]
    batch: Option<BatchId>,
    /// The accounts it names whose address bounces (SPEC §4), on the views that read them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    bouncing: Vec<&'a AccountId>,
}

pub(super) fn contact_change(change: &ContactChange) -> ContactChangeBody<'_> {
    ContactChangeBody {
        id: change.id,
        service: &change.service,
        roles: &change.roles,
        from: &change.from,
        to: &change.to,
        requested_by: &change.requested_by,
        state: change.state,
        parties: change.parties.iter().map(|p| PartyBody { account: &p.account, status: p.status }).collect(),
        awaiting: if change.state == State::Pending { change.awaiting().collect() } else { vec![] },
        informed: &change.informed,
        created_at: change.created_at,
        expires_at: change.expires_at,
        closed_at: change.closed_at,
        reason: change.reason,
        history: &change.history,
        batch: change.batch,
        bouncing: vec![],
    }
}

/// A request as its readers see it: with those it names whose address bounces, among `bouncing`.
pub(super) fn contact_change_read<'a>(change: &'a ContactChange, bouncing: &[AccountId]) -> ContactChangeBody<'a> {
    let mut body = contact_change(change);
    let mut shown: Vec<&'a AccountId> = change_accounts(change).filter(|id| bouncing.contains(id)).collect();
    shown.sort();
    shown.dedup();
    body.bouncing = shown;
    body
}

/// Every account a request names, borrowed from it.
fn change_accounts(change: &ContactChange) -> impl Iterator<Item = &AccountId> {
    change.parties.iter().map(|p| &p.account).chain(change.informed.iter()).chain([&change.from, &change.to, &change.requested_by])
}

#[derive(Serialize)]
pub(super) struct ContactChanges<'a> {
    requests: Vec<ContactChangeBody<'a>>,
    next_cursor: Option<String>,
}

pub(super) fn contact_changes<'a>(changes: &'a [ContactChange], next: Option<RequestId>, bouncing: &[AccountId]) -> ContactChanges<'a> {
    ContactChanges { requests: changes.iter().map(|c| contact_change_read(c, bouncing)).collect(), next_cursor: next.map(cursor::request) }
}

#[derive(Serialize)]
pub(super) struct Created<'a> {
    requests: Vec<ContactChangeBody<'a>>,
}

pub(super) fn created(changes: &[ContactChange]) -> Created<'_> {
    Created { requests: changes.iter().map(contact_change).collect() }
}

/// An account a request names, as the link's page shows it to a holder of a live code: its id
/// and display name (`null` for an account the store no longer has).
#[derive(Serialize)]
pub(super) struct Named<'a> {
    pub(super) account: &'a AccountId,
    pub(super) name: Option<&'a str>,
}

#[derive(Serialize)]
pub(super) struct NamedParty<'a> {
    #[serde(flatten)]
    pub(super) named: Named<'a>,
    pub(super) status: PartyStatus,
}

/// `POST /confirm/{id}/details`: who the request involves (SPEC §4), and nothing of it that
/// the page already shows to whoever holds the id.
#[derive(Serialize)]
pub(super) struct ConfirmationDetails<'a> {
    id: RequestId,
    from: Named<'a>,
    to: Named<'a>,
    requested_by: Named<'a>,
    parties: Vec<NamedParty<'a>>,
}

pub(super) fn confirmation_details<'a>(change: &'a ContactChange, accounts: &'a HashMap<AccountId, Account>) -> ConfirmationDetails<'a> {
    let named = |account: &'a AccountId| Named { account, name: accounts.get(account).map(|a| a.name.as_str()) };
    ConfirmationDetails {
        id: change.id,
        from: named(&change.from),
        to: named(&change.to),
        requested_by: named(&change.requested_by),
        parties: change.parties.iter().map(|p| NamedParty { named: named(&p.account), status: p.status }).collect(),
    }
}
