//! SPEC §2, "who may ask for what", as one table.

use std::collections::HashMap;

use super::{Account, AccountId, Contacts, Role, Roles};

/// Who must confirm a change, and who is only told about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub roles: Roles,
    pub from: AccountId,
    pub to: AccountId,
    /// The parties, requester first.
    pub confirm: Vec<AccountId>,
    pub inform: Vec<AccountId>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleViolation {
    #[error("you hold no role of this service")]
    NotAContact,
    /// The new contact (or a holder the provider names) is no account.
    #[error("{0} is not a known account")]
    UnknownAccount(AccountId),
    /// A billing change needs both billing contacts in good standing.
    #[error("{0} is not in good standing with its payments, which a billing change requires")]
    PaymentOverdue(AccountId),
    #[error("your roles on this service do not allow you to change its {0} contact")]
    NotAllowed(Role),
    #[error("{account} already holds the {role} role of this service")]
    NoChange { role: Role, account: AccountId },
}

/// The requester's standing for one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asker {
    Admin,
    /// Holds the very role being moved (and is not admin: admin rows come first).
    HolderOfTheRole,
}

impl Asker {
    /// Whether `requester` stands so on a service with `contacts`, asking to move `role`.
    fn fits(self, contacts: &Contacts, requester: &AccountId, role: Role) -> bool {
        match self {
            Asker::Admin => contacts.admin == *requester,
            Asker::HolderOfTheRole => contacts.holder(role) == requester,
        }
    }
}

