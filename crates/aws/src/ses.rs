//! The `Mailer` on Amazon SES v2: one `SendEmail` per mail, with simple content (subject,
//! text and HTML, UTF-8), `From` = the mail's sender, `To` = its one recipient, tagged
//! `account={recipient's account}` ([`ACCOUNT_TAG`]): the configuration set's bounce and
//! complaint events carry the tag back (`mail.tags`), so the account is found without a Scan.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sesv2::error::SdkError;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageTag};

use crate::sdk::{self, Failure};
use contacts_app::config::AwsConfig;
use contacts_app::mail::{ACCOUNT_TAG, Mail};
use contacts_app::ports::{Cause, MailError, Mailer};

pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    configuration_set: Option<String>,
    pace: Option<Pace>,
}

impl SesMailer {
    /// `configuration_set`: the SES configuration set to send through (event publishing,
    /// suppression, dedicated IPs), if any.
    pub fn new(client: aws_sdk_sesv2::Client, configuration_set: Option<String>) -> Self {
        Self { client, configuration_set: configuration_set.filter(|c| !c.is_empty()), pace: None }
    }

    /// This mailer sending at most `per_second` mails a second (`SES_MAX_SEND_RATE`: the
    /// account's maximum sending rate, shared by the processes that send), and pausing a second
    /// after SES throttles it.
    pub fn paced(mut self, per_second: u32) -> Self {
        self.pace = Some(Pace::new(per_second));
        self
    }
}

/// The sends of one process spaced `1 / rate` apart, in the order they asked: SES refuses
/// (`TooManyRequestsException`) what goes faster than the account's maximum sending rate. After
/// a refusal the next send waits a second, which is SES's unit of rate.
#[derive(Debug)]
struct Pace {
    interval: Duration,
    /// The earliest moment the next send may go.
    next: Mutex<tokio::time::Instant>,
}

impl Pace {
    /// How long the next send waits after SES throttled one.
    const AFTER_THROTTLING: Duration = Duration::from_secs(1);

    fn new(per_second: u32) -> Self {
        Self { interval: Duration::from_secs(1) / per_second.max(1), next: Mutex::new(tokio::time::Instant::now()) }
    }

    /// Waits for this send's turn.
    async fn wait(&self) {
        let turn = {
            let mut next = self.next.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let turn = (*next).max(tokio::time::Instant::now());
            *next = turn + self.interval;
            turn
        };
        tokio::time::sleep_until(turn).await;
    }

    /// SES throttled a send: the next waits.
    fn throttled(&self) {
        let mut next = self.next.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *next = (*next).max(tokio::time::Instant::now() + Self::AFTER_THROTTLING);
    }
}

fn utf8(data: &str) -> Result<Content, MailError> {
    Content::builder().data(data).charset("UTF-8").build().map_err(|e| MailError::Rejected(Cause::of(format!("SendEmail: {e}"), e)))
}

#[async_trait]
impl Mailer for SesMailer {
    #[tracing::instrument(name = "ses.send_email", skip_all, fields(account = %mail.account))]
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let tag = MessageTag::builder()
            .name(ACCOUNT_TAG)
            .value(mail.account.as_str())
            .build()
            .map_err(|e| MailError::Rejected(Cause::of(format!("SendEmail: {e}"), e)))?;
        let message = Message::builder().subject(utf8(&mail.subject)?).body(Body::builder().text(utf8(&mail.text)?).html(utf8(&mail.html)?).build()).build();
        if let Some(pace) = &self.pace {
            pace.wait().await;
        }
        let sent = self
            .client
            .send_email()
            .from_email_address(mail.from.as_str())
            .destination(Destination::builder().to_addresses(mail.to.as_str()).build())
            .content(EmailContent::builder().simple(message).build())
            .email_tags(tag)
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(classify);
        if let (Err(MailError::Throttled(_)), Some(pace)) = (&sent, &self.pace) {
            pace.throttled();
        }
        sent
    }
}

/// What a Lambda function sends its mail through, chosen in its `main`: [`Mailing::SES`] for
/// the functions that template.yaml lets call `ses:SendEmail` (profile, sweeper, mailer), else
/// [`Mailing::NONE`]. A function's binary links the SES client only if its `main` names
/// `SES`, and builds it in its init only then: one SDK client less to configure at every cold
/// start of the others, which could not send anyway (their role may not).
#[derive(Clone, Copy)]
pub struct Mailing(fn(&SdkConfig, &AwsConfig) -> Arc<dyn Mailer>);

impl Mailing {
    /// SES v2, at `AWS_ENDPOINT_URL_SESV2` (else `AWS_ENDPOINT_URL`) when set, through
    /// `SES_CONFIGURATION_SET` when set.
    pub const SES: Mailing = Mailing(|sdk, aws| {
        let client = match aws.ses_endpoint() {
            Some(url) => sdk::ses_client_at(sdk, url),
            None => sdk::ses_client(sdk),
        };
        Arc::new(SesMailer::new(client, aws.ses_configuration_set.clone()).paced(aws.ses_max_send_rate()))
    });
    /// No mail service: [`NoMailer`].
    pub const NONE: Mailing = Mailing(|_, _| Arc::new(NoMailer));

    pub fn mailer(self, sdk: &SdkConfig, aws: &AwsConfig) -> Arc<dyn Mailer> {
        (self.0)(sdk, aws)
    }
}

/// The mailer of a function that may not send mail: every mail is refused, as SES would refuse
/// it to the function's role (no `ses:SendEmail`), without a call. Its use cases write their
/// mails to the outbox, which the mailer function sends.
pub struct NoMailer;

#[async_trait]
impl Mailer for NoMailer {
    async fn send(&self, _: &Mail) -> Result<(), MailError> {
        tracing::error!("a mail was to be sent by a function that sends none (its main chose Mailing::NONE)");
        Err(MailError::Rejected("SendEmail: this function sends no mail".to_owned().into()))
    }
}

/// Throttling (the sending rate or quota) goes through later, however often; timeouts,
/// unreachable endpoints and 5xx may; anything else (a bad address, an unverified sender, a
/// paused account) will not ([`sdk::classify`]). The message names the error's code and never
/// the mail (whose body may hold a token).
fn classify(error: SdkError<SendEmailError>) -> MailError {
    match sdk::classify("SES", "SendEmail", &error) {
        Failure::Throttled(message) => MailError::Throttled(Cause::of(message, error)),
        Failure::Transient(message) => MailError::Retryable(Cause::of(message, error)),
        Failure::Permanent(message) => MailError::Rejected(Cause::of(message, error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sends_are_spaced_by_the_rate_and_wait_a_second_after_throttling() {
        let pace = Pace::new(4);
        let start = tokio::time::Instant::now();
        for _ in 0..9 {
            pace.wait().await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(2), "9 sends at 4 a second: the 9th at 2 s");
        pace.throttled();
        let throttled_at = tokio::time::Instant::now();
        pace.wait().await;
        assert_eq!(throttled_at.elapsed(), Duration::from_secs(1));
        // Idle time is not saved up into a burst.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let idle_end = tokio::time::Instant::now();
        pace.wait().await;
        pace.wait().await;
        assert_eq!(idle_end.elapsed(), Duration::from_millis(250));
    }
}
