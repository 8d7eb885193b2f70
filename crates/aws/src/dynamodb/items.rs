//! The table's item types: their keys, and how domain values become items and back.
//! docs/dynamodb.md describes the same layout for people; keep the two in step.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::tx::Cond;
use contacts_app::ports::{Cause, Lock, ProfileRecord, StoreError};
use contacts_domain::Decision;
use contacts_domain::FailReason;
use contacts_domain::{
    Account, AccountId, AwaitedCodes, Batch, BatchId, BatchState, ContactChange, Contacts, DisplayName, EmailAddress, EmailStatus, Event, EventId, EventOrder,
    EventStatus, HistoryEntry, Language, Letter, LetterKind, MailId, MailOrder, MailStatus, Part, Party, PartyStatus, PaymentStatus, PendingEmail, RequestId,
    Role, Roles, Service, ServiceName, ServiceType, State, Subject, TokenHash, Zone,
};

pub type Item = HashMap<String, AttributeValue>;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// The table's TTL attribute: epoch seconds, Number. DynamoDB deletes lazily (up to days
/// late), so code never relies on it: every reader and every condition checks expiry itself.
pub const TTL: &str = "ttl";
/// The sparse index of pending requests by expiry (the sweep's): `due_pk` (a day bucket of
/// `expires_at`, `DUE#2026-12-08`) and `due_sk` (`expires_ms#id`, the milliseconds zero-padded
/// to sort as numbers). Only a pending request item carries them; the save that closes it
/// writes the item without them, which takes it out of the index.
pub const DUE_INDEX: &str = "due";
pub const DUE_PK: &str = "due_pk";
pub const DUE_SK: &str = "due_sk";
/// The sparse index of memberships by type (an account's services of one type, by name):
/// `type_pk` (`TYPE#{account}#{type}`) and `type_sk` (the service's name), on membership items.
pub const TYPE_INDEX: &str = "by_type";
/// The sparse index of accounts by address: `email_key` (the address in lower case) on
/// account items, keys projected only (the account is its `pk`).
pub const EMAIL_INDEX: &str = "by_email";
pub const EMAIL_KEY: &str = "email_key";
/// The pending address's `email_key`, which the verification makes the account's.
pub const PENDING_EMAIL_KEY: &str = "pending_email_key";
pub const TYPE_PK: &str = "type_pk";
pub const TYPE_SK: &str = "type_sk";

/// The `by_type` index's partition of `account`'s services of type `kind`.
pub fn type_pk(account: &AccountId, kind: &ServiceType) -> String {
    format!("TYPE#{account}#{kind}", kind = kind.as_str())
}
/// On a pending request item that had its one reminder.
pub const REMINDED: &str = "reminded";
/// The due index's one partition of the outbox: every mail item not settled carries it, with
/// `due_sk` `posted_ms#request#version#index`; settling removes both. One partition is plenty
/// for mail volumes (a few per change), and the index holds only mails in flight.
pub const OUTBOX_PK: &str = "OUTBOX";
/// The due index's one partition of the events' outbox: every event item not published
/// carries it, with `due_sk` `posted_ms#id`; publishing removes both.
pub const EVENTS_PK: &str = "EVENTS";
/// An event's item: `EVENT#{id}` / `EVENT`, a partition of its own (so that its stream record's
/// keys name it, and reading a request or an account never reads its events).
pub const EVENT_SK: &str = "EVENT";
/// How long a settled mail item stays, for who looks into a mail's fate.
pub const SETTLED_MAIL_KEPT: time::Duration = time::Duration::days(30);

// ---- keys ------------------------------------------------------------------------------------

pub fn account_pk(id: &AccountId) -> String {
    format!("ACCOUNT#{id}")
}
pub fn service_pk(name: &ServiceName) -> String {
    format!("SERVICE#{name}")
}
pub fn request_pk(id: RequestId) -> String {
    format!("REQUEST#{id}")
}
pub fn batch_pk(id: BatchId) -> String {
    format!("BATCH#{id}")
}
/// The partition of a request or a batch: its mails are posted in it.
pub fn subject_pk(of: Subject) -> String {
    match of {
        Subject::Request(id) => request_pk(id),
        Subject::Batch(id) => batch_pk(id),
    }
}
/// One partition per attempter (`Attempter::key`), one item per window.
pub fn attempts_pk(attempter: &str) -> String {
    format!("ATTEMPTS#{attempter}")
}

pub const PROFILE_SK: &str = "PROFILE";
pub const SERVICE_SK: &str = "SERVICE";
pub const REQUEST_SK: &str = "REQUEST";
/// Sort-key prefixes inside a partition.
pub const MEMBERSHIP_PREFIX: &str = "SERVICE#";
pub const COPY_PREFIX: &str = "REQUEST#";
pub const LOCK_PREFIX: &str = "LOCK#";
/// Under an attempter's partition (`ATTEMPTS#{attempter}`): `WINDOW#{start}`, its count in one window.
pub const WINDOW_PREFIX: &str = "WINDOW#";
pub const TOKEN_PREFIX: &str = "TOKEN#";
/// Under a requester's partition: `ASKS#{to}`, its record of unaccepted requests to `to`.
pub const ASKS_PREFIX: &str = "ASKS#";
/// An `ASKS#` item's attribute per request: `at_{request}`.
pub const ASKS_ATTRIBUTE_PREFIX: &str = "at_";
/// A request's posted mails, in its partition: `MAIL#{version:010}#{index:02}`. They sort
/// before `REQUEST` (and its `TOKEN#` items), so reading a request skips them.
pub const MAIL_PREFIX: &str = "MAIL#";

pub fn lock_sk(role: Role) -> String {
    format!("{LOCK_PREFIX}{role}")
}
pub fn token_sk(account: &AccountId) -> String {
    format!("{TOKEN_PREFIX}{account}")
}
pub fn membership_sk(name: &ServiceName) -> String {
    format!("{MEMBERSHIP_PREFIX}{name}")
}
pub fn copy_sk(id: RequestId) -> String {
    format!("{COPY_PREFIX}{id}")
}
/// The day bucket of the due index that `at` falls in.
pub fn due_pk(at: OffsetDateTime) -> String {
    let date = at.date();
    format!("DUE#{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}
/// Every due key of a request expiring at `expires_ms` or before sorts below this.
pub fn due_sk_after(expires_ms: i64) -> String {
    // '$' follows the '#' of `due_sk`.
    format!("{expires_ms:015}$")
}
fn due_sk(change: &ContactChange) -> String {
    format!("{:015}#{}", millis(change.expires_at), change.id)
}
pub fn window_sk(start: OffsetDateTime) -> String {
    format!("{WINDOW_PREFIX}{}", millis(start))
}

pub fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_owned(), AttributeValue::S(pk)), (SK.to_owned(), AttributeValue::S(sk.into()))])
}