/// Who the new contact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NewContact {
    Other,
    TheRequester,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confirm {
    RequesterAndNewContact,
    RequesterAlone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inform {
    PreviousHolder,
    Nobody,
}

struct Row {
    asker: Asker,
    roles: &'static [Role],
    new_contact: NewContact,
    confirm: Confirm,
    inform: Inform,
}

/// SPEC §2, in its order. The first row that fits decides; no row, no permission.
const WHO_MAY_ASK: &[Row] = &[
    // admin: a new tech and/or billing contact
    Row {
        asker: Asker::Admin,
        roles: &[Role::Tech, Role::Billing],
        new_contact: NewContact::Other,
        confirm: Confirm::RequesterAndNewContact,
        inform: Inform::PreviousHolder,
    },
    // admin: itself as tech and/or billing
    Row {
        asker: Asker::Admin,
        roles: &[Role::Tech, Role::Billing],
        new_contact: NewContact::TheRequester,
        confirm: Confirm::RequesterAlone,
        inform: Inform::PreviousHolder,
    },
    // admin: a new admin in its place
    Row { asker: Asker::Admin, roles: &[Role::Admin], new_contact: NewContact::Other, confirm: Confirm::RequesterAndNewContact, inform: Inform::Nobody },
    // tech (not admin): another tech in its place
    Row {
        asker: Asker::HolderOfTheRole,
        roles: &[Role::Tech],
        new_contact: NewContact::Other,
        confirm: Confirm::RequesterAndNewContact,
        inform: Inform::Nobody,
    },
    // billing (not admin): another billing in its place
    Row {
        asker: Asker::HolderOfTheRole,
        roles: &[Role::Billing],
        new_contact: NewContact::Other,
        confirm: Confirm::RequesterAndNewContact,
        inform: Inform::Nobody,
    },
];

/// SPEC §2's first question, which nothing about the new contact answers: may `requester` ask
/// to move each of `roles` of a service with `contacts` at all? An account with no role on it
/// is no contact of it (told it does not exist). Who the new contact is changes who confirms
/// (an admin naming itself as tech or billing confirms alone), never whether one may ask: so
/// this is decided, and answered, before the new contact is looked up (SPEC §2: naming one
/// probes another account).
pub fn right_to_ask(contacts: &Contacts, requester: &AccountId, roles: &[Role]) -> Result<(), RuleViolation> {
    if contacts.roles_of(requester).is_empty() {
        return Err(RuleViolation::NotAContact);
    }
    match roles.iter().find(|role| !WHO_MAY_ASK.iter().any(|row| row.asker.fits(contacts, requester, **role) && row.roles.contains(role))) {
        Some(role) => Err(RuleViolation::NotAllowed(*role)),
        None => Ok(()),
    }
}

/// The obligations of moving one role of a service (with `contacts`) to `new`, asked by a
/// `requester` with the [`right_to_ask`] for it.
fn obligations(contacts: &Contacts, requester: &AccountId, role: Role, new: &AccountId) -> Result<(Vec<AccountId>, Vec<AccountId>), RuleViolation> {
    let previous = contacts.holder(role);
    if previous == new {
        return Err(RuleViolation::NoChange { role, account: new.clone() });
    }
    let new_contact = if new == requester { NewContact::TheRequester } else { NewContact::Other };
    let row = WHO_MAY_ASK
        .iter()
        .find(|row| row.asker.fits(contacts, requester, role) && row.roles.contains(&role) && row.new_contact == new_contact)
        .ok_or(RuleViolation::NotAllowed(role))?;
    let confirm = match row.confirm {
        Confirm::RequesterAndNewContact => vec![requester.clone(), new.clone()],
        Confirm::RequesterAlone => vec![requester.clone()],
    };
    let inform = match row.inform {
        Inform::PreviousHolder => vec![previous.clone()],
        Inform::Nobody => vec![],
    };
    Ok((confirm, inform))
}

/// Plans the requests for moving each `(role, new account)` in `asks`: roles moving from the
/// same previous holder to the same new account form one request, otherwise one per role.
/// Every role must be allowed ([`right_to_ask`], decided first), or nothing is planned.
pub fn plan(contacts: &Contacts, requester: &AccountId, asks: &[(Role, AccountId)]) -> Result<Vec<Plan>, RuleViolation> {
    right_to_ask(contacts, requester, &asks.iter().map(|(role, _)| *role).collect::<Vec<_>>())?;
    let mut drafts: Vec<Draft> = Vec::new();
    for (role, new) in asks {
        let (confirm, inform) = obligations(contacts, requester, *role, new)?;
        let from = contacts.holder(*role);
        match drafts.iter_mut().find(|d| &d.from == from && &d.to == new) {
            Some(draft) => {
                draft.roles.push(*role);
                union(&mut draft.confirm, confirm);
                union(&mut draft.inform, inform);
            }
            None => drafts.push(Draft { roles: vec![*role], from: from.clone(), to: new.clone(), confirm, inform }),
        }
    }
    Ok(drafts
        .into_iter()
        .map(|Draft { roles, from, to, confirm, mut inform }| {
            // Someone who must confirm is told everything anyway.
            inform.retain(|account| !confirm.contains(account));
            Plan { roles: Roles::new(roles).expect("each draft holds at least the role that opened it"), from, to, confirm, inform }
        })
        .collect())
}

impl Plan {
    /// Every account this plan's request names: to read them once, check them and mail them.
    pub fn named(&self) -> impl Iterator<Item = &AccountId> {
        [&self.from, &self.to].into_iter().chain(&self.confirm).chain(&self.inform)
    }

    /// SPEC §2 on the new contact as it is (`accounts`, by id, holding at least it): it
    /// exists, and for a billing change it is in good standing. The previous billing contact's
    /// standing is the store's to check, in the very write that makes the request
    /// (`ContactChange::must_be_in_good_standing`), as when the change takes effect.
    pub fn check(&self, accounts: &HashMap<AccountId, Account>) -> Result<(), RuleViolation> {
        let Some(to) = accounts.get(&self.to) else {
            return Err(RuleViolation::UnknownAccount(self.to.clone()));
        };
        if self.roles.contains(Role::Billing) && !to.in_good_standing() {
            return Err(RuleViolation::PaymentOverdue(self.to.clone()));
        }
        Ok(())
    }
}

/// Whether `requester` may still ask to move `roles` to `to` on a service with `contacts`:
/// the same table, read again when the change is about to take effect, so that authority is
/// the holder's at that moment and not a memory of it (SPEC §3, `requester_lost_role`).
pub fn entitled(contacts: &Contacts, requester: &AccountId, roles: &Roles, to: &AccountId) -> bool {
    !contacts.roles_of(requester).is_empty() && roles.iter().all(|role| obligations(contacts, requester, role, to).is_ok())
}

/// A plan while roles are still being grouped into it.
struct Draft {
    roles: Vec<Role>,
    from: AccountId,
    to: AccountId,
    confirm: Vec<AccountId>,
    inform: Vec<AccountId>,
}

fn union(into: &mut Vec<AccountId>, more: Vec<AccountId>) {
    for account in more {
        if !into.contains(&account) {
            into.push(account);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> AccountId {
        AccountId::parse(s).unwrap()
    }

    /// admin aa1, tech tt1, billing bb1; nn1 is an outsider with no role.
    fn contacts() -> Contacts {
        Contacts { admin: id("aa1-ovh"), tech: id("tt1-ovh"), billing: id("bb1-ovh") }
    }

    fn one(requester: &str, role: Role, new: &str) -> Result<Plan, RuleViolation> {
        plan(&contacts(), &id(requester), &[(role, id(new))]).map(|mut plans| {
            assert_eq!(plans.len(), 1);
            plans.remove(0)
        })
    }

    #[test]
    fn an_admin_asking_a_new_tech_contact_needs_itself_and_the_new_contact_and_informs_the_previous_one() {
        let plan = one("aa1-ovh", Role::Tech, "nn1-ovh").unwrap();
        assert_eq!(plan.confirm, vec![id("aa1-ovh"), id("nn1-ovh")]);
        assert_eq!(plan.inform, vec![id("tt1-ovh")]);
        assert_eq!((plan.from, plan.to), (id("tt1-ovh"), id("nn1-ovh")));
    }

    #[test]
    fn an_admin_asking_a_new_billing_contact_needs_itself_and_the_new_contact_and_informs_the_previous_one() {
        let plan = one("aa1-ovh", Role::Billing, "nn1-ovh").unwrap();
        assert_eq!(plan.confirm, vec![id("aa1-ovh"), id("nn1-ovh")]);
        assert_eq!(plan.inform, vec![id("bb1-ovh")]);
    }

    #[test]
    fn an_admin_taking_the_tech_or_billing_role_itself_confirms_alone_and_informs_the_previous_holder() {
        for role in [Role::Tech, Role::Billing] {
            let plan = one("aa1-ovh", role, "aa1-ovh").unwrap();
            assert_eq!(plan.confirm, vec![id("aa1-ovh")]);
            assert_eq!(plan.inform, vec![contacts().holder(role).clone()]);
        }
    }

    #[test]
    fn an_admin_handing_over_the_admin_role_needs_both_and_informs_nobody() {
        let plan = one("aa1-ovh", Role::Admin, "nn1-ovh").unwrap();
        assert_eq!(plan.confirm, vec![id("aa1-ovh"), id("nn1-ovh")]);
        assert!(plan.inform.is_empty());
    }

    #[test]
    fn a_tech_contact_may_only_hand_over_its_own_role() {
        let plan = one("tt1-ovh", Role::Tech, "nn1-ovh").unwrap();
        assert_eq!(plan.confirm, vec![id("tt1-ovh"), id("nn1-ovh")]);
        assert!(plan.inform.is_empty());
        assert_eq!(one("tt1-ovh", Role::Billing, "nn1-ovh"), Err(RuleViolation::NotAllowed(Role::Billing)));
        assert_eq!(one("tt1-ovh", Role::Admin, "nn1-ovh"), Err(RuleViolation::NotAllowed(Role::Admin)));
    }

    #[test]
    fn a_billing_contact_may_only_hand_over_its_own_role() {
        let plan = one("bb1-ovh", Role::Billing, "nn1-ovh").unwrap();
        assert_eq!(plan.confirm, vec![id("bb1-ovh"), id("nn1-ovh")]);
        assert!(plan.inform.is_empty());
        assert_eq!(one("bb1-ovh", Role::Tech, "nn1-ovh"), Err(RuleViolation::NotAllowed(Role::Tech)));
        assert_eq!(one("bb1-ovh", Role::Admin, "nn1-ovh"), Err(RuleViolation::NotAllowed(Role::Admin)));
    }

    #[test]
    fn a_tech_contact_cannot_give_its_role_to_the_admin_by_asking_for_someone_else() {
        // tech asking to move billing to itself is still a billing change it may not ask.
        assert_eq!(one("tt1-ovh", Role::Billing, "tt1-ovh"), Err(RuleViolation::NotAllowed(Role::Billing)));
    }

    #[test]
    fn an_account_with_no_role_may_ask_nothing() {
        assert_eq!(one("nn1-ovh", Role::Tech, "nn1-ovh"), Err(RuleViolation::NotAContact));
    }

    #[test]
    fn the_right_to_ask_is_decided_without_the_new_contact() {
        // Whoever is named, even the role's holder or the requester itself, a role one may not
        // ask for is refused as such: the answer tells nothing about the account named.
        for (requester, role) in [("tt1-ovh", Role::Billing), ("tt1-ovh", Role::Admin), ("bb1-ovh", Role::Tech), ("bb1-ovh", Role::Admin)] {
            assert_eq!(right_to_ask(&contacts(), &id(requester), &[role]), Err(RuleViolation::NotAllowed(role)));
            for new in ["aa1-ovh", "tt1-ovh", "bb1-ovh", "nn1-ovh"] {
                assert_eq!(one(requester, role, new), Err(RuleViolation::NotAllowed(role)), "{requester} asking {role} for {new}");
            }
        }
        assert_eq!(right_to_ask(&contacts(), &id("nn1-ovh"), &[Role::Tech]), Err(RuleViolation::NotAContact));
        // An admin may ask for every role, and a holder for its own, whoever the new contact is.
        assert_eq!(right_to_ask(&contacts(), &id("aa1-ovh"), &Role::ALL), Ok(()));
        assert_eq!(right_to_ask(&contacts(), &id("tt1-ovh"), &[Role::Tech]), Ok(()));
        assert_eq!(right_to_ask(&contacts(), &id("bb1-ovh"), &[Role::Billing]), Ok(()));
    }

    #[test]
    fn a_new_contact_that_already_holds_the_role_is_no_change() {
        assert_eq!(one("aa1-ovh", Role::Tech, "tt1-ovh"), Err(RuleViolation::NoChange { role: Role::Tech, account: id("tt1-ovh") }));
        assert_eq!(one("aa1-ovh", Role::Admin, "aa1-ovh"), Err(RuleViolation::NoChange { role: Role::Admin, account: id("aa1-ovh") }));
    }

    #[test]
    fn roles_moving_from_one_holder_to_one_account_form_one_request() {
        let shared = Contacts { admin: id("aa1-ovh"), tech: id("xx1-ovh"), billing: id("xx1-ovh") };
        let plans = plan(&shared, &id("aa1-ovh"), &[(Role::Billing, id("nn1-ovh")), (Role::Tech, id("nn1-ovh"))]).unwrap();
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].roles, Roles::new([Role::Tech, Role::Billing]).unwrap());
        assert_eq!(plans[0].inform, vec![id("xx1-ovh")]);
    }

    #[test]
    fn roles_with_different_previous_holders_or_new_accounts_form_one_request_each() {
        let plans = plan(&contacts(), &id("aa1-ovh"), &[(Role::Tech, id("nn1-ovh")), (Role::Billing, id("nn1-ovh"))]).unwrap();
        assert_eq!(plans.len(), 2);
        let plans = plan(&contacts(), &id("aa1-ovh"), &[(Role::Tech, id("nn1-ovh")), (Role::Billing, id("mm1-ovh"))]).unwrap();
        assert_eq!(plans.len(), 2);
    }

    #[test]
    fn an_admin_stays_entitled_while_it_is_admin_and_a_handover_while_its_giver_holds_the_role() {
        let tech = Roles::new([Role::Tech]).unwrap();
        assert!(entitled(&contacts(), &id("aa1-ovh"), &tech, &id("nn1-ovh")));
        let deposed = Contacts { admin: id("mm1-ovh"), ..contacts() };
        assert!(!entitled(&deposed, &id("aa1-ovh"), &tech, &id("nn1-ovh")), "no longer admin: no say over tech");
        assert!(entitled(&deposed, &id("tt1-ovh"), &tech, &id("nn1-ovh")), "a handover needs only the role itself");
        let moved = Contacts { tech: id("xx1-ovh"), ..contacts() };
        assert!(!entitled(&moved, &id("tt1-ovh"), &tech, &id("nn1-ovh")));
    }

    #[test]
    fn one_forbidden_role_refuses_the_whole_ask() {
        let result = plan(&contacts(), &id("tt1-ovh"), &[(Role::Tech, id("nn1-ovh")), (Role::Billing, id("nn1-ovh"))]);
        assert_eq!(result, Err(RuleViolation::NotAllowed(Role::Billing)));
    }

    #[test]
    fn a_previous_holder_who_must_confirm_is_not_also_only_informed() {
        // The admin also holds tech and hands both to a new account: it confirms, and is not "informed".
        let shared = Contacts { admin: id("aa1-ovh"), tech: id("aa1-ovh"), billing: id("bb1-ovh") };
        let plans = plan(&shared, &id("aa1-ovh"), &[(Role::Admin, id("nn1-ovh")), (Role::Tech, id("nn1-ovh"))]).unwrap();
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].confirm, vec![id("aa1-ovh"), id("nn1-ovh")]);
        assert!(plans[0].inform.is_empty());
    }
}
