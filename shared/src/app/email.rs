//! SPEC §5's profile email change: `PATCH /v1/me {"email"}` only asks for it; the address moves
//! once the new one proves it reads its mail (`POST /v1/me/email-verification`, or the emailed
//! link's page). Until then every mail goes to the old address, which is told of the change.
//!
//! Why: with a stolen session, setting one's own address and pressing resend would otherwise
//! route a party's fresh token to the thief, and the owner would never know.

use time::OffsetDateTime;

use super::{App, Error, Result, no_profile};
use crate::domain::events::{AccountFacts, LanguageFacts};
use crate::domain::limits::{self, EMAIL_CHANGE_TTL};
use crate::domain::{Account, AccountId, EmailAddress, Event, EventId, Fact, Occurrence, PendingEmail, Token};
use crate::mail::{self, ProfileMailKind};
use crate::ports::{ProfilePatch, ProfileRecord, StoreError};

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
    pub async fn my_profile(&self, caller: &AccountId) -> Result<Profile> {
        let record = self.store.profile(caller).await?.ok_or_else(no_profile)?;
        Ok(Profile::of(record, self.now()))
    }

    /// `PATCH /v1/me`: an `email` becomes the pending address (see [`App::ask_email_change`]);
    /// then the `language`, which applies at once. The email part goes first, so that a refused
    /// or failed ask (429, 503) changes nothing; its mails are written in the patched language.
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
    /// the pending address, its verification link goes to `email`, and the current address is
    /// told (without the token). A newer ask replaces the pending one (its token stops working);
    /// asking for the current address drops the pending change and mails nothing.
    ///
    /// At most `EMAIL_CHANGE_LIMIT` asks that mail per `EMAIL_CHANGE_WINDOW` (429
    /// `too_many_requests`). If the verification mail cannot be sent, the ask is undone and the
    /// answer is a 503 with `Retry-After` (the mail is the whole point of the call, and the
    /// refused ask does not count); the notice to the old address is best effort, since an old
    /// mailbox that is gone is a common reason for the change.
    pub async fn ask_email_change(&self, caller: &AccountId, email: EmailAddress, language: Option<crate::domain::Language>) -> Result<Profile> {
        let (email, language) = (&email, &language);
        self.retry_on_stale(|| async move {
            let record = self.store.profile(caller).await?.ok_or_else(no_profile)?;
            let now = self.now();
            let replaced = record.pending_email.as_ref().map(|p| p.token);
            let mut next = record.clone();
            next.revision += 1;
            if *email == record.account.email {
                if record.pending_email.is_none() {
                    return Ok(Some(Profile::of(record, now)));
                }
                next.pending_email = None;
                return match self.store.save_email_change(&next, replaced.as_ref()).await {
                    Ok(()) => {
                        tracing::info!(account = %caller, "profile email change withdrawn");
                        Ok(Some(Profile::of(next, now)))
                    }
                    Err(StoreError::Stale) => Ok(None),
                    Err(other) => Err(other.into()),
                };
            }
            let recent = limits::may_change_email(&record.email_asks, now).map_err(|retry_after| Error::TooManyEmailChanges { retry_after })?;
            let token = Token::generate();
            let expires_at = now + EMAIL_CHANGE_TTL;
            next.pending_email = Some(PendingEmail { email: email.clone(), token: token.hash(), expires_at });
            next.email_asks = recent.iter().copied().chain([now]).collect();
            match self.store.save_email_change(&next, replaced.as_ref()).await {
                Ok(()) => {}
                Err(StoreError::Stale) => return Ok(None),
                Err(other) => return Err(other.into()),
            }
            tracing::info!(account = %caller, "profile email change asked");

            let mut account = next.account.clone();
            if let Some(language) = *language {
                account.language = language;
            }
            let link = format!("{}/verify-email#token={}", self.config.public_base_url, token.expose());
            let verify =
                mail::compose_profile(ProfileMailKind::VerifyEmail { link: &link, token: &token }, &account, email, expires_at, &self.config.mail_from);
            if let Err(error) = self.send(&verify).await {
                tracing::warn!(account = %caller, %error, "verification mail not sent: the email change is undone");
                self.undo_email_change(&next, &recent).await;
                return Err(error.into());
            }
            let notice = mail::compose_profile(ProfileMailKind::EmailChangeAsked, &account, email, expires_at, &self.config.mail_from);
            if let Err(error) = self.send(&notice).await {
                tracing::warn!(account = %caller, %error, "the old address was not told of the email change");
            }
            Ok(Some(Profile::of(next, now)))
        })
        .await
    }

    /// Drops the pending change `asked` wrote, and its ask from the count. Best effort: if this
    /// fails, the change stays pending with a token nobody received, which verifies nothing
    /// and expires; the next ask replaces it.
    async fn undo_email_change(&self, asked: &ProfileRecord, recent: &[OffsetDateTime]) {
        let mut undone = asked.clone();
        undone.pending_email = None;
        undone.email_asks = recent.to_vec();
        undone.revision += 1;
        let token = asked.pending_email.as_ref().map(|p| p.token);
        if let Err(error) = self.store.save_email_change(&undone, token.as_ref()).await {
            tracing::warn!(account = %asked.account.id, %error, "could not undo the email change");
        }
    }

    /// Verifies a pending address change with the emailed token: the address becomes the
    /// account's, and the token is spent, in one write. `caller` is the signed-in account
    /// (whose own change it must be), or `None` on the emailed link's page, where the token
    /// alone authorises. A token that is not the live token of a pending change (mistyped,
    /// spent, replaced, expired, or another account's) is `EmailTokenMismatch` and changes
    /// nothing.
    pub async fn verify_email(&self, token: &str, caller: Option<&AccountId>) -> Result<Profile> {
        let hash = Token::parse(token).ok_or(Error::EmailTokenMismatch)?.hash();
        let now = self.now();
        let owner = self.store.email_token(&hash, now).await?.ok_or(Error::EmailTokenMismatch)?;
        if caller.is_some_and(|caller| *caller != owner) {
            return Err(Error::EmailTokenMismatch);
        }
        let verified = Event::new(EventId::new(now), Occurrence { at: now, fact: Fact::ProfileEmailVerified(AccountFacts { account: owner.clone() }) });
        let account = self.store.verify_email(&owner, &hash, now, &verified).await?.ok_or(Error::EmailTokenMismatch)?;
        tracing::info!(account = %owner, "profile email verified");
        Ok(Profile { account, pending_email: None })
    }
}
