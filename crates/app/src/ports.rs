//! What the use cases need from the outside world. Adapters implement these; the use cases
//! never know which adapter they have.

use std::collections::BTreeSet;

use async_trait::async_trait;
use time::OffsetDateTime;

pub use crate::cause::Cause;
use crate::mail::Mail;
use contacts_domain::{
    Account, AccountId, Batch, BatchId, ContactChange, EmailAddress, Event, EventId, Language, MailId, MailStatus, OutboxId, PendingEmail, RequestId, Role,
    Service, ServiceName, ServiceType, Subject, TokenHash,
};

/// One page of a listing, in the listing's order; `more` says whether another page follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub more: bool,
}

/// A service with the pending requests that hold its roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRecord {
    pub service: Service,
    pub locks: Vec<Lock>,
}

pub use contacts_domain::locks::{Lock, PendingChange};

/// A change to one's own profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfilePatch {
    pub email: Option<EmailAddress>,
    pub language: Option<Language>,
}

/// An account with its holder's address change in progress (SPEC §5), as one read of the
/// store has it. The use cases decide on it and write it back over `revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRecord {
    pub account: Account,
    /// The address asked for and not verified yet (possibly expired: compare `expires_at`).
    pub pending_email: Option<PendingEmail>,
    /// When the recent address changes that mailed were asked, oldest first: the abuse bound
    /// (`domain::limits::EMAIL_CHANGE_LIMIT`) counts them.
    pub email_asks: Vec<OffsetDateTime>,
    /// Moves on with every write of the address change (0: never written, or wiped by a
    /// provider's upsert of the account).
    pub revision: u64,
}

/// Which of an account's services a listing takes (the panel's type column and search box).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceFilter {
    /// Only services of this type.
    pub kind: Option<ServiceType>,
    /// Only services whose name starts with this (lower-case, as names are).
    pub name_prefix: Option<String>,
}

impl ServiceFilter {
    pub fn takes(&self, service: &Service) -> bool {
        self.kind.as_ref().is_none_or(|kind| *kind == service.kind) && self.name_prefix.as_ref().is_none_or(|p| service.name.as_str().starts_with(p.as_str()))
    }
}

/// What [`Limits::asking`] reads, in one read: each part only when it is asked for, so that a
/// create reads what it decides on at once, yet nothing about a new contact named by address
/// before the service let the caller ask (SPEC §2).
#[derive(Debug, Clone, Copy, Default)]
pub struct AskingFor<'a> {
    /// The service, with its locks.
    pub service: Option<&'a ServiceName>,
    /// An attempter's count in the window starting then, as `Limits::wrong_attempts` answers it.
    pub attempts: Option<(&'a str, OffsetDateTime)>,
    /// The accounts to read: those that exist are answered.
    pub accounts: &'a [AccountId],
    /// A requester, and the accounts towards which `unaccepted(requester, _)` is read.
    pub unaccepted: Option<(&'a AccountId, &'a [AccountId])>,
}

/// [`Limits::asking`]'s answer; what was not asked for is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Asking {
    /// The service and its locks (expired ones too, as `Services::service` answers them).
    pub service: Option<ServiceRecord>,
    /// The attempter's count in the window.
    pub attempts: u32,
    pub accounts: Vec<Account>,
    /// Per account asked about, when the requester's requests to it count as unaccepted.
    pub unaccepted: std::collections::HashMap<AccountId, Vec<OffsetDateTime>>,
}

/// How far back [`Requests::due`] is bound to look for requests past their expiry: the sweep
/// runs every few minutes, so only a sweeper stopped for longer leaves any behind.
pub const DUE_LOOKBACK: time::Duration = time::Duration::days(14);