pub fn account_key(id: &AccountId) -> Item {
    key(account_pk(id), PROFILE_SK)
}
pub fn service_key(name: &ServiceName) -> Item {
    key(service_pk(name), SERVICE_SK)
}
pub fn lock_key(name: &ServiceName, role: Role) -> Item {
    key(service_pk(name), lock_sk(role))
}
pub fn membership_key(account: &AccountId, name: &ServiceName) -> Item {
    key(account_pk(account), membership_sk(name))
}
pub fn request_key(id: RequestId) -> Item {
    key(request_pk(id), REQUEST_SK)
}
pub fn token_key(id: RequestId, account: &AccountId) -> Item {
    key(request_pk(id), token_sk(account))
}
pub fn mail_key(id: &MailId) -> Item {
    key(subject_pk(id.of), format!("{MAIL_PREFIX}{:010}#{:02}", id.version, id.index))
}
/// The mail a stream record's keys name; `None` for any other item, or keys that do not parse.
pub fn mail_id_of(pk: &str, sk: &str) -> Option<MailId> {
    let of = match (pk.strip_prefix("REQUEST#"), pk.strip_prefix("BATCH#")) {
        (Some(request), _) => Subject::Request(RequestId::parse(request).ok()?),
        (_, Some(batch)) => Subject::Batch(BatchId::parse(batch).ok()?),
        _ => return None,
    };
    let (version, index) = sk.strip_prefix(MAIL_PREFIX)?.split_once('#')?;
    let digits = |text: &str, width: usize| text.len() == width && text.bytes().all(|b| b.is_ascii_digit());
    if !digits(version, 10) || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let id = MailId { of, version: version.parse().ok()?, index: index.parse().ok()? };
    // Two digits at least (a batch's save may post a hundred letters and more, one per holder
    // told): only the one key `mail_key` writes for an id names it.
    (sk == sort_key(&mail_key(&id))).then_some(id)
}
pub fn event_key(id: &EventId) -> Item {
    key(format!("EVENT#{id}"), EVENT_SK)
}
/// The event a stream record's keys name; `None` for any other item, or keys that do not parse.
pub fn event_id_of(pk: &str, sk: &str) -> Option<EventId> {
    if sk != EVENT_SK {
        return None;
    }
    EventId::parse(pk.strip_prefix("EVENT#")?).ok()
}
/// Every outbox key of a mail posted at `posted_ms` or before sorts below this.
pub fn outbox_sk_upto(posted_ms: i64) -> String {
    format!("{posted_ms:015}$")
}
pub fn copy_key(account: &AccountId, id: RequestId) -> Item {
    key(account_pk(account), copy_sk(id))
}
pub fn attempts_key(attempter: &str, window_start: OffsetDateTime) -> Item {
    key(attempts_pk(attempter), window_sk(window_start))
}

/// An attempter's window item's count.
pub fn attempts_from(item: &Item) -> u32 {
    item.get("count").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

// ---- attribute helpers -------------------------------------------------------------------------

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}
pub fn n(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Epoch seconds for the TTL attribute, rounded up: the item never goes before `at`.
pub fn ttl_seconds(at: OffsetDateTime) -> i64 {
    let ms = millis(at);
    ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) != 0)
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    // Names the item type and the attribute, never the item's contents.
    StoreError::Failed(format!("unreadable {what} item: {detail}").into())
}

fn get_s<'a>(item: &'a Item, what: &str, name: &str) -> Result<&'a str, StoreError> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str).ok_or_else(|| corrupt(what, format_args!("no string {name}")))
}

fn get_n<T: std::str::FromStr>(item: &Item, what: &str, name: &str) -> Result<T, StoreError> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|raw| raw.parse().ok()).ok_or_else(|| corrupt(what, format_args!("no number {name}")))
}

fn parse<T, E: std::fmt::Display>(what: &str, name: &str, parsed: Result<T, E>) -> Result<T, StoreError> {
    parsed.map_err(|e| corrupt(what, format_args!("{name}: {e}")))
}

pub fn partition_key(item: &Item) -> String {
    item.get(PK).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
}

pub fn sort_key(item: &Item) -> &str {
    item.get(SK).and_then(|v| v.as_s().ok()).map(String::as_str).unwrap_or_default()
}

// ---- accounts ------------------------------------------------------------------------------------

pub fn account_item(account: &Account) -> Item {
    let mut item = account_key(&account.id);
    item.insert("type".into(), s("account"));
    item.insert("id".into(), s(account.id.as_str()));
    item.insert("name".into(), s(account.name.as_str()));
    item.insert("email".into(), s(account.email.as_str()));
    item.insert(EMAIL_KEY.into(), s(account.email.lookup_key()));
    item.insert("language".into(), s(account.language.as_str()));
    item.insert("payment_status".into(), s(account.payment_status.as_str()));
    item.insert(ZONE.into(), s(account.zone.as_str()));
    if account.email_status == EmailStatus::Bouncing {
        item.insert(EMAIL_STATUS.into(), s(EmailStatus::Bouncing.as_str()));
    }
    item
}

/// The account a `by_email` index entry names (its `pk`).
pub fn account_of_index_entry(item: &Item) -> Result<AccountId, StoreError> {
    let pk = get_s(item, "email index entry", PK)?;
    let id = pk.strip_prefix("ACCOUNT#").ok_or_else(|| corrupt("email index entry", "not an account"))?;
    parse("email index entry", PK, AccountId::parse(id))
}

/// The account item's zone (String); absent (an item written before zones) is the default.
pub const ZONE: &str = "zone";

/// The account item's mark of an erasure under way (String: the erasure's own mark, its event's
/// id): from the moment it is set, the creates and upserts that would name the account fail
/// their condition on it (`DynamoStore::erase_account`, docs/dynamodb.md, "Erasure").
pub const ERASING: &str = "erasing";

/// The account item's mark of a bouncing address (String `bouncing`); absent is `ok`. A
/// verification removes it, and a provider's upsert (a whole-item `PutItem`) drops it.
pub const EMAIL_STATUS: &str = "email_status";

pub fn account_from(item: &Item) -> Result<Account, StoreError> {
    const W: &str = "account";
    let language = match get_s(item, W, "language")? {
        "it" => Language::It,
        "en" => Language::En,
        "fr" => Language::Fr,
        other => return Err(corrupt(W, format_args!("language {other:?}"))),
    };
    let payment_status = match get_s(item, W, "payment_status")? {
        "ok" => PaymentStatus::Ok,
        "overdue" => PaymentStatus::Overdue,
        other => return Err(corrupt(W, format_args!("payment_status {other:?}"))),
    };
    let email_status = match item.get(EMAIL_STATUS).map(|v| v.as_s().map(String::as_str)) {
        None => EmailStatus::Ok,
        Some(Ok("bouncing")) => EmailStatus::Bouncing,
        Some(other) => return Err(corrupt(W, format_args!("email_status {other:?}"))),
    };
    let zone = match item.get(ZONE) {
        None => Zone::default(),
        Some(value) => value.as_s().ok().and_then(|z| Zone::parse(z)).ok_or_else(|| corrupt(W, format_args!("zone {value:?}")))?,
    };
    Ok(Account {
        id: parse(W, "id", AccountId::parse(get_s(item, W, "id")?))?,
        name: parse(W, "name", DisplayName::parse(get_s(item, W, "name")?))?,
        email: parse(W, "email", EmailAddress::parse(get_s(item, W, "email")?))?,
        language,
        payment_status,
        zone,
        email_status,
    })
}

// ---- services and memberships ------------------------------------------------------------------

/// A service item's and a membership's attribute for the service's type (`type` names the
/// item's own kind); absent (written before types) is `other`.
pub const SERVICE_TYPE: &str = "service_type";

fn put_contacts(item: &mut Item, service: &Service) {
    item.insert("name".into(), s(service.name.as_str()));
    item.insert(SERVICE_TYPE.into(), s(service.kind.as_str()));
    for role in Role::ALL {
        item.insert(role.as_str().into(), s(service.contacts.holder(role).as_str()));
    }
}

pub fn service_item(service: &Service) -> Item {
    let mut item = service_key(&service.name);
    item.insert("type".into(), s("service"));
    put_contacts(&mut item, service);
    item
}

