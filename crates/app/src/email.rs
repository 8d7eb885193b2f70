//! SPEC §5's profile email change: `PATCH /v1/me {"email"}` only asks for it; it takes both
//! addresses. A code goes to the new address (it is reachable) and a code to the current one
//! (its owner agrees); the address moves once both came back (`POST /v1/me/email-verification`,
//! or the emailed links' page), in either order, and the old address is told.
//!
//! Why both: a stolen session that could move the mail on the new address's code alone would
//! receive every later code, and with them take every service of the account over.

use time::OffsetDateTime;

use super::{App, Error, Result, no_profile, unless_stale};
use crate::mail::{self, ProfileMailKind};
use crate::ports::{ProfilePatch, ProfileRecord, StoreError};
use contacts_domain::events::{AccountFacts, LanguageFacts};
use contacts_domain::limits::{self, EMAIL_CHANGE_TTL};
use contacts_domain::{Account, AccountId, AwaitedCodes, CodeBack, EmailAddress, Event, EventId, Fact, Occurrence, PendingEmail, Token};

/// A profile as its holder sees it: the account, and the address it awaits verification of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub account: Account,
    pub pending_email: Option<EmailAddress>,
}

impl Profile {
    fn of(record: ProfileRecord, now: OffsetDateTime) -> Self {
        let pending_email = record.pending_email.filter(|p| p.is_live(now)).map(|p| p.email);
        Self { account: record.account, pending_email }
    }
}

impl App {
    /// `GET /v1/me`: the caller's profile, with its pending address if any.
    #[tracing::instrument(skip_all, fields(account = %caller))]
    pub async fn my_profile(&self, caller: &AccountId) -> Result<Profile> {
        let record = self.store.profile(caller).await?.ok_or_else(no_profile)?;
        Ok(Profile::of(record, self.now()))
    }

    /// `PATCH /v1/me`: an `email` becomes the pending address (see [`App::ask_email_change`]);
    /// then the `language`, which applies at once. The email part goes first, so that a refused
    /// or failed ask (429, 503) changes nothing; its mails are written in the patched language.
    #[tracing::instrument(skip_all, fields(account = %caller))]
    pub async fn change_profile(&self, caller: &AccountId, patch: ProfilePatch) -> Result<Profile> {
        let now = self.now();
        let mut profile = None;
        if let Some(email) = patch.email {
            profile = Some(self.ask_email_change(caller, email, patch.language).await?);
        }
        if let Some(language) = patch.language {
            let changed =
                Event::new(EventId::new(now), Occurrence { at: now, fact: Fact::ProfileLanguageChanged(LanguageFacts { account: caller.clone(), language }) });
            let record = self.store.set_language(caller, language, &changed).await?.ok_or_else(no_profile)?;
            return Ok(Profile::of(record, self.now()));
        }
        match profile {
            Some(profile) => Ok(profile),
            None => Ok(Profile::of(self.store.profile(caller).await?.ok_or_else(no_profile)?, now)),
        }
    }

    /// Asks to move the caller's mail to `email`. The address stays as it is: `email` becomes
    /// the pending address, one code goes to `email` and one to the current address, which
    /// agrees with it (or, with no word, lets the change lapse). A newer ask replaces the
    /// pending one (its codes stop working); asking for the current address drops the pending
    /// change and mails nothing.
    ///
    /// At most `EMAIL_CHANGE_LIMIT` asks that mail per `EMAIL_CHANGE_WINDOW` (429
    /// `too_many_requests`). If either mail cannot be sent, the ask is undone and the answer is
    /// a 503 with `Retry-After` (without both codes the change cannot happen, and the refused
    /// ask does not count).
    #[tracing::instrument(skip_all, fields(account = %caller))]
    pub async fn ask_email_change(&self, caller: &AccountId, email: EmailAddress, language: Option<contacts_domain::Language>) -> Result<Profile> {
        let (email, language) = (&email, &language);
        self.retry_on_stale(|| async move {
            let record = self.store.profile(caller).await?.ok_or_else(no_profile)?;
            let now = self.now();
            let replaced = record.pending_email.as_ref().map(|p| p.awaiting.hashes()).unwrap_or_default();
            let mut next = record.clone();
            next.revision += 1;
            if *email == record.account.email {
                if record.pending_email.is_none() {
                    return Ok(Some(Profile::of(record, now)));
                }
                next.pending_email = None;
                let saved = self.store.save_email_change(&next, &replaced).await;
                if saved.is_ok() {
                    tracing::info!(account = %caller, "profile email change withdrawn");
                }
                return unless_stale(saved, Profile::of(next, now));
            }
            let recent = limits::may_change_email(&record.email_asks, now).map_err(|retry_after| Error::TooManyEmailChanges { retry_after })?;
            let (to_new, to_current) = (Token::generate(), Token::generate());
            let expires_at = now + EMAIL_CHANGE_TTL;
            let awaiting = AwaitedCodes::Both { new_address: to_new.hash(), current_address: to_current.hash() };
            next.pending_email = Some(PendingEmail { email: email.clone(), awaiting, expires_at });
            next.email_asks = recent.iter().copied().chain([now]).collect();
            if unless_stale(self.store.save_email_change(&next, &replaced).await, ())?.is_none() {
                return Ok(None);
            }
            tracing::info!(account = %caller, "profile email change asked");

            let mut account = next.account.clone();
            if let Some(language) = *language {
                account.language = language;
            }
            let link = |token: &Token| format!("{}/verify-email#token={}", self.config.public_base_url, token.expose());
            let (new_link, current_link) = (link(&to_new), link(&to_current));
            let from = &self.config.mail_from;
            let mails = [
                mail::compose_profile(ProfileMailKind::VerifyEmail { link: &new_link, token: &to_new }, &account, email, expires_at, from),
                mail::compose_profile(ProfileMailKind::AgreeToEmailChange { link: &current_link, token: &to_current }, &account, email, expires_at, from),
            ];
            for mail in &mails {
                if let Err(error) = self.send(mail).await {
                    tracing::warn!(account = %caller, %error, "an email change's code not sent: the change is undone");
                    self.undo_email_change(&next, &recent).await;
                    return Err(error.into());
                }
            }
            Ok(Some(Profile::of(next, now)))
        })
        .await
    }