/// What else a save of a request does, in the same atomic write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The request alone changes.
    Nothing,
    /// The request closed: its locks go.
    ReleaseLocks,
    /// The request is done: its roles move from `from` to `to`, on the condition that `from`
    /// still holds them, that each of `require_good_standing` is in good standing and that both
    /// are still in the request's zone (`ContactChange::must_share_zone`); the memberships
    /// follow and the locks go.
    Apply { require_good_standing: Vec<AccountId> },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The request was saved by someone else since it was read (its version moved on).
    #[error("the request changed since it was read")]
    Stale,
    /// A live lock holds the role: another request is pending on it.
    #[error("a pending request already holds the {0} role")]
    PendingExists(Role),
    /// `Apply`: a role's holder is no longer the request's `from`.
    #[error("the service's contacts changed since the request was made")]
    HoldersChanged,
    /// `Apply`: the requester no longer holds the role that entitled it to ask.
    #[error("the requester no longer holds the role that entitled it to ask")]
    RequesterLostRole,
    /// The stored request is pending but past its expiry, and this save would not end it
    /// as expired: the store's own clock enforces expiry too (TTL deletion is lazy).
    #[error("the request has expired")]
    Expired,
    /// `Apply`: this account is not (or no longer) in good standing.
    #[error("{0} is not in good standing")]
    NotInGoodStanding(AccountId),
    /// `create`, `Apply`: this account of `ContactChange::must_share_zone` is not (or no
    /// longer) in the request's zone.
    #[error("{0} is not in the request's zone")]
    DifferentZone(AccountId),
    /// `create`, `create_batch`, `put_service`: this account they would name is gone, or an
    /// erasure of it is under way (`Accounts::erase_account`).
    #[error("{0} is not an account (any more)")]
    UnknownAccount(AccountId),
    /// Unreachable, throttled or timed out: nothing was written, trying again may work.
    #[error("the store is unavailable: {0}")]
    Unavailable(#[source] Cause),
    #[error("the store failed: {0}")]
    Failed(#[source] Cause),
}

/// One outbox: the mails posted (`Outbox<MailId>`) or the events committed (`Outbox<EventId>`)
/// by the writes that imply them, each claimed with a lease by one worker at a time and settled
/// (`contacts_domain::lease`). The events a save or a profile change commits
/// (`ContactChange::events`, of id `EventId::of_request(change.id, change.version, its index)`)
/// are posted at the store's now, as the mails a save posts are.
#[async_trait]
pub trait Outbox<I: OutboxId>: Send + Sync + 'static {
    /// Claims the posted item `id` for one worker until `until`, if it may be claimed at `now`
    /// (`OutboxId::claimable`), counting the attempt, in one conditional write: the order, or
    /// `None` when it is settled, held by another claim, or absent.
    async fn claim(&self, id: &I, now: OffsetDateTime, until: OffsetDateTime) -> Result<Option<I::Order>, StoreError>;
    /// Sets the item's status: settled (it leaves the outbox), or `OutboxId::PENDING` to hand
    /// it back. An absent one (gone with its TTL) has nothing left to settle.
    async fn settle(&self, id: &I, status: I::Status) -> Result<(), StoreError>;
    /// The items not settled that were posted at or before `posted_before`, oldest first, at
    /// most `limit`, whether or not someone holds them now.
    async fn unsent(&self, posted_before: OffsetDateTime, limit: usize) -> Result<Vec<I>, StoreError>;
}

/// Why an account may not be erased (SPEC §8): the first thing found that still needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountUse {
    /// It holds a role of this service (the first by name).
    HoldsRole(ServiceName),
    /// A pending request involves it (`ContactChange::involved`: the requester, the previous
    /// holder, a party or a holder told), the oldest first; never a part of a batch.
    PendingRequest(RequestId),
    /// A batch in progress (`Batch::in_progress`, or a create of it not finished) involves it
    /// (`Batch::involved`), the oldest first.
    BatchInProgress(BatchId),
}

/// What [`Accounts::erase_account`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Erasure {
    /// The account is gone, with its pending address change, and the event is committed.
    Erased,
    /// Nothing was erased: the account is still in use.
    InUse(AccountUse),
    /// There is no such account (never was, or erased already).
    Unknown,
}