/// "`account` holds a role of this service", with a copy of the service's contacts so that
/// `services_of` is one Query.
pub fn membership_item(account: &AccountId, service: &Service) -> Item {
    let mut item = membership_key(account, &service.name);
    item.insert("type".into(), s("membership"));
    put_contacts(&mut item, service);
    item.insert(TYPE_PK.into(), s(type_pk(account, &service.kind)));
    item.insert(TYPE_SK.into(), s(service.name.as_str()));
    item
}

/// An unconditional write of one item, for a transaction or a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Put(Item),
    /// The item's key.
    Delete(Item),
}

/// The membership items that follow a service from `old` (`None`: it did not exist) to `new`:
/// a put for each holder, with the new contacts; a delete for each former holder that holds no
/// role any more. Whoever writes a service writes these with it (`put_service`, a change taking
/// effect, a bulk load), so that "my services" stays one Query that agrees with the services.
pub fn membership_writes(old: Option<&Service>, new: &Service) -> Vec<Write> {
    let holders = new.contacts.holders();
    let mut writes: Vec<Write> = holders.iter().map(|holder| Write::Put(membership_item(holder, new))).collect();
    for former in old.map(|old| old.contacts.holders()).unwrap_or_default() {
        if !holders.contains(&former) {
            writes.push(Write::Delete(membership_key(&former, &new.name)));
        }
    }
    writes
}

/// A service item, or a membership item (which holds the same attributes).
pub fn service_from(item: &Item) -> Result<Service, StoreError> {
    const W: &str = "service";
    let holder = |role: Role| -> Result<AccountId, StoreError> { parse(W, role.as_str(), AccountId::parse(get_s(item, W, role.as_str())?)) };
    let kind = match item.get(SERVICE_TYPE) {
        None => ServiceType::default(),
        Some(value) => parse(W, SERVICE_TYPE, value.as_s().map_err(|_| "not a string").and_then(|v| ServiceType::parse(v).map_err(|_| "not a service type")))?,
    };
    Ok(Service {
        name: parse(W, "name", ServiceName::parse(get_s(item, W, "name")?))?,
        kind,
        contacts: Contacts { admin: holder(Role::Admin)?, tech: holder(Role::Tech)?, billing: holder(Role::Billing)? },
    })
}

// ---- locks ---------------------------------------------------------------------------------------

pub fn lock_item(service: &ServiceName, lock: &Lock) -> Item {
    let mut item = lock_key(service, lock.role);
    item.insert("type".into(), s("lock"));
    item.insert("role".into(), s(lock.role.as_str()));
    item.insert("request".into(), s(lock.request.to_string()));
    item.insert("requested_by".into(), s(lock.requested_by.as_str()));
    item.insert("to".into(), s(lock.to.as_str()));
    // Milliseconds, for exact conditions (`expires_ms <= :now_ms`); `ttl` is only for cleanup.
    item.insert("expires_ms".into(), n(millis(lock.expires_at)));
    item.insert(TTL.into(), n(ttl_seconds(lock.expires_at)));
    item
}

pub fn lock_from(item: &Item) -> Result<Lock, StoreError> {
    const W: &str = "lock";
    let expires_ms: i64 = get_n(item, W, "expires_ms")?;
    Ok(Lock {
        role: parse(W, "role", Role::parse(get_s(item, W, "role")?))?,
        request: parse(W, "request", RequestId::parse(get_s(item, W, "request")?))?,
        requested_by: parse(W, "requested_by", AccountId::parse(get_s(item, W, "requested_by")?))?,
        to: parse(W, "to", AccountId::parse(get_s(item, W, "to")?))?,
        expires_at: parse(W, "expires_ms", OffsetDateTime::from_unix_timestamp_nanos(i128::from(expires_ms) * 1_000_000))?,
    })
}

// ---- requests ------------------------------------------------------------------------------------

/// A request as stored: everything but the parties' token hashes, which live in their own
/// items (with a TTL). `version` is also a top-level Number, for conditions.
#[derive(Serialize, Deserialize)]
// Not `deny_unknown_fields`: while a deploy rolls out, the functions of the previous version
// read documents the new one wrote, and must take what they do not know as absent. What a
// document must hold is its fields' own types' business.
struct RequestDoc {
    id: RequestId,
    service: ServiceName,
    roles: Roles,
    from: AccountId,
    to: AccountId,
    requested_by: AccountId,
    /// Absent from requests made before zones: those are all in the default zone.
    #[serde(default)]
    zone: Zone,
    state: State,
    parties: Vec<PartyDoc>,
    informed: Vec<AccountId>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    closed_at: Option<OffsetDateTime>,
    reason: Option<FailReason>,
    history: Vec<HistoryEntry>,
    #[serde(with = "time::serde::rfc3339::option")]
    last_resent_at: Option<OffsetDateTime>,
    /// The batch it is a part of (SPEC §7); absent for a request of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch: Option<BatchId>,
    version: u64,
}

#[derive(Serialize, Deserialize)]
struct PartyDoc {
    account: AccountId,
    status: PartyStatus,
}

/// The request as JSON; for a listing's copy (`for_copy`), without the events of its mails:
/// recording a mail rewrites the request item alone, so the copies are written only by the
/// steps of the request itself (and are smaller for it).
fn request_doc(change: &ContactChange, for_copy: bool) -> Result<String, StoreError> {
    let doc = RequestDoc {
        id: change.id,
        service: change.service.clone(),
        roles: change.roles.clone(),
        from: change.from.clone(),
        to: change.to.clone(),
        requested_by: change.requested_by.clone(),
        zone: change.zone,
        state: change.state,
        parties: change.parties.iter().map(|p| PartyDoc { account: p.account.clone(), status: p.status }).collect(),
        informed: change.informed.clone(),
        created_at: change.created_at,
        expires_at: change.expires_at,
        closed_at: change.closed_at,
        reason: change.reason,
        history: change.history.iter().filter(|h| !(for_copy && h.event.is_mail())).cloned().collect(),
        last_resent_at: change.last_resent_at,
        batch: change.batch,
        version: change.version,
    };
    serde_json::to_string(&doc).map_err(|e| StoreError::Failed(Cause::of(format!("cannot write a request: {e}"), e)))
}

fn put_request_attributes(item: &mut Item, kind: &str, change: &ContactChange, doc: &str) {
    item.insert("type".into(), s(kind));
    item.insert("service".into(), s(change.service.as_str()));
    item.insert("state".into(), s(change.state.as_str()));
    item.insert("version".into(), n(change.version));
    // For the expiry condition of every save (`DynamoStore::save`).
    item.insert("expires_ms".into(), n(millis(change.expires_at)));
    item.insert("doc".into(), s(doc));
}

/// The request item's snapshot of its service when asked (`ContactChange::service_when_asked`),
/// as JSON: what its completion writes over, unread.
pub const SERVICE_WHEN_ASKED: &str = "service_when_asked";

/// A part's request item's attribute naming its batch (String): absent on a request of its own.
pub const BATCH: &str = "batch";

