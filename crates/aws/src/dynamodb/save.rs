//! `DynamoStore::save`'s two halves: building its transaction from the request and what the
//! store last read, and judging a cancelled one from its reasons. `save` itself (in the
//! module's root) sends, judges and, when only what the save does not decide on changed,
//! rebuilds.

use super::items::{self, n, s};
use super::tx::{Cond, Purpose, Reason, Tx, failed_condition};
use super::{DynamoStore, HOLDERS_ARE, cancelled_otherwise, holders_are, post_mails, status_update};
use contacts_app::ports::{Effect, StoreError};
use contacts_domain::FailReason;
use contacts_domain::{AccountId, ContactChange, MailId, MailStatus, RequestId, Role, Service, State, Zone};

impl DynamoStore {
    /// The save's transaction: the request on its version (and expiry) condition, its copies
    /// unless it only settles a mail (the copies carry no mail events), never its token items
    /// (`issue_token` writes those, and the round they carry retires them), the record of when
    /// it counts as unaccepted, the effect's writes, the mails it owes, and `settle`'s mail
    /// status. `service`: for `Apply`, the service as last
    /// read (`None`: absent); `foreign_locks`: the roles whose lock another request holds, left alone.
    pub(super) fn save_tx(
        &self,
        change: &ContactChange,
        effect: &Effect,
        read_version: u64,
        service: Option<&Service>,
        foreign_locks: &[Role],
        settle: Option<(&MailId, MailStatus)>,
    ) -> Result<Tx, StoreError> {
        let (mut request, mut copies) = items::request_items(change)?;
        super::retention::mark_request(&mut request, &mut copies, change, self.retention);
        let mut tx = Tx::new(&self.table);
        tx.put(request, Some(self.request_condition(change, read_version)), Purpose::Request)?;
        // A mail's settling records only a mail event, which the copies do not carry.
        if settle.is_none() {
            for copy in copies {
                tx.put(copy, None, Purpose::Copy)?;
            }
        }
        // A part counts with its batch (`ContactChange::unaccepted_from`), which keeps the record.
        if *effect != Effect::Nothing && change.to != change.requested_by && change.batch.is_none() {
            tx.update(items::asks_key(&change.requested_by, &change.to), items::asks_update(&[change], false), None, Purpose::Unaccepted)?;
        }
        match effect {
            Effect::Nothing => {}
            Effect::ReleaseLocks => release_locks(&mut tx, change, foreign_locks)?,
            Effect::Apply { require_good_standing } => {
                apply_writes(&mut tx, change, service, require_good_standing)?;
                release_locks(&mut tx, change, foreign_locks)?;
            }
        }
        let now = self.clock.now();
        post_mails(&mut tx, change, now)?;
        if let Some((mail, status)) = settle {
            let exists = Cond::new("attribute_exists(#mail_pk)").name("#mail_pk", items::PK);
            tx.update(items::mail_key(mail), status_update::<MailId>(status, now), Some(exists), Purpose::Mail)?;
        }
        Ok(tx)
    }

    /// "The request is still at the version read", and unless this save ends it as expired,
    /// "and is not pending past its expiry": no save acts on a request that has run out,
    /// whether or not the sweep has ended it yet. A part of a batch (its item carries `batch`)
    /// is exempt: it expires with its batch, and takes effect past the hour if its batch was
    /// accepted in time.
    pub(super) fn request_condition(&self, change: &ContactChange, read_version: u64) -> Cond {
        if change.state == State::Expired {
            return Cond::new("#version = :read").name("#version", "version").value(":read", n(read_version));
        }
        Cond::new("#version = :read AND (#state <> :pending OR #expires > :now OR attribute_exists(#batch))")
            .name("#version", "version")
            .name("#state", "state")
            .name("#expires", "expires_ms")
            .name("#batch", items::BATCH)
            .value(":read", n(read_version))
            .value(":pending", s(State::Pending.as_str()))
            .value(":now", n(items::millis(self.clock.now())))
    }