    /// Drops the pending change `asked` wrote, and its ask from the count. Best effort: if this
    /// fails, the change stays pending with codes nobody (or one address only) received, which
    /// cannot complete it and expire; the next ask replaces it.
    async fn undo_email_change(&self, asked: &ProfileRecord, recent: &[OffsetDateTime]) {
        let mut undone = asked.clone();
        undone.pending_email = None;
        undone.email_asks = recent.to_vec();
        undone.revision += 1;
        let codes = asked.pending_email.as_ref().map(|p| p.awaiting.hashes()).unwrap_or_default();
        if let Err(error) = self.store.save_email_change(&undone, &codes).await {
            tracing::warn!(account = %asked.account.id, %error, "could not undo the email change");
        }
    }

    /// One of a pending address change's two codes came back. `caller` is the signed-in account
    /// (whose own change it must be), or `None` on the emailed link's page, where the code alone
    /// authorises. The first of the two is spent and the change awaits the other; the last
    /// makes the address the account's (SPEC §3: the account's live codes of pending requests
    /// stop working and fresh ones go to the new address: readdress.rs) and the old
    /// address is told. A code that is not one the change awaits (mistyped, spent, replaced,
    /// expired, or another account's) is `EmailTokenMismatch` and changes nothing.
    #[tracing::instrument(skip_all, fields(account = caller.map(AccountId::as_str)))]
    pub async fn verify_email(&self, token: &str, caller: Option<&AccountId>) -> Result<Profile> {
        let hash = Token::parse(token).ok_or(Error::EmailTokenMismatch)?.hash();
        let owner = self.store.email_token(&hash, self.now()).await?.ok_or(Error::EmailTokenMismatch)?;
        if caller.is_some_and(|caller| *caller != owner) {
            return Err(Error::EmailTokenMismatch);
        }
        let (owner, hash) = (&owner, &hash);
        self.retry_on_stale(|| async move {
            let record = self.store.profile(owner).await?.ok_or(Error::EmailTokenMismatch)?;
            let now = self.now();
            let pending = record.pending_email.clone().filter(|p| p.is_live(now)).ok_or(Error::EmailTokenMismatch)?;
            match pending.awaiting.give(hash).ok_or(Error::EmailTokenMismatch)? {
                CodeBack::StillAwaiting(awaiting) => {
                    let mut next = record.clone();
                    next.revision += 1;
                    next.pending_email = Some(PendingEmail { awaiting, ..pending });
                    let saved = self.store.save_email_change(&next, &[*hash]).await;
                    if saved.is_ok() {
                        tracing::info!(account = %owner, "one of an email change's two codes came back");
                    }
                    unless_stale(saved, Profile::of(next, now))
                }
                CodeBack::Complete => self.change_email(&record, now).await,
            }
        })
        .await
    }

    /// Makes `read`'s pending address the account's: the account's codes on pending requests
    /// stop working first, then the address moves, then fresh codes go to it and the old
    /// address is told. `None` if the change moved on meanwhile (read it again).
    async fn change_email(&self, read: &ProfileRecord, now: OffsetDateTime) -> Result<Option<Profile>> {
        let owner = &read.account.id;
        let awaiting = self.withhold_codes(owner).await?;
        let verified = Event::new(EventId::new(now), Occurrence { at: now, fact: Fact::ProfileEmailVerified(AccountFacts { account: owner.clone() }) });
        let account = match self.store.verify_email(read, now, &verified).await {
            Ok(account) => account,
            Err(error) => {
                // The address stays: the codes withheld for nothing go out again, to it.
                self.mail_fresh_codes(owner, &awaiting).await;
                return match error {
                    StoreError::Stale => Ok(None),
                    other => Err(other.into()),
                };
            }
        };
        tracing::info!(account = %owner, "profile email changed");
        self.mail_fresh_codes(owner, &awaiting).await;
        let changed = mail::compose_profile(ProfileMailKind::EmailChanged { old: &read.account.email }, &account, &account.email, now, &self.config.mail_from);
        if let Err(error) = self.send(&changed).await {
            tracing::warn!(account = %owner, %error, "the old address was not told of the email change");
        }
        Ok(Some(Profile { account, pending_email: None }))
    }
}