/// The request item and, for each involved account, its copy: `(request, copies)`. A part of
/// a batch has no copies and stays out of the due index.
pub fn request_items(change: &ContactChange) -> Result<(Item, Vec<Item>), StoreError> {
    let doc = request_doc(change, false)?;
    let copy_doc = request_doc(change, true)?;
    let mut request = request_key(change.id);
    put_request_attributes(&mut request, "request", change, &doc);
    if let Some(service) = &change.service_when_asked {
        request.insert(
            SERVICE_WHEN_ASKED.into(),
            s(serde_json::to_string(service).map_err(|e| StoreError::Failed(Cause::of(format!("a service as JSON: {e}"), e)))?),
        );
    }
    if let Some(batch) = change.batch {
        // A part of a batch: its batch is listed and swept, not the part (SPEC §7), so it
        // has neither copies nor the due index's keys; `batch` exempts it from the expiry
        // condition of saves (`DynamoStore::request_condition`).
        request.insert(BATCH.into(), s(batch.to_string()));
        return Ok((request, Vec::new()));
    }
    if change.state == State::Pending {
        request.insert(DUE_PK.into(), s(due_pk(change.expires_at)));
        request.insert(DUE_SK.into(), s(due_sk(change)));
        if change.reminded() {
            request.insert(REMINDED.into(), AttributeValue::Bool(true));
        }
    }
    let copies = change
        .involved()
        .iter()
        .map(|account| {
            let mut copy = copy_key(account, change.id);
            put_request_attributes(&mut copy, "request_copy", change, &copy_doc);
            copy
        })
        .collect();
    Ok((request, copies))
}

/// A request item or a copy; the parties come without tokens.
pub fn request_from(item: &Item) -> Result<ContactChange, StoreError> {
    const W: &str = "request";
    let doc: RequestDoc = parse(W, "doc", serde_json::from_str(get_s(item, W, "doc")?))?;
    let version: u64 = get_n(item, W, "version")?;
    if version != doc.version {
        return Err(corrupt(W, "version differs from the document's"));
    }
    Ok(ContactChange {
        id: doc.id,
        service: doc.service,
        roles: doc.roles,
        from: doc.from,
        to: doc.to,
        requested_by: doc.requested_by,
        zone: doc.zone,
        state: doc.state,
        parties: doc.parties.into_iter().map(|p| Party { account: p.account, status: p.status, token: None }).collect(),
        informed: doc.informed,
        created_at: doc.created_at,
        expires_at: doc.expires_at,
        closed_at: doc.closed_at,
        reason: doc.reason,
        history: doc.history,
        last_resent_at: doc.last_resent_at,
        // On the request item only (copies are for listings, which complete nothing).
        service_when_asked: match item.get(SERVICE_WHEN_ASKED) {
            None => None,
            Some(value) => {
                Some(parse(W, SERVICE_WHEN_ASKED, value.as_s().map_err(|_| "not a string").and_then(|v| serde_json::from_str(v).map_err(|_| "not a service")))?)
            }
        },
        batch: doc.batch,
        version,
        outbox: Vec::new(),
        events: Vec::new(),
    })
}

// ---- batches -------------------------------------------------------------------------------------

/// A batch's item in its partition (`BATCH#{id}`), whose other items are its parties' token
/// items (`TOKEN#{account}`) and its posted mails (`MAIL#...`).
pub const BATCH_SK: &str = "BATCH";
/// Under an account's partition: `BATCH#{id}`, the listing's entry of a batch it is in.
pub const BATCH_COPY_PREFIX: &str = "BATCH#";
/// On a batch item while its create is writing its parts (BOOL true): readers answer no batch.
pub const OPENING: &str = "opening";
/// The small item beside an opening batch's (`BATCH#{id}` / `OPENING`), which each transaction
/// of its create checks (a check is billed at the checked item's size: the batch item's is up
/// to 400 KB), and which its opening deletes.
pub const OPENING_SK: &str = "OPENING";
/// On the opening mark while the sweep deletes the unopened batch's leftovers (BOOL true): a
/// create resumed meanwhile writes nothing more of it.
pub const DISCARDING: &str = "discarding";
/// The due index's partitions of batch items: the opening ones (by creation time, for
/// `discard_unopened`), the pending ones every party of which accepted (by expiry, all of them
/// read first by `due_batches`), and the other pending ones (by expiry, as requests' buckets).
pub const BATCHES_OPENING_PK: &str = "BATCHES#opening";
pub const BATCHES_SETTLING_PK: &str = "BATCHES#settling";
pub const BATCHES_DUE_PK: &str = "BATCHES#due";

pub fn batch_key(id: BatchId) -> Item {
    key(batch_pk(id), BATCH_SK)
}
pub fn opening_key(id: BatchId) -> Item {
    key(batch_pk(id), OPENING_SK)
}
/// The opening mark of batch `id` (`OPENING_SK`).
pub fn opening_item(id: BatchId) -> Item {
    let mut item = opening_key(id);
    item.insert("type".into(), s("batch_opening"));
    item
}
pub fn batch_token_key(id: BatchId, account: &AccountId) -> Item {
    key(batch_pk(id), token_sk(account))
}
pub fn batch_copy_sk(id: BatchId) -> String {
    format!("{BATCH_COPY_PREFIX}{id}")
}
pub fn batch_copy_key(account: &AccountId, id: BatchId) -> Item {
    key(account_pk(account), batch_copy_sk(id))
}

/// "`account` is in batch `id`": keys only, never updated (the batch's state is its item's).
pub fn batch_copy_item(account: &AccountId, id: BatchId) -> Item {
    let mut item = batch_copy_key(account, id);
    item.insert("type".into(), s("batch_copy"));
    item
}

/// The batch a listing's entry names.
pub fn batch_of_copy(item: &Item) -> Result<BatchId, StoreError> {
    let id = sort_key(item).strip_prefix(BATCH_COPY_PREFIX).ok_or_else(|| corrupt("batch copy", "not a batch's entry"))?;
    parse("batch copy", SK, BatchId::parse(id))
}

/// A batch's token item: `party`'s code of round `round`, alive until the batch expires.
pub fn batch_token_item(batch: &Batch, account: &AccountId, round: u32, hash: &TokenHash) -> Item {
    token_item_at(batch_token_key(batch.id, account), account, round, hash, batch.expires_at)
}

/// A batch as stored: everything but its parties' token hashes (token items of their own),
/// its parts a list (about 100-150 bytes each, 370 at worst with 253-character names: a
/// thousand parts fit an item's 400 KB). `version` is also a top-level Number, for conditions.
#[derive(Serialize, Deserialize)]
// Not `deny_unknown_fields`, as `RequestDoc`.
struct BatchDoc {
    id: BatchId,
    roles: Roles,
    to: AccountId,
    requested_by: AccountId,
    #[serde(default)]
    zone: Zone,
    state: BatchState,
    parties: Vec<PartyDoc>,
    parts: Vec<Part>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    closed_at: Option<OffsetDateTime>,
    history: Vec<HistoryEntry>,
    #[serde(with = "time::serde::rfc3339::option")]
    last_resent_at: Option<OffsetDateTime>,
    /// `Batch::parts_to_end`: absent once its parts were ended (or never owed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    parts_to_end: bool,
    version: u64,
}

/// Where a batch item stands, for its keys in the due index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchPhase {
    /// Its create is writing its parts: `opening`, in the index's opening partition.
    Opening,
    /// Created: in the settling or the due partition while pending, out of the index once closed.
    Open,
}