    /// When the service's condition failed (and the request's held, which decides first): the
    /// service as it is now, `None` inside if it is gone. DynamoDB returns the item whose
    /// condition failed; only an absent one is read again, as it may exist by now.
    pub(super) async fn service_now(&self, change: &ContactChange, reasons: &[Reason]) -> Result<Option<Option<Service>>, StoreError> {
        if failed_condition(reasons, &Purpose::Request).is_some() {
            return Ok(None);
        }
        let Some(reason) = failed_condition(reasons, &Purpose::Service) else { return Ok(None) };
        match &reason.item {
            Some(item) => items::service_from(item).map(|service| Some(Some(service))),
            None => self.read_service(&change.service).await.map(Some),
        }
    }

    /// `reason` as the store's error, unless the request is no longer at `read_version`
    /// (`Stale`): one condition check, on the rare path where a change cannot take effect.
    pub(super) async fn unless_stale(&self, id: RequestId, read_version: u64, reason: FailReason) -> StoreError {
        let mut tx = Tx::new(&self.table);
        let cond = Cond::new("#version = :read").name("#version", "version").value(":read", n(read_version));
        if let Err(error) = tx.check(items::request_key(id), cond, Purpose::Request) {
            return error;
        }
        match self.transact(tx).await {
            Ok(()) => match reason {
                FailReason::RequesterLostRole => StoreError::RequesterLostRole,
                _ => StoreError::HoldersChanged,
            },
            Err(Ok(_)) => StoreError::Stale,
            Err(Err(error)) => error,
        }
    }
}

/// `Apply`'s writes: the service with the moved roles' new holder, on the condition that each
/// moved role is still `from`'s and each other role's holder is as read (so that the
/// membership items hold the service's contacts); a check of each account that must be in
/// good standing; the memberships. A service read as absent is only checked for, and fails.
/// "Its type is `kind`"; a service item from before types has none, and is of the default one.
fn type_is(kind: &contacts_domain::ServiceType) -> &'static str {
    if *kind == contacts_domain::ServiceType::default() {
        "(attribute_not_exists(#service_type) OR #service_type = :service_type)"
    } else {
        "#service_type = :service_type"
    }
}

fn apply_writes(tx: &mut Tx, change: &ContactChange, old: Option<&Service>, require_good_standing: &[AccountId]) -> Result<(), StoreError> {
    let Some(old) = old else {
        return tx.check(items::service_key(&change.service), Cond::new("attribute_exists(#pk)").name("#pk", items::PK), Purpose::Service);
    };
    let mut new = old.clone();
    for role in change.roles.iter() {
        new.contacts.set(role, change.to.clone());
    }
    let expected = |role: Role| if change.roles.contains(role) { &change.from } else { old.contacts.holder(role) };
    // Its type too: the membership copies carry it (the `by_type` index), and the service
    // written may be the request's snapshot of it.
    let cond = holders_are(expected(Role::Admin), expected(Role::Tech), expected(Role::Billing))
        .expression(format!("{HOLDERS_ARE} AND {}", type_is(&old.kind)))
        .name("#service_type", items::SERVICE_TYPE)
        .value(":service_type", s(old.kind.as_str()));
    tx.put(items::service_item(&new), Some(cond), Purpose::Service)?;
    check_accounts(tx, &[change], require_good_standing, false)?;
    for write in items::membership_writes(Some(old), &new) {
        tx.write(write, Purpose::Membership)?;
    }
    Ok(())
}

/// One check per account the write depends on: for each of `changes`, each of its
/// `must_share_zone()` exists in its zone, and each of `require_good_standing` is in good
/// standing; with `fenced` (a create), each account a change involves exists and no erasure of
/// it is under way (`erase.rs`). One condition per item, as a transaction takes an item once:
/// two requests of one create may name the same account; [`account_unknown`] and
/// [`account_refused`] tell which part failed.
pub(super) fn check_accounts(tx: &mut Tx, changes: &[&ContactChange], require_good_standing: &[AccountId], fenced: bool) -> Result<(), StoreError> {
    let involved: Vec<AccountId> = if fenced { changes.iter().flat_map(|c| c.involved()).collect() } else { Vec::new() };
    let mut accounts: Vec<&AccountId> = changes.iter().flat_map(|c| c.must_share_zone()).chain(require_good_standing).chain(&involved).collect();
    accounts.sort();
    accounts.dedup();
    for account in accounts {
        let mut parts = vec!["attribute_exists(#pk)".to_owned()];
        let mut cond = Cond::default().name("#pk", items::PK);
        if fenced {
            parts.push("attribute_not_exists(#erasing)".to_owned());
            cond = cond.name("#erasing", items::ERASING);
        }
        let mut zones: Vec<Zone> = changes.iter().filter(|c| c.must_share_zone().contains(&account)).map(|c| c.zone).collect();
        zones.dedup();
        for (i, zone) in zones.iter().enumerate() {
            // An item from before zones has none: it is in the default zone.
            let equal = format!("#zone = :zone{i}");
            parts.push(if *zone == Zone::default() { format!("(attribute_not_exists(#zone) OR {equal})") } else { equal });
            cond = cond.name("#zone", items::ZONE).value(&format!(":zone{i}"), s(zone.as_str()));
        }
        if require_good_standing.contains(account) {
            parts.push("#payment = :ok".to_owned());
            cond = cond.name("#payment", "payment_status").value(":ok", s("ok"));
        }
        tx.check(items::account_key(account), cond.expression(parts.join(" AND ")), Purpose::Account(account.clone()))?;
    }
    Ok(())
}