/// The accounts as the provider's systems have them, and the mark of an address that bounces.
#[async_trait]
pub trait Accounts: Send + Sync + 'static {
    async fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError>;
    /// The accounts among `ids` that exist, in any order.
    async fn accounts(&self, ids: &[AccountId]) -> Result<Vec<Account>, StoreError>;
    /// The accounts whose address (the verified one, never a pending change) is `email`, without
    /// regard to case, at most `limit`: one lookup, whatever it finds.
    async fn accounts_with_email(&self, email: &EmailAddress, limit: usize) -> Result<Vec<AccountId>, StoreError>;
    /// Upserts an account as the provider's systems have it: its address is set directly (the
    /// provider verified it), and any pending address change of its holder is dropped with it;
    /// a bouncing mark stays if the address stays.
    async fn put_account(&self, account: &Account) -> Result<(), StoreError>;
    /// Marks `id`'s address bouncing (SPEC §4), on the condition that `email` is still its
    /// address (an address changed since the mail went is not marked); whether it marked.
    /// A verification of a new address clears the mark, and so does a provider's upsert (or an
    /// import) with a new address; one with the same address keeps it.
    async fn mark_bouncing(&self, id: &AccountId, email: &EmailAddress) -> Result<bool, StoreError>;
    /// Erases the account (SPEC §8) unless it is in use ([`AccountUse`]): its profile goes
    /// (and with it its address's entry for `accounts_with_email`), with its pending address
    /// change and that change's codes, and `event` is committed, in one atomic write. Whatever
    /// else names the account (requests, batches, their mails and events) keeps its id. The
    /// write is fenced against the creates and upserts that would name the account meanwhile:
    /// from the moment an erasure begins, `create`, `create_batch` and `put_service` naming the
    /// account fail with `UnknownAccount` (until a refused erasure ends). `Stale` when the account
    /// changed under the erasure (an upsert, an address change): nothing was erased, try again.
    async fn erase_account(&self, id: &AccountId, event: &Event) -> Result<Erasure, StoreError>;
}

/// One's own profile: its address change in progress (SPEC §5) and its language.
#[async_trait]
pub trait Profiles: Send + Sync + 'static {
    /// The account with its pending address change and recent asks; `None` if no such account.
    async fn profile(&self, id: &AccountId) -> Result<Option<ProfileRecord>, StoreError>;
    /// Writes `record`'s `pending_email` (or its absence) and `email_asks` over the revision it
    /// was read at (`record.revision - 1`), atomically, with a way to find the account from
    /// each code the change awaits (`email_token`); the `gone` codes (of the change it replaces,
    /// or the one that just came back) stop working in the same write. `Stale` if the revision
    /// moved on or the account is gone. Never changes the account's address.
    async fn save_email_change(&self, record: &ProfileRecord, gone: &[TokenHash]) -> Result<(), StoreError>;
    /// The account whose pending address change awaits the code hashed `hash`, if that change
    /// is live at `now`: the verification found from the code alone (the public page).
    async fn email_token(&self, hash: &TokenHash, now: OffsetDateTime) -> Result<Option<AccountId>, StoreError>;
    /// Makes the pending address of `read` (a profile as read, whose last awaited code just came
    /// back) the account's address, once: only if the change is still at `read.revision` and
    /// live at `now`, in one atomic write that ends the change (every code of it stops working)
    /// and commits `event`. The account as it is now; `Stale` if the change moved on meanwhile
    /// (then nothing is written, and no event).
    async fn verify_email(&self, read: &ProfileRecord, now: OffsetDateTime, event: &Event) -> Result<Account, StoreError>;
    /// Sets an existing account's language (which applies at once) and answers the profile as
    /// it is now; `None` if there is no such account. If the language changed, `event` is
    /// committed in the same atomic write; if it was the account's already, nothing is written.
    async fn set_language(&self, id: &AccountId, language: Language, event: &Event) -> Result<Option<ProfileRecord>, StoreError>;
}

