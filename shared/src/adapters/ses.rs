//! The `Mailer` on Amazon SES v2: one `SendEmail` per mail, with simple content (subject,
//! text and HTML, UTF-8), `From` = the mail's sender, `To` = its one recipient, tagged
//! `account={recipient's account}` ([`ACCOUNT_TAG`]): the configuration set's bounce and
//! complaint events carry the tag back (`mail.tags`), so the account is found without a Scan.

use async_trait::async_trait;
use aws_sdk_sesv2::error::SdkError;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageTag};

use crate::adapters::aws::{self, Failure};
use crate::mail::{ACCOUNT_TAG, Mail};
use crate::ports::{MailError, Mailer};

pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    configuration_set: Option<String>,
}

impl SesMailer {
    /// `configuration_set`: the SES configuration set to send through (event publishing,
    /// suppression, dedicated IPs), if any.
    pub fn new(client: aws_sdk_sesv2::Client, configuration_set: Option<String>) -> Self {
        Self { client, configuration_set: configuration_set.filter(|c| !c.is_empty()) }
    }
}

fn utf8(data: &str) -> Result<Content, MailError> {
    Content::builder().data(data).charset("UTF-8").build().map_err(|e| MailError::Rejected(format!("SendEmail: {e}")))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let tag = MessageTag::builder().name(ACCOUNT_TAG).value(mail.account.as_str()).build().map_err(|e| MailError::Rejected(format!("SendEmail: {e}")))?;
        let message = Message::builder().subject(utf8(&mail.subject)?).body(Body::builder().text(utf8(&mail.text)?).html(utf8(&mail.html)?).build()).build();
        self.client
            .send_email()
            .from_email_address(mail.from.as_str())
            .destination(Destination::builder().to_addresses(mail.to.as_str()).build())
            .content(EmailContent::builder().simple(message).build())
            .email_tags(tag)
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }
}

/// Throttling, timeouts, unreachable endpoints and 5xx may go through later; anything else
/// (a bad address, an unverified sender, a paused account) will not ([`aws::classify`]). The
/// message names the error's code and never the mail (whose body may hold a token).
fn classify(error: SdkError<SendEmailError>) -> MailError {
    match aws::classify("SES", "SendEmail", &error) {
        Failure::Transient(message) => MailError::Retryable(message),
        Failure::Permanent(message) => MailError::Rejected(message),
    }
}