/// The first account whose check of `reasons` failed because it is gone or an erasure of it is
/// under way (a fenced check, [`check_accounts`] or `erase::account_usable`), as `UnknownAccount`.
pub(super) fn account_unknown(reasons: &[Reason]) -> Option<StoreError> {
    reasons.iter().filter(|r| r.condition_failed() && super::erase::gone_or_erasing(r.item.as_ref())).find_map(|r| match &r.purpose {
        Purpose::Account(account) => Some(StoreError::UnknownAccount(account.clone())),
        _ => None,
    })
}

/// Why an account check of `reasons` failed, if one did: the first of `require_good_standing`
/// (in its order) whose check failed and that is not in good standing (or is gone), else the
/// first failed one, outside the request's zone.
pub(super) fn account_refused(reasons: &[Reason], require_good_standing: &[AccountId]) -> Option<StoreError> {
    let failed = |account: &AccountId| reasons.iter().find(|r| r.condition_failed() && r.purpose == Purpose::Account(account.clone()));
    let paying = |reason: &Reason| reason.item.as_ref().and_then(|item| item.get("payment_status")).and_then(|v| v.as_s().ok()).is_some_and(|p| p == "ok");
    if let Some(overdue) = require_good_standing.iter().find(|account| failed(account).is_some_and(|r| !paying(r))) {
        return Some(StoreError::NotInGoodStanding(overdue.clone()));
    }
    reasons.iter().filter(|r| r.condition_failed()).find_map(|r| match &r.purpose {
        Purpose::Account(account) => Some(StoreError::DifferentZone(account.clone())),
        _ => None,
    })
}

/// Adds the deletion of `change`'s locks, except those of `skip` (found held by another
/// request): each only if it is this request's or already gone.
fn release_locks(tx: &mut Tx, change: &ContactChange, skip: &[Role]) -> Result<(), StoreError> {
    for role in change.roles.iter().filter(|role| !skip.contains(role)) {
        let cond = Cond::new("attribute_not_exists(#pk) OR #request = :request")
            .name("#pk", items::PK)
            .name("#request", "request")
            .value(":request", s(change.id.to_string()));
        tx.delete(items::lock_key(&change.service, role), Some(cond), Purpose::Lock(role))?;
    }
    Ok(())
}

/// What a cancelled save's reasons say.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Verdict {
    /// The request's version moved on, or another write is on its items right now.
    Stale,
    /// The request is pending past its expiry, at the version read.
    Expired,
    /// A moved role is no longer `from`'s, or the service is gone.
    HoldersChanged,
    /// The requester no longer holds the role that entitled it.
    RequesterLostRole,
    /// An account of `require_good_standing` that is not in good standing.
    Overdue(AccountId),
    /// An account of `must_share_zone` that is not in the request's zone.
    DifferentZone(AccountId),
    /// Only what this save does not decide on changed: write over it. `service`: the service
    /// as it is now, when an unmoved role changed hands; `foreign_locks`: the roles whose lock
    /// another request took (ours had lapsed).
    Rebuild { service: Option<Service>, foreign_locks: Vec<Role> },
    /// No condition this adapter judges: throttling (`Unavailable`) or a failure.
    Cancelled(StoreError),
}