/// The services and who holds their roles.
#[async_trait]
pub trait Services: Send + Sync + 'static {
    async fn service(&self, name: &ServiceName) -> Result<Option<ServiceRecord>, StoreError>;
    /// Upserts a service as the provider's systems see it; memberships follow. `UnknownAccount`
    /// if a holder new to the service is gone or being erased (`Accounts::erase_account`).
    async fn put_service(&self, service: &Service) -> Result<(), StoreError>;
    /// The services where `account` holds a role that `filter` takes, by name, after `after`.
    async fn services_of(&self, account: &AccountId, filter: &ServiceFilter, after: Option<&ServiceName>, limit: usize) -> Result<Page<Service>, StoreError>;
    /// Which of `names` are services where `account` holds a role now: read from the account's
    /// side (its memberships), a few calls for a thousand names, and nothing read of a service
    /// it does not hold (a batch naming others' services, a batch's outsider).
    async fn held_among(&self, account: &AccountId, names: &[ServiceName]) -> Result<BTreeSet<ServiceName>, StoreError>;
}

/// The requests (SPEC §3): their creation, reads, saves and listings, the codes their mails
/// carry, and the sweep's work.
#[async_trait]
pub trait Requests: Send + Sync + 'static {
    /// Stores new pending requests and their locks, all or none, with the letters each owes
    /// (`ContactChange::outbox`) posted at `now` in the same write; `PendingExists` if a live
    /// lock (one whose `expires_at` is after `now`) holds one of their roles, else
    /// `UnknownAccount` if an account a request involves (`ContactChange::involved`) is gone or
    /// being erased, else `NotInGoodStanding` if an account of a request's
    /// `must_be_in_good_standing` is not, else `DifferentZone` if one of its `must_share_zone`
    /// is not in its zone.
    async fn create(&self, changes: &[ContactChange], now: OffsetDateTime) -> Result<(), StoreError>;
    async fn contact_change(&self, id: RequestId) -> Result<Option<ContactChange>, StoreError>;
    /// The requests that involve `account` (`ContactChange::involved`), newest first, older
    /// than `before`; never the parts of a batch (the batch is listed: `Batches::batches_of`).
    async fn contact_changes_of(&self, account: &AccountId, before: Option<RequestId>, limit: usize) -> Result<Page<ContactChange>, StoreError>;
    /// Saves `change` over the version it was read at (`change.version - 1`), with `effect`,
    /// atomically; `Stale` if that is no longer the stored version; `Expired` if the stored
    /// request is pending past its `expires_at` (by the store's clock) and `change` does not
    /// end it as expired. With it go the record of when it counts as unaccepted
    /// (`ContactChange::unaccepted_from`), which `create` writes too, and the letters its steps
    /// owe (`change.outbox`), posted (each a [`contacts_domain::MailOrder`] of id `(change.id, change.version,
    /// its index)`): a change and its mails commit together or not at all.
    async fn save(&self, change: &ContactChange, effect: Effect) -> Result<(), StoreError>;
    /// Keeps `hash` as `party`'s code of its current round of codes
    /// (`ContactChange::round_of`), on the condition that the stored request is still at
    /// `change.version` and not pending past its expiry; the request itself is not rewritten
    /// (a code is minted as its mail goes: this is the mailer's write per mail). `Stale`: it
    /// moved on, read it again. A code of another round than the request's current one is
    /// never read back as a party's (`Party::token`), so a resend, a reminder or a change of
    /// the party's address kills the older codes at once, without deleting them.
    async fn issue_token(&self, change: &ContactChange, party: &AccountId, hash: &TokenHash) -> Result<(), StoreError>;
    /// The sweep's work (SPEC §3): the pending requests whose expiry is at or before `now`, and
    /// those expiring within `remind_before` of `now` that had no reminder yet; oldest expiry
    /// first, at most `limit`, without their parties' token hashes. A request that expired
    /// more than [`DUE_LOOKBACK`] before `now` may be left out (its readers still end it).
    async fn due(&self, now: OffsetDateTime, remind_before: time::Duration, limit: usize) -> Result<Vec<ContactChange>, StoreError>;
    /// Saves `change` as `save` with `Effect::Nothing` would (`Stale` if it moved on: then
    /// nothing is written) and settles the mail `id` as `status` in the same atomic write: the
    /// mailer's record of a mail in its request's history.
    async fn save_settling(&self, change: &ContactChange, id: &MailId, status: MailStatus) -> Result<(), StoreError>;
}