/// The batch's item in `phase`.
pub fn batch_item(batch: &Batch, phase: BatchPhase) -> Result<Item, StoreError> {
    let doc = BatchDoc {
        id: batch.id,
        roles: batch.roles.clone(),
        to: batch.to.clone(),
        requested_by: batch.requested_by.clone(),
        zone: batch.zone,
        state: batch.state,
        parties: batch.parties.iter().map(|p| PartyDoc { account: p.account.clone(), status: p.status }).collect(),
        parts: batch.parts.clone(),
        created_at: batch.created_at,
        expires_at: batch.expires_at,
        closed_at: batch.closed_at,
        history: batch.history.clone(),
        last_resent_at: batch.last_resent_at,
        parts_to_end: batch.parts_to_end,
        version: batch.version,
    };
    let doc = serde_json::to_string(&doc).map_err(|e| StoreError::Failed(Cause::of(format!("cannot write a batch: {e}"), e)))?;
    let mut item = batch_key(batch.id);
    item.insert("type".into(), s("batch"));
    item.insert("state".into(), s(batch.state.as_str()));
    item.insert("version".into(), n(batch.version));
    item.insert("expires_ms".into(), n(millis(batch.expires_at)));
    item.insert("doc".into(), s(doc));
    let by_expiry = format!("{:015}#{}", millis(batch.expires_at), batch.id);
    let due = match phase {
        BatchPhase::Opening => {
            item.insert(OPENING.into(), AttributeValue::Bool(true));
            Some((BATCHES_OPENING_PK, format!("{:015}#{}", millis(batch.created_at), batch.id)))
        }
        // The sweep reads this partition whole: the batches whose parts wait on it.
        BatchPhase::Open if batch.settling() || batch.parts_to_end => Some((BATCHES_SETTLING_PK, by_expiry)),
        BatchPhase::Open if batch.state == BatchState::Pending => Some((BATCHES_DUE_PK, by_expiry)),
        BatchPhase::Open => None,
    };
    if let Some((due_pk, due_sk)) = due {
        item.insert(DUE_PK.into(), s(due_pk));
        item.insert(DUE_SK.into(), s(due_sk));
    }
    if batch.reminded() {
        item.insert(REMINDED.into(), AttributeValue::Bool(true));
    }
    Ok(item)
}

/// Whether a batch item is still being created (or discarded): no reader sees it.
pub fn is_opening(item: &Item) -> bool {
    item.contains_key(OPENING)
}

/// A batch item; its parties come without tokens.
pub fn batch_from(item: &Item) -> Result<Batch, StoreError> {
    const W: &str = "batch";
    let doc: BatchDoc = parse(W, "doc", serde_json::from_str(get_s(item, W, "doc")?))?;
    let version: u64 = get_n(item, W, "version")?;
    if version != doc.version {
        return Err(corrupt(W, "version differs from the document's"));
    }
    Ok(Batch {
        id: doc.id,
        roles: doc.roles,
        to: doc.to,
        requested_by: doc.requested_by,
        zone: doc.zone,
        state: doc.state,
        parties: doc.parties.into_iter().map(|p| Party { account: p.account, status: p.status, token: None }).collect(),
        parts: doc.parts,
        created_at: doc.created_at,
        expires_at: doc.expires_at,
        closed_at: doc.closed_at,
        history: doc.history,
        last_resent_at: doc.last_resent_at,
        parts_to_end: doc.parts_to_end,
        version,
        outbox: Vec::new(),
        events: Vec::new(),
    })
}

// ---- limits --------------------------------------------------------------------------------------

/// The record of when each of one requester's requests to one new contact counts as
/// unaccepted (`ContactChange::unaccepted_from`): one item per (requester, new contact),
/// `ACCOUNT#{requester}` / `ASKS#{to}`, with one Number attribute `at_{request}` (epoch ms) per
/// request, so that `create` reads it with the service and the accounts in one `BatchGetItem`.
/// Every save that may change a request's moment sets or removes its attribute (an update,
/// which makes the item if it is gone); its TTL, set by each `create` past the last moment it
/// can hold, takes the item once its requester has asked nothing of that contact for that long.
pub fn asks_key(requester: &AccountId, to: &AccountId) -> Item {
    key(account_pk(requester), format!("{ASKS_PREFIX}{to}"))
}

/// The update of the moments of `changes` (one requester's, to one new contact) on their
/// record: a `SET` or `REMOVE` of each `at_{id}`; `create` passes `renew` to push the item's
/// TTL past what these requests can hold.
pub fn asks_update(changes: &[&ContactChange], renew: bool) -> Cond {
    let last_expiry = changes.iter().map(|c| c.expires_at).max().unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let entries: Vec<(String, Option<OffsetDateTime>)> = changes.iter().map(|c| (c.id.to_string(), c.unaccepted_from())).collect();
    asks_update_of(&entries, last_expiry, renew)
}

/// [`asks_update`] of a batch: its one `at_{batch}` (SPEC §7: a batch counts once).
pub fn batch_asks_update(batch: &Batch, renew: bool) -> Cond {
    asks_update_of(&[(batch.id.to_string(), batch.unaccepted_from())], batch.expires_at, renew)
}