impl Verdict {
    /// The save's error, or what to rebuild on.
    pub(super) fn into_result(self) -> Result<(Option<Service>, Vec<Role>), StoreError> {
        match self {
            Verdict::Stale => Err(StoreError::Stale),
            Verdict::Expired => Err(StoreError::Expired),
            Verdict::HoldersChanged => Err(StoreError::HoldersChanged),
            Verdict::RequesterLostRole => Err(StoreError::RequesterLostRole),
            Verdict::Overdue(account) => Err(StoreError::NotInGoodStanding(account)),
            Verdict::DifferentZone(account) => Err(StoreError::DifferentZone(account)),
            Verdict::Rebuild { service, foreign_locks } => Ok((service, foreign_locks)),
            Verdict::Cancelled(error) => Err(error),
        }
    }
}

/// Judges a cancelled save in the embedded store's order: the version, the expiry, the
/// holders and the requester's role (against `service_now`, from
/// [`DynamoStore::service_now`]), the standing, then what a rebuild can go round.
pub(super) fn verdict(change: &ContactChange, effect: &Effect, read_version: u64, reasons: &[Reason], service_now: Option<Option<Service>>) -> Verdict {
    if let Some(reason) = failed_condition(reasons, &Purpose::Request) {
        let version = reason.item.as_ref().and_then(|item| item.get("version")).and_then(|v| v.as_n().ok());
        // Still at the version read: only the expiry clause can have failed.
        return if version.is_some_and(|v| *v == read_version.to_string()) { Verdict::Expired } else { Verdict::Stale };
    }
    let mut service = None;
    if let Some(now) = service_now {
        match now.as_ref().map(|now| change.obstacle(&now.contacts)) {
            // Only a role this request does not move changed, and the requester still has its say.
            Some(None) => service = now,
            Some(Some(FailReason::RequesterLostRole)) => return Verdict::RequesterLostRole,
            _ => return Verdict::HoldersChanged,
        }
    }
    if let Effect::Apply { require_good_standing } = effect {
        match account_refused(reasons, require_good_standing) {
            Some(StoreError::NotInGoodStanding(account)) => return Verdict::Overdue(account),
            Some(StoreError::DifferentZone(account)) => return Verdict::DifferentZone(account),
            _ => {}
        }
    }
    let foreign_locks: Vec<Role> = reasons
        .iter()
        .filter(|r| r.condition_failed())
        .filter_map(|r| match r.purpose {
            Purpose::Lock(role) => Some(role),
            _ => None,
        })
        .collect();
    if service.is_some() || !foreign_locks.is_empty() {
        return Verdict::Rebuild { service, foreign_locks };
    }
    // Someone else is writing this request (or an item of this write) right now: as with a
    // moved-on version, read again and decide on fresh data.
    match cancelled_otherwise("save", reasons, StoreError::Stale) {
        StoreError::Stale => Verdict::Stale,
        error => Verdict::Cancelled(error),
    }
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use contacts_domain::rules::Plan;
    use contacts_domain::{Contacts, Roles, ServiceName};

    fn id(text: &str) -> AccountId {
        AccountId::parse(text).unwrap()
    }

    /// aa1 (admin of example.com) asks to move tech from tt1 to nn1; billing is bb1's.
    fn change() -> ContactChange {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let plan = Plan { roles: Roles::new([Role::Tech]).unwrap(), from: id("tt1-ovh"), to: id("nn1-ovh"), confirm: vec![id("aa1-ovh")], inform: vec![] };
        ContactChange::open(ServiceName::parse("example.com").unwrap(), plan, id("aa1-ovh"), contacts_domain::Zone::Eu, now, time::Duration::days(7))
    }

    fn service(admin: &str, tech: &str, billing: &str) -> Service {
        Service {
            name: ServiceName::parse("example.com").unwrap(),
            kind: contacts_domain::ServiceType::default(),
            contacts: Contacts { admin: id(admin), tech: id(tech), billing: id(billing) },
        }
    }

    fn reason(purpose: Purpose, code: &str) -> Reason {
        Reason { purpose, code: Some(code.to_owned()), item: None }
    }

    fn failed(purpose: Purpose) -> Reason {
        reason(purpose, "ConditionalCheckFailed")
    }

    fn request_at(version: u64) -> Reason {
        Reason {
            item: Some(items::key("REQUEST#x".into(), "REQUEST").into_iter().chain([("version".to_owned(), n(version))]).collect()),
            ..failed(Purpose::Request)
        }
    }

    fn apply(require: &[&str]) -> Effect {
        Effect::Apply { require_good_standing: require.iter().map(|a| id(a)).collect() }
    }

    #[test]
    fn the_version_decides_first_and_at_the_version_read_a_failed_request_condition_is_its_expiry() {
        let (change, effect) = (change(), apply(&["bb1-ovh"]));
        let everything = |request: Reason| vec![request, failed(Purpose::Service), failed(Purpose::Account(id("bb1-ovh"))), failed(Purpose::Lock(Role::Tech))];
        let gone = Some(None);
        assert_eq!(verdict(&change, &effect, 4, &everything(request_at(5)), gone.clone()), Verdict::Stale);
        assert_eq!(verdict(&change, &effect, 4, &everything(failed(Purpose::Request)), gone.clone()), Verdict::Stale, "no item returned: not as read");
        assert_eq!(verdict(&change, &effect, 4, &everything(request_at(4)), gone), Verdict::Expired);
    }

    #[test]
    fn the_holders_come_before_the_standing_and_a_requester_who_lost_its_role_is_told_so() {
        let (change, effect) = (change(), apply(&["bb1-ovh"]));
        let reasons = vec![reason(Purpose::Request, "None"), failed(Purpose::Service), failed(Purpose::Account(id("bb1-ovh")))];
        let judge = |now: Option<Service>| verdict(&change, &effect, 4, &reasons, Some(now));
        assert_eq!(judge(None), Verdict::HoldersChanged, "the service is gone");
        assert_eq!(judge(Some(service("aa1-ovh", "xx1-ovh", "bb1-ovh"))), Verdict::HoldersChanged, "tech is no longer tt1's");
        assert_eq!(judge(Some(service("zz1-ovh", "tt1-ovh", "bb1-ovh"))), Verdict::RequesterLostRole, "aa1 is no longer admin");
        assert_eq!(judge(Some(service("aa1-ovh", "tt1-ovh", "cc1-ovh"))), Verdict::Overdue(id("bb1-ovh")), "only billing moved: the standing decides");
    }

    #[test]
    fn the_first_account_not_in_good_standing_is_the_first_in_the_order_asked() {
        let change = change();
        let reasons = vec![failed(Purpose::Account(id("aa1-ovh"))), failed(Purpose::Account(id("nn1-ovh")))];
        assert_eq!(verdict(&change, &apply(&["nn1-ovh", "aa1-ovh"]), 4, &reasons, None), Verdict::Overdue(id("nn1-ovh")));
        assert_eq!(verdict(&change, &apply(&["aa1-ovh", "nn1-ovh"]), 4, &reasons, None), Verdict::Overdue(id("aa1-ovh")));
    }

    #[test]
    fn an_unmoved_role_changed_or_another_requests_lock_is_rebuilt_over() {
        let change = change();
        let now = service("aa1-ovh", "tt1-ovh", "cc1-ovh");
        let reasons = vec![failed(Purpose::Service), failed(Purpose::Lock(Role::Tech))];
        let expected = Verdict::Rebuild { service: Some(now.clone()), foreign_locks: vec![Role::Tech] };
        assert_eq!(verdict(&change, &apply(&[]), 4, &reasons, Some(Some(now))), expected);
        let lock_only = vec![failed(Purpose::Lock(Role::Tech))];
        assert_eq!(verdict(&change, &Effect::ReleaseLocks, 4, &lock_only, None), Verdict::Rebuild { service: None, foreign_locks: vec![Role::Tech] });
    }

    #[test]
    fn a_conflict_is_stale_throttling_unavailable_and_anything_else_a_failure() {
        let change = change();
        let judge = |code: &str| verdict(&change, &Effect::Nothing, 4, &[reason(Purpose::Request, "None"), reason(Purpose::Copy, code)], None);
        assert_eq!(judge("TransactionConflict"), Verdict::Stale);
        assert!(matches!(judge("ThrottlingError"), Verdict::Cancelled(StoreError::Unavailable(_))));
        assert!(matches!(judge("ValidationError"), Verdict::Cancelled(StoreError::Failed(_))));
    }
}