/// The batches (SPEC §7): their creation with their parts, reads, saves and listings, the
/// codes their mails carry, and the sweep's work. A part is a request (`Requests`) of its own,
/// saved by `Requests::save`; the batch's item never holds the parts' outcomes before
/// `BatchStep::Settle` records them.
#[async_trait]
pub trait Batches: Send + Sync + 'static {
    /// Stores a new pending batch with its parts (each a pending request naming it, with its
    /// locks), the letters and events the batch owes posted at `now`, and the record of when it
    /// counts as unaccepted (`Batch::unaccepted_from`: one record for the whole batch). Until
    /// it returns `Ok`, no reader sees any of it (neither the batch nor a part, by id or in a
    /// listing), whatever the store must write in several steps; after an `Err` nothing of it
    /// is ever seen, and whatever a failed or crashed call left behind goes with the sweep
    /// (`discard_unopened`). (A part read by id, `Requests::contact_change`, may be one of an
    /// unopened batch: the use cases read its batch, which is then absent. Its locks hold
    /// their roles until the sweep discards them.) `PendingExists`, `UnknownAccount` (of any account
    /// the batch involves, `Batch::involved`), `NotInGoodStanding`, `DifferentZone` as
    /// `Requests::create` says for its requests.
    async fn create_batch(&self, batch: &Batch, parts: &[ContactChange], now: OffsetDateTime) -> Result<(), StoreError>;
    async fn batch(&self, id: BatchId) -> Result<Option<Batch>, StoreError>;
    /// The batches that involve `account` (`Batch::involved`), newest first, older than `before`.
    async fn batches_of(&self, account: &AccountId, before: Option<BatchId>, limit: usize) -> Result<Page<Batch>, StoreError>;
    /// Saves `batch` over the version it was read at (`batch.version - 1`), with its letters
    /// (each of id `MailId::of_batch(batch.id, batch.version, its index)`), its events and its
    /// record of when it counts as unaccepted, atomically; `Stale` if that is no longer the
    /// stored version. Its parts are not written here.
    async fn save_batch(&self, batch: &Batch) -> Result<(), StoreError>;
    /// Keeps `hash` as `party`'s code of the batch's current round, on the condition that the
    /// stored batch is still at `batch.version` (`Stale` otherwise), as `Requests::issue_token`.
    async fn issue_batch_token(&self, batch: &Batch, party: &AccountId, hash: &TokenHash) -> Result<(), StoreError>;
    /// Saves `batch` as `save_batch` would and settles the mail `id` as `status` in the same
    /// atomic write, as `Requests::save_settling`.
    async fn save_batch_settling(&self, batch: &Batch, id: &MailId, status: MailStatus) -> Result<(), StoreError>;
    /// The sweep's work: the pending batches every party of which accepted (`Batch::settling`:
    /// their parts are taking effect) and the closed ones whose parts are still to be ended
    /// (`Batch::parts_to_end`), whatever their expiry, then those whose expiry is at or before
    /// `now` and those expiring within `remind_before` of `now`; at most `limit`.
    async fn due_batches(&self, now: OffsetDateTime, remind_before: time::Duration, limit: usize) -> Result<Vec<Batch>, StoreError>;
    /// Deletes what creates of batches begun before `begun_before` left behind without
    /// finishing (parts, locks, listings' entries, the unfinished batch itself); how many
    /// batches it cleared.
    async fn discard_unopened(&self, begun_before: OffsetDateTime) -> Result<usize, StoreError>;
}