/// The update of the `at_{id}` of each of `entries` (an id and its moment, `None`: removed),
/// with a TTL a day past `last_expiry` (`renew`: pushed there; otherwise only if it has none).
fn asks_update_of(entries: &[(String, Option<OffsetDateTime>)], last_expiry: OffsetDateTime, renew: bool) -> Cond {
    let ttl_clause = if renew { "#ttl = :ttl" } else { "#ttl = if_not_exists(#ttl, :ttl)" };
    let (mut sets, mut removes) = (vec!["#type = :type".to_owned(), ttl_clause.to_owned()], Vec::new());
    let mut update = Cond::default();
    for (i, (id, unaccepted_from)) in entries.iter().enumerate() {
        update = update.name(&format!("#at{i}"), &format!("{ASKS_ATTRIBUTE_PREFIX}{id}"));
        match unaccepted_from {
            Some(at) => {
                sets.push(format!("#at{i} = :at{i}"));
                update = update.value(&format!(":at{i}"), n(millis(*at)));
            }
            None => removes.push(format!("#at{i}")),
        }
    }
    let mut expression = format!("SET {}", sets.join(", "));
    if !removes.is_empty() {
        expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    update
        .expression(expression)
        .name("#type", "type")
        .name("#ttl", TTL)
        .value(":type", s("asks"))
        .value(":ttl", n(ttl_seconds(last_expiry + contacts_domain::limits::UNACCEPTED_WINDOW)))
}

/// The moments an `ASKS#` item records.
pub fn asks_from(item: &Item) -> Result<Vec<OffsetDateTime>, StoreError> {
    const W: &str = "asks";
    item.iter()
        .filter(|(name, _)| name.starts_with(ASKS_ATTRIBUTE_PREFIX))
        .map(|(name, value)| {
            let ms: i64 = parse(W, name, value.as_n().map_err(|_| "not a number").and_then(|v| v.parse::<i64>().map_err(|_| "not an integer")))?;
            from_millis(W, name, ms)
        })
        .collect()
}

// ---- the outbox ------------------------------------------------------------------------------------

/// A posted mail, pending, in the outbox (the due index's `OUTBOX` partition).
pub fn mail_item(id: MailId, letter: &Letter, posted_at: OffsetDateTime) -> Item {
    let mut item = mail_key(&id);
    item.insert("type".into(), s("mail"));
    item.insert("to".into(), s(letter.to.as_str()));
    item.insert("letter".into(), s(letter.kind.as_str()));
    if let Some(round) = letter.kind.round() {
        item.insert("round".into(), n(round));
    }
    item.insert("posted_ms".into(), n(millis(posted_at)));
    item.insert("status".into(), s(MailStatus::Pending.as_str()));
    item.insert("attempts".into(), n(0));
    item.insert(DUE_PK.into(), s(OUTBOX_PK));
    item.insert(DUE_SK.into(), s(format!("{:015}#{}#{:010}#{:02}", millis(posted_at), id.of, id.version, id.index)));
    item
}

pub fn mail_order_from(item: &Item) -> Result<MailOrder, StoreError> {
    const W: &str = "mail";
    let id = mail_id_of(get_s(item, W, PK)?, sort_key(item)).ok_or_else(|| corrupt(W, "its key names no mail"))?;
    let to = parse(W, "to", AccountId::parse(get_s(item, W, "to")?))?;
    let round = item.contains_key("round").then(|| get_n(item, W, "round")).transpose()?;
    let kind = LetterKind::parse(get_s(item, W, "letter")?, round).ok_or_else(|| corrupt(W, "unknown letter"))?;
    let posted_at = from_millis(W, "posted_ms", get_n(item, W, "posted_ms")?)?;
    Ok(MailOrder { id, letter: Letter { to, kind }, posted_at, attempts: get_n(item, W, "attempts")? })
}

/// A committed event, unpublished, in the events' outbox (the due index's `EVENTS` partition):
/// its `Detail` as the bus gets it, ids only, so the item holds no token, address or name.
pub fn event_item(event: &Event, posted_at: OffsetDateTime) -> Item {
    let mut item = event_key(&event.id);
    item.insert("type".into(), s("event"));
    item.insert("detail_type".into(), s(event.fact.detail_type()));
    item.insert("detail".into(), s(event.detail()));
    item.insert("posted_ms".into(), n(millis(posted_at)));
    item.insert("status".into(), s(EventStatus::Pending.as_str()));
    item.insert("attempts".into(), n(0));
    item.insert(DUE_PK.into(), s(EVENTS_PK));
    item.insert(DUE_SK.into(), s(format!("{:015}#{}", millis(posted_at), event.id)));
    item
}

pub fn event_order_from(item: &Item) -> Result<EventOrder, StoreError> {
    const W: &str = "event";
    let event = Event::from_detail(get_s(item, W, "detail")?).ok_or_else(|| corrupt(W, "its detail is no event of this schema"))?;
    let posted_at = from_millis(W, "posted_ms", get_n(item, W, "posted_ms")?)?;
    Ok(EventOrder { event, posted_at, attempts: get_n(item, W, "attempts")? })
}

// ---- tokens --------------------------------------------------------------------------------------

/// One party's token hash of round `round`, alive until the request expires (or a later
/// round retires it).
pub fn token_item(change: &ContactChange, account: &AccountId, round: u32, hash: &TokenHash) -> Item {
    token_item_at(token_key(change.id, account), account, round, hash, change.expires_at)
}

/// A token item at `key` (a request's or a batch's), alive until `expires_at`.
fn token_item_at(mut item: Item, account: &AccountId, round: u32, hash: &TokenHash, expires_at: OffsetDateTime) -> Item {
    item.insert("type".into(), s("token"));
    item.insert("account".into(), s(account.as_str()));
    item.insert("round".into(), n(round));
    item.insert("hash".into(), s(hash.to_hex()));
    item.insert("expires_ms".into(), n(millis(expires_at)));
    item.insert(TTL.into(), n(ttl_seconds(expires_at)));
    item
}

/// The live token among `tokens` of `party` in `round`: one of another round, or past its
/// expiry at `now_ms`, is not; one written before token items carried their round is the
/// current round's (a resend deleted the older ones then).
pub fn live_token(tokens: &[TokenEntry], party: &AccountId, round: u32, now_ms: i64) -> Option<TokenHash> {
    tokens.iter().find(|t| &t.account == party && t.expires_ms > now_ms && t.round.is_none_or(|r| r == round)).map(|t| t.hash)
}

/// A token item as read.
pub struct TokenEntry {
    pub account: AccountId,
    pub hash: TokenHash,
    /// `None`: written before token items carried their round.
    pub round: Option<u32>,
    pub expires_ms: i64,
}

pub fn token_from(item: &Item) -> Result<TokenEntry, StoreError> {
    const W: &str = "token";
    let account = parse(W, "account", AccountId::parse(get_s(item, W, "account")?))?;
    let hash = TokenHash::from_hex(get_s(item, W, "hash")?).ok_or_else(|| corrupt(W, "hash is not 64 hex digits"))?;
    let round = item.contains_key("round").then(|| get_n(item, W, "round")).transpose()?;
    Ok(TokenEntry { account, hash, round, expires_ms: get_n(item, W, "expires_ms")? })
}

// ---- profile email changes -------------------------------------------------------------------

/// The account item's attributes of its holder's address change in progress. `account_item`
/// writes none of them, so a provider's upsert (a whole-item `PutItem`) drops the change.
pub const PENDING_EMAIL: &str = "pending_email";
/// The hashes of its two codes while each is awaited (hex): the one mailed to the new address,
/// and the one mailed to the current address. A code that came back is removed.
pub const PENDING_NEW_CODE: &str = "pending_new_code";
pub const PENDING_CURRENT_CODE: &str = "pending_current_code";
/// The one code's hash of an address change asked before changes took both addresses: such a
/// change is not read back (it would move the mail on the new address's code alone), and every
/// write of the change removes the attribute.
pub const PENDING_HASH_OF_ONE_CODE: &str = "pending_hash";
pub const PENDING_EXPIRES: &str = "pending_expires_ms";
/// The asks that mailed within the abuse bound's window: a List of epoch-millisecond Numbers.
pub const EMAIL_ASKS: &str = "email_asks";
/// The address change's revision (Number), for conditions; absent is 0.
pub const EMAIL_REV: &str = "email_rev";

pub const EMAIL_TOKEN_SK: &str = "EMAILTOKEN";

/// The hashes of the codes an account item's address change awaits (a legacy one-code change's
/// too): each names a verification item `EMAILTOKEN#{hash}`, which holds the pending address.
pub fn pending_code_hashes(item: &Item) -> Vec<TokenHash> {
    [PENDING_NEW_CODE, PENDING_CURRENT_CODE, PENDING_HASH_OF_ONE_CODE]
        .iter()
        .filter_map(|name| item.get(*name)?.as_s().ok())
        .filter_map(|hex| TokenHash::from_hex(hex))
        .collect()
}

/// The verification item of a pending change, found from the token alone: `EMAILTOKEN#{hash}`.
pub fn email_token_key(hash: &TokenHash) -> Item {
    key(format!("EMAILTOKEN#{}", hash.to_hex()), EMAIL_TOKEN_SK)
}

/// "The code with this hash is one of the two of `account`'s change to `pending.email`, until
/// `expires_ms`."
pub fn email_token_item(account: &AccountId, pending: &PendingEmail, hash: &TokenHash) -> Item {
    let mut item = email_token_key(hash);
    item.insert("type".into(), s("email_token"));
    item.insert("account".into(), s(account.as_str()));
    item.insert("email".into(), s(pending.email.as_str()));
    item.insert("expires_ms".into(), n(millis(pending.expires_at)));
    item.insert(TTL.into(), n(ttl_seconds(pending.expires_at)));
    item
}

/// `(account, expires_ms)` of a verification item.
pub fn email_token_from(item: &Item) -> Result<(AccountId, i64), StoreError> {
    const W: &str = "email_token";
    Ok((parse(W, "account", AccountId::parse(get_s(item, W, "account")?))?, get_n(item, W, "expires_ms")?))
}

fn from_millis(what: &str, name: &str, ms: i64) -> Result<OffsetDateTime, StoreError> {
    parse(what, name, OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000))
}