/// What bounds asking (SPEC §2): the wrong codes tried, the unaccepted requests, and the one
/// read of what asking decides on.
#[async_trait]
pub trait Limits: Send + Sync + 'static {
    /// When each request from `requester` to `to` counts as unaccepted, as the last saves
    /// recorded it (`ContactChange::unaccepted_from`); records older than a day may be gone.
    async fn unaccepted(&self, requester: &AccountId, to: &AccountId) -> Result<Vec<OffsetDateTime>, StoreError>;
    /// What asking for changes needs ([`AskingFor`]), in one read.
    async fn asking(&self, what: &AskingFor<'_>) -> Result<Asking, StoreError>;
    /// The codes that matched no live token which `attempter` (`Attempter::key`) tried in the
    /// window starting at `window_start`.
    async fn wrong_attempts(&self, attempter: &str, window_start: OffsetDateTime) -> Result<u32, StoreError>;
    /// Counts one more, in the window `[window_start, window_end)`, answering the count now;
    /// the count kept lapses with the window.
    async fn count_wrong_attempt(&self, attempter: &str, window_start: OffsetDateTime, window_end: OffsetDateTime) -> Result<u32, StoreError>;
}

/// SPEC §8's retention: a closed request or batch is kept for the store's `Retention` after it
/// closed. Every read of requests and batches (by id, in listings) leaves out what is past it,
/// whether or not it is deleted yet; the table's TTL deletes it lazily, and the sweep's
/// [`Purge::purge`] is the backstop.
#[async_trait]
pub trait Purge: Send + Sync + 'static {
    /// Up to `limit` requests and batches (never a part: it goes with its batch) whose retention
    /// ended at or before `now`, and not yet purged.
    async fn past_retention(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<Subject>, StoreError>;
    /// Deletes every item of `subject`: a request's item, codes, mails, events, listings' copies
    /// and its entry in the unaccepted record; a batch's the same, and its parts'. Its own item
    /// last, so that what a failed call left is found again by `past_retention`.
    async fn purge(&self, subject: Subject) -> Result<(), StoreError>;
}

/// The store as the use cases are wired to it: every capability above, and both outboxes. Each
/// capability is a trait of its own, so that a test double implements only what it is used for;
/// whatever implements them all is a `Store`.
pub trait Store: Accounts + Profiles + Services + Requests + Batches + Limits + Purge + Outbox<MailId> + Outbox<EventId> {}

impl<T: Accounts + Profiles + Services + Requests + Batches + Limits + Purge + Outbox<MailId> + Outbox<EventId>> Store for T {}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Unreachable, or failing: the same mail may go through later.
    #[error("the mail service is unavailable: {0}")]
    Retryable(#[source] Cause),
    /// Sent faster than the account's sending rate allows: the same mail goes through later,
    /// however many times this happens (a mail is never given up for it).
    #[error("the mail service takes no more mail this second: {0}")]
    Throttled(#[source] Cause),
    #[error("the mail was refused: {0}")]
    Rejected(#[source] Cause),
}

/// The bus did not take an event: unreachable, throttled, or its own failure of that entry.
/// Every one is tried again (at least once: an event is never given up; an entry the bus
/// refuses for good, which events of a few hundred bytes of ids never are, would stay in the
/// outbox, with its failures in the log and in the dead-letter queue).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the event bus did not take the event: {0}")]
pub struct PublishError(#[source] pub Cause);

#[async_trait]
pub trait Publisher: Send + Sync + 'static {
    /// Puts `events` on the bus, in one call when it can: each one's result, in order.
    async fn publish(&self, events: &[Event]) -> Vec<Result<(), PublishError>>;
}

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Hands one mail to the mail service.
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}

/// The time, from one place, so that tests can move it.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// The system clock, to the millisecond (what the API and the stores keep).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000).expect("fewer nanoseconds is still valid")
    }
}

/// Reads a JSON document from a URL (GET): the identity provider's discovery document, which
/// the panel's server reads to know where the page signs in (`contacts-api`'s `discovery`).
#[async_trait]
pub trait FetchJson: Send + Sync + 'static {
    /// The document, or why not (safe to log: a URL and a reason, never a body).
    async fn get_json(&self, url: &str) -> Result<serde_json::Value, String>;
}