/// An account item with its address change in progress.
pub fn profile_from(item: &Item) -> Result<ProfileRecord, StoreError> {
    const W: &str = "account";
    let account = account_from(item)?;
    let code = |name: &str| {
        item.get(name).map(|_| TokenHash::from_hex(get_s(item, W, name)?).ok_or_else(|| corrupt(W, format!("{name} is not 64 hex digits")))).transpose()
    };
    let awaiting = match (code(PENDING_NEW_CODE)?, code(PENDING_CURRENT_CODE)?) {
        (Some(new_address), Some(current_address)) => Some(AwaitedCodes::Both { new_address, current_address }),
        (Some(new_address), None) => Some(AwaitedCodes::NewAddress(new_address)),
        (None, Some(current_address)) => Some(AwaitedCodes::CurrentAddress(current_address)),
        (None, None) => None,
    };
    let pending_email = match (item.get(PENDING_EMAIL), awaiting) {
        (Some(_), Some(awaiting)) => Some(PendingEmail {
            email: parse(W, PENDING_EMAIL, EmailAddress::parse(get_s(item, W, PENDING_EMAIL)?))?,
            awaiting,
            expires_at: from_millis(W, PENDING_EXPIRES, get_n(item, W, PENDING_EXPIRES)?)?,
        }),
        _ => None,
    };
    let email_asks = match item.get(EMAIL_ASKS) {
        None => vec![],
        Some(list) => list
            .as_l()
            .map_err(|_| corrupt(W, "email_asks is not a list"))?
            .iter()
            .map(|v| {
                v.as_n()
                    .ok()
                    .and_then(|raw| raw.parse::<i64>().ok())
                    .ok_or_else(|| corrupt(W, "email_asks holds a non-number"))
                    .and_then(|ms| from_millis(W, EMAIL_ASKS, ms))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let revision = if item.contains_key(EMAIL_REV) { get_n(item, W, EMAIL_REV)? } else { 0 };
    Ok(ProfileRecord { account, pending_email, email_asks, revision })
}

#[cfg(test)]
mod tests {
    use super::*;
    use contacts_domain::rules::Plan;
    use contacts_domain::{Step, Token};

    fn id(text: &str) -> AccountId {
        AccountId::parse(text).unwrap()
    }

    #[test]
    fn ttl_seconds_round_up_so_an_item_never_goes_early() {
        let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(ttl_seconds(at), 1_700_000_000);
        assert_eq!(ttl_seconds(at + time::Duration::milliseconds(1)), 1_700_000_001);
        assert_eq!(millis(at + time::Duration::milliseconds(1)), 1_700_000_000_001);
    }

    #[test]
    fn a_request_round_trips_through_its_item_without_its_token_hashes() {
        let now = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_000_000).unwrap();
        let plan = Plan {
            roles: Roles::new([Role::Tech, Role::Billing]).unwrap(),
            from: id("tt1-ovh"),
            to: id("nn1-ovh"),
            confirm: vec![id("aa1-ovh"), id("nn1-ovh")],
            inform: vec![id("tt1-ovh")],
        };
        let mut change =
            ContactChange::open(ServiceName::parse("example.com").unwrap(), plan, id("aa1-ovh"), contacts_domain::Zone::Eu, now, time::Duration::days(7));
        let tokens: Vec<(AccountId, contacts_domain::Token)> = ["aa1-ovh", "nn1-ovh"].map(|party| (id(party), contacts_domain::Token::generate())).into();
        for (party, token) in &tokens {
            change.step(Step::Issue { party: party.clone(), round: 0, hash: token.hash() }, now).unwrap();
        }
        change.step(Step::Mailed { to: id("aa1-ovh") }, now).unwrap();
        change.step(Step::Accept { party: id("aa1-ovh") }, now + time::Duration::seconds(1)).unwrap();
        change.version = 3;

        let (request, copies) = request_items(&change).unwrap();
        assert_eq!(copies.len(), 3, "requester, previous holder, new contact");
        let read = request_from(&request).unwrap();
        let mut expected = change.clone();
        expected.parties.iter_mut().for_each(|p| p.token = None);
        expected.outbox.clear();
        expected.events.clear();
        assert_eq!(read, expected, "a request item keeps neither codes nor the mails it owes (they are items of their own)");
        // A copy: the request's own steps, without its mail events (nor its service snapshot).
        let mut listed = expected.clone();
        listed.history.retain(|h| !h.event.is_mail());
        assert_eq!(listed.history.len(), 2);
        for copy in &copies {
            assert_eq!(request_from(copy).unwrap(), listed);
        }
        let stored = format!("{request:?}{copies:?}");
        for (_, token) in &tokens {
            assert!(!stored.contains(token.expose()) && !stored.contains(&token.hash().to_hex()), "no token nor hash in a request item");
        }
        let token = Token::generate();
        let entry = token_from(&token_item(&change, &id("nn1-ovh"), 2, &token.hash())).unwrap();
        assert_eq!((entry.account, entry.hash, entry.round, entry.expires_ms), (id("nn1-ovh"), token.hash(), Some(2), millis(change.expires_at)));
    }

    #[test]
    fn a_part_of_a_batch_keeps_its_batch_and_a_request_of_its_own_has_none() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let plan = Plan {
            roles: Roles::new([Role::Tech]).unwrap(),
            from: id("tt1-ovh"),
            to: id("nn1-ovh"),
            confirm: vec![id("aa1-ovh"), id("nn1-ovh")],
            inform: vec![],
        };
        let batch = BatchId::new(now);
        let part = ContactChange::open_part(
            batch,
            ServiceName::parse("example.com").unwrap(),
            plan.clone(),
            id("aa1-ovh"),
            contacts_domain::Zone::Eu,
            now,
            time::Duration::days(7),
        );
        let (request, copies) = request_items(&part).unwrap();
        assert_eq!(request_from(&request).unwrap().batch, Some(batch));
        assert_eq!(request.get(BATCH).and_then(|v| v.as_s().ok()), Some(&batch.to_string()), "for the saves' expiry condition");
        assert!(copies.is_empty() && !request.contains_key(DUE_PK) && !request.contains_key(DUE_SK), "its batch is listed and swept, not the part");
        let alone =
            ContactChange::open(ServiceName::parse("example.com").unwrap(), plan, id("aa1-ovh"), contacts_domain::Zone::Eu, now, time::Duration::days(7));
        let (request, _) = request_items(&alone).unwrap();
        assert!(!get_s(&request, "request", "doc").unwrap().contains("batch"), "nothing written for a request of its own");
        assert_eq!(request_from(&request).unwrap().batch, None);
    }

    #[test]
    fn a_mail_id_of_a_hundred_letters_and_more_round_trips_through_its_one_key() {
        let batch = BatchId::new(OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap());
        for index in [0, 7, 99, 100, 1001, u16::MAX] {
            let id = MailId::of_batch(batch, 3, index);
            let key = mail_key(&id);
            assert_eq!(mail_id_of(key[PK].as_s().unwrap(), key[SK].as_s().unwrap()), Some(id), "{index}");
        }
        let pk = batch_pk(batch);
        for other in ["MAIL#0000000003#7", "MAIL#0000000003#0100", "MAIL#0000000003#065535", "MAIL#0000000003#65536", "MAIL#0000000003#"] {
            assert_eq!(mail_id_of(&pk, other), None, "{other}");
        }
    }

    #[test]
    fn a_batch_round_trips_through_its_item_without_its_codes_and_its_phase_keys_it_in_the_due_index() {
        let now = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_000_000).unwrap();
        let plans = ["a.com", "b.com"]
            .map(|name| {
                let contacts = Contacts { admin: id("aa1-ovh"), tech: id("tt1-ovh"), billing: id("bb1-ovh") };
                (ServiceName::parse(name).unwrap(), contacts_domain::rules::plan(&contacts, &id("aa1-ovh"), &[(Role::Tech, id("nn1-ovh"))]).unwrap().remove(0))
            })
            .to_vec();
        let tech = Roles::new([Role::Tech]).unwrap();
        let (mut batch, _) = Batch::open(plans, id("aa1-ovh"), tech, id("nn1-ovh"), Zone::Eu, now, time::Duration::days(7)).unwrap();
        let token = Token::generate();
        batch.step(contacts_domain::BatchStep::Issue { party: id("nn1-ovh"), round: 0, hash: token.hash() }, now).unwrap();
        let opening = batch_item(&batch, BatchPhase::Opening).unwrap();
        assert!(is_opening(&opening));
        assert_eq!(opening[DUE_PK].as_s().unwrap(), BATCHES_OPENING_PK);
        let item = batch_item(&batch, BatchPhase::Open).unwrap();
        assert!(!is_opening(&item));
        assert_eq!(
            (item[DUE_PK].as_s().unwrap().as_str(), item[DUE_SK].as_s().unwrap()),
            (BATCHES_DUE_PK, &format!("{:015}#{}", millis(batch.expires_at), batch.id))
        );
        let mut expected = batch.clone();
        expected.parties.iter_mut().for_each(|p| p.token = None);
        expected.outbox.clear();
        expected.events.clear();
        assert_eq!(batch_from(&item).unwrap(), expected);
        assert!(!format!("{item:?}").contains(&token.hash().to_hex()), "no code in a batch item");
        for party in ["aa1-ovh", "nn1-ovh"] {
            batch.step(contacts_domain::BatchStep::Accept { party: id(party) }, now).unwrap();
        }
        assert_eq!(batch_item(&batch, BatchPhase::Open).unwrap()[DUE_PK].as_s().unwrap(), BATCHES_SETTLING_PK, "every party accepted");
        batch.step(contacts_domain::BatchStep::Settle { outcomes: batch.parts.iter().map(|p| (p.request, State::Done, None)).collect() }, now).unwrap();
        assert!(!batch_item(&batch, BatchPhase::Open).unwrap().contains_key(DUE_PK), "closed: out of the index");
        let entry = token_from(&batch_token_item(&batch, &id("nn1-ovh"), 1, &token.hash())).unwrap();
        assert_eq!((entry.round, entry.expires_ms), (Some(1), millis(batch.expires_at)));
        assert_eq!(batch_of_copy(&batch_copy_item(&id("tt1-ovh"), batch.id)).unwrap(), batch.id);
    }

    #[test]
    fn memberships_follow_a_service_a_put_per_holder_and_a_delete_per_former_holder_without_a_role() {
        let service = |admin: &str, tech: &str, billing: &str| Service {
            kind: ServiceType::default(),
            name: ServiceName::parse("example.com").unwrap(),
            contacts: Contacts { admin: id(admin), tech: id(tech), billing: id(billing) },
        };
        let old = service("aa1-ovh", "tt1-ovh", "bb1-ovh");
        let new = service("aa1-ovh", "aa1-ovh", "nn1-ovh");
        let writes = membership_writes(Some(&old), &new);
        let expected = vec![
            Write::Put(membership_item(&id("aa1-ovh"), &new)),
            Write::Put(membership_item(&id("nn1-ovh"), &new)),
            Write::Delete(membership_key(&id("bb1-ovh"), &new.name)),
            Write::Delete(membership_key(&id("tt1-ovh"), &new.name)),
        ];
        assert_eq!(writes, expected, "one put per distinct holder, every former holder without a role deleted");
        assert_eq!(membership_writes(None, &new).len(), 2, "a new service has no former holders");
    }

    #[test]
    fn an_item_whose_version_differs_from_its_document_is_refused() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let plan = Plan { roles: Roles::new([Role::Tech]).unwrap(), from: id("tt1-ovh"), to: id("nn1-ovh"), confirm: vec![id("aa1-ovh")], inform: vec![] };
        let change =
            ContactChange::open(ServiceName::parse("example.com").unwrap(), plan, id("aa1-ovh"), contacts_domain::Zone::Eu, now, time::Duration::days(7));
        let (mut request, _) = request_items(&change).unwrap();
        request.insert("version".into(), n(7));
        assert!(matches!(request_from(&request), Err(StoreError::Failed(_))));
    }

    #[test]
    fn a_document_from_a_newer_version_with_fields_this_one_does_not_know_still_reads() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let plan = Plan { roles: Roles::new([Role::Tech]).unwrap(), from: id("tt1-ovh"), to: id("nn1-ovh"), confirm: vec![id("aa1-ovh")], inform: vec![] };
        let mut change =
            ContactChange::open(ServiceName::parse("example.com").unwrap(), plan, id("aa1-ovh"), contacts_domain::Zone::Ca, now, time::Duration::days(7));
        change.outbox.clear();
        change.events.clear();
        let (mut request, _) = request_items(&change).unwrap();
        let mut doc: serde_json::Value = serde_json::from_str(request["doc"].as_s().unwrap()).unwrap();
        doc["added_later"] = serde_json::json!({"anything": 1});
        doc["parties"][0]["added_later"] = serde_json::json!(true);
        request.insert("doc".into(), s(doc.to_string()));
        assert_eq!(request_from(&request).unwrap(), change, "a rolling deploy's older functions read what the newer ones wrote");
        // And a document from before zones is in the default zone.
        doc.as_object_mut().unwrap().remove("zone");
        request.insert("doc".into(), s(doc.to_string()));
        assert_eq!(request_from(&request).unwrap().zone, contacts_domain::Zone::Eu);
    }

    #[test]
    fn an_account_item_round_trips_its_pending_email_change_and_a_plain_one_has_none() {
        let account = Account {
            id: id("aa1-ovh"),
            name: DisplayName::parse("Ada").unwrap(),
            email: EmailAddress::parse("ada@example.com").unwrap(),
            language: Language::It,
            payment_status: PaymentStatus::Ok,
            zone: Zone::Eu,
            email_status: EmailStatus::Ok,
        };
        let mut item = account_item(&account);
        assert_eq!(profile_from(&item).unwrap(), ProfileRecord { account: account.clone(), pending_email: None, email_asks: vec![], revision: 0 });
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_000_000).unwrap();
        let (new, current) = (Token::generate().hash(), Token::generate().hash());
        let awaiting = AwaitedCodes::Both { new_address: new, current_address: current };
        let pending = PendingEmail { email: EmailAddress::parse("ada@example.org").unwrap(), awaiting, expires_at: at };
        item.insert(PENDING_EMAIL.into(), s(pending.email.as_str()));
        item.insert(PENDING_HASH_OF_ONE_CODE.into(), s(new.to_hex()));
        item.insert(PENDING_EXPIRES.into(), n(millis(at)));
        item.insert(EMAIL_ASKS.into(), AttributeValue::L(vec![n(millis(at))]));
        item.insert(EMAIL_REV.into(), n(4));
        let record = profile_from(&item).unwrap();
        assert_eq!(record.pending_email, None, "a change of one code, from before changes took two, moves nothing");
        item.insert(PENDING_NEW_CODE.into(), s(new.to_hex()));
        item.insert(PENDING_CURRENT_CODE.into(), s(current.to_hex()));
        let record = profile_from(&item).unwrap();
        assert_eq!(record, ProfileRecord { account: account.clone(), pending_email: Some(pending.clone()), email_asks: vec![at], revision: 4 });
        item.remove(PENDING_NEW_CODE);
        let awaiting = AwaitedCodes::CurrentAddress(current);
        assert_eq!(profile_from(&item).unwrap().pending_email, Some(PendingEmail { awaiting, ..pending.clone() }), "the new address's code came back");
        assert_eq!(email_token_from(&email_token_item(&id("aa1-ovh"), &pending, &current)).unwrap(), (id("aa1-ovh"), millis(at)));
    }
}
